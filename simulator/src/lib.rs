//! # A faithful, deterministic simulator of the CV CRM CVDW API
//!
//! Nobody on the team can reach the real CVDW, so everything is tested against this server.
//! It follows docs/cvdw-api.md: CONFIRMED facts are the contract, INFERRED ones the defaults.
//!
//! ## Design
//! - **World** ([`world`]): one fictional incorporadora generated from a seed. Entities are
//!   compact structs (empreendimentos → etapas → blocos → unidades; imobiliárias, corretores,
//!   times; leads → reservas → condições, vendas, distratos, comissões, pagamentos, repasses;
//!   unit and reservation situation histories). Money is integer centavos. Every CVDW object
//!   is a *table* of 16-byte row headers (`ctx` entity index, `data_cad`, `referencia_data`,
//!   a one-byte [`world::RowState`]); no JSON is kept per row.
//! - **Rendering** ([`render`]): rows become JSON only when served, page by page. Each object
//!   has its field list (docs/cvdw-api.md §8/§9, typed data in [`fields`]); a field is resolved from
//!   the row's context (the reserva, its unit, broker, lead...), so the same sale shows the same
//!   values in `/reservas`, `/vendas`, `/comissoes`, `/unidades`... Fields that no context knows
//!   get deterministic filler of the documented JSON type (hash of seed, object, row, field).
//! - **Dirt** ([`dirt`]): where the sales metrics read, a few percent of the rows carry each
//!   documented encoding quirk (money as strings, zero/empty dates, missing values, reservations
//!   without team fields or payment conditions), chosen by a hash of the seed and the row.
//! - **Ordering and paging**: each table keeps an index sorted by (`referencia_data`, row
//!   position) — null/zero dates sort first, the insertion position is the stable tie-breaker.
//!   Date filters are binary searches on that index; pages are plain offsets, so rows shift
//!   between pages when data changes mid-crawl, as on the real API (§3.2).
//! - **Time** ([`Simulator::advance`], [`Simulator::advance_by`] for parts of a day): the world
//!   has a clock; advancing it creates, updates and deletes rows (soft: `ativo='N'`; hard: the
//!   row disappears) at the world's daily rates and reports what changed. A world can end on
//!   any date ([`SimConfig::ending_at`]) with the same shape.
//! - **Size** ([`Profile`], [`WorldShape`]): named worlds (`small`, `medium`, `large`) with a
//!   real tenant's proportions; the default world keeps the classic proportions the tests
//!   were written against.
//! - **HTTP** ([`server`]): axum on a custom listener whose connections can be killed from a
//!   handler (for the connection-reset fault). Check order for each request: route/method
//!   (405) → auth (401) → per-object deny list (401) → scripted fault → rate limit (429) →
//!   random fault → parameters (400) → data.
//! - **Rate limit**: a sliding window per credential (`email`) across all objects. Rejected
//!   requests *are* recorded in the window by default (the real server appears to keep
//!   throttling clients that keep hammering, §3.4); see [`SimConfig::count_rejected`].
//!   Requests that fail authentication are not recorded.
//!   Requests answered with a fault are not recorded.
//! - **Admin**: `POST /_sim/advance?days=N` (and/or `hours=`, `minutes=`; no auth: it is a
//!   local test hook, never part of CVDW) returns the [`ChangeSummary`] as JSON; `GET /_sim/stats` returns [`SimStats`] and
//!   `GET /_sim/aggregates` the [`SalesAggregates`] (the figures a dashboard must reproduce).
//!
//! ## Choices where the reference is silent (INFERRED)
//! - Parameters: the query string wins over the JSON body; a body that is not a JSON object is
//!   ignored; `pagina` ≤ 0 is page 1; `registros_por_pagina` ≤ 0 is 30, non-integer → 400
//!   `{"mensagem":"O campo registros_por_pagina deve ser um inteiro.","codigo":400}`.
//! - 405 body: `{"mensagem":"Método não permitido.","codigo":405}` (the real body is unknown).
//! - The 429 body is PHP's pretty print, `{\n    "Response": "Too many requests"\n}` (39 bytes;
//!   the reference counts 38, which no PHP indentation gives; clients must parse, not compare).
//! - The HTML 500 page starts with the documented first line, then a short "OPS!" table.
//! - `/unidades` sends `valor`, `valor_avaliacao`, `area_comum` as numeric strings and its
//!   dates as `dd/mm/yyyy`, as its spec examples do (§5).
//! - A distrato leaves the `/vendas` row untouched (see [`world`]).

mod config;
pub mod dirt;
pub mod fields;
pub mod listing_faults;
mod names;
pub mod profile;
mod rate_limit;
pub mod render;
pub mod server;
pub mod world;

pub use config::{MalformSpec, Malformation, MalformedRow, Quirks, SimConfig};
pub use listing_faults::ListingFault;
pub use profile::{Profile, WorldShape};
use rate_limit::RateClock;
pub use rate_limit::RateLimit;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use serde::Serialize;

