//! Deterministic filler for the fields no context knows, of the documented kind: dates
//! (some null, some zero under the quirk), ids and counts, money, yes/no flags, documents,
//! places, names and labels, each cut from a hash of the row and the field's name.

use super::*;

/// Text fields served as `S`/`N` besides those named `ativo_*`, `situacao_*` and `*_pago`.
const YES_NO_FIELDS: &[&str] = &[
    "novo",
    "retorno",
    "vencido",
    "assinado",
    "validado",
    "cancelado",
    "nao_assinado",
    "nao_validado",
    "enviado",
    "juros",
    "juros_embutido",
    "micro_empresa",
    "inserido_bolsao",
    "liberar_assinatura",
    "recebendo_financiamento",
    "editado",
    "fifty",
];

/// Date fields served without a time.
const DATE_ONLY_FIELDS: &[&str] = &[
    "vencimento",
    "data_pagamento",
    "data_vigencia_de",
    "data_vigencia_ate",
    "validade_creci",
    "data_nasc",
    "vencimento_creci",
    "previsao_entrega",
    "data_registro",
    "proxima_acao",
];

fn is_date_field(field: &str) -> bool {
    field.starts_with("data")
        || field.contains("vencimento")
        || field.starts_with("previsao")
        || field.ends_with("_a_partir")
        || field == "proxima_acao"
        || field == "sla_vencimento"
}

/// An element of `list` picked by `hash`.
fn pick<T: Copy>(list: &[T], hash: u64) -> T {
    list[(hash % list.len() as u64) as usize]
}

impl RowRenderer<'_> {
    pub(super) fn filler(&self, field: &'static str, kind: FieldKind) -> Option<Value> {
        if kind == FieldKind::Array {
            return Some(json!([]));
        }
        let bytes = field.as_bytes();
        let hash = self.hash(
            field.len() as u64 ^ (bytes[0] as u64) << 8 ^ (bytes[field.len() - 1] as u64) << 16,
        );
        Some(match kind {
            FieldKind::Text if is_date_field(field) => self.filler_date(field, hash),
            FieldKind::Integer if field.starts_with("id") || field.starts_with("quem") => {
                Value::from(hash % 300 + 1)
            }
            FieldKind::Integer => Value::from(hash % 10),
            FieldKind::Number => money(((hash % 5_000_000) as i64) * 10),
            _ => self.filler_text(field, hash),
        })
    }

    /// A date a few weeks after the row's registration (a birth date decades before it):
    /// null one time in four, a zero date now and then under the quirk.
    fn filler_date(&self, field: &str, hash: u64) -> Value {
        let date_only = DATE_ONLY_FIELDS.contains(&field);
        if hash.is_multiple_of(4) {
            return Value::Null;
        }
        if self.quirks().zero_dates && hash.is_multiple_of(17) {
            return self.zero_date(date_only);
        }
        let time = if field == "data_nasc" {
            self.row.cad - ((hash >> 8) % 40 + 20) as i32 * 365 * DAY
        } else {
            self.row.cad + ((hash >> 8) % (30 * DAY as u64)) as i32
        };
        Value::from(if date_only {
            fmt_date(time)
        } else {
            fmt_dt(time)
        })
    }

    /// A text field: a flag, absent one time in five, a yes/no, else a value of its kind.
    fn filler_text(&self, field: &str, hash: u64) -> Value {
        if field.starts_with("flag_") {
            return if hash.is_multiple_of(3) {
                Value::from("Sim")
            } else {
                Value::Null
            };
        }
        if hash.is_multiple_of(5) {
            return self.absent();
        }
        let yes_no = field.starts_with("ativo_")
            || field.starts_with("situacao_")
            || field.ends_with("_pago")
            || YES_NO_FIELDS.contains(&field);
        if yes_no {
            return Value::from(if hash & 8 == 0 { "S" } else { "N" });
        }
        Value::from(self.filler_label(field, hash))
    }

    /// The text of a field that is not a flag: documents, phones, places, names, e-mails,
    /// job titles, else the field's own name and a number.
    fn filler_label(&self, field: &str, hash: u64) -> String {
        match field {
            "cnpj" | "cnpj_faturamento" | "cnpj_favorecido" | "banco_cnpj_titular" => {
                format!("{:014}", hash % 100_000_000_000_000)
            }
            "cpf"
            | "gerente_cpf"
            | "diretor_cpf"
            | "cpf_favorecido"
            | "banco_cpf_titular"
            | "representante_documento" => format!("{:011}", hash % 100_000_000_000),
            "cep" | "ju_cep" => format!("{:08}", hash % 100_000_000),
            "telefone" | "celular" | "gerente_telefone" | "gerente_celular"
            | "diretor_telefone" | "diretor_celular" => {
                format!(
                    "(11) 9{:04}-{:04}",
                    (hash >> 8) % 10_000,
                    (hash >> 24) % 10_000
                )
            }
            "estado" | "ju_estado" | "estado_creci" => pick(CITIES, hash).1.to_string(),
            "cidade" | "ju_cidade" | "cidade_creci" | "naturalidade" => {
                pick(CITIES, hash).0.to_string()
            }
            "bairro" | "ju_bairro" => ["Centro", "Jardim América", "Boa Vista", "Vila Nova"]
                [(hash % 4) as usize]
                .to_string(),
            "endereco" | "logradouro" | "ju_endereco" | "ju_logradouro" => {
                pick(STREETS, hash).to_string()
            }
            "banco" | "nome_agencia" => pick(BANCOS, hash).to_string(),
            "pais" => "Brasil".to_string(),
            "sexo" => if hash & 1 == 0 {
                "Masculino"
            } else {
                "Feminino"
            }
            .to_string(),
            "nome" | "gerente_nome" | "diretor_nome" | "representante_nome" | "nome_favorecido"
            | "usuario" | "responsavel" => person(self.world.seed, hash, 0).nome(),
            "email" | "gerente_email" | "diretor_email" | "representante_email" => {
                format!("contato{}@exemplo.com.br", hash % 10_000)
            }
            "profissional_cargo_inicial" | "profissional_cargo_final" | "cargo" => {
                pick(CARGOS, hash).to_string()
            }
            _ => {
                let mut name = field.replace('_', " ");
                if let Some(first) = name.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                format!("{name} {}", hash % 50 + 1)
            }
        }
    }
}
