//! The reference for the cockpit's stock and open-reservation metrics (docs/metrics.md,
//! "Estoque" and "Reservas em andamento"), from CVDW rows, for one tenant. Like the rest of
//! [`super`] it reads values with its own parser and shares nothing with the SQL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Months, NaiveDate};
use serde_json::Value;

use super::own_parse::{cents_of, datetime_of, flag_of, int_of};
use super::Source;

pub(super) fn int(row: &Value, field: &str) -> Option<i64> {
    row.get(field).and_then(int_of)
}
pub(super) fn active(row: &Value) -> bool {
    row.get("ativo").and_then(flag_of) != Some(false)
}
pub(super) fn day(row: &Value, field: &str) -> Option<NaiveDate> {
    row.get(field).and_then(datetime_of).map(|d| d.date())
}
/// Text with a default for missing or blank values.
fn label(row: &Value, field: &str, missing: &str) -> String {
    match row.get(field).and_then(Value::as_str).map(str::trim) {
        Some(text) if !text.is_empty() => text.to_string(),
        _ => missing.to_string(),
    }
}

/// One line of `/api/estoque`: a development's units of one tipologia. Money in centavos.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Estoque {
    pub unidades: i64,
    pub disponiveis: i64,
    pub reservadas: i64,
    pub vendidas: i64,
    pub bloqueadas: i64,
    pub outras: i64,
    pub vgv_estoque: i64,
    pub liquidas_12m: i64,
}

impl Estoque {
    /// disponiveis ÷ (liquidas_12m ÷ 12), to the centésimo; none when nothing sold net.
    pub fn meses_de_estoque(&self) -> Option<f64> {
        (self.liquidas_12m > 0).then(|| {
            (self.disponiveis as f64 * 12.0 / self.liquidas_12m as f64 * 100.0).round() / 100.0
        })
    }
}

/// A day and the unit it concerns.
type UnitEvent = (NaiveDate, Option<i64>);

/// The live sales (date, unit) and distratos (date, unit) as the metrics count them.
fn sales_and_distratos(src: &Source) -> (Vec<UnitEvent>, Vec<UnitEvent>) {
    let reservas: BTreeMap<i64, &Value> = src
        .reservas
        .iter()
        .filter_map(|r| Some((int(r, "idreserva")?, r)))
        .collect();
    let mut unit_of_sale: BTreeMap<i64, Option<i64>> = BTreeMap::new();
    let mut sales = Vec::new();
    for v in src.vendas.iter().filter(|v| active(v)) {
        let (Some(data), Some(id)) = (day(v, "data_venda"), int(v, "idreserva")) else {
            continue;
        };
        let unit =
            int(v, "idunidade").or_else(|| reservas.get(&id).and_then(|r| int(r, "idunidade")));
        unit_of_sale.insert(id, unit);
        sales.push((data, unit));
    }
    let mut distratos = Vec::new();
    for d in src.distratos.iter().filter(|d| active(d)) {
        let Some(data) = day(d, "situacao_data") else {
            continue;
        };
        let unit = int(d, "idunidade").or_else(|| {
            int(d, "idreserva")
                .and_then(|id| unit_of_sale.get(&id))
                .copied()
                .flatten()
        });
        distratos.push((data, unit));
    }
    (sales, distratos)
}

