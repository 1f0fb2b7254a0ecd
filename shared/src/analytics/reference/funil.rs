//! The reference for the sales funnel (docs/metrics.md, "Funil comercial"), from CVDW rows, for
//! one tenant. Like the rest of [`super`] it reads values with its own parser and shares
//! nothing with the SQL: it follows each lead through its visits, its reservations (the first id
//! of `/reservas.idlead`) and their net sales, and puts the reservations and sales whose lead is
//! unknown apart.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::Value;

use super::cockpit::{active, day, int};
use super::own_parse::int_of;
use super::{month, Source};
use crate::analytics::Filters;

fn text(row: &Value, field: &str) -> Option<String> {
    match row.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The lead of a reservation: the first id of `idlead` (a comma-separated list in CVDW).
fn first_lead(row: &Value) -> Option<i64> {
    match row.get("idlead")? {
        Value::String(s) => s.split(',').next()?.trim().parse().ok(),
        other => int_of(other),
    }
}

/// A line of `/api/funil`: (dimensao, id, mes, mídia). Only the mídia line is keyed by its name.
pub type FunilKey = (&'static str, Option<i64>, Option<NaiveDate>, String);

/// One line: how many reached each stage ([`STAGES`]), and the days between the stages of
/// each lead that has both ([`GAPS`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunilLine {
    pub stages: [i64; 4],
    pub gaps: [Vec<i64>; 3],
}

/// The stages' columns in `/api/funil`, in order.
pub const STAGES: [&str; 4] = ["leads", "atendimentos", "reservas", "vendas"];
/// The columns of the median days between consecutive stages.
pub const GAPS: [&str; 3] = [
    "dias_lead_atendimento",
    "dias_atendimento_reserva",
    "dias_reserva_venda",
];

/// One thing the funnel follows: a counted lead, or a reservation or net sale whose lead is
/// unknown (`lead` false).
#[derive(Debug, Clone, Default)]
struct Item {
    lead: bool,
    entrada: Option<NaiveDate>,
    empreendimento: Option<i64>,
    corretor: Option<i64>,
    imobiliaria: Option<i64>,
    midia: String,
    atendimento: Option<Option<NaiveDate>>,
    reserva: Option<Option<NaiveDate>>,
    venda: Option<Option<NaiveDate>>,
}

fn gap(from: Option<Option<NaiveDate>>, to: Option<Option<NaiveDate>>) -> Option<i64> {
    Some((to.flatten()? - from.flatten()?).num_days())
}

/// The earliest day, ignoring the unknown ones (`None` when there is none).
fn earliest(days: impl Iterator<Item = Option<NaiveDate>>) -> Option<NaiveDate> {
    days.flatten().min()
}

/// Net sales by reservation id: the earliest day of its counted ventas (active, dated) when no
/// counted distrato (active, dated) cancelled it, with the sale's development and broker
/// (else the reservation's, whatever its `ativo`).
fn net_sales(src: &Source) -> BTreeMap<i64, (NaiveDate, Option<i64>, Option<i64>)> {
    let all_reservas: BTreeMap<i64, &Value> = src
        .reservas
        .iter()
        .filter_map(|r| Some((int(r, "idreserva")?, r)))
        .collect();
    let cancelled: BTreeSet<i64> = src
        .distratos
        .iter()
        .filter(|d| active(d) && day(d, "situacao_data").is_some())
        .filter_map(|d| int(d, "idreserva"))
        .collect();
    let mut out: BTreeMap<i64, (NaiveDate, Option<i64>, Option<i64>)> = BTreeMap::new();
    for v in src.vendas.iter().filter(|v| active(v)) {
        let (Some(data), Some(id)) = (day(v, "data_venda"), int(v, "idreserva")) else {
            continue;
        };
        if cancelled.contains(&id) {
            continue;
        }
        let reserva = all_reservas.get(&id);
        let from = |field: &str| int(v, field).or_else(|| reserva.and_then(|r| int(r, field)));
        let sale = (data, from("idempreendimento"), from("idcorretor"));
        out.entry(id)
            .and_modify(|s| {
                s.0 = s.0.min(sale.0);
                s.1 = min_known(s.1, sale.1);
                s.2 = min_known(s.2, sale.2);
            })
            .or_insert(sale);
    }
    out
}

/// SQL's `min` of a nullable column: the smaller known value.
fn min_known(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        _ => a.or(b),
    }
}

