//! The reference for the monthly and per-development sales under the filters by broker, team and
//! agency (docs/metrics.md, "Filtros da API"), from the counted vendas and distratos of
//! [`super::compute`]: a sale's people are its own, a distrato's the ones its row names, else
//! the cancelled sale's.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{month, Reference, Sales};
use crate::analytics::Filters;

/// Whether a fact dated `data` of this development, broker, team and agency passes `filters`.
fn passes(filters: &Filters, data: NaiveDate, people: [Option<i64>; 4]) -> bool {
    let wanted = [
        filters.empreendimento,
        filters.corretor,
        filters.time,
        filters.imobiliaria,
    ];
    filters.de.is_none_or(|de| data >= de)
        && filters.ate.is_none_or(|ate| data <= ate)
        && wanted
            .iter()
            .zip(people)
            .all(|(want, has)| want.is_none_or(|id| has == Some(id)))
}

/// A counted venda or distrato: its day, [development, broker, team, agency], whether it is a
/// sale (else a distrato), its value and whether its team came from its reservation.
type Fact = (NaiveDate, [Option<i64>; 4], bool, i64, bool);

/// The reference's counted vendas and distratos that pass `filters`.
fn facts<'a>(reference: &'a Reference, filters: &'a Filters) -> impl Iterator<Item = Fact> + 'a {
    let vendas = reference.vendas_detalhe.iter().map(|v| {
        let people = [v.empreendimento, v.corretor, v.time, v.imobiliaria];
        (v.data, people, true, v.valor, v.time_da_reserva)
    });
    let distratos = reference.distratos_detalhe.iter().map(|d| {
        let people = [d.empreendimento, d.corretor, d.time, d.imobiliaria];
        (d.data, people, false, d.valor, false)
    });
    vendas
        .chain(distratos)
        .filter(move |(data, people, ..)| passes(filters, *data, *people))
}

fn add(line: &mut Sales, sale: bool, valor: i64) {
    if sale {
        line.vendas_unidades += 1;
        line.vendas_valor += valor;
    } else {
        line.distratos_unidades += 1;
        line.distratos_valor += valor;
    }
}

/// Sales figures per month and per development (`/api/vendas-mensais`,
/// `/api/vendas-empreendimentos`) under `filters`.
pub fn vendas_por_mes_e_empreendimento(
    reference: &Reference,
    filters: &Filters,
) -> (BTreeMap<NaiveDate, Sales>, BTreeMap<Option<i64>, Sales>) {
    let mut by_month: BTreeMap<NaiveDate, Sales> = BTreeMap::new();
    let mut by_development: BTreeMap<Option<i64>, Sales> = BTreeMap::new();
    for (data, people, sale, valor, _) in facts(reference, filters) {
        add(by_month.entry(month(data)).or_default(), sale, valor);
        add(by_development.entry(people[0]).or_default(), sale, valor);
    }
    (by_month, by_development)
}

/// `/api/vendas-times` under `filters`: team → (figures, sales whose team came from the
/// reservation, sales whose team came from the broker's membership).
pub fn vendas_por_time(
    reference: &Reference,
    filters: &Filters,
) -> BTreeMap<Option<i64>, (Sales, i64, i64)> {
    let mut out: BTreeMap<Option<i64>, (Sales, i64, i64)> = BTreeMap::new();
    for (_, people, sale, valor, da_reserva) in facts(reference, filters) {
        let line = out.entry(people[2]).or_default();
        add(&mut line.0, sale, valor);
        if sale && people[2].is_some() {
            if da_reserva {
                line.1 += 1;
            } else {
                line.2 += 1;
            }
        }
    }
    out
}
