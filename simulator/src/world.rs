//! The simulated incorporadora: compact entities, one row table per CVDW object, the clock.
//!
//! Entities hold only what makes the world consistent (which unit a reservation took, its
//! contract value in centavos, when it was sold or cancelled...). Everything else a row shows
//! is derived when it is rendered ([`crate::render`]). Each of the 70 objects is a [`Table`] of
//! [`Row`] headers: the context entity, creation and reference times (seconds since
//! 2000-01-01, naive São Paulo time) and state bits. Tables keep a sorted index by
//! (`referencia_data`, position) for ordering, date filters and offset paging.
//!
//! Life of a sale: a reservation takes an available unit (unit → "Reservada"); it is sold
//! (a `/vendas` row, a commission, a repasse when financed, unit → "Vendida") or cancelled
//! (unit back to stock). A distrato adds a `/distratos` row, moves the reservation to
//! "Distrato", inactivates its commission and repasse (`ativo='N'`) and returns the unit to
//! stock; the `/vendas` row stays as it was (whether CVDW drops it is unknown, §6), so net
//! sales = `/vendas` − `/distratos`. Every change of what a row shows moves its
//! `referencia_data` to the time of the change, so an incremental sync from a cursor sees it;
//! hard deletes are the only changes a cursor cannot see.

// Object indices are table ids used across several parallel vectors; index loops read best.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use shared::catalogue::{ObjectSpec, OBJECTS};

use crate::{
    ChangeSummary, Malformation, MalformedRow, ObjectChanges, Quirks, SimConfig, WorldShape,
};

/// Seconds since 2000-01-01 00:00:00 (naive local time).
pub type T = i32;
pub const NONE: u32 = u32::MAX;
pub const DAY: i32 = 86_400;

pub const ATIVO_N: u8 = 1;
pub const DELETED: u8 = 2;
pub const REF_NULL: u8 = 4;
pub const REF_ZERO: u8 = 8;

/// Reservation situations (the dev tenant's ids where known: 3 Vendida, 13 Distrato, §6).
pub const RS_RESERVADA: u8 = 1;
pub const RS_ANALISE: u8 = 2;
pub const RS_VENDIDA: u8 = 3;
pub const RS_CANCELADA: u8 = 6;
pub const RS_DISTRATO: u8 = 13;

/// Unit situations.
pub const US_DISPONIVEL: u8 = 1;
pub const US_RESERVADA: u8 = 2;
pub const US_VENDIDA: u8 = 3;
pub const US_BLOQUEADA: u8 = 4;

pub fn reserva_situacao_nome(s: u8) -> &'static str {
    match s {
        RS_RESERVADA => "Reservada",
        RS_ANALISE => "Em análise",
        RS_VENDIDA => "Vendida",
        RS_CANCELADA => "Cancelada",
        RS_DISTRATO => "Distrato",
        _ => "Reservada",
    }
}

pub fn unidade_situacao_nome(s: u8) -> &'static str {
    match s {
        US_DISPONIVEL => "Disponível",
        US_RESERVADA => "Reservada",
        US_VENDIDA => "Vendida",
        US_BLOQUEADA => "Bloqueada",
        _ => "Disponível",
    }
}

/// Payment series of a reservation's conditions.
pub const SERIES: &[&str] = &[
    "Ato",
    "Sinal",
    "Mensais",
    "Intermediárias",
    "FGTS",
    "Subsídio",
    "Financiamento",
];
pub const SERIE_FGTS: u8 = 4;
pub const SERIE_SUBSIDIO: u8 = 5;
pub const SERIE_FINANCIAMENTO: u8 = 6;

pub fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

pub fn to_t(dt: &NaiveDateTime) -> T {
    let secs = (*dt - epoch()).num_seconds();
    secs.clamp(i32::MIN as i64 + 2, i32::MAX as i64) as T
}

/// Civil date from days since 2000-01-01 (Howard Hinnant's algorithm).
fn civil(days_since_2000: i64) -> (i64, u32, u32) {
    let z = days_since_2000 + 10957 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push2(out: &mut String, v: u32) {
    out.push((b'0' + (v / 10 % 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}

fn push_date(out: &mut String, t: T) {
    let (y, m, d) = civil((t as i64).div_euclid(86400));
    let y = y.clamp(0, 9999) as u32;
    push2(out, y / 100);
    push2(out, y % 100);
    out.push('-');
    push2(out, m);
    out.push('-');
    push2(out, d);
}

/// `YYYY-MM-DD HH:MM:SS` (hand-rolled: it runs for most fields of every served row).
pub fn fmt_dt(t: T) -> String {
    let mut out = String::with_capacity(19);
    push_date(&mut out, t);
    let s = (t as i64).rem_euclid(86400) as u32;
    out.push(' ');
    push2(&mut out, s / 3600);
    out.push(':');
    push2(&mut out, (s / 60) % 60);
    out.push(':');
    push2(&mut out, s % 60);
    out
}

/// `YYYY-MM-DD`.
pub fn fmt_date(t: T) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, t);
    out
}

/// `dd/mm/yyyy` (the `/unidades` spec examples, §5).
pub fn fmt_br_date(t: T) -> String {
    let (y, m, d) = civil((t as i64).div_euclid(86400));
    format!("{d:02}/{m:02}/{y:04}")
}

/// splitmix64: the deterministic hash behind all derived values.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub fn h3(a: u64, b: u64, c: u64) -> u64 {
    mix(mix(mix(a) ^ b) ^ c)
}

pub struct Emp {
    pub nome: String,
    pub city: u8,
    pub horizontal: bool,
    /// Price per m² in centavos.
    pub m2: i64,
    pub entrega: T,
}
pub struct Etapa {
    pub emp: u32,
    pub n: u8,
}
pub struct Bloco {
    pub etapa: u32,
    pub emp: u32,
    pub n: u16,
}
pub struct Unidade {
    pub bloco: u32,
    pub andar: u8,
    pub coluna: u8,
    pub tip: u8,
    pub area: u32,
    pub preco: i64,
    pub sit: u8,
    pub holder: u32,
}
pub struct Imob {
    pub nome: u8,
    pub city: u8,
}
pub struct Corretor {
    pub imob: u32,
    pub time: u32,
}
pub struct Time {
    pub gestor: u32,
}
pub struct Integrante {
    pub time: u32,
    pub corretor: u32,
}
pub struct Lead {
    pub corretor: u32,
    pub emp: u32,
    pub midia: u8,
    pub sit: u8,
    pub cad: T,
    pub reserva: u32,
}
pub struct Reserva {
    pub unidade: u32,
    pub lead: u32,
    pub corretor: u32,
    pub cad: T,
    pub venda: T,
    pub distrato: T,
    pub cancel: T,
    pub sit: u8,
    pub prev_sit: u8,
    pub valor: i64,
    pub cond_start: u32,
    pub cond_n: u8,
    pub tabela: u8,
    pub assoc: u32,
    /// The first of the sale's commissions; the others follow it ([`Reserva::comissao_n`]).
    pub comissao: u32,
    pub comissao_n: u8,
    pub repasse: u32,
    pub hist_venda: u32,
}
pub struct Condicao {
    pub reserva: u32,
    pub serie: u8,
    pub parcelas: u16,
    pub valor: i64,
    pub venc: T,
}
pub struct Comissao {
    pub reserva: u32,
    /// Basis points of valor_contrato.
    pub bp: u16,
    pub valor: i64,
    pub pago: i64,
    pub parcelas: u8,
    pub n_pagas: u8,
    pub last_pag: T,
    pub row: u32,
}
pub struct Pagamento {
    pub comissao: u32,
    pub valor: i64,
    pub venc: T,
}
pub struct Repasse {
    pub reserva: u32,
    pub row: u32,
}
pub struct Assoc {
    pub reserva: u32,
    pub pessoa: u32,
}
pub struct Hist {
    pub ent: u32,
    pub de: u8,
    pub para: u8,
}

/// One served row: 16 bytes.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub ctx: u32,
    pub cad: T,
    pub refdt: T,
    pub state: u8,
}

