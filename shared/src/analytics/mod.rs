//! # Sales analytics: the metric queries the API runs, and an independent reference
//!
//! The metrics are defined once, in SQL, in `migrations/0102_analytics_cache.sql` (with the
//! fixes of `migrations/0103_analytics_metric_fixes.sql`): each one is a
//! set-returning function `analytics.<name>(tenant, de, ate, idempreendimento)` and each
//! `analytics.vw_*` view is that function without filters (what BI tools read). The functions
//! read facts that are cached in `analytics.cache_*` tables and gated on the cache being valid
//! (else they read the live definitions), see `docs/metrics.md`; the api refreshes the cache
//! (`shared::api::Database::ensure_analytics_cache`). This module
//! - validates the filters ([`Filters`]) and runs those functions with bound parameters
//!   ([`run`]); the function names come from the static [`METRICS`] table, never from input;
//! - computes the same metrics in plain Rust from CVDW rows ([`reference`]), so tests can check
//!   every view against the simulator's ground truth without trusting the SQL.
//!
//! Definitions (in words in `docs/metrics.md`): a *venda* is a `/vendas` row, active and not
//! deleted, with a `data_venda`, valued by `valor_contrato`; a *distrato* is a `/distratos` row
//! dated by `situacao_data`; *líquidas* = vendas − distratos; VGV = Σ valor_contrato of the
//! vendas; ticket médio = VGV ÷ vendas; VSO and pró-soluto as documented on the SQL functions.
//!
//! The module, by role: [`metrics`] (the catalogue of endpoints and their columns), [`filters`]
//! (parsing the query filters), `sql` (running the functions; with the `runtime` feature) and,
//! for tests only, [`reference`] (behind `cfg(test)` or the `reference` feature, which the
//! test crates enable, so the api Lambda does not carry it).

pub mod filters;
/// Monthly goals (their CSV reads with the `csv` crate, which comes with the api).
#[cfg(feature = "api")]
pub mod metas;
pub mod metrics;
#[cfg(feature = "runtime")]
mod sql;

pub use filters::*;
pub use metrics::*;
#[cfg(feature = "runtime")]
pub use sql::{empreendimentos, freshness, run, statement, stream, COUNT_TABELA};

#[cfg(any(test, feature = "reference"))]
pub mod reference;
