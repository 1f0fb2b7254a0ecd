//! The metrics computed in plain Rust from CVDW rows as the API serves them (the simulator's
//! ground truth), for one tenant. It shares nothing with the SQL but the definitions, so a
//! test that finds both equal checks the views. Money is in centavos (i64), exact.

use chrono::{Datelike, NaiveDate};
use own_parse::{cents_of, datetime_of, flag_of, int_of};
use serde_json::Value;
use std::collections::BTreeMap;

pub mod cockpit;
pub mod funil;
pub mod pessoas;

/// The reference's own reading of CVDW values (cvdw-api.md §5), deliberately separate from
/// the loader's `crate::values`: a parsing bug there must show as a difference, not cancel
/// out. Only what the metrics read: ids, money, dates and flags.
pub mod own_parse {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
    use serde_json::Value;

    /// An id: a JSON integer or a string of digits; anything else is no id.
    pub fn int_of(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Money in centavos, exactly: a JSON number or a numeric string (`"350000.00"`, also
    /// the Brazilian `"350.000,00"`), read digit by digit and rounded half away from zero
    /// at the centavo. `null`, `""` and text are no value.
    pub fn cents_of(v: &Value) -> Option<i64> {
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            _ => return None,
        };
        let text = if text.contains(',') {
            text.replace('.', "").replace(',', ".")
        } else {
            text
        };
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut c: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let f = frac.as_bytes();
        let digit = |i: usize| f.get(i).map_or(0, |b| i64::from(b - b'0'));
        c = c.checked_mul(100)? + digit(0) * 10 + digit(1);
        if digit(2) >= 5 {
            c += 1;
        }
        Some(if neg { -c } else { c })
    }

    /// A CVDW date or timestamp (`YYYY-MM-DD[ HH:MM:SS]`). Zero dates (`0000-00-00...`),
    /// `""`, `null` and anything that is not a calendar date are no date.
    pub fn datetime_of(v: &Value) -> Option<NaiveDateTime> {
        let s = v.as_str()?.trim();
        let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
        if s.starts_with("0000") {
            return None;
        }
        let time = match s.get(10..) {
            None | Some("") => NaiveTime::MIN,
            Some(t) => NaiveTime::parse_from_str(t.trim(), "%H:%M:%S").ok()?,
        };
        Some(date.and_time(time))
    }

    /// A CVDW flag: `'S'`/`'N'`, `'Sim'`/`'Não'` (also unaccented), JSON booleans.
    pub fn flag_of(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.trim().to_lowercase().as_str() {
                "s" | "sim" => Some(true),
                "n" | "não" | "nao" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The CVDW rows of one tenant, as served (all `ativo` values, no hard-deleted rows).
#[derive(Debug, Default, Clone)]
pub struct Source<'a> {
    pub vendas: &'a [Value],
    pub distratos: &'a [Value],
    pub reservas: &'a [Value],
    pub reservas_condicoes: &'a [Value],
    pub comissoes: &'a [Value],
    pub unidades: &'a [Value],
    pub unidades_precos: &'a [Value],
    pub times: &'a [Value],
    pub times_integrantes: &'a [Value],
    /// `/leads` and `/leads/visitas`, which only the funnel reads.
    pub leads: &'a [Value],
    pub leads_visitas: &'a [Value],
}

/// Additive sales figures (centavos).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sales {
    pub vendas_unidades: i64,
    pub vendas_valor: i64,
    pub distratos_unidades: i64,
    pub distratos_valor: i64,
}

impl Sales {
    pub fn liquidas_unidades(&self) -> i64 {
        self.vendas_unidades - self.distratos_unidades
    }
    pub fn liquidas_valor(&self) -> i64 {
        self.vendas_valor - self.distratos_valor
    }
    /// Ticket médio in centavos, rounded half away from zero (as PostgreSQL's round).
    pub fn ticket_medio(&self) -> Option<i64> {
        (self.vendas_unidades > 0).then(|| div_round(self.vendas_valor, self.vendas_unidades))
    }
}

fn div_round(a: i64, b: i64) -> i64 {
    let q = (a as i128 * 2 + b as i128 * a.signum() as i128) / (2 * b as i128);
    q as i64
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vso {
    pub estoque_inicial: i64,
    pub entradas: i64,
    pub vendas_unidades: i64,
    pub distratos_unidades: i64,
}

impl Vso {
    pub fn oferta(&self) -> i64 {
        self.estoque_inicial + self.entradas
    }
    pub fn vso(&self) -> Option<f64> {
        (self.oferta() != 0)
            .then(|| (self.vendas_unidades - self.distratos_unidades) as f64 / self.oferta() as f64)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProSoluto {
    pub vendas_unidades: i64,
    pub vgv: i64,
    pub prosoluto: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Comissoes {
    pub comissoes: i64,
    pub valor: i64,
    pub pago: i64,
}

/// A counted venda: its day and who and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendaRef {
    pub idreserva: i64,
    pub data: NaiveDate,
    pub empreendimento: Option<i64>,
    pub corretor: Option<i64>,
    pub time: Option<i64>,
    /// The agency (/vendas.idimobiliaria, else the reservation's).
    pub imobiliaria: Option<i64>,
    /// Centavos.
    pub valor: i64,
    /// Whether the team came from /reservas.idtime (else from the broker's membership).
    pub time_da_reserva: bool,
    /// Pró-soluto (the load rule), centavos; 0 when unknown.
    pub prosoluto: i64,
}

/// An active commission: its day (data_cad, else the sale's), development and broker (the
/// reservation's, else the sale's), the team and agency of its counted sale, and its value and
/// payment (centavos).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComissaoRef {
    pub data: Option<NaiveDate>,
    /// [development, broker, team, agency].
    pub people: [Option<i64>; 4],
    pub valor: i64,
    pub pago: i64,
}

/// A counted distrato: its day, the cancelled sale's day (if that sale counts), its motive
/// (blank → `Sem motivo`) and who and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistratoRef {
    pub data: NaiveDate,
    pub data_venda: Option<NaiveDate>,
    pub motivo: String,
    pub empreendimento: Option<i64>,
    pub corretor: Option<i64>,
    pub time: Option<i64>,
    /// The distrato's agency, else the cancelled sale's.
    pub imobiliaria: Option<i64>,
    /// Centavos.
    pub valor: i64,
}

/// Everything the views show, for one tenant, with no filter.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub mensal: BTreeMap<NaiveDate, Sales>,
    pub por_empreendimento: BTreeMap<Option<i64>, Sales>,
    pub por_corretor: BTreeMap<Option<i64>, Sales>,
    pub por_time: BTreeMap<Option<i64>, Sales>,
    pub comissoes_por_corretor: BTreeMap<Option<i64>, Comissoes>,
    pub vso: BTreeMap<(i64, NaiveDate), Vso>,
    pub prosoluto: BTreeMap<(Option<i64>, NaiveDate), ProSoluto>,
    /// Sales whose team came from /reservas vs from team membership.
    pub time_da_reserva: i64,
    pub time_dos_integrantes: i64,
    /// Every counted venda (+1) and distrato (−1): its date and development.
    pub eventos: Vec<(NaiveDate, Option<i64>, i64)>,
    /// Every counted venda, with what the cockpit filters and groups it by.
    pub vendas_detalhe: Vec<VendaRef>,
    /// Every counted distrato, likewise.
    pub distratos_detalhe: Vec<DistratoRef>,
    /// Every active commission, likewise.
    pub comissoes_detalhe: Vec<ComissaoRef>,
    /// Counted vendas that a counted distrato cancelled (a distrato of a sale that does not
    /// count, e.g. one without `data_venda`, still counts as a distrato).
    pub vendas_distratadas: i64,
}

impl Reference {
    /// Net units (vendas − distratos) dated within `de..=ate` (inclusive, open ends).
    pub fn liquidas(&self, de: Option<NaiveDate>, ate: Option<NaiveDate>) -> i64 {
        self.eventos
            .iter()
            .filter(|(d, _, _)| de.is_none_or(|de| *d >= de) && ate.is_none_or(|a| *d <= a))
            .map(|e| e.2)
            .sum()
    }

    /// The KPI card's period VSO: the period's net units (exact dates, the card's
    /// `liquidas_unidades`) ÷ [`Self::periodo_oferta`].
    pub fn periodo_vso(&self, de: Option<NaiveDate>, ate: Option<NaiveDate>) -> Option<f64> {
        let oferta = self.periodo_oferta(de, ate, None);
        (oferta != 0).then(|| self.liquidas(de, ate) as f64 / oferta as f64)
    }

    /// The offer of a period (of one development, or all): the stock on the day `de` +
    /// entries during the period. Entries count from the first day of their month, so the
    /// stock on the day `de` is the stock at the start of de's month plus that month's entries
    /// minus the net units of developments sold in that month before `de`.
    pub fn periodo_oferta(
        &self,
        de: Option<NaiveDate>,
        ate: Option<NaiveDate>,
        empreendimento: Option<i64>,
    ) -> i64 {
        let first = de.map(month);
        let wanted = |emp: i64| empreendimento.is_none_or(|e| e == emp);
        let mut oferta = 0i64;
        let mut seen: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
        for ((emp, m), v) in &self.vso {
            if first.is_some_and(|f| *m < f) || ate.is_some_and(|a| *m > a) || !wanted(*emp) {
                continue;
            }
            if seen.insert(*emp) {
                oferta += v.estoque_inicial;
            }
            oferta += v.entradas;
        }
        if let (Some(de), Some(first)) = (de, first) {
            oferta -= self
                .eventos
                .iter()
                .filter(|(d, emp, _)| emp.is_some_and(wanted) && *d >= first && *d < de)
                .map(|e| e.2)
                .sum::<i64>();
        }
        oferta
    }
}

fn int(row: &Value, f: &str) -> Option<i64> {
    row.get(f).and_then(int_of)
}
fn cents(row: &Value, f: &str) -> Option<i64> {
    row.get(f).and_then(cents_of)
}
fn dt(row: &Value, f: &str) -> Option<chrono::NaiveDateTime> {
    row.get(f).and_then(datetime_of)
}
fn active(row: &Value) -> bool {
    row.get("ativo").and_then(flag_of) != Some(false)
}
pub fn month(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d)
}
fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap_or(d)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).unwrap_or(d)
    }
}