/// What a row's `ctx` points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    None,
    Lead,
    Reserva,
    /// Generic rows attached to sold reservations (ctx = reserva index).
    Sold,
    Unidade,
    /// `/unidades/precos`: ctx = unit, second table = position / units.
    Preco,
    Corretor,
    Imob,
    Time,
    Integrante,
    Condicao,
    Comissao,
    Pagamento,
    Repasse,
    Assoc,
    HistRes,
    HistUni,
}

/// How an object's rows are made.
#[derive(Clone, Copy, Debug)]
pub struct Def {
    pub ctx: Ctx,
    /// Generic objects: rows per context entity.
    pub per: f64,
    /// Generic objects: exactly one row per context entity (key = the entity id).
    pub one_per: bool,
    /// Quirk: this object shows zero (`REF_ZERO`) or null (`REF_NULL`) `referencia_data`.
    pub zero_ref: u8,
    /// Semantic objects are filled by the world's own events, not by the generic generator.
    pub semantic: bool,
}

const fn g(ctx: Ctx, per: f64) -> Def {
    Def {
        ctx,
        per,
        one_per: false,
        zero_ref: 0,
        semantic: false,
    }
}
const fn one(ctx: Ctx, per: f64) -> Def {
    Def {
        ctx,
        per,
        one_per: true,
        zero_ref: 0,
        semantic: false,
    }
}
const fn sem(ctx: Ctx) -> Def {
    Def {
        ctx,
        per: 1.0,
        one_per: true,
        zero_ref: 0,
        semantic: true,
    }
}
const fn zr(mut d: Def, z: u8) -> Def {
    d.zero_ref = z;
    d
}

pub fn def_for(path: &str) -> Def {
    use Ctx::*;
    match path {
        "/agendamentos/vistorias" => g(Sold, 0.3),
        "/assistencias" => g(Sold, 0.5),
        "/assistencias/workflow/tempo" => g(Sold, 1.0),
        "/assistencias/itens" => g(Sold, 0.8),
        "/assistencias/itens/workflow/tempo" => g(Sold, 1.0),
        "/assistencias/visitas/workflow/tempo" => g(Sold, 0.8),
        "/atendimentos" => g(Sold, 0.6),
        "/atendimentos/workflow/tempo" => g(Sold, 1.2),
        "/atendimentos/interacoes" => g(Sold, 1.5),
        "/atendimentos/respostas" => g(Sold, 0.6),
        "/atendimentos/tarefas" => g(Sold, 0.6),
        "/atendimentos/times" => sem(Time),
        "/atendimentos/times/integrantes" => zr(sem(Integrante), REF_NULL),
        "/comissoes" => zr(sem(Comissao), REF_ZERO),
        "/comissoes/pagamentos" => sem(Pagamento),
        "/comissoes/workflow/tempo" => g(Sold, 1.5),
        "/leads/corretores" => one(Lead, 1.0),
        "/leads" => sem(Lead),
        "/leads/conversoes" => g(Lead, 1.2),
        "/leads/ganhos" => g(Lead, 0.05),
        "/leads/historico/situacoes" => g(Lead, 2.0),
        "/leads/infos" => one(Lead, 1.0),
        "/leads/interacoes" => zr(g(Lead, 3.0), REF_ZERO),
        "/leads/momentos" => one(Lead, 1.0),
        "/leads/perdas" => g(Lead, 0.2),
        "/leads/tarefas" => g(Lead, 1.0),
        "/leads/visitas" => g(Lead, 0.3),
        "/leads/workflow/tempo" => g(Lead, 2.0),
        "/usuarios_administrativos" => g(None, 40.0),
        "/demandas" => g(None, 17.0),
        "/processos" => g(Sold, 0.2),
        "/precadastros" => g(Reserva, 0.8),
        "/imobiliarias" => sem(Imob),
        "/corretores" => zr(sem(Corretor), REF_ZERO),
        "/precadastro/workflow/tempo" => g(Reserva, 1.5),
        "/precadastro/historico/situacoes" => g(Reserva, 1.5),
        "/campanhas_ativacao" => g(Lead, 0.01),
        "/repasses" => sem(Repasse),
        "/repasses/workflow/tempo" => g(Sold, 1.5),
        "/repasses/historico/situacoes" => g(Sold, 1.5),
        "/reservas" => sem(Reserva),
        "/reservas/comissoes" => g(Sold, 2.0),
        "/reservas/comissoes/programacao" => g(Sold, 2.0),
        "/reservas/coordenador" => g(Reserva, 0.5),
        "/reservas/historico/situacoes" => zr(sem(HistRes), REF_ZERO),
        "/reservas/historico" => g(Reserva, 2.0),
        "/reservas/condicoes" => sem(Condicao),
        "/reservas/associados" => sem(Assoc),
        "/reservas/contratos" => g(Sold, 1.0),
        "/reservas/workflow/tempo" => g(Reserva, 2.0),
        "/reservas/campos-adicionais" => g(Reserva, 1.0),
        "/vendas" => sem(Sold),
        "/distratos" => sem(Reserva),
        "/simulacoes" => g(Lead, 0.3),
        "/reservas/sienge" => g(Sold, 1.0),
        "/unidades/precos" => zr(sem(Preco), REF_ZERO),
        "/unidades" => sem(Unidade),
        "/campos_adicionais" => zr(g(Lead, 0.5), REF_ZERO),
        "/pessoas" => one(Lead, 1.0),
        "/pessoas/contatos" => one(Lead, 1.0),
        "/pessoas/profissional" => one(Lead, 0.6),
        "/pessoas/patrimoniais" => one(Lead, 0.3),
        "/pessoas/bancarios" => one(Lead, 0.4),
        "/pessoas/bens-empresa" => one(Lead, 0.05),
        "/pessoas/financeiros" => one(Lead, 0.5),
        "/reservas/registros/flags" => sem(Reserva),
        "/pesquisas" => one(Lead, 0.2),
        "/pesquisas/perguntas" => g(None, 20.0),
        "/pesquisas/respostas" => g(Lead, 0.4),
        "/unidades/situacao" => sem(HistUni),
        _ => g(None, 10.0),
    }
}

/// One object's rows and their API order.
#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    /// (sort key, position), sorted; hard-deleted rows are left out.
    pub index: Vec<(T, u32)>,
    pub dirty: bool,
}

impl Table {
    fn push(&mut self, ctx: u32, cad: T, refdt: T) -> u32 {
        self.rows.push(Row {
            ctx,
            cad,
            refdt,
            state: 0,
        });
        self.dirty = true;
        (self.rows.len() - 1) as u32
    }
    fn rebuild(&mut self) {
        self.index.clear();
        self.index.reserve(self.rows.len());
        for (i, r) in self.rows.iter().enumerate() {
            if r.state & DELETED != 0 {
                continue;
            }
            let key = if r.state & (REF_NULL | REF_ZERO) != 0 {
                T::MIN
            } else {
                r.refdt
            };
            self.index.push((key, i as u32));
        }
        self.index.sort_unstable();
        self.dirty = false;
    }
    /// The index range whose rows match the date filter. Rows with null/zero
    /// `referencia_data` never match a filter.
    pub fn range(&self, from: Option<T>, to: Option<T>) -> std::ops::Range<usize> {
        if from.is_none() && to.is_none() {
            return 0..self.index.len();
        }
        let lo = from.unwrap_or(T::MIN + 1).max(T::MIN + 1);
        let start = self.index.partition_point(|(k, _)| *k < lo);
        let end = match to {
            Some(to) => self.index.partition_point(|(k, _)| *k <= to),
            None => self.index.len(),
        };
        start..end.max(start)
    }
}