/// Every item the funnel follows.
fn items(src: &Source) -> Vec<Item> {
    let sales = net_sales(src);
    let mut leads: BTreeMap<i64, Item> = BTreeMap::new();
    for l in src.leads.iter().filter(|l| active(l)) {
        let Some(id) = int(l, "idlead") else {
            continue;
        };
        let midia = text(l, "midia_original")
            .or_else(|| text(l, "origem"))
            .unwrap_or_else(|| "Sem mídia".to_string());
        leads.insert(
            id,
            Item {
                lead: true,
                entrada: day(l, "data_cad"),
                empreendimento: int(l, "idempreendimento"),
                corretor: int(l, "idcorretor"),
                imobiliaria: int(l, "idimobiliaria"),
                midia,
                ..Item::default()
            },
        );
    }
    let mut visits: BTreeMap<i64, Vec<Option<NaiveDate>>> = BTreeMap::new();
    for v in src.leads_visitas.iter().filter(|v| active(v)) {
        if let Some(id) = int(v, "idlead") {
            visits.entry(id).or_default().push(day(v, "data_cad"));
        }
    }
    let mut orphans = Vec::new();
    let mut counted_reservas: BTreeSet<i64> = BTreeSet::new();
    // The lead's reservations and net sales: (reservation days, net sale days).
    type Reached = (Vec<Option<NaiveDate>>, Vec<Option<NaiveDate>>);
    let mut reached: BTreeMap<i64, Reached> = BTreeMap::new();
    for r in src.reservas.iter().filter(|r| active(r)) {
        let Some(id) = int(r, "idreserva") else {
            continue;
        };
        counted_reservas.insert(id);
        let sale = sales.get(&id).map(|s| s.0);
        match first_lead(r).filter(|lead| leads.contains_key(lead)) {
            Some(lead) => {
                let entry = reached.entry(lead).or_default();
                entry.0.push(day(r, "data_cad"));
                entry.1.push(sale);
            }
            None => orphans.push(Item {
                entrada: day(r, "data_cad"),
                empreendimento: int(r, "idempreendimento"),
                corretor: int(r, "idcorretor"),
                imobiliaria: int(r, "idimobiliaria"),
                reserva: Some(day(r, "data_cad")),
                venda: sales.contains_key(&id).then_some(sale),
                ..Item::default()
            }),
        }
    }
    for (id, (data, empreendimento, corretor)) in &sales {
        if !counted_reservas.contains(id) {
            orphans.push(Item {
                entrada: Some(*data),
                empreendimento: *empreendimento,
                corretor: *corretor,
                venda: Some(Some(*data)),
                ..Item::default()
            });
        }
    }
    for (id, item) in &mut leads {
        if let Some((reservas, vendas)) = reached.get(id) {
            item.reserva = Some(earliest(reservas.iter().copied()));
            if vendas.iter().any(Option::is_some) {
                item.venda = Some(earliest(vendas.iter().copied()));
            }
        }
        let first_visit = visits.get(id).map(|v| earliest(v.iter().copied()));
        if first_visit.is_some() || item.reserva.is_some() {
            item.atendimento = Some(earliest(
                [first_visit.flatten(), item.reserva.flatten()].into_iter(),
            ));
        }
    }
    leads.into_values().chain(orphans).collect()
}

/// `/api/funil` for one tenant under `filters`: every line, keyed by [`FunilKey`].
/// Takes the lead's entry period and its development, broker and agency (`Filters`' other
/// fields mean nothing to the funnel).
pub fn funil(src: &Source, filters: &Filters) -> BTreeMap<FunilKey, FunilLine> {
    let mut out: BTreeMap<FunilKey, FunilLine> = BTreeMap::new();
    let keep = |item: &Item| {
        let within = |bound: Option<NaiveDate>, inside: fn(NaiveDate, NaiveDate) -> bool| {
            bound.is_none_or(|b| item.entrada.is_some_and(|d| inside(d, b)))
        };
        within(filters.de, |d, de| d >= de)
            && within(filters.ate, |d, ate| d <= ate)
            && filters
                .empreendimento
                .is_none_or(|e| item.empreendimento == Some(e))
            && filters.corretor.is_none_or(|c| item.corretor == Some(c))
            && filters
                .imobiliaria
                .is_none_or(|i| item.imobiliaria == Some(i))
    };
    for item in items(src).into_iter().filter(keep) {
        let keys: Vec<FunilKey> = if item.lead {
            vec![
                ("total", None, None, String::new()),
                ("mes", None, item.entrada.map(month), String::new()),
                ("empreendimento", item.empreendimento, None, String::new()),
                ("midia", None, None, item.midia.clone()),
                ("corretor", item.corretor, None, String::new()),
            ]
        } else {
            vec![("sem_lead", None, None, String::new())]
        };
        for key in keys {
            let line = out.entry(key).or_default();
            let reached = [
                item.lead,
                item.atendimento.is_some(),
                item.reserva.is_some(),
                item.venda.is_some(),
            ];
            for (count, yes) in line.stages.iter_mut().zip(reached) {
                *count += i64::from(yes);
            }
            let gaps = [
                gap(Some(item.entrada), item.atendimento),
                gap(item.atendimento, item.reserva),
                gap(item.reserva, item.venda),
            ];
            for (days, gap) in line.gaps.iter_mut().zip(gaps) {
                days.extend(gap);
            }
        }
    }
    out
}