/// A commission's [`ComissaoRef`]; `sale_people` gives the team and agency of a counted sale.
fn comissao_ref(
    c: &Value,
    corretor: Option<i64>,
    reservas: &BTreeMap<i64, &Value>,
    vendas: &BTreeMap<i64, &Value>,
    sale_people: impl Fn(i64) -> Option<(Option<i64>, Option<i64>)>,
) -> ComissaoRef {
    let id = int(c, "idreserva");
    let reserva = id.and_then(|id| reservas.get(&id));
    let venda = id.and_then(|id| vendas.get(&id));
    let data = dt(c, "data_cad")
        .or_else(|| venda.and_then(|v| dt(v, "data_venda")))
        .or_else(|| reserva.and_then(|r| dt(r, "data_venda")));
    let (time, imobiliaria) = id.and_then(sale_people).unwrap_or((None, None));
    let empreendimento = reserva
        .and_then(|r| int(r, "idempreendimento"))
        .or_else(|| venda.and_then(|v| int(v, "idempreendimento")));
    ComissaoRef {
        data: data.map(|d| d.date()),
        people: [empreendimento, corretor, time, imobiliaria],
        valor: cents(c, "valor_comissao").unwrap_or(0),
        pago: cents(c, "valor_pagamento").unwrap_or(0),
    }
}

