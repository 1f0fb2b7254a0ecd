//! Fields of leads, brokers, agencies and teams that only those objects know.

use super::*;

impl RowRenderer<'_> {
    /// `/leads`: the lead's situation, origin and reservation.
    pub(super) fn lead_field(&self, field: &str) -> Option<Value> {
        let index = self.row.ctx;
        let lead = &self.world.leads[index as usize];
        Some(match field {
            "idsituacao" => Value::from(lead.sit),
            "situacao" => Value::from(SITUACOES_LEAD[(lead.sit as usize - 1).min(4)].1),
            "nome" => Value::from(person(self.world.seed, 0xB0, index).nome()),
            "idempreendimento" => Value::from((lead.emp + 1).to_string()),
            "reserva" => Value::from(if lead.reserva == NONE {
                0
            } else {
                lead.reserva as u64 + 1
            }),
            "score" => Value::from(self.hash(4) % 101),
            "midia_original" | "midia_ultimo" | "origem_nome" | "conversao_original" => {
                Value::from(MIDIAS[lead.midia as usize])
            }
            "idorigem" | "idorigem_ultimo" => {
                if self.quirks().empty_strings && self.hash(5).is_multiple_of(50) {
                    Value::from(false)
                } else {
                    Value::from(lead.midia as u64 + 1)
                }
            }
            "novo" => Value::from(if lead.sit == 1 { "S" } else { "N" }),
            "campos_adicionais" => json!([{"nome": "Renda declarada", "valor": "Sim"}]),
            _ => return None,
        })
    }

    /// `/corretores`: the broker's login, documents and CRECI.
    pub(super) fn broker_field(&self, field: &str) -> Option<Value> {
        let broker = self.row.ctx;
        Some(match field {
            "nome" => Value::from(self.corretor_name(broker)),
            "apelido" => Value::from(person(self.world.seed, 0xC0, broker).first),
            "ativo_login" => Value::from(self.row.state.ativo()),
            "documento" => Value::from(format!(
                "{:011}",
                person(self.world.seed, 0xC0, broker).hash % 100_000_000_000
            )),
            "vencimento_creci" => {
                if self.quirks().zero_dates && self.hash(6).is_multiple_of(5) {
                    self.zero_date(true)
                } else {
                    Value::from(fmt_date(self.row.cad + 730 * DAY))
                }
            }
            "creci" => Value::from(format!("{}", 10_000 + broker as usize * 7)),
            _ => return None,
        })
    }

    /// `/imobiliarias`: the agency's names and CNPJ.
    pub(super) fn agency_field(&self, field: &str) -> Option<Value> {
        let agency = self.row.ctx;
        Some(match field {
            "nome" | "razao_social" => self.imob_name(agency),
            "cnpj" => Value::from(format!(
                "{:014}",
                hash3(self.world.seed, 0x1B, agency as u64) % 100_000_000_000_000
            )),
            "ativo_painel" => Value::from("S"),
            _ => return None,
        })
    }

    /// `/atendimentos/times`: the team and its manager.
    pub(super) fn team_field(&self, field: &str) -> Option<Value> {
        let team = self.row.ctx;
        let manager = self.world.times[team as usize].gestor;
        Some(match field {
            "idgestor" => Value::from(manager as u64 + 1),
            "gestor" => Value::from(self.corretor_name(manager)),
            "nome" => Value::from(self.time_name(team)),
            "descricao" => self.absent(),
            "tempo_redistribuicao" => Value::from(0),
            "direcionar_para" => Value::from("G"),
            "ativo_painel" => Value::from("S"),
            _ => return None,
        })
    }

    /// `/atendimentos/times/integrantes`: a broker's membership of a team.
    pub(super) fn team_member_field(&self, field: &str) -> Option<Value> {
        let member = &self.world.integrantes[self.row.ctx as usize];
        Some(match field {
            "idtime" => Value::from(member.time as u64 + 1),
            "time" => Value::from(self.time_name(member.time)),
            "idusuario" => Value::from(member.corretor as u64 + 1),
            "usuario" => Value::from(self.corretor_name(member.corretor)),
            _ => return None,
        })
    }
}
