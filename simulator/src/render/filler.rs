//! Deterministic filler for the fields no context knows (of the documented kind), and the
//! assembly of a row: field order, quirks, dirt, deliberate defects and `referencia`.

use super::*;

impl RowRenderer<'_> {
    pub(super) fn filler(&self, f: &'static str, kind: FieldKind) -> Option<Value> {
        if kind == FieldKind::Array {
            return Some(json!([]));
        }
        let h = self.hash(
            f.len() as u64
                ^ (f.as_bytes()[0] as u64) << 8
                ^ (f.as_bytes()[f.len() - 1] as u64) << 16,
        );
        let is_date = f.starts_with("data")
            || f.contains("vencimento")
            || f.starts_with("previsao")
            || f.ends_with("_a_partir")
            || f == "proxima_acao"
            || f == "sla_vencimento";
        if is_date && kind == FieldKind::Text {
            let date_only = matches!(
                f,
                "vencimento"
                    | "data_pagamento"
                    | "data_vigencia_de"
                    | "data_vigencia_ate"
                    | "validade_creci"
                    | "data_nasc"
                    | "vencimento_creci"
                    | "previsao_entrega"
                    | "data_registro"
                    | "proxima_acao"
            );
            if h.is_multiple_of(4) {
                return Some(Value::Null);
            }
            if self.quirks().zero_dates && h.is_multiple_of(17) {
                return Some(self.zero_date(date_only));
            }
            let t = if f == "data_nasc" {
                self.row.cad - ((h >> 8) % 40 + 20) as i32 * 365 * DAY
            } else {
                self.row.cad + ((h >> 8) % (30 * DAY as u64)) as i32
            };
            return Some(Value::from(if date_only { fmt_date(t) } else { fmt_dt(t) }));
        }
        match kind {
            FieldKind::Integer => Some(Value::from(
                if f.starts_with("id") || f.starts_with("quem") {
                    h % 300 + 1
                } else {
                    h % 10
                },
            )),
            FieldKind::Number => Some(money(((h % 5_000_000) as i64) * 10)),
            _ => {
                if f.starts_with("flag_") {
                    return Some(if h.is_multiple_of(3) {
                        Value::from("Sim")
                    } else {
                        Value::Null
                    });
                }
                if h.is_multiple_of(5) {
                    return Some(self.absent());
                }
                let yes_no = f.starts_with("ativo_")
                    || f.starts_with("situacao_")
                    || f.ends_with("_pago")
                    || matches!(
                        f,
                        "novo"
                            | "retorno"
                            | "vencido"
                            | "assinado"
                            | "validado"
                            | "cancelado"
                            | "nao_assinado"
                            | "nao_validado"
                            | "enviado"
                            | "juros"
                            | "juros_embutido"
                            | "micro_empresa"
                            | "inserido_bolsao"
                            | "liberar_assinatura"
                            | "recebendo_financiamento"
                            | "editado"
                            | "fifty"
                    );
                if yes_no {
                    return Some(Value::from(if h & 8 == 0 { "S" } else { "N" }));
                }
                let v = match f {
                    "cnpj" | "cnpj_faturamento" | "cnpj_favorecido" | "banco_cnpj_titular" => {
                        format!("{:014}", h % 100_000_000_000_000)
                    }
                    "cpf"
                    | "gerente_cpf"
                    | "diretor_cpf"
                    | "cpf_favorecido"
                    | "banco_cpf_titular"
                    | "representante_documento" => {
                        format!("{:011}", h % 100_000_000_000)
                    }
                    "cep" | "ju_cep" => format!("{:08}", h % 100_000_000),
                    "telefone" | "celular" | "gerente_telefone" | "gerente_celular"
                    | "diretor_telefone" | "diretor_celular" => {
                        format!("(11) 9{:04}-{:04}", (h >> 8) % 10_000, (h >> 24) % 10_000)
                    }
                    "estado" | "ju_estado" | "estado_creci" => {
                        CITIES[(h % CITIES.len() as u64) as usize].1.to_string()
                    }
                    "cidade" | "ju_cidade" | "cidade_creci" | "naturalidade" => {
                        CITIES[(h % CITIES.len() as u64) as usize].0.to_string()
                    }
                    "bairro" | "ju_bairro" => {
                        ["Centro", "Jardim América", "Boa Vista", "Vila Nova"][(h % 4) as usize]
                            .to_string()
                    }
                    "endereco" | "logradouro" | "ju_endereco" | "ju_logradouro" => {
                        STREETS[(h % STREETS.len() as u64) as usize].to_string()
                    }
                    "banco" | "nome_agencia" => {
                        BANCOS[(h % BANCOS.len() as u64) as usize].to_string()
                    }
                    "pais" => "Brasil".to_string(),
                    "sexo" => if h & 1 == 0 { "Masculino" } else { "Feminino" }.to_string(),
                    "nome" | "gerente_nome" | "diretor_nome" | "representante_nome"
                    | "nome_favorecido" | "usuario" | "responsavel" => {
                        person(self.world.seed, h, 0).nome()
                    }
                    "email" | "gerente_email" | "diretor_email" | "representante_email" => {
                        format!("contato{}@exemplo.com.br", h % 10_000)
                    }
                    "profissional_cargo_inicial" | "profissional_cargo_final" | "cargo" => {
                        CARGOS[(h % CARGOS.len() as u64) as usize].to_string()
                    }
                    _ => {
                        let mut name = f.replace('_', " ");
                        if let Some(first) = name.get_mut(0..1) {
                            first.make_ascii_uppercase();
                        }
                        format!("{name} {}", h % 50 + 1)
                    }
                };
                Some(Value::from(v))
            }
        }
    }

    /// Render the row as (field, value) pairs in field-list order.
    /// The row as served: its fields, then the deliberate defect if it has one.
    pub(super) fn pairs(&self) -> Vec<(&'static str, Value)> {
        let mut out = self.clean_pairs();
        if let Some(m) = self.world.malformed.get(&(self.oi, self.pos)) {
            self.malform(m, &mut out);
        }
        out
    }

    /// Apply a [`crate::Malformation`]; `referencia` (already computed) keeps naming the row.
    pub(super) fn malform(&self, m: &crate::Malformation, out: &mut Vec<(&'static str, Value)>) {
        match m {
            crate::Malformation::NoKey => out.retain(|(k, _)| !self.spec.key.contains(k)),
            crate::Malformation::TextIn { field } => {
                let text = Value::from("não informado");
                if let Some(slot) = out.iter_mut().find(|(k, _)| *k == field.as_str()) {
                    slot.1 = text;
                } else if let Some(&FieldDef { name, .. }) = field_lists()[self.oi]
                    .iter()
                    .find(|f| f.name == field.as_str())
                {
                    // A documented field this row leaves out (a nested array with the quirk off).
                    out.push((name, text));
                }
            }
        }
    }

    pub(super) fn clean_pairs(&self) -> Vec<(&'static str, Value)> {
        let list = &field_lists()[self.oi];
        let money_strings = self.quirks().metric_dirt
            && crate::dirt::MONEY_OBJECTS.contains(&self.spec.path)
            && crate::dirt::money_as_string(self.world.seed, self.oi, self.pos);
        let mut out: Vec<(&'static str, Value)> = Vec::with_capacity(list.len());
        for &FieldDef { name, kind } in list {
            if name == "referencia" {
                out.push((name, Value::Null)); // filled below, from the key fields
                continue;
            }
            if kind == FieldKind::Array && !self.quirks().nested_arrays {
                continue;
            }
            if let Some(v) = self.field(name, kind) {
                // Ids the reference types as strings (`idunidade` on /atendimentos...) are
                // sent as strings.
                let v = match v {
                    Value::Number(n) if kind == FieldKind::Text => Value::String(n.to_string()),
                    v if money_strings && crate::dirt::MONEY_FIELDS.contains(&name) => {
                        crate::dirt::money_string(v)
                    }
                    v => v,
                };
                out.push((name, v));
            }
        }
        if self.quirks().metric_dirt {
            self.dirty_ids(&mut out);
        }
        let referencia = self.referencia(&out);
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == "referencia") {
            slot.1 = referencia;
        }
        out
    }

    /// The id quirks of [`crate::dirt::id_dirt`]: ids left empty, or ids repeated from the
    /// previous row of a 1:N object (its content stays its own).
    pub(super) fn dirty_ids(&self, out: &mut [(&'static str, Value)]) {
        match crate::dirt::id_dirt(self.world.seed, self.spec.path, self.pos) {
            None => {}
            Some(crate::dirt::IdDirt::Empty(fields)) => {
                for (k, v) in out.iter_mut() {
                    if fields.contains(k) {
                        *v = Value::from("");
                    }
                }
            }
            Some(crate::dirt::IdDirt::RepeatPrevious(fields)) => {
                let prev = RowRenderer::new(self.world, self.oi, self.pos - 1);
                for (k, v) in out.iter_mut() {
                    if fields.contains(k) {
                        if let Some(p) = prev.field(k, FieldKind::Integer) {
                            *v = p;
                        }
                    }
                }
            }
        }
    }

    pub(super) fn referencia(&self, pairs: &[(&'static str, Value)]) -> Value {
        if self.spec.path == "/unidades" {
            let id = self.row.ctx as u64 + 1;
            return if self.quirks().referencia_int {
                Value::from(id)
            } else {
                Value::from(id.to_string())
            };
        }
        let get = |k: &str| -> String {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        let key = match self.spec.path {
            "/leads/corretores" => get("idlead"),
            "/leads/momentos" => get("idmomento_lead"),
            "/pesquisas" => get("idpesquisa"),
            _ => self
                .spec
                .key
                .iter()
                .map(|k| get(k))
                .collect::<Vec<_>>()
                .join("_"),
        };
        if self.spec.referencia_int && self.quirks().referencia_int {
            if let Ok(n) = key.parse::<u64>() {
                return Value::from(n);
            }
        }
        Value::from(key)
    }
}
