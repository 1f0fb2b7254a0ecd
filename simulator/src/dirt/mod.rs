//! Dirty values in the fields the sales metrics read ([`crate::Quirks::metric_dirt`]).
//!
//! Real CVDW rows carry every encoding docs/cvdw-api.md §5 documents, and the metrics have a rule for
//! each (docs/metrics.md): money as numeric strings as well as numbers, zero and empty dates,
//! a sale without `valor_contrato` (valued from its reservation), a reservation without team
//! fields (team from the broker's membership), a reservation without payment conditions (the
//! pró-soluto fallback formula). Each quirk hits a few percent of the rows, chosen by a hash of
//! the seed and the row, so the world stays deterministic and a row never changes content
//! without its `referencia_data` moving. Ids are dirty too ([`id_dirt`]): rows without their
//! ids where real CVDW sent them so, and ids repeated across the rows of the 1:N objects.
//! Inactive rows (`ativo = 'N'`) and `'S'`/`'N'` and `'Sim'`/`'Não'` flags come from the
//! world and the renderer themselves. [`census`] counts them all in rendered rows.

mod census;

pub use census::{census, id_census, missing, Census, RowsOf};

use serde_json::Value;

use crate::world::hash3;

/// Rows (per mille) of `/vendas`, `/distratos`, `/reservas`, `/reservas/condicoes` and
/// `/comissoes` whose money fields are numeric strings (`"350000.00"`).
pub const MONEY_AS_STRING: u64 = 60;
/// Rows (per mille) of `/vendas`, `/distratos` and `/comissoes` with no real event date
/// (`data_venda`, `situacao_data`, `data_cad`): a zero date, `""` or `null`.
pub const NO_EVENT_DATE: u64 = 40;
/// `/vendas` rows (per mille) without `valor_contrato` (`null` or `""`).
pub const NO_VALOR_CONTRATO: u64 = 40;
/// Reservations (per mille) whose `/reservas` row has no team fields.
pub const NO_TEAM_FIELDS: u64 = 80;
/// Reservations (per mille) without `/reservas/condicoes` rows.
pub const NO_CONDITIONS: u64 = 50;

/// The money fields the metrics read.
pub const MONEY_FIELDS: &[&str] = &[
    "valor_contrato",
    "valor_financiamento",
    "valor_fgts",
    "valor_subsidio",
    "valor",
    "valor_comissao",
    "valor_pagamento",
];

/// The objects whose money fields may come as strings.
pub const MONEY_OBJECTS: &[&str] = &[
    "/vendas",
    "/distratos",
    "/reservas",
    "/reservas/condicoes",
    "/comissoes",
];

/// Rows (per mille) of the objects real CVDW has sent without ids (docs/cvdw-api.md §4): a
/// `/leads/conversoes` run came with its id column and `referencia` empty, and survey sheets
/// without the person.
pub const NO_ID: u64 = 60;
/// Rows (per mille) of the 1:N objects whose ids repeat the previous row's (another asset of
/// the same person, the same moment of a lead again, a second sheet of the same survey by the
/// same person); their other fields stay their own.
pub const REPEATED_IDS: u64 = 60;

/// An id quirk of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdDirt {
    /// These fields (and so `referencia`) are `""`.
    Empty(&'static [&'static str]),
    /// These fields carry the previous row's values.
    RepeatPrevious(&'static [&'static str]),
}

/// The id quirk of row `pos` of `path`, if any. Row 0 never repeats (it has no previous row);
/// row 1 of a 1:N object always does.
pub fn id_dirt(seed: u64, path: &str, pos: u32) -> Option<IdDirt> {
    let (kind, fields): (u64, IdDirt) = match path {
        "/leads/conversoes" => (NO_ID, IdDirt::Empty(&["idlead_conversao"])),
        "/pesquisas" if pos > 1 && pick(seed, 21, pos as u64, NO_ID) => {
            return Some(IdDirt::Empty(&["idpessoa"]))
        }
        "/pesquisas" => (
            REPEATED_IDS,
            IdDirt::RepeatPrevious(&["idpesquisa", "idpessoa"]),
        ),
        "/pessoas/patrimoniais" => (REPEATED_IDS, IdDirt::RepeatPrevious(&["idpessoa"])),
        "/leads/momentos" => (
            REPEATED_IDS,
            IdDirt::RepeatPrevious(&["idlead", "idmomento_lead"]),
        ),
        _ => return None,
    };
    match fields {
        // Row 1 always repeats row 0, so that even the smallest world shows it.
        IdDirt::RepeatPrevious(_) if pos == 0 => None,
        IdDirt::RepeatPrevious(_) if pos == 1 => Some(fields),
        _ => pick(seed, 20 ^ kind, pos as u64, kind).then_some(fields),
    }
}