/// `/api/estoque` for one tenant: (idempreendimento, tipologia) → line. `ate` ends the
/// trailing 12 months (else the last sale's day).
pub fn estoque(
    src: &Source,
    empreendimento: Option<i64>,
    ate: Option<NaiveDate>,
) -> BTreeMap<(i64, String), Estoque> {
    let mut out: BTreeMap<(i64, String), Estoque> = BTreeMap::new();
    let mut unit_line: BTreeMap<i64, (i64, String)> = BTreeMap::new();
    for u in src.unidades.iter().filter(|u| active(u)) {
        let Some(emp) = int(u, "idempreendimento") else {
            continue;
        };
        if empreendimento.is_some_and(|e| e != emp) {
            continue;
        }
        let tipologia = label(u, "tipologia", "Sem tipologia");
        if let Some(id) = int(u, "idunidade") {
            let key = (emp, tipologia.clone());
            unit_line
                .entry(id)
                .and_modify(|k| *k = (*k).clone().min(key.clone()))
                .or_insert(key);
        }
        let line = out.entry((emp, tipologia)).or_default();
        line.unidades += 1;
        let holder = |field: &str| int(u, field).unwrap_or(0) != 0;
        if u.get("situacao_bloqueada").and_then(flag_of) == Some(true) {
            line.bloqueadas += 1;
        } else if holder("situacao_vendida") {
            line.vendidas += 1;
        } else if holder("situacao_reservada") {
            line.reservadas += 1;
        } else if int(u, "situacao_para_venda") == Some(1) {
            line.disponiveis += 1;
            line.vgv_estoque += u.get("valor").and_then(cents_of).unwrap_or(0);
        } else {
            line.outras += 1;
        }
    }
    let (sales, distratos) = sales_and_distratos(src);
    let Some(end) = ate.or_else(|| sales.iter().map(|s| s.0).max()) else {
        return out;
    };
    let start = end.checked_sub_months(Months::new(12)).unwrap_or(end);
    let events = sales
        .iter()
        .map(|s| (s, 1))
        .chain(distratos.iter().map(|d| (d, -1)));
    for ((data, unit), sign) in events {
        if *data <= start || *data > end {
            continue;
        }
        if let Some(line) = unit
            .and_then(|u| unit_line.get(&u))
            .and_then(|k| out.get_mut(k))
        {
            line.liquidas_12m += sign;
        }
    }
    out
}

/// One line of `/api/reservas-em-andamento`. Money in centavos, ages in days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reservas {
    pub reservas: i64,
    pub valor: i64,
    pub idade_soma: i64,
    pub idade_max: i64,
}

/// The age band of an open reservation, in the order the api lists them.
pub fn faixa_idade(days: i64) -> &'static str {
    match days {
        ..=7 => "0-7",
        8..=30 => "8-30",
        31..=60 => "31-60",
        61..=90 => "61-90",
        _ => "91+",
    }
}

/// Filters of the people behind a reservation (ids), as the api takes them.
#[derive(Debug, Clone, Copy, Default)]
pub struct People {
    pub empreendimento: Option<i64>,
    pub corretor: Option<i64>,
    pub time: Option<i64>,
    pub imobiliaria: Option<i64>,
}

/// `/api/reservas-em-andamento` for one tenant, ages counted to `ate`:
/// (situação, faixa) → line.
pub fn reservas_em_andamento(
    src: &Source,
    ate: NaiveDate,
    people: People,
) -> BTreeMap<(String, &'static str), Reservas> {
    let live = |rows: &[Value]| -> BTreeSet<i64> {
        rows.iter()
            .filter(|r| active(r))
            .filter_map(|r| int(r, "idreserva"))
            .collect()
    };
    let (sold, cancelled) = (live(src.vendas), live(src.distratos));
    let mut out: BTreeMap<(String, &'static str), Reservas> = BTreeMap::new();
    for r in src.reservas.iter().filter(|r| active(r)) {
        let Some(cad) = day(r, "data_cad") else {
            continue;
        };
        let id = int(r, "idreserva");
        let closed = r.get("venda").and_then(flag_of) == Some(true)
            || day(r, "data_venda").is_some()
            || day(r, "data_cancelamento").is_some()
            || id.is_some_and(|i| sold.contains(&i) || cancelled.contains(&i));
        let wanted = |want: Option<i64>, field: &str| want.is_none_or(|w| int(r, field) == Some(w));
        if closed
            || cad > ate
            || !wanted(people.empreendimento, "idempreendimento")
            || !wanted(people.corretor, "idcorretor")
            || !wanted(people.time, "idtime")
            || !wanted(people.imobiliaria, "idimobiliaria")
        {
            continue;
        }
        let age = (ate - cad).num_days();
        let line = out
            .entry((label(r, "situacao", "Sem situação"), faixa_idade(age)))
            .or_default();
        line.reservas += 1;
        line.valor += r.get("valor_contrato").and_then(cents_of).unwrap_or(0);
        line.idade_soma += age;
        line.idade_max = line.idade_max.max(age);
    }
    out
}

/// One line of `/api/distratos`: the sales and distratos of a motive, development or broker,
/// and the days from each distrato's sale (when that sale counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distratos {
    pub vendas: i64,
    pub distratos: i64,
    pub dias: Vec<i64>,
}