pub struct World {
    pub seed: u64,
    pub quirks: Quirks,
    pub now: T,
    pub start: T,
    pub rng: SmallRng,
    pub emps: Vec<Emp>,
    pub etapas: Vec<Etapa>,
    pub blocos: Vec<Bloco>,
    pub unidades: Vec<Unidade>,
    pub imobs: Vec<Imob>,
    pub corretores: Vec<Corretor>,
    pub times: Vec<Time>,
    pub integrantes: Vec<Integrante>,
    pub leads: Vec<Lead>,
    pub reservas: Vec<Reserva>,
    pub condicoes: Vec<Condicao>,
    pub comissoes: Vec<Comissao>,
    pub pagamentos: Vec<Pagamento>,
    pub repasses: Vec<Repasse>,
    pub assocs: Vec<Assoc>,
    pub hist_res: Vec<Hist>,
    pub hist_uni: Vec<Hist>,
    /// Units currently for sale.
    pub available: Vec<u32>,
    pub tables: Vec<Table>,
    pub defs: Vec<Def>,
    /// Per-day event rates, derived from the generated history.
    pub leads_per_day: f64,
    pub reservas_per_day: f64,
    /// Rows deliberately malformed ([`SimConfig::malformed`]): (object index, row position).
    pub malformed: BTreeMap<(usize, u32), Malformation>,
    /// [`SimConfig::distratos_per_day`].
    pub distratos_per_day: Option<f64>,
    /// [`SimConfig::shape`].
    pub shape: WorldShape,
}

pub fn obj_index(path: &str) -> usize {
    OBJECTS
        .iter()
        .position(|o| o.path == path)
        .unwrap_or_else(|| panic!("not a catalogue path: {path}"))
}

/// Round a rate to a count, carrying the fraction as a probability.
fn poisson_ish(rng: &mut SmallRng, rate: f64) -> usize {
    let base = rate.floor();
    let frac = rate - base;
    base as usize + usize::from(rng.random::<f64>() < frac)
}

/// Per-advance change bookkeeping.
#[derive(Default)]
struct Changes {
    objects: BTreeMap<&'static str, ObjectChanges>,
    inactivated: BTreeMap<&'static str, Vec<(usize, u32)>>,
    deleted: BTreeMap<&'static str, Vec<(usize, u32)>>,
}

impl Changes {
    fn entry(&mut self, oi: usize) -> &mut ObjectChanges {
        self.objects.entry(OBJECTS[oi].path).or_default()
    }
}

