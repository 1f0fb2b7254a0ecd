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
//! Inactive rows (`ativo = 'N'`) and `'S'`/`'N'` and
//! `'Sim'`/`'Não'` flags come from the world and the renderer themselves.

use std::collections::BTreeMap;

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

/// How many rows of each id quirk `rows(path)` holds: `(quirk, rows)`.
pub fn id_census(rows: &dyn Fn(&str) -> Vec<Value>) -> BTreeMap<&'static str, usize> {
    let mut n: BTreeMap<&'static str, usize> = BTreeMap::new();
    let text = |r: &Value, f: &str| -> String {
        match r.get(f) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(x)) => x.to_string(),
            _ => String::new(),
        }
    };
    let conversoes = rows("/leads/conversoes");
    *n.entry("leads/conversoes without their id").or_default() += conversoes
        .iter()
        .filter(|r| text(r, "idlead_conversao").is_empty())
        .count();
    let pesquisas = rows("/pesquisas");
    *n.entry("pesquisas without the person").or_default() += pesquisas
        .iter()
        .filter(|r| text(r, "idpessoa").is_empty())
        .count();
    for (path, what, ids) in [
        (
            "/pessoas/patrimoniais",
            "pessoas/patrimoniais: a person with several assets",
            &["idpessoa"][..],
        ),
        (
            "/leads/momentos",
            "leads/momentos: the same moment of a lead again",
            &["idlead", "idmomento_lead"][..],
        ),
        (
            "/pesquisas",
            "pesquisas: a second sheet of a survey by the same person",
            &["idpesquisa", "idpessoa"][..],
        ),
    ] {
        let mut seen: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for r in rows(path) {
            let key: Vec<String> = ids.iter().map(|f| text(&r, f)).collect();
            if key.iter().all(|k| !k.is_empty()) {
                *seen.entry(key).or_default() += 1;
            }
        }
        *n.entry(what).or_default() += seen.values().filter(|c| **c > 1).count();
    }
    n
}

const SALT: u64 = 0xD1A7_0000;

fn pick(seed: u64, what: u64, id: u64, per_mille: u64) -> bool {
    hash3(seed ^ SALT, what, id) % 1000 < per_mille
}