const SALT: u64 = 0xD1A7_0000;

fn pick(seed: u64, what: u64, id: u64, per_mille: u64) -> bool {
    hash3(seed ^ SALT, what, id) % 1000 < per_mille
}

/// Whether row `pos` of object `object` sends its money as strings.
pub fn money_as_string(seed: u64, object: usize, pos: u32) -> bool {
    pick(
        seed,
        1 ^ ((object as u64) << 8),
        pos as u64,
        MONEY_AS_STRING,
    )
}

/// The row of each object that is always inactive ([`crate::world`]), and the row that always
/// lacks its event date (below): fixed rows, so that even the smallest world, with a handful
/// of distratos, shows both, and each on its own.
pub const ALWAYS_INACTIVE_ROW: u32 = 1;
const ALWAYS_UNDATED_ROW: u32 = 0;

/// The objects whose inactive rows the metrics must skip.
pub const INACTIVE_OBJECTS: &[&str] = &[
    "/vendas",
    "/distratos",
    "/comissoes",
    "/unidades/precos",
    "/atendimentos/times/integrantes",
];

/// The sentinel row `pos` of object `object` sends instead of its event date, if it is one of them.
pub fn no_event_date(seed: u64, object: usize, pos: u32) -> Option<Value> {
    if pos == ALWAYS_UNDATED_ROW {
        // One form per object, so that the smallest world shows three of the four.
        return Some(match object % 3 {
            0 => Value::from(""),
            1 => Value::from("0000-00-00"),
            _ => Value::Null,
        });
    }
    if !pick(seed, 2 ^ ((object as u64) << 8), pos as u64, NO_EVENT_DATE) {
        return None;
    }
    Some(match hash3(seed, 0xDA7E ^ object as u64, pos as u64) % 4 {
        0 => Value::from("0000-00-00 00:00:00"),
        1 => Value::from("0000-00-00"),
        2 => Value::from(""),
        _ => Value::Null,
    })
}

/// What `/vendas` row `pos` sends instead of its `valor_contrato`, if it is one of them.
pub fn no_valor_contrato(seed: u64, pos: u32) -> Option<Value> {
    if !pick(seed, 3, pos as u64, NO_VALOR_CONTRATO) {
        return None;
    }
    Some(if hash3(seed, 0x7A10, pos as u64).is_multiple_of(2) {
        Value::Null
    } else {
        Value::from("")
    })
}

/// Whether reservation `reserva` (index) comes without team fields on `/reservas`.
pub fn reserva_without_team(seed: u64, reserva: u32) -> bool {
    pick(seed, 4, reserva as u64, NO_TEAM_FIELDS)
}

/// Whether reservation `reserva` (index) has no `/reservas/condicoes` rows.
pub fn reserva_without_conditions(seed: u64, reserva: u32) -> bool {
    pick(seed, 5, reserva as u64, NO_CONDITIONS)
}

/// A JSON number as CVDW's numeric-string form (two decimals); anything else unchanged.
pub fn money_string(value: Value) -> Value {
    match value.as_f64() {
        Some(number) if value.is_number() => Value::from(format!("{number:.2}")),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_strings_keep_the_value() {
        assert_eq!(money_string(Value::from(350000)), Value::from("350000.00"));
        assert_eq!(money_string(Value::from(1234.5)), Value::from("1234.50"));
        assert_eq!(money_string(Value::from(0.07)), Value::from("0.07"));
        assert_eq!(money_string(Value::Null), Value::Null);
    }

    #[test]
    fn the_default_world_shows_every_quirk() {
        for (seed, scale) in [(42, 0.1), (11, 0.3), (42, 1.0)] {
            let sim = crate::Simulator::new(crate::SimConfig {
                seed,
                scale,
                ..Default::default()
            });
            let found = census(&|path| sim.ground_truth(path));
            eprintln!("seed {seed} scale {scale}: {found:?}");
            assert!(
                missing(&found).is_empty(),
                "seed {seed} scale {scale}: {found:?}"
            );
            let ids = id_census(&|path| sim.ground_truth(path));
            assert!(
                missing(&ids).is_empty(),
                "seed {seed} scale {scale}: {ids:?}"
            );
        }
    }

    #[test]
    fn rates_are_a_few_percent() {
        let rows = 20_000u32;
        let share = |hit: &dyn Fn(u32) -> bool| {
            (0..rows).filter(|&pos| hit(pos)).count() as f64 / rows as f64
        };
        let hits = share(&|pos| money_as_string(7, 3, pos));
        assert!((0.04..0.08).contains(&hits), "{hits}");
        let hits = share(&|pos| no_event_date(7, 3, pos).is_some());
        assert!((0.025..0.055).contains(&hits), "{hits}");
    }
}