impl World {
    pub fn generate(cfg: &SimConfig) -> Self {
        let scale = if cfg.scale.is_finite() && cfg.scale > 0.0 {
            cfg.scale
        } else {
            1.0
        };
        let now = to_t(&cfg.start_now);
        let years = cfg.history_years.max(1) as i32;
        let start = now - years * 365 * DAY;
        let mut rng = SmallRng::seed_from_u64(cfg.seed);
        let n_res = ((1000.0 * scale).round() as usize).max(20);
        let shape = &cfg.shape;
        let n_leads = n_res * shape.leads_per_reserva;
        let n_cor = ((40.0 * scale.powf(0.7)).round() as usize).max(10);
        let n_imob = (n_cor / 8).max(3);
        let n_time = (n_cor / 10).max(2);
        let n_emp = ((6.0 * scale.powf(0.6)).round() as usize).max(3);
        let (units_num, units_den) = shape.units_per_reserva;
        let n_units = n_res * units_num / units_den.max(1);
        let units_per_emp = n_units.div_ceil(n_emp).max(8);

        let mut w = World {
            seed: cfg.seed,
            quirks: cfg.quirks,
            now,
            start,
            rng: SmallRng::seed_from_u64(mix(cfg.seed ^ 0xadd)),
            emps: Vec::with_capacity(n_emp),
            etapas: Vec::new(),
            blocos: Vec::new(),
            unidades: Vec::with_capacity(n_units),
            imobs: Vec::new(),
            corretores: Vec::new(),
            times: Vec::new(),
            integrantes: Vec::new(),
            leads: Vec::with_capacity(n_leads),
            reservas: Vec::with_capacity(n_res),
            condicoes: Vec::with_capacity(n_res * 5),
            comissoes: Vec::new(),
            pagamentos: Vec::new(),
            repasses: Vec::new(),
            assocs: Vec::new(),
            hist_res: Vec::new(),
            hist_uni: Vec::new(),
            available: Vec::new(),
            tables: OBJECTS.iter().map(|_| Table::default()).collect(),
            defs: OBJECTS
                .iter()
                .map(|o| {
                    let mut def = def_for(o.path);
                    if let Some(&(_, per)) =
                        shape.rows_per_entity.iter().find(|(p, _)| *p == o.path)
                    {
                        def.per = per;
                    }
                    def
                })
                .collect(),
            leads_per_day: n_leads as f64 / (years * 365) as f64,
            reservas_per_day: n_res as f64 / (years * 365) as f64,
            malformed: BTreeMap::new(),
            distratos_per_day: cfg.distratos_per_day,
            shape: shape.clone(),
        };

        // Developments, phases, blocks, units.
        for e in 0..n_emp {
            let horizontal = rng.random::<f64>() < 0.25;
            let tier = rng.random_range(0..3);
            let m2 = [420_000_i64, 750_000, 1_180_000][tier] + rng.random_range(0..150_000);
            let prefix =
                crate::names::EMP_PREFIX[rng.random_range(0..crate::names::EMP_PREFIX.len())];
            let name = crate::names::EMP_NAMES[e % crate::names::EMP_NAMES.len()];
            let nome = if e < crate::names::EMP_NAMES.len() {
                format!("{prefix} {name}")
            } else {
                format!("{prefix} {name} {}", e / crate::names::EMP_NAMES.len() + 1)
            };
            w.emps.push(Emp {
                nome,
                city: rng.random_range(0..crate::names::CITIES.len()) as u8,
                horizontal,
                m2,
                entrega: start + rng.random_range(300..(years * 365 + 900)) * DAY,
            });
            let n_etapas = rng.random_range(1..=3usize).min(units_per_emp / 4).max(1);
            // Keep blocks at most 128 units (16 floors of 8), adding blocks as the scale grows.
            let n_blocos_per = rng
                .random_range(1..=3usize)
                .max(units_per_emp.div_ceil(n_etapas * 128));
            let n_blocos = n_etapas * n_blocos_per;
            let per_bloco = units_per_emp.div_ceil(n_blocos);
            for et in 0..n_etapas {
                let etapa_ix = w.etapas.len() as u32;
                w.etapas.push(Etapa {
                    emp: e as u32,
                    n: et as u8 + 1,
                });
                for b in 0..n_blocos_per {
                    let bloco_ix = w.blocos.len() as u32;
                    w.blocos.push(Bloco {
                        etapa: etapa_ix,
                        emp: e as u32,
                        n: (et * n_blocos_per + b) as u16 + 1,
                    });
                    let cols = if horizontal { per_bloco.max(1) } else { 8 };
                    for u in 0..per_bloco {
                        let tip = if horizontal {
                            rng.random_range(2..6)
                        } else {
                            rng.random_range(0..5)
                        };
                        let (_, area0, _) = crate::names::TIPOLOGIAS[tip];
                        let area = area0 + rng.random_range(0..600);
                        let andar = if horizontal { 0 } else { (u / cols) as u8 + 1 };
                        let preco = (m2 * area as i64 / 100) * (100 + andar as i64) / 100;
                        let preco = preco / 100 * 100;
                        let sit = if rng.random::<f64>() < 0.02 {
                            US_BLOQUEADA
                        } else {
                            US_DISPONIVEL
                        };
                        let ui = w.unidades.len() as u32;
                        w.unidades.push(Unidade {
                            bloco: bloco_ix,
                            andar,
                            coluna: (u % cols) as u8 + 1,
                            tip: tip as u8,
                            area,
                            preco,
                            sit,
                            holder: NONE,
                        });
                        if sit == US_DISPONIVEL {
                            w.available.push(ui);
                        }
                    }
                }
            }
        }
        let oi_uni = obj_index("/unidades");
        for i in 0..w.unidades.len() {
            let cad = start - rng.random_range(30..400) * DAY + rng.random_range(0..DAY);
            w.tables[oi_uni].push(i as u32, cad, cad);
        }
        let oi_preco = obj_index("/unidades/precos");
        // Two yearly tables, or more spread evenly over the history.
        let tables = shape.price_tables.max(1);
        let table_every = if tables <= 2 {
            365 * DAY
        } else {
            (now - start) / tables as i32
        };
        for tab in 0..tables {
            for i in 0..w.unidades.len() {
                let cad = start + (tab as i32) * table_every + rng.random_range(0..DAY);
                let cad = cad.min(now - DAY);
                w.tables[oi_preco].push(i as u32, cad, cad);
            }
        }

        // Agencies, brokers, teams.
        for i in 0..n_imob {
            w.imobs.push(Imob {
                nome: (i % crate::names::IMOB_NAMES.len()) as u8,
                city: rng.random_range(0..crate::names::CITIES.len()) as u8,
            });
            let cad = start - rng.random_range(30..700) * DAY;
            w.tables[obj_index("/imobiliarias")].push(
                i as u32,
                cad,
                cad + rng.random_range(0..200) * DAY,
            );
        }
        for i in 0..n_cor {
            let time = if rng.random::<f64>() < 0.8 {
                (i % n_time) as u32
            } else {
                NONE
            };
            w.corretores.push(Corretor {
                imob: rng.random_range(0..n_imob) as u32,
                time,
            });
            let cad = start - rng.random_range(10..600) * DAY;
            w.tables[obj_index("/corretores")].push(
                i as u32,
                cad,
                cad + rng.random_range(0..300) * DAY,
            );
        }
        for t in 0..n_time {
            // The manager is the first broker of the team.
            w.times.push(Time { gestor: t as u32 });
            w.corretores[t].time = t as u32;
            let cad = start - rng.random_range(10..300) * DAY;
            w.tables[obj_index("/atendimentos/times")].push(t as u32, cad, cad);
        }
        for c in 0..n_cor {
            let time = w.corretores[c].time;
            if time != NONE {
                let ix = w.integrantes.len() as u32;
                w.integrantes.push(Integrante {
                    time,
                    corretor: c as u32,
                });
                let cad = start - rng.random_range(1..300) * DAY;
                w.tables[obj_index("/atendimentos/times/integrantes")].push(ix, cad, cad);
            }
        }

        // Leads, created uniformly over the history (sorted by creation).
        let mut cads: Vec<T> = (0..n_leads)
            .map(|_| start + rng.random_range(0..(now - start)))
            .collect();
        cads.sort_unstable();
        for cad in cads {
            w.new_lead_entity(&mut rng, cad);
        }

        // Reservations, uniformly over the history.
        let mut rcads: Vec<T> = (0..n_res)
            .map(|_| start + 30 * DAY + rng.random_range(0..(now - start - 31 * DAY)))
            .collect();
        rcads.sort_unstable();
        let mut ch = Changes::default();
        for cad in rcads {
            let Some(r) = w.new_reserva(&mut rng, cad, &mut ch) else {
                continue;
            };
            // Outcome, decided now and applied as the events happen.
            let x: f64 = rng.random();
            if x < shape.sale_below {
                let venda = cad + rng.random_range(DAY..15 * DAY);
                if venda <= now {
                    w.sell(&mut rng, r, venda, &mut ch);
                    if rng.random::<f64>() < shape.distrato_share {
                        let d = venda + rng.random_range(30 * DAY..400 * DAY);
                        if d <= now {
                            w.distrato(&mut rng, r, d, &mut ch);
                        }
                    }
                }
            } else {
                // Cancelled within weeks; the rest (8 %) expire unsold after a month, except
                // the recent ones, which are still pending at `now`.
                let c = if x < shape.quick_cancel_below {
                    cad + rng.random_range(2 * DAY..20 * DAY)
                } else {
                    cad + rng.random_range(20 * DAY..35 * DAY)
                };
                if c <= now {
                    w.cancel(r, c, &mut ch);
                }
            }
        }
        // Commission payments due so far.
        for c in 0..w.comissoes.len() {
            w.pay_due_commissions(&mut rng, c as u32, (T::MIN, now), &mut ch);
        }
        // Repasse progress.
        for rp in 0..w.repasses.len() {
            let r = w.repasses[rp].reserva as usize;
            let venda = w.reservas[r].venda;
            let steps = ((now - venda) / (45 * DAY)).clamp(0, 4);
            let row = w.repasses[rp].row as usize;
            let oi = obj_index("/repasses");
            let t = (venda + steps * 45 * DAY).min(now);
            w.tables[oi].rows[row].refdt = t;
        }

        // Generic objects.
        let n_sold = w.reservas.iter().filter(|r| r.venda > 0).count();
        for oi in 0..OBJECTS.len() {
            let d = w.defs[oi];
            if d.semantic {
                continue;
            }
            match d.ctx {
                Ctx::Lead => {
                    let n = (w.leads.len() as f64 * d.per).round() as usize;
                    for i in 0..n {
                        let l = if d.one_per {
                            i
                        } else {
                            rng.random_range(0..w.leads.len())
                        };
                        let base = w.leads[l].cad;
                        w.push_generic(&mut rng, oi, l as u32, base);
                    }
                }
                Ctx::Reserva | Ctx::Sold => {
                    let pool: Vec<u32> = (0..w.reservas.len() as u32)
                        .filter(|&r| d.ctx == Ctx::Reserva || w.reservas[r as usize].venda > 0)
                        .collect();
                    if pool.is_empty() {
                        continue;
                    }
                    let n = (pool.len() as f64 * d.per).round() as usize;
                    for i in 0..n {
                        let r = if d.per <= 1.0 {
                            pool[i % pool.len()]
                        } else {
                            pool[rng.random_range(0..pool.len())]
                        };
                        let base = if d.ctx == Ctx::Sold {
                            w.reservas[r as usize].venda
                        } else {
                            w.reservas[r as usize].cad
                        };
                        w.push_generic(&mut rng, oi, r, base);
                    }
                }
                _ => {
                    let n = if OBJECTS[oi].path == "/demandas" {
                        17
                    } else {
                        (d.per * scale.sqrt()).round().max(3.0) as usize
                    };
                    for _ in 0..n {
                        let base = start + rng.random_range(0..(now - start));
                        w.push_generic(&mut rng, oi, 0, base);
                    }
                }
            }
        }
        let _ = n_sold;

        // A few rows are already inactive, and a few carry zero/null referencia_data.
        for oi in 0..OBJECTS.len() {
            // `/agendamentos/vistorias` only ever serves active rows (leaked server query,
            // §6): its inactive rows are simply absent.
            let has_ativo = OBJECTS[oi].has_ativo && OBJECTS[oi].path != "/agendamentos/vistorias";
            let zero = w.defs[oi].zero_ref;
            let always_inactive =
                cfg.quirks.metric_dirt && crate::dirt::INACTIVE_OBJECTS.contains(&OBJECTS[oi].path);
            for (pos, row) in w.tables[oi].rows.iter_mut().enumerate() {
                if has_ativo && rng.random::<f64>() < 0.02
                    || always_inactive && pos as u32 == crate::dirt::ALWAYS_INACTIVE_ROW
                {
                    row.state |= ATIVO_N;
                }
                if cfg.quirks.zero_dates && zero != 0 && rng.random::<f64>() < 0.03 {
                    row.state |= zero;
                }
            }
        }
        for t in w.tables.iter_mut() {
            t.rebuild();
        }
        w.choose_malformed(cfg);
        w
    }

