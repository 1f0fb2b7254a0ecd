//! Fields of the unit objects that only they know: a unit's sales-map state, its price
//! tables and its situation history.

use super::*;

impl RowRenderer<'_> {
    pub(super) fn units_field(&self, f: &str) -> Option<Value> {
        let w = self.world;
        let c = self.row.ctx as usize;
        let v = match (self.spec.path, f) {
            ("/unidades", _) => {
                let u = &w.unidades[c];
                let (emp, _) = self.emp_of_unit(c as u32);
                let holder = (u.holder != NONE).then(|| &w.reservas[u.holder as usize]);
                match f {
                    "referencia" => Value::from(c as u64 + 1),
                    "idunidade" => Value::from((c + 1).to_string()),
                    "nome" => Value::from(self.unit_name(c as u32)),
                    "valor" => Value::from(format!("{:.2}", u.preco as f64 / 100.0)),
                    "valor_avaliacao" => {
                        Value::from(format!("{:.2}", u.preco as f64 * 1.03 / 100.0))
                    }
                    "area_comum" => Value::from(format!("{:.2}", u.area as f64 * 0.35 / 100.0)),
                    "vagas_garagem" => Value::from(((u.tip / 2) + 1).to_string()),
                    "andar" => Value::from(u.andar.to_string()),
                    "coluna" => Value::from(u.coluna),
                    "data_entrega" | "data_entrega_chaves" => Value::from(fmt_br_date(emp.entrega)),
                    "data_bloqueio" => {
                        if u.sit == UnidadeSituacao::Bloqueada {
                            Value::from(fmt_br_date(self.row.cad))
                        } else {
                            Value::Null
                        }
                    }
                    "situacao_reservada" => {
                        holder.map_or(Value::Null, |_| Value::from(u.holder as u64 + 1))
                    }
                    "situacao_reservada_idsituacao" => {
                        holder.map_or(Value::Null, |r| Value::from(r.sit.id()))
                    }
                    "situacao_reservada_nomesituacao" => {
                        holder.map_or(Value::Null, |r| Value::from(r.sit.nome()))
                    }
                    "situacao_reservada_vencimento" => {
                        holder.map_or(Value::Null, |r| Value::from(fmt_dt(r.cad + 7 * DAY)))
                    }
                    "situacao_nome" => holder.map_or(self.absent(), |r| {
                        Value::from(person(w.seed, 0xB0, r.lead).nome())
                    }),
                    "situacao_vendida" => match holder {
                        Some(r) if r.venda > 0 => Value::from(u.holder as u64 + 1),
                        _ => Value::Null,
                    },
                    "situacao_vendida_idsituacao" => match holder {
                        Some(r) if r.venda > 0 => Value::from(ReservaSituacao::Vendida.id()),
                        _ => Value::Null,
                    },
                    "situacao_bloqueada" | "situacao_bloqueados_internos" => {
                        Value::from(if u.sit == UnidadeSituacao::Bloqueada {
                            "S"
                        } else {
                            "N"
                        })
                    }
                    "situacao_bloqueada_motivo" => {
                        if u.sit == UnidadeSituacao::Bloqueada {
                            Value::from("Solicitação da Diretoria")
                        } else {
                            Value::Null
                        }
                    }
                    "situacao_para_venda" => {
                        Value::from(u8::from(u.sit == UnidadeSituacao::Disponivel))
                    }
                    "situacao_mapa_disponibilidade" => Value::from(u.sit.id()),
                    "situacao_reservada_inicio"
                    | "situacao_possui_reserva_solicitacao_distrato" => Value::from("N"),
                    "situacao_tipo_nome" => Value::from(if emp.horizontal {
                        "Casa"
                    } else {
                        "Apartamento"
                    }),
                    "situacao_tipo_id" => Value::from(if emp.horizontal { 2 } else { 1 }),
                    "situacao_cor_bg" => Value::from(
                        ["2e7d32", "f9a825", "c62828", "616161"][(u.sit.id() as usize - 1).min(3)],
                    ),
                    "situacao_cor_nome" => Value::from("ffffff"),
                    "plantas" => {
                        json!([{"idplanta": u.tip as u32 + 1, "nome": format!("Planta {:02}", u.tip + 1)}])
                    }
                    "campos_adicionais" => json!([]),
                    _ => return None,
                }
            }
            ("/unidades/precos", _) => {
                let tab = self.pos / w.unidades.len().max(1) as u32;
                let u = &w.unidades[c];
                match f {
                    "idtabela" => Value::from(tab + 1),
                    "tabela" => Value::from(if tab == 0 {
                        "Tabela de Lançamento"
                    } else {
                        "Tabela Vigente"
                    }),
                    "valor" => money(u.preco * (100 + 6 * tab as i64) / 100 / 100 * 100),
                    "valor_avaliacao" => Value::Null,
                    "data_vigencia_de" => Value::from(fmt_date(w.start + tab as i32 * 365 * DAY)),
                    "data_vigencia_ate" => {
                        Value::from(fmt_date(w.start + (tab as i32 + 1) * 365 * DAY - DAY))
                    }
                    _ => return None,
                }
            }
            ("/unidades/situacao", _) => {
                let h = &w.hist_uni[c];
                match f {
                    "idhistorico" => Value::from(c as u64 + 1),
                    "de_situacao" => Value::from(h.de.nome()),
                    "para_situacao" => Value::from(h.para.nome()),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(v)
    }
}