struct Sale {
    idreserva: i64,
    data: chrono::NaiveDateTime,
    emp: Option<i64>,
    corretor: Option<i64>,
    valor: i64,
    time: Option<i64>,
    imobiliaria: Option<i64>,
    time_da_reserva: bool,
}

/// Compute every metric.
pub fn compute(src: &Source) -> Reference {
    let reservas: BTreeMap<i64, &Value> = src
        .reservas
        .iter()
        .filter_map(|r| Some((int(r, "idreserva")?, r)))
        .collect();
    // Memberships: broker (idusuario) → [(data_cad, idtime)].
    let mut members: BTreeMap<i64, Vec<(Option<chrono::NaiveDateTime>, i64)>> = BTreeMap::new();
    for m in src.times_integrantes.iter().filter(|m| active(m)) {
        if let (Some(u), Some(t)) = (int(m, "idusuario"), int(m, "idtime")) {
            members.entry(u).or_default().push((dt(m, "data_cad"), t));
        }
    }
    let mut r = Reference::default();
    let mut sales: Vec<Sale> = Vec::new();
    for v in src.vendas.iter().filter(|v| active(v)) {
        let Some(data) = dt(v, "data_venda") else {
            continue;
        };
        let Some(id) = int(v, "idreserva") else {
            continue;
        };
        let res = reservas.get(&id);
        let emp =
            int(v, "idempreendimento").or_else(|| res.and_then(|r| int(r, "idempreendimento")));
        let corretor = int(v, "idcorretor").or_else(|| res.and_then(|r| int(r, "idcorretor")));
        let imobiliaria =
            int(v, "idimobiliaria").or_else(|| res.and_then(|r| int(r, "idimobiliaria")));
        let valor = cents(v, "valor_contrato")
            .or_else(|| res.and_then(|r| cents(r, "valor_contrato")))
            .unwrap_or(0);
        let res_time = res.and_then(|r| int(r, "idtime"));
        let (time, from_reserva) = match res_time {
            Some(t) => (Some(t), true),
            None => {
                // The latest membership that started on or before the sale (undated last).
                let t = corretor.and_then(|c| members.get(&c)).and_then(|ms| {
                    ms.iter()
                        .filter(|(cad, _)| cad.is_none_or(|c| c <= data))
                        .max_by(|a, b| match (a.0, b.0) {
                            (Some(x), Some(y)) => x.cmp(&y).then(b.1.cmp(&a.1)),
                            (Some(_), None) => std::cmp::Ordering::Greater,
                            (None, Some(_)) => std::cmp::Ordering::Less,
                            (None, None) => b.1.cmp(&a.1),
                        })
                        .map(|m| m.1)
                });
                (t, false)
            }
        };
        if time.is_some() {
            if from_reserva {
                r.time_da_reserva += 1;
            } else {
                r.time_dos_integrantes += 1;
            }
        }
        sales.push(Sale {
            idreserva: id,
            data,
            emp,
            corretor,
            valor,
            time,
            imobiliaria,
            time_da_reserva: time.is_some() && from_reserva,
        });
    }
    let by_id: BTreeMap<i64, usize> = sales
        .iter()
        .enumerate()
        .map(|(i, s)| (s.idreserva, i))
        .collect();
    for s in &sales {
        r.vendas_detalhe.push(VendaRef {
            idreserva: s.idreserva,
            data: s.data.date(),
            empreendimento: s.emp,
            corretor: s.corretor,
            time: s.time,
            imobiliaria: s.imobiliaria,
            valor: s.valor,
            time_da_reserva: s.time_da_reserva,
            prosoluto: 0,
        });
        r.eventos.push((s.data.date(), s.emp, 1));
        let m = month(s.data.date());
        for e in [
            r.mensal.entry(m).or_default(),
            r.por_empreendimento.entry(s.emp).or_default(),
            r.por_corretor.entry(s.corretor).or_default(),
            r.por_time.entry(s.time).or_default(),
        ] {
            e.vendas_unidades += 1;
            e.vendas_valor += s.valor;
        }
    }
    // Distratos.
    let mut dist: Vec<(NaiveDate, Option<i64>)> = Vec::new();
    let mut distratadas: std::collections::BTreeSet<i64> = Default::default();
    for d in src.distratos.iter().filter(|d| active(d)) {
        let Some(data) = dt(d, "situacao_data") else {
            continue;
        };
        if let Some(id) = int(d, "idreserva").filter(|id| by_id.contains_key(id)) {
            distratadas.insert(id);
        }
        let sale = int(d, "idreserva")
            .and_then(|id| by_id.get(&id))
            .map(|&i| &sales[i]);
        let emp = int(d, "idempreendimento").or_else(|| sale.and_then(|s| s.emp));
        let corretor = int(d, "idcorretor").or_else(|| sale.and_then(|s| s.corretor));
        let valor = cents(d, "valor_contrato")
            .or_else(|| sale.map(|s| s.valor))
            .unwrap_or(0);
        let time = sale.and_then(|s| s.time);
        let m = month(data.date());
        for e in [
            r.mensal.entry(m).or_default(),
            r.por_empreendimento.entry(emp).or_default(),
            r.por_corretor.entry(corretor).or_default(),
            r.por_time.entry(time).or_default(),
        ] {
            e.distratos_unidades += 1;
            e.distratos_valor += valor;
        }
        dist.push((m, emp));
        r.eventos.push((data.date(), emp, -1));
        let motivo = match d
            .get("motivo_distrato")
            .and_then(Value::as_str)
            .map(str::trim)
        {
            Some(text) if !text.is_empty() => text.to_string(),
            _ => "Sem motivo".to_string(),
        };
        r.distratos_detalhe.push(DistratoRef {
            data: data.date(),
            data_venda: sale.map(|s| s.data.date()),
            motivo,
            empreendimento: emp,
            corretor,
            time,
            imobiliaria: int(d, "idimobiliaria").or_else(|| sale.and_then(|s| s.imobiliaria)),
            valor,
        });
    }
    r.vendas_distratadas = distratadas.len() as i64;
    // Commissions, by the reservation's broker.
    let vendas_by_id: BTreeMap<i64, &Value> = src
        .vendas
        .iter()
        .filter_map(|v| Some((int(v, "idreserva")?, v)))
        .collect();
    for c in src.comissoes.iter().filter(|c| active(c)) {
        let id = int(c, "idreserva");
        let corretor = id
            .and_then(|id| reservas.get(&id).and_then(|r| int(r, "idcorretor")))
            .or_else(|| id.and_then(|id| vendas_by_id.get(&id).and_then(|v| int(v, "idcorretor"))));
        let e = r.comissoes_por_corretor.entry(corretor).or_default();
        e.comissoes += 1;
        e.valor += cents(c, "valor_comissao").unwrap_or(0);
        e.pago += cents(c, "valor_pagamento").unwrap_or(0);
        r.comissoes_detalhe
            .push(comissao_ref(c, corretor, &reservas, &vendas_by_id, |id| {
                by_id
                    .get(&id)
                    .map(|i| (sales[*i].time, sales[*i].imobiliaria))
            }));
    }
    // Pró-soluto per reservation (the load rule).
    let mut cond: BTreeMap<i64, i64> = BTreeMap::new();
    for c in src.reservas_condicoes.iter().filter(|c| active(c)) {
        let Some(id) = int(c, "idreserva") else {
            continue;
        };
        let serie = c
            .get("serie")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        let bank = serie.contains("financ")
            || serie.contains("fgts")
            || serie.contains("subsídio")
            || serie.contains("subsidio");
        let e = cond.entry(id).or_insert(0);
        if !bank {
            *e += cents(c, "valor").unwrap_or(0);
        }
    }
    let prosoluto = |id: i64| -> Option<i64> {
        if let Some(p) = cond.get(&id) {
            return Some(*p);
        }
        let res = reservas.get(&id)?;
        let vc = cents(res, "valor_contrato")?;
        Some(
            vc - cents(res, "valor_financiamento").unwrap_or(0)
                - cents(res, "valor_fgts").unwrap_or(0)
                - cents(res, "valor_subsidio").unwrap_or(0),
        )
    };
    for s in &sales {
        let e = r
            .prosoluto
            .entry((s.emp, month(s.data.date())))
            .or_default();
        e.vendas_unidades += 1;
        e.vgv += s.valor;
        e.prosoluto += prosoluto(s.idreserva).unwrap_or(0);
    }
    for v in &mut r.vendas_detalhe {
        v.prosoluto = prosoluto(v.idreserva).unwrap_or(0);
    }
    // VSO: units (not blocked) and their entry month. Inactive price rows count: a
    // withdrawn price table does not undo the unit's having been offered under it.
    let mut entry: BTreeMap<i64, NaiveDate> = BTreeMap::new();
    for p in src.unidades_precos {
        let (Some(u), Some(d)) = (
            int(p, "idunidade"),
            dt(p, "data_vigencia_de").map(|d| d.date()),
        ) else {
            continue;
        };
        let e = entry.entry(u).or_insert(d);
        if d < *e {
            *e = d;
        }
    }
    // emp → (entries before any month, entries by month)
    let mut units: BTreeMap<i64, (i64, BTreeMap<NaiveDate, i64>)> = BTreeMap::new();
    for u in src.unidades {
        let blocked = u
            .get("situacao_bloqueada")
            .map(|v| flag_of(v) == Some(true))
            .unwrap_or(false);
        let (Some(id), Some(emp)) = (int(u, "idunidade"), int(u, "idempreendimento")) else {
            continue;
        };
        if blocked {
            continue;
        }
        let e = units.entry(emp).or_default();
        match entry.get(&id) {
            Some(d) => *e.1.entry(month(*d)).or_default() += 1,
            None => e.0 += 1,
        }
    }
    let mut net: BTreeMap<(i64, NaiveDate), (i64, i64)> = BTreeMap::new();
    for s in &sales {
        if let Some(e) = s.emp {
            net.entry((e, month(s.data.date()))).or_default().0 += 1;
        }
    }
    for (m, emp) in &dist {
        if let Some(e) = emp {
            net.entry((*e, *m)).or_default().1 += 1;
        }
    }
    let last = net.keys().map(|k| k.1).max();
    if let Some(last) = last {
        let emps: std::collections::BTreeSet<i64> = units
            .keys()
            .copied()
            .chain(net.keys().map(|k| k.0))
            .collect();
        for emp in emps {
            let (pre, by_month) = units.get(&emp).cloned().unwrap_or_default();
            let first = by_month
                .keys()
                .copied()
                .chain(net.keys().filter(|k| k.0 == emp).map(|k| k.1))
                .min();
            let Some(mut m) = first else { continue };
            let mut entered_before = pre;
            let mut net_before = 0i64;
            while m <= last {
                let entradas = by_month.get(&m).copied().unwrap_or(0);
                let (vu, du) = net.get(&(emp, m)).copied().unwrap_or((0, 0));
                r.vso.insert(
                    (emp, m),
                    Vso {
                        estoque_inicial: entered_before - net_before,
                        entradas,
                        vendas_unidades: vu,
                        distratos_unidades: du,
                    },
                );
                entered_before += entradas;
                net_before += vu - du;
                m = next_month(m);
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::own_parse::{cents_of, datetime_of, flag_of, int_of};
    use serde_json::json;

    #[test]
    fn the_reference_reads_money_as_numbers_and_strings_exactly() {
        assert_eq!(cents_of(&json!(350000)), Some(35_000_000));
        assert_eq!(cents_of(&json!(630176.55)), Some(63_017_655));
        assert_eq!(cents_of(&json!("350000.00")), Some(35_000_000));
        assert_eq!(cents_of(&json!(" 1234.5 ")), Some(123_450));
        assert_eq!(cents_of(&json!("1.234,56")), Some(123_456));
        assert_eq!(cents_of(&json!("0.125")), Some(13));
        assert_eq!(cents_of(&json!(-10.5)), Some(-1050));
        for none in [
            json!(null),
            json!(""),
            json!("não informado"),
            json!("."),
            json!([]),
        ] {
            assert_eq!(cents_of(&none), None, "{none}");
        }
    }

    #[test]
    fn the_reference_reads_dates_and_sentinels() {
        let d = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok();
        assert_eq!(
            datetime_of(&json!("2025-03-15 10:20:30")),
            d("2025-03-15 10:20:30")
        );
        assert_eq!(datetime_of(&json!("2025-03-15")), d("2025-03-15 00:00:00"));
        for none in [
            json!("0000-00-00 00:00:00"),
            json!("0000-00-00"),
            json!(""),
            json!(null),
            json!("2025-02-30"),
            json!("15/03/2025"),
        ] {
            assert_eq!(datetime_of(&none), None, "{none}");
        }
    }

    #[test]
    fn the_reference_reads_flags_and_ids() {
        for (v, want) in [
            (json!("S"), Some(true)),
            (json!("Sim"), Some(true)),
            (json!("N"), Some(false)),
            (json!("Não"), Some(false)),
            (json!("nao"), Some(false)),
            (json!(false), Some(false)),
            (json!(""), None),
            (json!(null), None),
        ] {
            assert_eq!(flag_of(&v), want, "{v}");
        }
        assert_eq!(int_of(&json!(12)), Some(12));
        assert_eq!(int_of(&json!("12")), Some(12));
        assert_eq!(int_of(&json!("8757, 211964")), None);
        assert_eq!(int_of(&json!(1.5)), None);
    }
}