pub use server::RunningSimulator;

/// A fault to inject into a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Fault {
    /// HTTP 429 with the `Too many requests` body.
    TooManyRequests,
    /// HTTP 200 whose body is the `Too many requests` JSON (§11: treat as 429).
    TooManyRequestsBody200,
    /// HTTP 500 with the CV HTML error page (§3.3).
    Html500,
    /// HTTP 422 with the spec's JSON error (§3.3).
    Unprocessable422,
    /// HTTP 200 whose JSON body is cut in the middle.
    TruncatedBody,
    /// The normal answer, after sleeping [`SimConfig::slow_delay`].
    Slow,
    /// The connection is reset without any response.
    ConnectionReset,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::TooManyRequests,
        Fault::TooManyRequestsBody200,
        Fault::Html500,
        Fault::Unprocessable422,
        Fault::TruncatedBody,
        Fault::Slow,
        Fault::ConnectionReset,
    ];
}

/// Request counters, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// Requests that reached an object route (any status).
    pub requests: u64,
    /// Real rate-limit rejections (HTTP 429 from the window, not injected).
    pub throttled: u64,
    /// Injected faults (scripted or random).
    pub faults: u64,
    /// Successful data pages served.
    pub pages: u64,
}

/// Per-object change counts of one [`Simulator::advance`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectChanges {
    pub created: u64,
    pub updated: u64,
    /// Rows whose `ativo` went to 'N' (still served).
    pub inactivated: u64,
    /// Rows that disappeared.
    pub deleted: u64,
}

/// What an [`Simulator::advance`] changed. Keys are natural keys as the catalogue renders
/// them (`shared::catalogue::ObjectSpec::natural_key`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    /// Whole days advanced.
    pub days: u32,
    /// Seconds advanced in all (`days × 86 400` plus any part of a day).
    pub seconds: u64,
    /// The new simulated now.
    pub now: String,
    /// Object path → counts.
    pub objects: BTreeMap<String, ObjectChanges>,
    /// Object path → keys whose `ativo` went to 'N'.
    pub inactivated_keys: BTreeMap<String, Vec<String>>,
    /// Object path → keys that disappeared.
    pub deleted_keys: BTreeMap<String, Vec<String>>,
}

impl ChangeSummary {
    pub fn counts(&self, path: &str) -> ObjectChanges {
        self.objects.get(path).cloned().unwrap_or_default()
    }
}

/// A count and a value (centavos) for rankings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CountValue {
    pub count: u64,
    /// Centavos.
    pub valor: i64,
}

/// Sales figures a dashboard must reproduce from the API data, computed from what the API
/// currently serves. Money is in centavos. Definitions:
/// - gross sales = every `/vendas` row; distratos = every `/distratos` row;
/// - net sales = `/vendas` rows whose `idreserva` is not in `/distratos`;
/// - pró-soluto (net) = Σ over net sales of `valor_contrato − valor_financiamento − valor_fgts −
///   valor_subsidio` (the `/reservas` fields, equal to the non-financing `/reservas/condicoes`);
/// - stock = units currently for sale (`/unidades.situacao_para_venda = 1`);
///   VSO = net sales / (net sales + stock);
/// - commissions = Σ `valor_comissao` of `/comissoes` rows with `ativo='S'`; paid = Σ `valor`
///   of served `/comissoes/pagamentos`;
/// - rankings by `idcorretor`, by `idtime` (the broker's team, as on `/reservas` except the few
///   reservations served without team fields) and by `idempreendimento`, over net sales;
/// - money is the world's, whatever form a row serves it in (a sale without `valor_contrato` is
///   worth its reservation's).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SalesAggregates {
    pub now: String,
    pub vendas: CountValue,
    pub distratos: CountValue,
    pub vendas_liquidas: CountValue,
    pub pro_soluto_liquido: i64,
    pub unidades: u64,
    pub estoque: u64,
    pub vso: f64,
    pub comissoes_ativas: i64,
    pub comissoes_pagas: i64,
    pub por_corretor: BTreeMap<u64, CountValue>,
    pub por_time: BTreeMap<u64, CountValue>,
    pub por_empreendimento: BTreeMap<u64, CountValue>,
}

pub(crate) struct Inner {
    pub(crate) cfg: SimConfig,
    pub(crate) world: RwLock<world::World>,
    pub(crate) rate_limit: Mutex<RateLimit>,
    /// Request times per credential, as readings of [`Inner::rate_clock`].
    pub(crate) windows: Mutex<std::collections::HashMap<String, VecDeque<Duration>>>,
    pub(crate) rate_clock: RateClock,
    pub(crate) script: Mutex<VecDeque<Fault>>,
    pub(crate) rng: Mutex<u64>,
    pub(crate) requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) faults: AtomicU64,
    /// Injected faults by kind, indexed as [`Fault::ALL`].
    pub(crate) faults_by_kind: [AtomicU64; Fault::ALL.len()],
    pub(crate) pages: AtomicU64,
    /// Lies in whole listings, by object path ([`listing_faults`]).
    pub(crate) listing_faults: Mutex<Vec<(&'static str, listing_faults::ListingFault)>>,
}