    /// Pick the rows [`SimConfig::malformed`] asks for, with an RNG of their own so that the
    /// world (and its later evolution) is the same with or without them.
    fn choose_malformed(&mut self, cfg: &SimConfig) {
        for spec in &cfg.malformed {
            let Some(obj) = shared::catalogue::find(&spec.object) else {
                continue;
            };
            let oi = obj_index(obj.path);
            let mut rng = SmallRng::seed_from_u64(mix(cfg.seed ^ 0xbad0_0000 ^ oi as u64));
            let mut candidates: Vec<u32> = self.tables[oi]
                .index
                .iter()
                .map(|&(_, pos)| pos)
                .filter(|pos| !self.malformed.contains_key(&(oi, *pos)))
                .collect();
            for _ in 0..spec.count {
                if candidates.is_empty() {
                    break;
                }
                let pos = candidates.swap_remove(rng.random_range(0..candidates.len()));
                self.malformed.insert((oi, pos), spec.malformation.clone());
            }
        }
    }

    pub fn malformed_rows(&self) -> Vec<MalformedRow> {
        self.malformed
            .iter()
            .map(|(&(oi, pos), m)| MalformedRow {
                object_path: OBJECTS[oi].path.to_string(),
                key: self.key_of(oi, pos),
                malformation: m.clone(),
            })
            .collect()
    }

    fn push_generic(&mut self, rng: &mut SmallRng, oi: usize, ctx: u32, base: T) -> u32 {
        let now = self.now;
        // Within 20 days after the parent's event, and never in the future (rows that would
        // be are spread over the hours before now rather than piled up on it).
        let mut cad = base + rng.random_range(0..20 * DAY);
        if cad > now {
            cad = (now - rng.random_range(0..6 * 3600)).max(base.min(now));
        }
        let refdt = if rng.random::<f64>() < 0.3 {
            cad + rng.random_range(0..((now - cad).max(1)))
        } else {
            cad
        };
        self.tables[oi].push(ctx, cad, refdt)
    }

    fn new_lead_entity(&mut self, rng: &mut SmallRng, cad: T) -> u32 {
        let l = self.leads.len() as u32;
        self.leads.push(Lead {
            corretor: rng.random_range(0..self.corretores.len()) as u32,
            emp: rng.random_range(0..self.emps.len()) as u32,
            midia: rng.random_range(0..crate::names::MIDIAS.len()) as u8,
            sit: rng.random_range(1..5),
            cad,
            reserva: NONE,
        });
        let refdt = if rng.random::<f64>() < 0.4 {
            (cad + rng.random_range(0..60 * DAY)).min(self.now.max(cad))
        } else {
            cad
        };
        self.tables[obj_index("/leads")].push(l, cad, refdt);
        l
    }

    /// A new reservation at `cad` on a random available unit, for a lead created before.
    fn new_reserva(&mut self, rng: &mut SmallRng, cad: T, ch: &mut Changes) -> Option<u32> {
        if self.available.is_empty() {
            return None;
        }
        let ai = rng.random_range(0..self.available.len());
        let u = self.available.swap_remove(ai);
        // Leads created before `cad` (leads are sorted by creation).
        let upto = self.leads.partition_point(|l| l.cad < cad).max(1);
        let lo = upto.saturating_sub(upto / 5 + 50);
        let lead = rng.random_range(lo..upto) as u32;
        let r = self.reservas.len() as u32;
        let unit = &self.unidades[u as usize];
        let discount = rng.random_range(0..800); // up to 8 %
        let valor =
            unit.preco * (10_000 - discount) / 10_000 / 100 * 100 + rng.random_range(0..100);
        let corretor = self.leads[lead as usize].corretor;
        self.leads[lead as usize].reserva = r;
        self.leads[lead as usize].sit = 5;
        // Payment conditions that add up exactly to the contract value.
        let cond_start = self.condicoes.len() as u32;
        let mut parts: Vec<(u8, u16, i64)> = Vec::new();
        let pct = |rng: &mut SmallRng, lo: i64, hi: i64| valor * rng.random_range(lo..hi) / 10_000;
        parts.push((0, 1, pct(rng, 500, 1000)));
        if rng.random::<f64>() < 0.5 {
            parts.push((1, rng.random_range(1..4), pct(rng, 200, 500)));
        }
        parts.push((2, rng.random_range(24..61), pct(rng, 800, 1500)));
        if rng.random::<f64>() < 0.4 {
            parts.push((3, rng.random_range(2..5), pct(rng, 300, 600)));
        }
        if rng.random::<f64>() < 0.4 {
            parts.push((SERIE_FGTS, 1, pct(rng, 200, 600)));
        }
        if valor < 30_000_000 && rng.random::<f64>() < 0.5 {
            parts.push((SERIE_SUBSIDIO, 1, pct(rng, 300, 800)));
        }
        let used: i64 = parts.iter().map(|p| p.2).sum();
        parts.push((SERIE_FINANCIAMENTO, 1, valor - used));
        // A few reservations serve no condition rows (the pró-soluto then comes from the
        // reservation's own fields); the conditions still exist, so those fields add up.
        let serve_conditions =
            !(self.quirks.metric_dirt && crate::dirt::reserva_without_conditions(self.seed, r));
        for (i, (serie, parcelas, v)) in parts.iter().enumerate() {
            let ci = self.condicoes.len() as u32;
            self.condicoes.push(Condicao {
                reserva: r,
                serie: *serie,
                parcelas: *parcelas,
                valor: *v,
                venc: cad + (i as i32) * 30 * DAY,
            });
            if serve_conditions {
                self.tables[obj_index("/reservas/condicoes")].push(ci, cad, cad);
            }
        }
        let assoc = if rng.random::<f64>() < 0.3 {
            let a = self.assocs.len() as u32;
            self.assocs.push(Assoc {
                reserva: r,
                pessoa: rng.random_range(0..self.leads.len()) as u32,
            });
            self.tables[obj_index("/reservas/associados")].push(a, cad, cad);
            ch.entry(obj_index("/reservas/associados")).created += 1;
            a
        } else {
            NONE
        };
        self.reservas.push(Reserva {
            unidade: u,
            lead,
            corretor,
            cad,
            venda: 0,
            distrato: 0,
            cancel: 0,
            sit: RS_ANALISE,
            prev_sit: RS_RESERVADA,
            valor,
            cond_start,
            cond_n: parts.len() as u8,
            tabela: rng.random_range(0..2),
            assoc,
            comissao: NONE,
            comissao_n: 0,
            repasse: NONE,
            hist_venda: NONE,
        });
        if serve_conditions {
            ch.entry(obj_index("/reservas/condicoes")).created += parts.len() as u64;
        }
        let oi = obj_index("/reservas");
        self.tables[oi].push(r, cad, cad);
        ch.entry(oi).created += 1;
        let oi = obj_index("/reservas/registros/flags");
        self.tables[oi].push(r, cad, cad);
        ch.entry(oi).created += 1;
        self.hist_reserva(r, RS_RESERVADA, RS_ANALISE, cad, ch);
        let unit = &mut self.unidades[u as usize];
        unit.sit = US_RESERVADA;
        unit.holder = r;
        self.unit_event(u, US_DISPONIVEL, US_RESERVADA, cad, ch);
        self.touch(obj_index("/leads"), lead, cad, ch);
        Some(r)
    }

