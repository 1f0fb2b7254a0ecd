//! Fields of leads, brokers, agencies and teams that only those objects know.

use super::*;

impl RowRenderer<'_> {
    pub(super) fn people_field(&self, f: &str) -> Option<Value> {
        let w = self.world;
        let c = self.row.ctx as usize;
        let v = match (self.spec.path, f) {
            ("/leads", _) => {
                let l = &w.leads[c];
                match f {
                    "idsituacao" => Value::from(l.sit),
                    "situacao" => Value::from(SITUACOES_LEAD[(l.sit as usize - 1).min(4)].1),
                    "nome" => Value::from(person(w.seed, 0xB0, c as u32).nome()),
                    "idempreendimento" => Value::from((l.emp + 1).to_string()),
                    "reserva" => Value::from(if l.reserva == NONE {
                        0
                    } else {
                        l.reserva as u64 + 1
                    }),
                    "score" => Value::from(self.hash(4) % 101),
                    "midia_original" | "midia_ultimo" | "origem_nome" | "conversao_original" => {
                        Value::from(MIDIAS[l.midia as usize])
                    }
                    "idorigem" | "idorigem_ultimo" => {
                        if self.quirks().empty_strings && self.hash(5).is_multiple_of(50) {
                            Value::from(false)
                        } else {
                            Value::from(l.midia as u64 + 1)
                        }
                    }
                    "novo" => Value::from(if l.sit == 1 { "S" } else { "N" }),
                    "campos_adicionais" => json!([{"nome": "Renda declarada", "valor": "Sim"}]),
                    _ => return None,
                }
            }
            ("/corretores", _) => match f {
                "nome" => Value::from(self.corretor_name(c as u32)),
                "apelido" => Value::from(person(w.seed, 0xC0, c as u32).first),
                "ativo_login" => Value::from(self.row.state.ativo()),
                "documento" => Value::from(format!(
                    "{:011}",
                    person(w.seed, 0xC0, c as u32).hash % 100_000_000_000
                )),
                "vencimento_creci" => {
                    if self.quirks().zero_dates && self.hash(6).is_multiple_of(5) {
                        self.zero_date(true)
                    } else {
                        Value::from(fmt_date(self.row.cad + 730 * DAY))
                    }
                }
                "creci" => Value::from(format!("{}", 10_000 + c * 7)),
                _ => return None,
            },
            ("/imobiliarias", _) => match f {
                "nome" | "razao_social" => self.imob_name(c as u32),
                "cnpj" => Value::from(format!(
                    "{:014}",
                    h3(w.seed, 0x1B, c as u64) % 100_000_000_000_000
                )),
                "ativo_painel" => Value::from("S"),
                _ => return None,
            },
            ("/atendimentos/times", _) => match f {
                "idtime" => Value::from(c as u64 + 1),
                "idgestor" => Value::from(w.times[c].gestor as u64 + 1),
                "gestor" => Value::from(self.corretor_name(w.times[c].gestor)),
                "nome" => Value::from(self.time_name(c as u32)),
                "descricao" => self.absent(),
                "tempo_redistribuicao" => Value::from(0),
                "direcionar_para" => Value::from("G"),
                "ativo_painel" => Value::from("S"),
                _ => return None,
            },
            ("/atendimentos/times/integrantes", _) => {
                let it = &w.integrantes[c];
                match f {
                    "idintegrante" => Value::from(c as u64 + 1),
                    "idtime" => Value::from(it.time as u64 + 1),
                    "time" => Value::from(self.time_name(it.time)),
                    "idusuario" => Value::from(it.corretor as u64 + 1),
                    "usuario" => Value::from(self.corretor_name(it.corretor)),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(v)
    }
}
