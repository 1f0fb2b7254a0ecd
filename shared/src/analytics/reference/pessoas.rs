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

/// Sales figures per month and per development (`/api/vendas-mensais`,
/// `/api/vendas-empreendimentos`) under `filters`.
pub fn vendas_por_mes_e_empreendimento(
    reference: &Reference,
    filters: &Filters,
) -> (BTreeMap<NaiveDate, Sales>, BTreeMap<Option<i64>, Sales>) {
    let mut by_month: BTreeMap<NaiveDate, Sales> = BTreeMap::new();
    let mut by_development: BTreeMap<Option<i64>, Sales> = BTreeMap::new();
    // (day, [development, broker, team, agency], is a sale, value)
    let vendas = reference.vendas_detalhe.iter().map(|v| {
        let people = [v.empreendimento, v.corretor, v.time, v.imobiliaria];
        (v.data, people, true, v.valor)
    });
    let distratos = reference.distratos_detalhe.iter().map(|d| {
        let people = [d.empreendimento, d.corretor, d.time, d.imobiliaria];
        (d.data, people, false, d.valor)
    });
    for (data, people, sale, valor) in vendas.chain(distratos) {
        if !passes(filters, data, people) {
            continue;
        }
        for line in [
            by_month.entry(month(data)).or_default(),
            by_development.entry(people[0]).or_default(),
        ] {
            if sale {
                line.vendas_unidades += 1;
                line.vendas_valor += valor;
            } else {
                line.distratos_unidades += 1;
                line.distratos_valor += valor;
            }
        }
    }
    (by_month, by_development)
}
