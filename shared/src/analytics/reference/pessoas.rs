//! The reference for the sales metrics under the filters by broker, team and agency
//! (docs/metrics.md, "Filtros da API"), from the counted vendas, distratos and commissions of
//! [`super::compute`]: a sale's people are its own, a distrato's the ones its row names, else
//! the cancelled sale's; a commission's broker is the one it is listed under, its team and
//! agency its sale's.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::{month, ComissaoRef, Comissoes, ProSoluto, Reference, Sales, VendaRef};
use crate::analytics::Filters;

/// Whether a fact dated `data` of this development, broker, team and agency passes `filters`.
pub(super) fn passes(filters: &Filters, data: NaiveDate, people: [Option<i64>; 4]) -> bool {
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

/// The counted vendas that pass `filters`.
fn vendas<'a>(
    reference: &'a Reference,
    filters: &'a Filters,
) -> impl Iterator<Item = &'a VendaRef> {
    reference.vendas_detalhe.iter().filter(move |v| {
        passes(
            filters,
            v.data,
            [v.empreendimento, v.corretor, v.time, v.imobiliaria],
        )
    })
}

/// The active commissions that pass `filters` (an undated one only when no period is asked).
fn comissoes<'a>(
    reference: &'a Reference,
    filters: &'a Filters,
) -> impl Iterator<Item = &'a ComissaoRef> {
    reference
        .comissoes_detalhe
        .iter()
        .filter(move |c| match c.data {
            Some(data) => passes(filters, data, c.people),
            None => {
                filters.de.is_none()
                    && filters.ate.is_none()
                    && passes(filters, NaiveDate::MIN, c.people)
            }
        })
}

/// The KPI card under people filters: the figures, commissions (valor, pago), pró-soluto
/// (centavos) and the period's offer, which is the developments' and takes no people filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kpis {
    pub sales: Sales,
    pub comissao_valor: i64,
    pub comissao_paga: i64,
    pub prosoluto: i64,
    pub oferta: i64,
}

/// `/api/kpis` under `filters`.
pub fn kpis(reference: &Reference, filters: &Filters) -> Kpis {
    let mut out = Kpis::default();
    for (_, _, sale, valor, _) in facts(reference, filters) {
        add(&mut out.sales, sale, valor);
    }
    for c in comissoes(reference, filters) {
        out.comissao_valor += c.valor;
        out.comissao_paga += c.pago;
    }
    out.prosoluto = vendas(reference, filters).map(|v| v.prosoluto).sum();
    out.oferta = reference.periodo_oferta(filters.de, filters.ate, filters.empreendimento);
    out
}

/// `/api/vendas-corretores` under `filters`: broker → (figures, commissions valor, pago).
pub fn vendas_por_corretor(
    reference: &Reference,
    filters: &Filters,
) -> BTreeMap<Option<i64>, (Sales, i64, i64)> {
    let mut by_broker: BTreeMap<Option<i64>, Sales> = BTreeMap::new();
    facts(reference, filters).for_each(|(_, people, sale, valor, _)| {
        add(by_broker.entry(people[1]).or_default(), sale, valor)
    });
    let mut out: BTreeMap<Option<i64>, (Sales, i64, i64)> = by_broker
        .into_iter()
        .map(|(broker, figures)| (broker, (figures, 0, 0)))
        .collect();
    for c in comissoes(reference, filters) {
        let line = out.entry(c.people[1]).or_default();
        line.1 += c.valor;
        line.2 += c.pago;
    }
    out
}

/// `/api/comissoes-corretores` under `filters`.
pub fn comissoes_por_corretor(
    reference: &Reference,
    filters: &Filters,
) -> BTreeMap<Option<i64>, Comissoes> {
    let mut out: BTreeMap<Option<i64>, Comissoes> = BTreeMap::new();
    for c in comissoes(reference, filters) {
        let line = out.entry(c.people[1]).or_default();
        line.comissoes += 1;
        line.valor += c.valor;
        line.pago += c.pago;
    }
    out
}

/// `/api/prosoluto` under `filters`: (development, month) → figures.
pub fn prosoluto(
    reference: &Reference,
    filters: &Filters,
) -> BTreeMap<(Option<i64>, NaiveDate), ProSoluto> {
    let mut out: BTreeMap<(Option<i64>, NaiveDate), ProSoluto> = BTreeMap::new();
    for v in vendas(reference, filters) {
        let line = out.entry((v.empreendimento, month(v.data))).or_default();
        line.vendas_unidades += 1;
        line.vgv += v.valor;
        line.prosoluto += v.prosoluto;
    }
    out
}

/// `/api/tabela-geral` under `filters`: the reservation ids of its lines, newest first.
pub fn tabela_geral(reference: &Reference, filters: &Filters) -> Vec<i64> {
    let mut lines: Vec<(NaiveDate, i64)> = vendas(reference, filters)
        .map(|v| (v.data, v.idreserva))
        .collect();
    lines.sort_by(|a, b| b.cmp(a));
    lines.into_iter().map(|(_, id)| id).collect()
}

/// `/api/ano-atual-vs-passado` for the year `ano` under `filters` (their period ignored):
/// month 1–12 → [net units this year, the year before, net R$ this year, the year before,
/// VGV this year, the year before]; empty when neither year has a line.
pub fn ano_atual_vs_passado(
    reference: &Reference,
    filters: &Filters,
    ano: i32,
) -> BTreeMap<u32, [i64; 6]> {
    let years = Filters {
        de: NaiveDate::from_ymd_opt(ano - 1, 1, 1),
        ate: NaiveDate::from_ymd_opt(ano, 12, 31),
        ..filters.clone()
    };
    let (by_month, _) = vendas_por_mes_e_empreendimento(reference, &years);
    if by_month.is_empty() {
        return BTreeMap::new();
    }
    let mut out: BTreeMap<u32, [i64; 6]> = (1..=12).map(|m| (m, [0; 6])).collect();
    for (mes, s) in by_month {
        let passado = usize::from(mes.year() != ano);
        let line = out.entry(mes.month()).or_default();
        line[passado] = s.liquidas_unidades();
        line[2 + passado] = s.liquidas_valor();
        line[4 + passado] = s.vendas_valor;
    }
    out
}
