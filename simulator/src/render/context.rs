//! Fields resolved from the row's context rather than its object: the same sale shows the
//! same unit, broker, customer and values in every object that mentions it.
//!
//! The context is tried from the narrowest entity to the widest (reservation, unit,
//! development, broker, agency, lead): the first that knows the field answers.

use super::*;

/// The reservation fields that change over its life. Rows of objects the world does not touch
/// when a reservation changes (generic satellites) must not show them: their
/// `referencia_data` would not move, and an incremental sync would miss the change. They get
/// filler instead.
const MUTABLE_RESERVATION_FIELDS: &[&str] = &[
    "data_venda",
    "data_contrato",
    "data_aprovacao",
    "data_primeira_aprovacao",
    "data_historico",
    "aprovada",
    "venda",
    "situacao_anterior",
    "idsituacao_anterior",
    "situacao_comercial",
    "data_ultima_alteracao_situacao",
    "data_cancelamento",
    "motivo_cancelamento",
    "descricao_motivo_cancelamento",
    "idtipovenda",
    "tipovenda",
];

/// `"Sim"` or `"Não"`, as CVDW writes its yes/no fields.
fn sim_or_nao(yes: bool) -> Value {
    Value::from(if yes { "Sim" } else { "Não" })
}

impl RowRenderer<'_> {
    pub(super) fn context_field(&self, field: &str) -> Option<Value> {
        let def = self.world.defs[self.object];
        // The row's own generic id: its key field when not a context id.
        if self.spec.key.len() == 1 && self.spec.key[0] == field && !def.semantic {
            let ctx_key = matches!(field, "idlead" | "idpessoa" | "idreserva") && def.one_per;
            if !ctx_key {
                return Some(Value::from(self.pos as u64 + 1));
            }
        }
        if let Some(reserva) = self.reservation {
            if MUTABLE_RESERVATION_FIELDS.contains(&field) && !def.semantic {
                return None;
            }
            let found = self
                .reservation_field(reserva, field)
                .or_else(|| self.reservation_sale_field(reserva, field));
            if found.is_some() {
                return found;
            }
        }
        let found = self
            .unit
            .and_then(|unit| self.unit_context_field(unit, field))
            .or_else(|| {
                let development = self.development?;
                self.development_field(development, field)
            })
            .or_else(|| self.broker_context_field(self.broker?, field))
            .or_else(|| self.agency_context_field(self.agency?, field));
        if found.is_some() {
            return found;
        }
        self.person_field(self.lead?, field)
    }

    /// A reservation's own fields: dates, values, situation, price table.
    fn reservation_field(&self, reserva: u32, field: &str) -> Option<Value> {
        let world = self.world;
        let reservation = &world.reservas[reserva as usize];
        let sold = reservation.venda > 0;
        let table_price = world.unidades[reservation.unidade as usize].preco;
        let path = self.spec.path;
        Some(match field {
            "idreserva" | "reserva" => Value::from(reserva as u64 + 1),
            "data_reserva" | "data_criacao_reserva" => Value::from(fmt_dt(reservation.cad)),
            "data_venda"
            | "data_contrato"
            | "data_aprovacao"
            | "data_primeira_aprovacao"
            | "data_historico" => {
                if sold {
                    Value::from(fmt_dt(reservation.venda))
                } else {
                    Value::Null
                }
            }
            "valor_contrato" | "valor_proposta" | "valor_contrato_com_juros" | "valor_presente" => {
                money(reservation.valor)
            }
            "vpl_reserva" => money(reservation.valor * 97 / 100),
            "vgv_tabela" => money(table_price),
            "vgv_tabela_minima" => money(table_price * 95 / 100),
            "vpl_tabela" => money(table_price * 97 / 100),
            "valor_financiamento" => money(self.serie_sum(reserva, Serie::Financiamento)),
            "valor_fgts" => money(self.serie_sum(reserva, Serie::Fgts)),
            "valor_subsidio" => money(self.serie_sum(reserva, Serie::Subsidio)),
            "aprovada" | "venda" => sim_or_nao(sold),
            "situacao" if path == "/reservas" => Value::from(reservation.sit.nome()),
            "idsituacao" if path == "/reservas" || path == "/vendas" => {
                Value::from(reservation.sit.id())
            }
            "situacao_anterior" => Value::from(reservation.prev_sit.nome()),
            "idsituacao_anterior" => Value::from(reservation.prev_sit.id()),
            "situacao_comercial" => Value::from(if sold { "Vendida" } else { "Pré-venda" }),
            "data_ultima_alteracao_situacao" => Value::from(fmt_dt(
                reservation
                    .cad
                    .max(reservation.venda)
                    .max(reservation.distrato)
                    .max(reservation.cancel),
            )),
            "data_cancelamento" if reservation.cancel > 0 => {
                Value::from(fmt_dt(reservation.cancel))
            }
            "data_cancelamento" => Value::Null,
            "motivo_cancelamento" | "descricao_motivo_cancelamento" if reservation.cancel > 0 => {
                let pick = hash3(world.seed, 0xCA, reserva as u64) % MOTIVOS_PERDA.len() as u64;
                Value::from(MOTIVOS_PERDA[pick as usize])
            }
            "motivo_cancelamento" | "descricao_motivo_cancelamento" => self.absent(),
            "idlead"
                if matches!(
                    path,
                    "/reservas" | "/vendas" | "/repasses" | "/precadastros"
                ) =>
            {
                self.idlead_value(reserva)
            }
            "idtabela" => Value::from(reservation.tabela as u64 + 1),
            "nometabela" => Value::from(if reservation.tabela == 0 {
                "Tabela de Lançamento"
            } else {
                "Tabela Vigente"
            }),
            "codigointernotabela" => Value::from(format!("TAB{:02}", reservation.tabela + 1)),
            _ => return None,
        })
    }

    /// A reservation's sale and team fields, and its lead's media.
    fn reservation_sale_field(&self, reserva: u32, field: &str) -> Option<Value> {
        let world = self.world;
        let reservation = &world.reservas[reserva as usize];
        let financed = || self.serie_sum(reserva, Serie::Financiamento) > 0;
        let path = self.spec.path;
        Some(match field {
            "idtipovenda" => Value::from(if financed() { 1 } else { 2 }),
            "tipovenda" => Value::from(if financed() {
                "Financiamento"
            } else {
                "À vista"
            }),
            "idhistorico" if path == "/vendas" => Value::from(reservation.hist_venda as u64 + 1),
            "numero_venda" => Value::from((reserva + 1).to_string()),
            "contrato_interno" => Value::from(format!("CT-{:06}", reserva + 1)),
            "vencimento" if path == "/reservas" => Value::from(fmt_dt(reservation.cad + 7 * DAY)),
            "idtime" | "idgestor_time" | "nome_time" => {
                let team = world.corretores[reservation.corretor as usize].time;
                match field {
                    _ if team == NONE => Value::Null,
                    "idtime" => Value::from(team as u64 + 1),
                    "idgestor_time" => Value::from(world.times[team as usize].gestor as u64 + 1),
                    _ => Value::from(self.time_name(team)),
                }
            }
            "idgrupo" => Value::from(1),
            "grupo" => Value::from("Comercial"),
            "idmidia" => Value::from(world.leads[reservation.lead as usize].midia as u64 + 1),
            "midia" => Value::from(MIDIAS[world.leads[reservation.lead as usize].midia as usize]),
            "espacos_complementares" => self.absent(),
            _ => return None,
        })
    }

    /// The unit's fields: its names, block, phase, typology and position.
    fn unit_context_field(&self, unit: u32, field: &str) -> Option<Value> {
        let entity = &self.world.unidades[unit as usize];
        let (emp, bloco) = self.emp_of_unit(unit);
        Some(match field {
            "idunidade" => Value::from(unit as u64 + 1),
            "unidade" => Value::from(self.unit_name(unit)),
            "idbloco" => Value::from(entity.bloco as u64 + 1),
            "bloco" => Value::from(self.bloco_name(entity.bloco)),
            "idetapa" => Value::from(bloco.etapa as u64 + 1),
            "etapa" => Value::from(self.etapa_name(bloco.etapa)),
            "area_privativa" => money(entity.area as i64),
            "tipologia" => Value::from(TIPOLOGIAS[entity.tip as usize].0),
            "planta" => Value::from(format!("Planta {:02}", entity.tip + 1)),
            "tipo" if self.spec.path == "/unidades" => Value::from(if emp.horizontal {
                "Casa"
            } else {
                "Apartamento"
            }),
            "idunidade_int" => Value::from(format!("U{:06}", unit + 1)),
            "idbloco_int" => Value::from(format!("B{:04}", entity.bloco + 1)),
            "idetapa_int" => Value::from(format!("E{:04}", bloco.etapa + 1)),
            "idtipo_int" => Value::from((entity.tip + 1).to_string()),
            "posicao" => {
                Value::from(["Norte", "Sul", "Leste", "Oeste"][entity.coluna as usize % 4])
            }
            "data_entrega_chaves_contrato_cliente" => Value::from(fmt_date(emp.entrega)),
            _ => return None,
        })
    }

    /// The development's fields: its names, codes, region and kind.
    fn development_field(&self, development: u32, field: &str) -> Option<Value> {
        let emp = &self.world.emps[development as usize];
        Some(match field {
            "idempreendimento" | "idempreendimento_primeiro" | "idempreendimento_ultimo" => {
                Value::from(development as u64 + 1)
            }
            "empreendimento"
            | "nome_empreendimento"
            | "empreendimento_primeiro"
            | "empreendimento_ultimo" => Value::from(emp.nome.clone()),
            "codigointerno_empreendimento" | "idempreendimento_int" => {
                Value::from(format!("EMP{:04}", development + 1))
            }
            "sigla_empreendimento" => Value::from(format!("E{:02}", development + 1)),
            "regiao" => Value::from(CITIES[emp.city as usize].2),
            "tipo_empreendimento" => Value::from(if emp.horizontal {
                "Horizontal"
            } else {
                "Vertical"
            }),
            "idtipo_empreendimento" => Value::from(if emp.horizontal { 2 } else { 1 }),
            _ => return None,
        })
    }

    /// The broker's fields and their team manager's.
    fn broker_context_field(&self, broker: u32, field: &str) -> Option<Value> {
        let team = self.world.corretores[broker as usize].time;
        let manager = (team != NONE).then(|| self.world.times[team as usize].gestor);
        Some(match field {
            "idcorretor" | "idcorretor_ultimo" => Value::from(broker as u64 + 1),
            "corretor" | "corretor_ultimo" => Value::from(self.corretor_name(broker)),
            "idgestor" | "idgestor_ultimo" => {
                manager.map_or(Value::Null, |manager| Value::from(manager as u64 + 1))
            }
            "gestor" | "gestor_ultimo" => manager.map_or(self.absent(), |manager| {
                Value::from(self.corretor_name(manager))
            }),
            _ => return None,
        })
    }

    fn agency_context_field(&self, agency: u32, field: &str) -> Option<Value> {
        Some(match field {
            "idimobiliaria" | "idimobiliaria_ultimo" => Value::from(agency as u64 + 1),
            "imobiliaria" => self.imob_name(agency),
            _ => return None,
        })
    }
}