impl Distratos {
    /// Mean days, unrounded.
    pub fn dias_medio(&self) -> Option<f64> {
        (!self.dias.is_empty())
            .then(|| self.dias.iter().sum::<i64>() as f64 / self.dias.len() as f64)
    }
    /// Median days (the mean of the middle two for an even count).
    pub fn dias_mediana(&self) -> Option<f64> {
        median(&self.dias)
    }
}

/// A line's key: (`motivo`, None, motive) or (`empreendimento` | `corretor`, id, "").
pub type DistratoKey = (&'static str, Option<i64>, String);

/// `/api/distratos` for one tenant, from the reference's counted sales and distratos, under
/// the period and the development, broker and team (the filters `/api/distratos` takes).
pub fn distratos(
    reference: &super::Reference,
    filters: &crate::analytics::Filters,
) -> BTreeMap<DistratoKey, Distratos> {
    // [development, broker, team, agency]
    let keep =
        |data: NaiveDate, people: [Option<i64>; 4]| super::pessoas::passes(filters, data, people);
    let mut out: BTreeMap<DistratoKey, Distratos> = BTreeMap::new();
    let mut total = 0;
    for v in &reference.vendas_detalhe {
        if !keep(
            v.data,
            [v.empreendimento, v.corretor, v.time, v.imobiliaria],
        ) {
            continue;
        }
        total += 1;
        out.entry(("empreendimento", v.empreendimento, String::new()))
            .or_default()
            .vendas += 1;
        out.entry(("corretor", v.corretor, String::new()))
            .or_default()
            .vendas += 1;
    }
    for d in &reference.distratos_detalhe {
        if !keep(
            d.data,
            [d.empreendimento, d.corretor, d.time, d.imobiliaria],
        ) {
            continue;
        }
        let days = d.data_venda.map(|sale| (d.data - sale).num_days());
        for key in [
            ("motivo", None, d.motivo.clone()),
            ("empreendimento", d.empreendimento, String::new()),
            ("corretor", d.corretor, String::new()),
        ] {
            let line = out.entry(key).or_default();
            line.distratos += 1;
            line.dias.extend(days);
        }
    }
    for (key, line) in out.iter_mut() {
        if key.0 == "motivo" {
            line.vendas = total;
        }
    }
    out
}

/// One stage of `/api/repasses`. Money in centavos; ages and durations in days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repasses {
    pub itens: i64,
    pub valor: i64,
    pub idades: Vec<i64>,
    pub parados: i64,
    pub valor_parado: i64,
    pub venda_repasse: Vec<i64>,
}

/// The median of whole days (the mean of the middle two for an even count).
pub fn median(values: &[i64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2] as f64),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
    }
}

/// `/api/repasses` for one tenant's `/repasses` rows: situação → stage. Ages to `ate`;
/// stuck = over `dias` days in the stage.
pub fn repasses(
    rows: &[Value],
    ate: NaiveDate,
    empreendimento: Option<i64>,
    dias: i64,
) -> BTreeMap<String, Repasses> {
    let mut out: BTreeMap<String, Repasses> = BTreeMap::new();
    for r in rows.iter().filter(|r| active(r)) {
        if empreendimento.is_some_and(|e| int(r, "idempreendimento") != Some(e)) {
            continue;
        }
        let money = |field: &str| r.get(field).and_then(cents_of);
        let valor = money("valor_financiado")
            .or_else(|| money("valor_previsto"))
            .unwrap_or(0);
        let stage = out.entry(label(r, "situacao", "Sem situação")).or_default();
        stage.itens += 1;
        stage.valor += valor;
        if let Some(age) = day(r, "data_alteracao_status")
            .filter(|since| *since <= ate)
            .map(|since| (ate - since).num_days())
        {
            stage.idades.push(age);
            if age > dias {
                stage.parados += 1;
                stage.valor_parado += valor;
            }
        }
        if let (Some(sale), Some(done)) = (day(r, "data_venda"), day(r, "data_recurso_liberado")) {
            stage.venda_repasse.push((done - sale).num_days());
        }
    }
    out
}
