//! Object fields outside the families: nested arrays (associates, additional fields, assets),
//! lead conversions, and the shape shared by every `/workflow/tempo` and
//! `/historico/situacoes` object.

use super::*;

/// The additional fields a row of `/campos_adicionais` or `/reservas/campos-adicionais` may
/// be: (name, reference, value).
const ADDITIONAL_FIELDS: [(&str, &str, &str); 4] = [
    ("Origem da venda", "origem_venda", "Plantão"),
    ("Possui pet", "possui_pet", "Não"),
    ("Uso do imóvel", "uso_imovel", "Moradia"),
    ("Como conheceu", "como_conheceu", "Indicação"),
];

impl RowRenderer<'_> {
    pub(super) fn generic_field(&self, field: &str) -> Option<Value> {
        let path = self.spec.path;
        let entity = self.row.ctx as usize;
        Some(match (path, field) {
            ("/vendas", "associados") => self.sale_associates(),
            ("/vendas", "data") => Value::Null,
            ("/reservas", "campos_adicionais") => {
                json!([{"referencia": format!("{}_1", entity + 1), "referencia_data": fmt_dt(self.row.cad), "idcampo_valores": entity + 1, "nome": "Origem da venda", "tipo": "texto", "valor": "Plantão"}])
            }
            ("/pessoas/bens-empresa", "bens_empresa") => self.company_assets(),
            ("/pessoas/patrimoniais", "novos_bens") => self.new_assets(),
            ("/reservas", "campos_adicionais_contrato")
            | ("/simulacoes", "condicoes_pagamento")
            | (_, "campos_adicionais" | "bens_empresa" | "novos_bens") => json!([]),
            ("/leads/conversoes", _) => return self.conversion_field(field),
            ("/campos_adicionais" | "/reservas/campos-adicionais", _) => {
                return self.additional_field(field)
            }
            _ if path.ends_with("/workflow/tempo") => return self.workflow_time_field(field),
            _ if path.ends_with("/historico/situacoes") => return self.status_history_field(field),
            _ => return None,
        })
    }

    /// `/vendas.associados`: the buyer, and the co-buyer when there is one.
    fn sale_associates(&self) -> Value {
        let reservation = &self.world.reservas[self.row.ctx as usize];
        let buyer = |idpessoa: u32, idtipo: u8, tipo: &str, share: u8| json!({"idpessoa_cv": idpessoa, "idtipo_associacao": idtipo, "tipo_associacao": tipo, "percentagem_participacao": share});
        if reservation.assoc == NONE {
            return json!([buyer(reservation.lead + 1, 1, "Titular", 100)]);
        }
        let associate = &self.world.assocs[reservation.assoc as usize];
        json!([
            buyer(reservation.lead + 1, 1, "Titular", 50),
            buyer(associate.pessoa + 1, 2, "Co-comprador", 50),
        ])
    }

    /// `/pessoas/bens-empresa.bens_empresa`: one asset of the person's company.
    fn company_assets(&self) -> Value {
        let hash = self.hash(12);
        let id = self.lead.unwrap_or(0) + 1;
        let tipo = ["Carro", "Caminhão", "Máquinas", "Imóvel comercial"][(hash % 4) as usize];
        json!([{
            "idpessoa_bem_empresa": (self.pos + 1).to_string(),
            "data_cad": fmt_dt(self.row.cad),
            "idpessoa": id.to_string(),
            "tipo": tipo,
            "valor_atual": format!("{}.00", (hash >> 8) % 400_000 + 20_000),
            "onus": if hash & 16 == 0 { "Sim" } else { "Não" },
            "numero_parcelas": ((hash >> 4) % 48).to_string(),
            "valor_parcelas_mensais": format!("{}.00", (hash >> 12) % 3_000),
        }])
    }

    /// `/pessoas/patrimoniais.novos_bens`: a property the person bought, on two rows in three.
    fn new_assets(&self) -> Value {
        let hash = self.hash(13);
        if hash.is_multiple_of(3) {
            return json!([]);
        }
        let city = CITIES[(hash % CITIES.len() as u64) as usize];
        json!([{
            "idpessoa_novo_bem": (self.pos + 1).to_string(),
            "data_cad": fmt_dt(self.row.cad),
            "tipo_novo_bem": "Imóveis",
            "cep_novo_bem": format!("{:08}", (hash >> 8) % 100_000_000),
            "endereco_novo_bem": STREETS[((hash >> 4) % STREETS.len() as u64) as usize],
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

    /// `/leads/conversoes`: the last development and the broker's team manager.
    fn conversion_field(&self, field: &str) -> Option<Value> {
        let world = self.world;
        Some(match field {
            "gestor" | "gestor_ultimo" | "idgestor" | "idgestor_ultimo" => {
                let team = self
                    .broker
                    .map(|broker| world.corretores[broker as usize].time)
                    .unwrap_or(NONE);
                if team == NONE {
                    Value::Null
                } else {
                    Value::from(world.times[team as usize].gestor as u64 + 1)
                }
            }
            "empreendimento_ultimo" | "idempreendimento_ultimo" => {
                Value::from(self.development.unwrap_or(0) as u64 + 1)
            }
            _ => return None,
        })
    }

    /// `/campos_adicionais` and `/reservas/campos-adicionais`: one additional field of a lead
    /// or a reservation.
    fn additional_field(&self, field: &str) -> Option<Value> {
        let pick = self.hash(11) % 4;
        let (nome, referencia, valor) = ADDITIONAL_FIELDS[pick as usize];
        let of_leads = self.spec.path == "/campos_adicionais";
        Some(match field {
            "nome" | "campo_nome" => Value::from(nome),
            "nome_referencia" => Value::from(referencia),
            "idcampo" if of_leads => Value::from(referencia.to_uppercase()),
            "idcampo" => Value::from(pick + 1),
            "valor" => Value::from(valor),
            "tipo" => Value::from("texto"),
            "funcionalidade" | "idfuncionalidade" => {
                Value::from(if of_leads { "LEAD" } else { "reserva" })
            }
            _ => return None,
        })
    }

    /// Every `/workflow/tempo` object: a situation and the time spent in it.
    fn workflow_time_field(&self, field: &str) -> Option<Value> {
        let step = self.hash(7);
        Some(match field {
            "idsituacao" => Value::from(step % 8 + 1),
            "situacao" => Value::from(
                ["Novo", "Em andamento", "Aguardando", "Concluído"][(step % 4) as usize],
            ),
            "sigla" => Value::from(["NV", "EA", "AG", "CO"][(step % 4) as usize]),
            "tempo" => Value::from(self.hash(8) % 20_000),
            _ => return None,
        })
    }

    /// Every generic `/historico/situacoes` object: a move from one numbered stage to the next.
    fn status_history_field(&self, field: &str) -> Option<Value> {
        let from = self.hash(9) % 5 + 1;
        Some(match field {
            "de" => Value::from(from),
            "para" => Value::from(from + 1),
            "de_nome" => Value::from(format!("Etapa {from}")),
            "para_nome" => Value::from(format!("Etapa {}", from + 1)),
            _ => return self.acting_user_field(field),
        })
    }

    /// `usuario`/`idusuario` of a history entry: the broker of the row's context.
    pub(super) fn acting_user_field(&self, field: &str) -> Option<Value> {
        let broker = self.broker.unwrap_or(0);
        Some(match field {
            "usuario" => Value::from(self.corretor_name(broker)),
            "idusuario" => Value::from(broker as u64 + 1),
            _ => return None,
        })
    }
}