    fn hist_reserva(&mut self, r: u32, de: u8, para: u8, t: T, ch: &mut Changes) -> u32 {
        let h = self.hist_res.len() as u32;
        self.hist_res.push(Hist { ent: r, de, para });
        let oi = obj_index("/reservas/historico/situacoes");
        self.tables[oi].push(h, t, t);
        ch.entry(oi).created += 1;
        h
    }

    fn unit_event(&mut self, u: u32, de: u8, para: u8, t: T, ch: &mut Changes) {
        let h = self.hist_uni.len() as u32;
        self.hist_uni.push(Hist { ent: u, de, para });
        let oi = obj_index("/unidades/situacao");
        self.tables[oi].push(h, t, t);
        ch.entry(oi).created += 1;
        self.touch(obj_index("/unidades"), u, t, ch);
    }

    /// Move a row's `referencia_data` (an UPDATE at the source).
    fn touch(&mut self, oi: usize, pos: u32, t: T, ch: &mut Changes) {
        let row = &mut self.tables[oi].rows[pos as usize];
        if row.state & DELETED != 0 {
            return;
        }
        if t > row.refdt || row.state & (REF_NULL | REF_ZERO) != 0 {
            row.refdt = t.max(row.refdt);
            row.state &= !(REF_NULL | REF_ZERO);
            self.tables[oi].dirty = true;
            ch.entry(oi).updated += 1;
        }
    }

    fn sell(&mut self, rng: &mut SmallRng, r: u32, t: T, ch: &mut Changes) {
        let res = &mut self.reservas[r as usize];
        res.prev_sit = res.sit;
        res.sit = RS_VENDIDA;
        res.venda = t;
        let u = res.unidade;
        let valor = res.valor;
        let has_fin = (res.cond_start..res.cond_start + res.cond_n as u32)
            .any(|c| self.condicoes[c as usize].serie == SERIE_FINANCIAMENTO);
        let h = self.hist_reserva(r, RS_ANALISE, RS_VENDIDA, t, ch);
        self.reservas[r as usize].hist_venda = h;
        self.touch(obj_index("/reservas"), r, t, ch);
        self.touch(obj_index("/reservas/registros/flags"), r, t, ch);
        let oi = obj_index("/vendas");
        self.tables[oi].push(r, t, t);
        ch.entry(oi).created += 1;
        let unit = &mut self.unidades[u as usize];
        unit.sit = US_VENDIDA;
        self.unit_event(u, US_RESERVADA, US_VENDIDA, t, ch);
        // Commissions: the broker's, then (realistic worlds) the agency's and the managers'.
        let per_sale = self.shape.commissions_per_sale;
        let n_commissions = if per_sale == 1.0 {
            1
        } else {
            poisson_ish(rng, per_sale).clamp(1, u8::MAX as usize)
        };
        let first = self.comissoes.len() as u32;
        for nth in 0..n_commissions {
            let bp = if nth == 0 {
                rng.random_range(400..601u16)
            } else {
                rng.random_range(50..201u16)
            };
            let c = self.comissoes.len() as u32;
            let oi = obj_index("/comissoes");
            let row = self.tables[oi].push(c, t, t);
            ch.entry(oi).created += 1;
            self.comissoes.push(Comissao {
                reserva: r,
                bp,
                valor: valor * bp as i64 / 10_000,
                pago: 0,
                parcelas: rng.random_range(1..4),
                n_pagas: 0,
                last_pag: 0,
                row,
            });
        }
        self.reservas[r as usize].comissao = first;
        self.reservas[r as usize].comissao_n = n_commissions as u8;
        if has_fin {
            let rp = self.repasses.len() as u32;
            let oi = obj_index("/repasses");
            let row = self.tables[oi].push(rp, t, t);
            ch.entry(oi).created += 1;
            self.repasses.push(Repasse { reserva: r, row });
            self.reservas[r as usize].repasse = rp;
        }
    }

    fn cancel(&mut self, r: u32, t: T, ch: &mut Changes) {
        let res = &mut self.reservas[r as usize];
        res.prev_sit = res.sit;
        res.sit = RS_CANCELADA;
        res.cancel = t;
        let u = res.unidade;
        self.hist_reserva(r, RS_ANALISE, RS_CANCELADA, t, ch);
        self.touch(obj_index("/reservas"), r, t, ch);
        self.touch(obj_index("/reservas/registros/flags"), r, t, ch);
        self.release_unit(u, r, US_RESERVADA, t, ch);
    }

    fn release_unit(&mut self, u: u32, r: u32, from: u8, t: T, ch: &mut Changes) {
        let unit = &mut self.unidades[u as usize];
        if unit.holder == r {
            unit.holder = NONE;
            unit.sit = US_DISPONIVEL;
            self.available.push(u);
            self.unit_event(u, from, US_DISPONIVEL, t, ch);
        }
    }

    fn distrato(&mut self, _rng: &mut SmallRng, r: u32, t: T, ch: &mut Changes) {
        let res = &mut self.reservas[r as usize];
        if res.venda == 0 || res.distrato != 0 {
            return;
        }
        res.prev_sit = res.sit;
        res.sit = RS_DISTRATO;
        res.distrato = t;
        let u = res.unidade;
        let (com, com_n, rep) = (res.comissao, res.comissao_n, res.repasse);
        self.hist_reserva(r, RS_VENDIDA, RS_DISTRATO, t, ch);
        self.touch(obj_index("/reservas"), r, t, ch);
        self.touch(obj_index("/reservas/registros/flags"), r, t, ch);
        let oi = obj_index("/distratos");
        self.tables[oi].push(r, t, t);
        ch.entry(oi).created += 1;
        self.release_unit(u, r, US_VENDIDA, t, ch);
        // The commission and the repasse of a cancelled sale are inactivated.
        if com != NONE {
            for c in com..com + com_n as u32 {
                let row = self.comissoes[c as usize].row;
                self.inactivate(obj_index("/comissoes"), row, t, ch);
            }
        }
        if rep != NONE {
            let row = self.repasses[rep as usize].row;
            self.inactivate(obj_index("/repasses"), row, t, ch);
        }
    }

    fn inactivate(&mut self, oi: usize, pos: u32, t: T, ch: &mut Changes) {
        let row = &mut self.tables[oi].rows[pos as usize];
        if row.state & (ATIVO_N | DELETED) != 0 {
            return;
        }
        row.state |= ATIVO_N;
        row.state &= !(REF_NULL | REF_ZERO);
        row.refdt = row.refdt.max(t);
        self.tables[oi].dirty = true;
        let e = ch.entry(oi);
        e.inactivated += 1;
        ch.inactivated
            .entry(OBJECTS[oi].path)
            .or_default()
            .push((oi, pos));
    }

