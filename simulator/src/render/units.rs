//! Fields of the unit objects that only they know: a unit's sales-map state, its price
//! tables and its situation history.

use super::*;

/// A yes/no flag as `/unidades` serves it.
fn s_or_n(yes: bool) -> Value {
    Value::from(if yes { "S" } else { "N" })
}

impl RowRenderer<'_> {
    /// `/unidades`: the unit itself, its prices as numeric strings and its dates as
    /// `dd/mm/yyyy` (as the spec's examples show them), then its state on the sales map.
    pub(super) fn unit_field(&self, field: &str) -> Option<Value> {
        let index = self.row.ctx;
        let unit = &self.world.unidades[index as usize];
        let (emp, _) = self.emp_of_unit(index);
        let blocked = unit.sit == UnidadeSituacao::Bloqueada;
        Some(match field {
            "referencia" => Value::from(index as u64 + 1),
            "idunidade" => Value::from((index as usize + 1).to_string()),
            "nome" => Value::from(self.unit_name(index)),
            "valor" => Value::from(format!("{:.2}", unit.preco as f64 / 100.0)),
            "valor_avaliacao" => Value::from(format!("{:.2}", unit.preco as f64 * 1.03 / 100.0)),
            "area_comum" => Value::from(format!("{:.2}", unit.area as f64 * 0.35 / 100.0)),
            "vagas_garagem" => Value::from(((unit.tip / 2) + 1).to_string()),
            "andar" => Value::from(unit.andar.to_string()),
            "coluna" => Value::from(unit.coluna),
            "data_entrega" | "data_entrega_chaves" => Value::from(fmt_br_date(emp.entrega)),
            "data_bloqueio" if blocked => Value::from(fmt_br_date(self.row.cad)),
            "data_bloqueio" => Value::Null,
            "situacao_bloqueada" | "situacao_bloqueados_internos" => s_or_n(blocked),
            "situacao_bloqueada_motivo" if blocked => Value::from("Solicitação da Diretoria"),
            "situacao_bloqueada_motivo" => Value::Null,
            "situacao_para_venda" => Value::from(u8::from(unit.sit == UnidadeSituacao::Disponivel)),
            "situacao_mapa_disponibilidade" => Value::from(unit.sit.id()),
            "situacao_reservada_inicio" | "situacao_possui_reserva_solicitacao_distrato" => {
                Value::from("N")
            }
            "situacao_tipo_nome" => Value::from(if emp.horizontal {
                "Casa"
            } else {
                "Apartamento"
            }),
            "situacao_tipo_id" => Value::from(if emp.horizontal { 2 } else { 1 }),
            "situacao_cor_bg" => Value::from(
                ["2e7d32", "f9a825", "c62828", "616161"][(unit.sit.id() as usize - 1).min(3)],
            ),
            "situacao_cor_nome" => Value::from("ffffff"),
            "plantas" => {
                json!([{"idplanta": unit.tip as u32 + 1, "nome": format!("Planta {:02}", unit.tip + 1)}])
            }
            "campos_adicionais" => json!([]),
            _ => return self.unit_holder_field(unit, field),
        })
    }

    /// `/unidades`: the reservation holding the unit, if any, as its `situacao_*` fields.
    fn unit_holder_field(&self, unit: &Unidade, field: &str) -> Option<Value> {
        let holder = (unit.holder != NONE).then(|| &self.world.reservas[unit.holder as usize]);
        let sold = holder.filter(|reservation| reservation.venda > 0);
        Some(match field {
            "situacao_reservada" => {
                holder.map_or(Value::Null, |_| Value::from(unit.holder as u64 + 1))
            }
            "situacao_reservada_idsituacao" => {
                holder.map_or(Value::Null, |reservation| Value::from(reservation.sit.id()))
            }
            "situacao_reservada_nomesituacao" => holder.map_or(Value::Null, |reservation| {
                Value::from(reservation.sit.nome())
            }),
            "situacao_reservada_vencimento" => holder.map_or(Value::Null, |reservation| {
                Value::from(fmt_dt(reservation.cad + 7 * DAY))
            }),
            "situacao_nome" => holder.map_or(self.absent(), |reservation| {
                Value::from(person(self.world.seed, 0xB0, reservation.lead).nome())
            }),
            "situacao_vendida" => sold.map_or(Value::Null, |_| Value::from(unit.holder as u64 + 1)),
            "situacao_vendida_idsituacao" => {
                sold.map_or(Value::Null, |_| Value::from(ReservaSituacao::Vendida.id()))
            }
            _ => return None,
        })
    }

    /// `/unidades/precos`: a unit's row in one of the price tables (the row's position says
    /// which table: every unit has a row in each).
    pub(super) fn unit_price_field(&self, field: &str) -> Option<Value> {
        let world = self.world;
        let table = self.pos / world.unidades.len().max(1) as u32;
        let unit = &world.unidades[self.row.ctx as usize];
        Some(match field {
            "idtabela" => Value::from(table + 1),
            "tabela" => Value::from(if table == 0 {
                "Tabela de Lançamento"
            } else {
                "Tabela Vigente"
            }),
            "valor" => money(unit.preco * (100 + 6 * table as i64) / 100 / 100 * 100),
            "valor_avaliacao" => Value::Null,
            "data_vigencia_de" => Value::from(fmt_date(world.start + table as i32 * 365 * DAY)),
            "data_vigencia_ate" => {
                Value::from(fmt_date(world.start + (table as i32 + 1) * 365 * DAY - DAY))
            }
            _ => return None,
        })
    }

    /// `/unidades/situacao`: one change of a unit's situation.
    pub(super) fn unit_history_field(&self, field: &str) -> Option<Value> {
        let entry = &self.world.hist_uni[self.row.ctx as usize];
        situation_change_field(field, entry.de, entry.para)
    }
}