/// The simulator: a world plus the HTTP behaviour. Cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

impl Simulator {
    /// Generate the world (deterministic for a given config).
    pub fn new(cfg: SimConfig) -> Self {
        let world = world::World::generate(&cfg);
        Self {
            inner: Arc::new(Inner {
                rate_limit: Mutex::new(cfg.rate_limit),
                rng: Mutex::new(cfg.seed ^ 0x5eed_fa17),
                cfg,
                world: RwLock::new(world),
                windows: Mutex::new(Default::default()),
                rate_clock: RateClock::new(),
                script: Mutex::new(VecDeque::new()),
                requests: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                faults: AtomicU64::new(0),
                faults_by_kind: Default::default(),
                pages: AtomicU64::new(0),
                listing_faults: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// Serve HTTP on `addr` (`127.0.0.1:0` picks a free port).
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<RunningSimulator> {
        server::serve(self.clone(), addr).await
    }

    /// Move the clock `days` forward, creating, updating and deleting rows; the same as
    /// [`Simulator::advance_by`] with `days × 24 h`.
    pub fn advance(&self, days: u32) -> ChangeSummary {
        self.write_world().advance(days)
    }

    /// Move the clock `span` forward (whole seconds; the rest is ignored). The changes of the
    /// span happen inside it, at the day's rates scaled to its length, so six 4-hour spans
    /// change about what one day does. Deterministic for a seed and a sequence of spans.
    pub fn advance_by(&self, span: Duration) -> ChangeSummary {
        self.write_world().advance_by(span.as_secs())
    }

    /// Queue faults for the next requests (one fault per request, in order).
    pub fn script_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut script = self
            .inner
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        script.extend(faults);
    }

    /// The full current dataset of an object exactly as served (quirks applied, `ativo='N'`
    /// rows included, hard-deleted rows excluded), in API order. Unknown path → empty.
    pub fn ground_truth(&self, object_path: &str) -> Vec<serde_json::Value> {
        let Some(spec) = shared::catalogue::find(object_path) else {
            return Vec::new();
        };
        self.read_world().all_rows(spec)
    }

    /// Every row [`SimConfig::malformed`] chose, including rows since deleted, by object path
    /// and key.
    pub fn malformed_rows(&self) -> Vec<MalformedRow> {
        self.read_world().malformed_rows()
    }

    /// Dashboard figures over the data currently served (see [`SalesAggregates`]).
    pub fn sales_aggregates(&self) -> SalesAggregates {
        self.read_world().sales_aggregates()
    }

    /// Number of rows an object currently serves (no filter).
    pub fn row_count(&self, object_path: &str) -> usize {
        let Some(spec) = shared::catalogue::find(object_path) else {
            return 0;
        };
        self.read_world().row_count(spec)
    }

    /// The simulated now, `YYYY-MM-DD HH:MM:SS`.
    pub fn now(&self) -> String {
        self.read_world().now_string()
    }

    pub fn stats(&self) -> SimStats {
        SimStats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            throttled: self.inner.throttled.load(Ordering::Relaxed),
            faults: self.inner.faults.load(Ordering::Relaxed),
            pages: self.inner.pages.load(Ordering::Relaxed),
        }
    }

    /// Injected faults (scripted or random) by kind, in [`Fault::ALL`] order.
    pub fn fault_counts(&self) -> Vec<(Fault, u64)> {
        Fault::ALL
            .iter()
            .zip(&self.inner.faults_by_kind)
            .map(|(fault, count)| (*fault, count.load(Ordering::Relaxed)))
            .collect()
    }

    /// Change the rate limit (and forget the current windows).
    pub fn set_rate_limit(&self, limit: RateLimit) {
        *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = limit;
        self.inner
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Stop the rate limiter's clock: from now on it moves only by
    /// [`Simulator::advance_rate_clock`], so a test of the window does not depend on how
    /// fast the machine answers.
    pub fn use_manual_rate_clock(&self) {
        self.inner.rate_clock.freeze();
    }

    /// Move the rate limiter's clock `by` forward (stopping it first if it still runs).
    pub fn advance_rate_clock(&self, by: Duration) {
        self.inner.rate_clock.advance(by);
    }

    pub(crate) fn read_world(&self) -> std::sync::RwLockReadGuard<'_, world::World> {
        self.inner
            .world
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
    pub(crate) fn write_world(&self) -> std::sync::RwLockWriteGuard<'_, world::World> {
        self.inner
            .world
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