    fn hard_delete(&mut self, oi: usize, pos: u32, ch: &mut Changes) {
        let row = &mut self.tables[oi].rows[pos as usize];
        if row.state & DELETED != 0 {
            return;
        }
        row.state |= DELETED;
        self.tables[oi].dirty = true;
        ch.entry(oi).deleted += 1;
        ch.deleted
            .entry(OBJECTS[oi].path)
            .or_default()
            .push((oi, pos));
    }

    /// Pay the commission instalments due by `upto` (one every 30 days after the sale), none
    /// stamped before `from`: an instalment whose draw fell past an earlier span is paid in a
    /// later one, and CVDW stamps a change when it happens, never in the past.
    fn pay_due_commissions(
        &mut self,
        rng: &mut SmallRng,
        c: u32,
        (from, upto): (T, T),
        ch: &mut Changes,
    ) {
        let r = self.comissoes[c as usize].reserva as usize;
        if self.reservas[r].distrato != 0 {
            return;
        }
        let venda = self.reservas[r].venda;
        loop {
            let com = &self.comissoes[c as usize];
            if com.n_pagas >= com.parcelas {
                break;
            }
            let due =
                (venda + (com.n_pagas as i32 + 1) * 30 * DAY + rng.random_range(0..DAY)).max(from);
            if due > upto {
                break;
            }
            let valor = if com.n_pagas + 1 == com.parcelas {
                com.valor - com.pago
            } else {
                com.valor / com.parcelas as i64
            };
            let p = self.pagamentos.len() as u32;
            self.pagamentos.push(Pagamento {
                comissao: c,
                valor,
                venc: due,
            });
            let oi = obj_index("/comissoes/pagamentos");
            self.tables[oi].push(p, due, due);
            ch.entry(oi).created += 1;
            let com = &mut self.comissoes[c as usize];
            com.pago += valor;
            com.n_pagas += 1;
            com.last_pag = due;
            let row = com.row;
            self.touch(obj_index("/comissoes"), row, due, ch);
        }
    }

    /// Advance the clock `days` days, day by day (the same as [`World::advance_by`] with
    /// `days × 86 400` seconds).
    pub fn advance(&mut self, days: u32) -> ChangeSummary {
        self.advance_by(u64::from(days) * DAY as u64)
    }

    /// Advance the clock `seconds`: whole days first, each as one day, then the remainder as
    /// one shorter span whose rates are the day's scaled to its length. Every change of a
    /// span happens inside it.
    pub fn advance_by(&mut self, seconds: u64) -> ChangeSummary {
        let mut ch = Changes::default();
        let mut rng = std::mem::replace(&mut self.rng, SmallRng::seed_from_u64(0));
        // The clock cannot pass the last second a `SimTime` holds.
        let room = (T::MAX - self.now).max(0) as u64;
        let seconds = seconds.min(room);
        for _ in 0..seconds / DAY as u64 {
            self.advance_span(&mut rng, DAY, &mut ch);
        }
        let rest = (seconds % DAY as u64) as T;
        if rest > 0 {
            self.advance_span(&mut rng, rest, &mut ch);
        }
        self.rng = rng;
        for t in self.tables.iter_mut() {
            if t.dirty {
                t.rebuild();
            }
        }
        let mut summary = ChangeSummary {
            days: (seconds / DAY as u64) as u32,
            seconds,
            now: fmt_dt(self.now),
            ..Default::default()
        };
        for (k, v) in ch.objects {
            summary.objects.insert(k.to_string(), v);
        }
        for (k, v) in ch.inactivated {
            let keys = v.iter().map(|&(oi, pos)| self.key_of(oi, pos)).collect();
            summary.inactivated_keys.insert(k.to_string(), keys);
        }
        for (k, v) in ch.deleted {
            let keys = v.iter().map(|&(oi, pos)| self.key_of(oi, pos)).collect();
            summary.deleted_keys.insert(k.to_string(), keys);
        }
        summary
    }

    /// One span of `len` seconds (at most a day) from now. Daily rates and chances are scaled
    /// by `len / DAY` (exactly 1.0 for a whole day, so a day draws what it always drew), and
    /// every event time falls inside the span.
    fn advance_span(&mut self, rng: &mut SmallRng, len: T, ch: &mut Changes) {
        let day0 = self.now;
        let day1 = self.now + len;
        let share = len as f64 / DAY as f64;
        let at = |rng: &mut SmallRng| {
            if len > 1 {
                day0 + rng.random_range(1..len)
            } else {
                day0
            }
        };
        // New leads (and their satellite rows).
        let n = poisson_ish(rng, self.leads_per_day * share);
        let mut ts: Vec<T> = (0..n).map(|_| at(rng)).collect();
        ts.sort_unstable();
        for t in ts {
            self.now = t;
            let l = self.new_lead_entity(rng, t);
            ch.entry(obj_index("/leads")).created += 1;
            for oi in 0..OBJECTS.len() {
                let d = self.defs[oi];
                if d.semantic || d.ctx != Ctx::Lead {
                    continue;
                }
                let k = if d.one_per {
                    usize::from(d.per >= 1.0 || rng.random::<f64>() < d.per)
                } else {
                    poisson_ish(rng, d.per)
                };
                for _ in 0..k {
                    self.tables[oi].push(l, t, t);
                    ch.entry(oi).created += 1;
                }
            }
        }
        // Pending reservations get sold or cancelled.
        let pending: Vec<u32> = self
            .reservas
            .iter()
            .enumerate()
            .filter(|(_, r)| r.sit == RS_ANALISE && r.cad < day0 - 2 * DAY)
            .map(|(i, _)| i as u32)
            .collect();
        let sell_below = 0.25 * share;
        let cancel_below = (0.25 + self.shape.daily_cancel_chance) * share;
        for r in pending {
            let x: f64 = rng.random();
            let t = at(rng);
            self.now = self.now.max(t);
            if x < sell_below {
                self.sell(rng, r, t, ch);
                self.generic_for_reserva(rng, r, true, t, ch);
            } else if x < cancel_below {
                self.cancel(r, t, ch);
            }
        }
        // New reservations.
        let n = poisson_ish(rng, self.reservas_per_day * share);
        for _ in 0..n {
            let t = at(rng);
            self.now = self.now.max(t);
            if let Some(r) = self.new_reserva(rng, t, ch) {
                self.generic_for_reserva(rng, r, false, t, ch);
            }
        }
        // Distratos: a share of the sales, eventually.
        let rate = self
            .distratos_per_day
            .unwrap_or(self.reservas_per_day * self.shape.distratos_per_reserva_day);
        let n = poisson_ish(rng, rate * share);
        for _ in 0..n {
            if self.reservas.is_empty() {
                break;
            }
            for _attempt in 0..20 {
                let r = rng.random_range(0..self.reservas.len()) as u32;
                let res = &self.reservas[r as usize];
                if res.sit == RS_VENDIDA && res.venda < day0 {
                    let t = at(rng);
                    self.now = self.now.max(t);
                    self.distrato(rng, r, t, ch);
                    break;
                }
            }
        }
        // Commission payments.
        for c in 0..self.comissoes.len() {
            let com = &self.comissoes[c];
            if com.n_pagas < com.parcelas {
                self.pay_due_commissions(rng, c as u32, (day0, day1 - 1), ch);
            }
        }
        // Updates: leads change situation; brokers edit their records; generic rows change.
        let n = poisson_ish(rng, self.leads_per_day * 2.0 * share);
        for _ in 0..n {
            let l = rng.random_range(0..self.leads.len()) as u32;
            let t = at(rng);
            self.leads[l as usize].sit = rng.random_range(1..5);
            self.touch(obj_index("/leads"), l, t, ch);
        }
        if rng.random::<f64>() < 0.5 * share {
            let c = rng.random_range(0..self.corretores.len()) as u32;
            let t = at(rng);
            self.touch(obj_index("/corretores"), c, t, ch);
        }
        for oi in 0..OBJECTS.len() {
            if self.defs[oi].semantic {
                continue;
            }
            let len = self.tables[oi].rows.len();
            if len == 0 {
                continue;
            }
            let k = poisson_ish(rng, ((len as f64 * 0.001).min(20.0) + 0.2) * share);
            for _ in 0..k {
                let pos = rng.random_range(0..len) as u32;
                let t = at(rng);
                self.touch(oi, pos, t, ch);
            }
        }
        // Soft deletes: leads discarded as inactive, occasional broker leaving, generic rows.
        let n = poisson_ish(rng, (self.leads_per_day * 0.1 + 0.3) * share);
        for _ in 0..n {
            let l = rng.random_range(0..self.leads.len()) as u32;
            let t = at(rng);
            self.inactivate(obj_index("/leads"), l, t, ch);
        }
        if rng.random::<f64>() < 0.1 * share {
            let c = rng.random_range(0..self.corretores.len()) as u32;
            let t = at(rng);
            self.inactivate(obj_index("/corretores"), c, t, ch);
        }
        for path in ["/leads/tarefas", "/atendimentos", "/reservas/contratos"] {
            let oi = obj_index(path);
            let len = self.tables[oi].rows.len();
            if len > 0 && rng.random::<f64>() < 0.5 * share {
                let pos = rng.random_range(0..len) as u32;
                let t = at(rng);
                self.inactivate(oi, pos, t, ch);
            }
        }
        // Hard deletes: rows that simply disappear.
        for path in [
            "/leads/interacoes",
            "/leads/tarefas",
            "/reservas/campos-adicionais",
            "/reservas/associados",
            "/comissoes/pagamentos",
        ] {
            let oi = obj_index(path);
            let len = self.tables[oi].rows.len();
            let p = if path == "/leads/interacoes" || path == "/leads/tarefas" {
                0.9
            } else {
                0.25
            };
            if len > 0 && rng.random::<f64>() < p * share {
                let pos = rng.random_range(0..len) as u32;
                self.hard_delete(oi, pos, ch);
            }
        }
        if self.shape.scaled_hard_deletes {
            for &(path, per_reserva) in crate::profile::DAILY_HARD_DELETES {
                let oi = obj_index(path);
                let len = self.tables[oi].rows.len();
                if len == 0 {
                    continue;
                }
                let n = poisson_ish(rng, self.reservas_per_day * per_reserva * share);
                for _ in 0..n {
                    let pos = rng.random_range(0..len) as u32;
                    self.hard_delete(oi, pos, ch);
                }
            }
        }
        self.now = day1;
    }

