//! Dirty values in the fields the sales metrics read ([`crate::Quirks::metric_dirt`]).
//!
//! Real CVDW rows carry every encoding cvdw-api.md §5 documents, and the metrics have a rule for
//! each (docs/metrics.md): money as numeric strings as well as numbers, zero and empty dates,
//! a sale without `valor_contrato` (valued from its reservation), a reservation without team
//! fields (team from the broker's membership), a reservation without payment conditions (the
//! pró-soluto fallback formula). Each quirk hits a few percent of the rows, chosen by a hash of
//! the seed and the row, so the world stays deterministic and a row never changes content
//! without its `referencia_data` moving. Inactive rows (`ativo = 'N'`) and `'S'`/`'N'` and
//! `'Sim'`/`'Não'` flags come from the world and the renderer themselves.

use serde_json::Value;

use crate::world::h3;

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

const SALT: u64 = 0xD1A7_0000;

fn pick(seed: u64, what: u64, id: u64, per_mille: u64) -> bool {
    h3(seed ^ SALT, what, id) % 1000 < per_mille
}

/// Whether row `pos` of object `oi` sends its money as strings.
pub fn money_as_string(seed: u64, oi: usize, pos: u32) -> bool {
    pick(seed, 1 ^ ((oi as u64) << 8), pos as u64, MONEY_AS_STRING)
}

/// The sentinel row `pos` of object `oi` sends instead of its event date, if it is one of them.
pub fn no_event_date(seed: u64, oi: usize, pos: u32) -> Option<Value> {
    if !pick(seed, 2 ^ ((oi as u64) << 8), pos as u64, NO_EVENT_DATE) {
        return None;
    }
    Some(match h3(seed, 0xDA7E ^ oi as u64, pos as u64) % 4 {
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
    Some(if h3(seed, 0x7A10, pos as u64) % 2 == 0 {
        Value::Null
    } else {
        Value::from("")
    })
}

/// Whether reservation `r` (index) comes without team fields on `/reservas`.
pub fn reserva_without_team(seed: u64, r: u32) -> bool {
    pick(seed, 4, r as u64, NO_TEAM_FIELDS)
}

/// Whether reservation `r` (index) has no `/reservas/condicoes` rows.
pub fn reserva_without_conditions(seed: u64, r: u32) -> bool {
    pick(seed, 5, r as u64, NO_CONDITIONS)
}

/// A JSON number as CVDW's numeric-string form (two decimals); anything else unchanged.
pub fn money_string(v: Value) -> Value {
    match v.as_f64() {
        Some(x) if v.is_number() => Value::from(format!("{x:.2}")),
        _ => v,
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
    fn rates_are_a_few_percent() {
        let n = 20_000u32;
        let hits = (0..n).filter(|&p| money_as_string(7, 3, p)).count() as f64 / n as f64;
        assert!((0.04..0.08).contains(&hits), "{hits}");
        let hits = (0..n).filter(|&p| no_event_date(7, 3, p).is_some()).count() as f64 / n as f64;
        assert!((0.025..0.055).contains(&hits), "{hits}");
    }
}