/// Whether row `pos` of object `oi` sends its money as strings.
pub fn money_as_string(seed: u64, oi: usize, pos: u32) -> bool {
    pick(seed, 1 ^ ((oi as u64) << 8), pos as u64, MONEY_AS_STRING)
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

/// The sentinel row `pos` of object `oi` sends instead of its event date, if it is one of them.
pub fn no_event_date(seed: u64, oi: usize, pos: u32) -> Option<Value> {
    if pos == ALWAYS_UNDATED_ROW {
        // One form per object, so that the smallest world shows three of the four.
        return Some(match oi % 3 {
            0 => Value::from(""),
            1 => Value::from("0000-00-00"),
            _ => Value::Null,
        });
    }
    if !pick(seed, 2 ^ ((oi as u64) << 8), pos as u64, NO_EVENT_DATE) {
        return None;
    }
    Some(match hash3(seed, 0xDA7E ^ oi as u64, pos as u64) % 4 {
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

/// How often each quirk the metrics must handle occurs in a set of rendered rows (object path
/// → rows as served), counted from the values themselves, not from the choices above.
pub fn census(rows: &dyn Fn(&str) -> Vec<Value>) -> BTreeMap<&'static str, usize> {
    let mut n: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut add = |k: &'static str, hit: bool| *n.entry(k).or_default() += usize::from(hit);
    let vendas = rows("/vendas");
    let distratos = rows("/distratos");
    let reservas = rows("/reservas");
    let condicoes = rows("/reservas/condicoes");
    let comissoes = rows("/comissoes");
    let precos = rows("/unidades/precos");
    let unidades = rows("/unidades");
    let integrantes = rows("/atendimentos/times/integrantes");
    for list in [&vendas, &distratos, &reservas, &condicoes, &comissoes] {
        for r in list.iter() {
            for f in MONEY_FIELDS {
                let v = r.get(*f);
                add(
                    "money as a string",
                    matches!(v, Some(Value::String(s)) if !s.is_empty()),
                );
                add("money as a number", matches!(v, Some(Value::Number(_))));
            }
        }
    }
    let sentinel = |v: Option<&Value>| -> Option<&'static str> {
        match v {
            None | Some(Value::Null) => Some("null date"),
            Some(Value::String(s)) if s.is_empty() => Some("empty date"),
            Some(Value::String(s)) if s == "0000-00-00 00:00:00" => Some("zero timestamp"),
            Some(Value::String(s)) if s == "0000-00-00" => Some("zero date"),
            _ => None,
        }
    };
    for (field, list, what) in [
        ("data_venda", &vendas, "vendas without a data_venda"),
        (
            "situacao_data",
            &distratos,
            "distratos without a situacao_data",
        ),
        ("data_cad", &comissoes, "comissões without a data_cad"),
    ] {
        for r in list.iter() {
            let s = sentinel(r.get(field));
            add(what, s.is_some());
            for form in ["null date", "empty date", "zero timestamp", "zero date"] {
                add(form, s == Some(form));
            }
        }
    }
    for v in &vendas {
        let missing = matches!(v.get("valor_contrato"), None | Some(Value::Null))
            || v.get("valor_contrato") == Some(&Value::from(""));
        add("vendas without valor_contrato", missing);
    }
    add("vendas inactive", vendas.iter().any(inactive));
    add("distratos inactive", distratos.iter().any(inactive));
    add("comissões inactive", comissoes.iter().any(inactive));
    add("unidades/precos inactive", precos.iter().any(inactive));
    add("integrantes inactive", integrantes.iter().any(inactive));
    for r in &reservas {
        for f in ["aprovada", "venda"] {
            add("'Sim'", r.get(f) == Some(&Value::from("Sim")));
            add("'Não'", r.get(f) == Some(&Value::from("Não")));
        }
    }
    for u in &unidades {
        add(
            "'S' (situacao_bloqueada)",
            u.get("situacao_bloqueada") == Some(&Value::from("S")),
        );
        add(
            "'N' (situacao_bloqueada)",
            u.get("situacao_bloqueada") == Some(&Value::from("N")),
        );
    }
    // Sales whose team can only come from the broker's membership, and sales whose reservation
    // has no payment conditions.
    let id = |r: &Value, f: &str| -> Option<String> {
        match r.get(f)? {
            Value::Number(x) => Some(x.to_string()),
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    };
    let members: std::collections::BTreeSet<String> = integrantes
        .iter()
        .filter(|m| !inactive(m))
        .filter_map(|m| id(m, "idusuario"))
        .collect();
    let res: BTreeMap<String, &Value> = reservas
        .iter()
        .filter_map(|r| Some((id(r, "idreserva")?, r)))
        .collect();
    let with_conditions: std::collections::BTreeSet<String> = condicoes
        .iter()
        .filter_map(|c| id(c, "idreserva"))
        .collect();
    for v in &vendas {
        let Some(rid) = id(v, "idreserva") else {
            continue;
        };
        let no_team = res
            .get(&rid)
            .is_some_and(|r| matches!(r.get("idtime"), None | Some(Value::Null)));
        let member = id(v, "idcorretor").is_some_and(|c| members.contains(&c));
        add(
            "vendas with the team from the memberships",
            no_team && member,
        );
        add(
            "vendas whose reservation has no payment conditions",
            res.contains_key(&rid) && !with_conditions.contains(&rid),
        );
    }
    n
}

fn inactive(r: &Value) -> bool {
    r.get("ativo") == Some(&Value::from("N"))
}

/// The quirks [`census`] found no row of.
pub fn missing(census: &BTreeMap<&'static str, usize>) -> Vec<&'static str> {
    census
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect()
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
            let c = census(&|p| sim.ground_truth(p));
            eprintln!("seed {seed} scale {scale}: {c:?}");
            assert!(missing(&c).is_empty(), "seed {seed} scale {scale}: {c:?}");
            let ids = id_census(&|p| sim.ground_truth(p));
            assert!(
                missing(&ids).is_empty(),
                "seed {seed} scale {scale}: {ids:?}"
            );
        }
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