    /// Satellite rows of a new or newly sold reservation.
    fn generic_for_reserva(
        &mut self,
        rng: &mut SmallRng,
        r: u32,
        sold: bool,
        t: T,
        ch: &mut Changes,
    ) {
        for oi in 0..OBJECTS.len() {
            let d = self.defs[oi];
            let want = if sold { Ctx::Sold } else { Ctx::Reserva };
            if d.semantic || d.ctx != want {
                continue;
            }
            let k = poisson_ish(rng, d.per);
            for _ in 0..k {
                self.tables[oi].push(r, t, t);
                ch.entry(oi).created += 1;
            }
        }
    }

    pub fn now_string(&self) -> String {
        fmt_dt(self.now)
    }

    pub fn row_count(&self, spec: &ObjectSpec) -> usize {
        self.tables[obj_index(spec.path)].index.len()
    }

    /// Every row of an object in API order, rendered.
    pub fn all_rows(&self, spec: &ObjectSpec) -> Vec<serde_json::Value> {
        let oi = obj_index(spec.path);
        let t = &self.tables[oi];
        t.index
            .iter()
            .map(|&(_, pos)| crate::render::row_value(self, oi, pos))
            .collect()
    }

    /// See [`crate::SalesAggregates`]; computed from the served tables, not from intentions.
    pub fn sales_aggregates(&self) -> crate::SalesAggregates {
        use std::collections::HashSet;
        let mut a = crate::SalesAggregates {
            now: fmt_dt(self.now),
            ..Default::default()
        };
        let served = |oi: usize| {
            self.tables[oi]
                .index
                .iter()
                .map(move |&(_, pos)| &self.tables[oi].rows[pos as usize])
        };
        let distratos: HashSet<u32> = served(obj_index("/distratos")).map(|r| r.ctx).collect();
        for r in served(obj_index("/distratos")) {
            a.distratos.count += 1;
            a.distratos.valor += self.reservas[r.ctx as usize].valor;
        }
        for row in served(obj_index("/vendas")) {
            let res = &self.reservas[row.ctx as usize];
            a.vendas.count += 1;
            a.vendas.valor += res.valor;
            if distratos.contains(&row.ctx) {
                continue;
            }
            a.vendas_liquidas.count += 1;
            a.vendas_liquidas.valor += res.valor;
            let financed: i64 = (res.cond_start..res.cond_start + res.cond_n as u32)
                .map(|c| &self.condicoes[c as usize])
                .filter(|c| matches!(c.serie, SERIE_FINANCIAMENTO | SERIE_FGTS | SERIE_SUBSIDIO))
                .map(|c| c.valor)
                .sum();
            a.pro_soluto_liquido += res.valor - financed;
            let add = |m: &mut BTreeMap<u64, crate::CountValue>, k: u64| {
                let e = m.entry(k).or_default();
                e.count += 1;
                e.valor += res.valor;
            };
            add(&mut a.por_corretor, res.corretor as u64 + 1);
            let time = self.corretores[res.corretor as usize].time;
            if time != NONE {
                add(&mut a.por_time, time as u64 + 1);
            }
            let emp = self.blocos[self.unidades[res.unidade as usize].bloco as usize].emp;
            add(&mut a.por_empreendimento, emp as u64 + 1);
        }
        a.unidades = self.unidades.len() as u64;
        a.estoque = self
            .unidades
            .iter()
            .filter(|u| u.sit == US_DISPONIVEL)
            .count() as u64;
        let denom = a.vendas_liquidas.count + a.estoque;
        a.vso = if denom == 0 {
            0.0
        } else {
            a.vendas_liquidas.count as f64 / denom as f64
        };
        for row in served(obj_index("/comissoes")) {
            if row.state & ATIVO_N == 0 {
                a.comissoes_ativas += self.comissoes[row.ctx as usize].valor;
            }
        }
        for row in served(obj_index("/comissoes/pagamentos")) {
            a.comissoes_pagas += self.pagamentos[row.ctx as usize].valor;
        }
        a
    }

    /// The natural key of a row (as `ObjectSpec::natural_key` renders it), malformed or not.
    pub fn key_of(&self, oi: usize, pos: u32) -> String {
        let v = crate::render::clean_row_value(self, oi, pos);
        OBJECTS[oi].natural_key(&v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formatting_round_trips() {
        for s in [
            "2026-03-02 09:00:00",
            "2000-01-01 00:00:00",
            "1999-12-31 23:59:59",
            "1951-07-04 12:34:56",
            "2024-02-29 18:05:35",
            "2040-12-31 00:00:01",
        ] {
            let dt = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
            let t = to_t(&dt);
            assert_eq!(fmt_dt(t), s);
            assert_eq!(fmt_date(t), &s[..10]);
        }
        assert_eq!(
            fmt_br_date(to_t(
                &chrono::NaiveDate::from_ymd_opt(2024, 10, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
            )),
            "01/10/2024"
        );
    }
}
