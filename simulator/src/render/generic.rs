//! Object fields outside the families: nested arrays (associates, additional fields, assets),
//! lead conversions, and the shape shared by every `/workflow/tempo` and
//! `/historico/situacoes` object.

use super::*;

impl RowRenderer<'_> {
    pub(super) fn generic_field(&self, f: &str) -> Option<Value> {
        let w = self.world;
        let c = self.row.ctx as usize;
        let path = self.spec.path;
        let v = match (path, f) {
            ("/vendas", "associados") => {
                let res = &w.reservas[c];
                let mut items = Vec::new();
                if res.assoc != NONE {
                    let a = &w.assocs[res.assoc as usize];
                    items.push(json!({"idpessoa_cv": res.lead + 1, "idtipo_associacao": 1, "tipo_associacao": "Titular", "percentagem_participacao": 50}));
                    items.push(json!({"idpessoa_cv": a.pessoa + 1, "idtipo_associacao": 2, "tipo_associacao": "Co-comprador", "percentagem_participacao": 50}));
                } else {
                    items.push(json!({"idpessoa_cv": res.lead + 1, "idtipo_associacao": 1, "tipo_associacao": "Titular", "percentagem_participacao": 100}));
                }
                Value::Array(items)
            }
            ("/vendas", "data") => Value::Null,
            ("/reservas", "campos_adicionais") => {
                json!([{"referencia": format!("{}_1", c + 1), "referencia_data": fmt_dt(self.row.cad), "idcampo_valores": c + 1, "nome": "Origem da venda", "tipo": "texto", "valor": "Plantão"}])
            }
            ("/reservas", "campos_adicionais_contrato") => json!([]),
            ("/simulacoes", "condicoes_pagamento") => json!([]),
            ("/pessoas/bens-empresa", "bens_empresa") => {
                let h = self.hash(12);
                let id = self.lead.unwrap_or(0) + 1;
                let tipo = ["Carro", "Caminhão", "Máquinas", "Imóvel comercial"][(h % 4) as usize];
                json!([{
                    "idpessoa_bem_empresa": (self.pos + 1).to_string(),
                    "data_cad": fmt_dt(self.row.cad),
                    "idpessoa": id.to_string(),
                    "tipo": tipo,
                    "valor_atual": format!("{}.00", (h >> 8) % 400_000 + 20_000),
                    "onus": if h & 16 == 0 { "Sim" } else { "Não" },
                    "numero_parcelas": ((h >> 4) % 48).to_string(),
                    "valor_parcelas_mensais": format!("{}.00", (h >> 12) % 3_000),
                }])
            }
            ("/pessoas/patrimoniais", "novos_bens") => {
                let h = self.hash(13);
                if h.is_multiple_of(3) {
                    json!([])
                } else {
                    let city = CITIES[(h % CITIES.len() as u64) as usize];
                    json!([{
                        "idpessoa_novo_bem": (self.pos + 1).to_string(),
                        "data_cad": fmt_dt(self.row.cad),
                        "tipo_novo_bem": "Imóveis",
                        "cep_novo_bem": format!("{:08}", (h >> 8) % 100_000_000),
                        "endereco_novo_bem": STREETS[((h >> 4) % STREETS.len() as u64) as usize],
                        "bairro_novo_bem": "Centro",
                        "valor_onus_mensal_novo_bem": null,
                        "prazo_meses_novo_bem": null,
                        "marca_modelo_automovel_novo_bem": null,
                        "ano_automovel_novo_bem": null,
                        "placa_renavam_automovel_novo_bem": null,
                        "situacao_automovel_novo_bem": null,
                        "quantidade_parcelas_automovel_novo_bem": null,
                        "valor_parcela_automovel_novo_bem": null,
                        "estado": city.1,
                        "cidade": city.0,
                    }])
                }
            }
            (_, "campos_adicionais" | "bens_empresa" | "novos_bens") => json!([]),
            ("/leads/conversoes", "gestor" | "gestor_ultimo" | "idgestor" | "idgestor_ultimo") => {
                let cor = self
                    .cor
                    .map(|c| w.corretores[c as usize].time)
                    .unwrap_or(NONE);
                if cor == NONE {
                    Value::Null
                } else {
                    Value::from(w.times[cor as usize].gestor as u64 + 1)
                }
            }
            ("/leads/conversoes", "empreendimento_ultimo" | "idempreendimento_ultimo") => {
                Value::from(self.emp.unwrap_or(0) as u64 + 1)
            }
            ("/campos_adicionais" | "/reservas/campos-adicionais", _) => {
                const CAMPOS: [(&str, &str, &str); 4] = [
                    ("Origem da venda", "origem_venda", "Plantão"),
                    ("Possui pet", "possui_pet", "Não"),
                    ("Uso do imóvel", "uso_imovel", "Moradia"),
                    ("Como conheceu", "como_conheceu", "Indicação"),
                ];
                let (nome, referencia, valor) = CAMPOS[(self.hash(11) % 4) as usize];
                match f {
                    "nome" | "campo_nome" => Value::from(nome),
                    "nome_referencia" => Value::from(referencia),
                    "idcampo" if path == "/campos_adicionais" => {
                        Value::from(referencia.to_uppercase())
                    }
                    "idcampo" => Value::from(self.hash(11) % 4 + 1),
                    "valor" => Value::from(valor),
                    "tipo" => Value::from("texto"),
                    "funcionalidade" | "idfuncionalidade" => {
                        Value::from(if path == "/campos_adicionais" {
                            "LEAD"
                        } else {
                            "reserva"
                        })
                    }
                    _ => return None,
                }
            }
            _ => {
                if path.ends_with("/workflow/tempo") {
                    match f {
                        "idsituacao" => Value::from(self.hash(7) % 8 + 1),
                        "situacao" => Value::from(
                            ["Novo", "Em andamento", "Aguardando", "Concluído"]
                                [(self.hash(7) % 4) as usize],
                        ),
                        "sigla" => {
                            Value::from(["NV", "EA", "AG", "CO"][(self.hash(7) % 4) as usize])
                        }
                        "tempo" => Value::from(self.hash(8) % 20_000),
                        _ => return None,
                    }
                } else if path.ends_with("/historico/situacoes") {
                    let de = self.hash(9) % 5 + 1;
                    match f {
                        "de" => Value::from(de),
                        "para" => Value::from(de + 1),
                        "de_nome" => Value::from(format!("Etapa {de}")),
                        "para_nome" => Value::from(format!("Etapa {}", de + 1)),
                        "usuario" => Value::from(self.corretor_name(self.cor.unwrap_or(0))),
                        "idusuario" => Value::from(self.cor.unwrap_or(0) as u64 + 1),
                        _ => return None,
                    }
                } else {
                    return None;
                }
            }
        };
        Some(v)
    }
}
