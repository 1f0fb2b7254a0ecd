//! The person behind a row (the lead, the customer of a reservation, a co-buyer): names,
//! documents, contacts, city and income, all cut from the person's hash so that they agree
//! wherever the person appears.

use super::*;

/// Deterministic person data for pessoa `index` (= lead index; ids are index + 1). Cheap:
/// the name is only assembled when asked for.
pub(super) struct Person {
    pub(super) first: &'static str,
    surname1: &'static str,
    surname2: &'static str,
    female: bool,
    /// The person's hash: every other derived value of theirs is cut from it.
    pub(super) hash: u64,
}

impl Person {
    pub(super) fn nome(&self) -> String {
        format!("{} {} {}", self.first, self.surname1, self.surname2)
    }
}

/// The person `index` of the population `salt` (leads and customers, brokers, filler names).
pub(super) fn person(seed: u64, salt: u64, index: u32) -> Person {
    let hash = hash3(seed, salt, index as u64);
    let female = hash & 1 == 1;
    let pool = if female { FIRST_F } else { FIRST_M };
    Person {
        first: pool[(hash >> 8) as usize % pool.len()],
        surname1: SURNAMES[(hash >> 20) as usize % SURNAMES.len()],
        surname2: SURNAMES[(hash >> 32) as usize % SURNAMES.len()],
        female,
        hash,
    }
}

/// Accents off, for e-mail addresses.
fn ascii_fold(text: &str) -> String {
    text.chars()
        .map(|letter| match letter {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            'Á' | 'Â' | 'Ã' => 'A',
            'É' | 'Ê' => 'E',
            'Í' => 'I',
            'Ó' | 'Ô' => 'O',
            'Ú' => 'U',
            'Ç' => 'C',
            other => other,
        })
        .collect()
}

impl RowRenderer<'_> {
    /// The fields of the row's person (lead index `lead`).
    pub(super) fn person_field(&self, lead: u32, field: &str) -> Option<Value> {
        let someone = person(self.world.seed, 0xB0, lead);
        let hash = someone.hash;
        let path = self.spec.path;
        let no_address = (hash >> 50).is_multiple_of(10);
        let media = self.world.leads[lead as usize].midia as usize;
        Some(match field {
            "idlead" if path == "/precadastros" => Value::from((lead + 1).to_string()),
            "idlead" | "idcliente" | "idpessoa" | "idpessoa_cv" => Value::from(lead as u64 + 1),
            "idpessoa_int" => Value::from(format!("{}", lead + 1)),
            "cliente" | "nome_cliente" | "lead" | "pessoa" | "lead_nome" => {
                Value::from(someone.nome())
            }
            "nome" if path.starts_with("/leads") || path.starts_with("/pessoas") => {
                Value::from(someone.nome())
            }
            "documento_cliente" | "documento" => {
                Value::from(format!("{:011}", hash % 100_000_000_000))
            }
            "email" | "email_cliente" | "lead_email" if no_address => self.absent(),
            "email" | "email_cliente" | "lead_email" => Value::from(format!(
                "{}.{}@email.com.br",
                ascii_fold(someone.first).to_lowercase(),
                lead + 1
            )),
            "telefone" | "celular" | "telefone_atendimento" => Value::from(format!(
                "(11) 9{:04}-{:04}",
                (hash >> 8) % 10_000,
                (hash >> 24) % 10_000
            )),
            "cep_cliente" | "cep" if no_address => self.absent(),
            "cep_cliente" | "cep" => Value::from(format!("{:08}", (hash >> 16) % 100_000_000)),
            "cidade" => Value::from(CITIES[(hash >> 40) as usize % CITIES.len()].0),
            "estado" => Value::from(CITIES[(hash >> 40) as usize % CITIES.len()].1),
            "renda" | "renda_familiar" | "renda_cliente_principal" => {
                let income = ((hash >> 12) % 30_000 + 2_500) as i64 * 100;
                if path == "/leads" || path == "/precadastros" {
                    Value::from(format!("{:.2}", income as f64 / 100.0))
                } else {
                    money(income)
                }
            }
            "sexo" => Value::from(if someone.female {
                "Feminino"
            } else {
                "Masculino"
            }),
            "idade" => Value::from((hash >> 28) % 50 + 21),
            "estado_civil" => Value::from(
                ["Solteiro(a)", "Casado(a)", "Divorciado(a)", "União estável"]
                    [((hash >> 36) % 4) as usize],
            ),
            "idmidia" => Value::from(media as u64 + 1),
            "midia" | "origem" => Value::from(MIDIAS[media]),
            _ => return None,
        })
    }
}
