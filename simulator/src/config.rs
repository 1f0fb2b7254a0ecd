//! What the simulator can be told: [`SimConfig`], the CVDW quirks it reproduces, and the
//! rows it may deliberately malform.

use std::time::Duration;

use serde::Serialize;

use crate::{Profile, RateLimit, WorldShape};

/// The documented oddities of real CVDW responses; all on by default, each switchable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quirks {
    /// `pagina` echoed as a JSON string on the `pagina_string` endpoints (§3.1).
    pub pagina_string: bool,
    /// `referencia` as a JSON int on the `referencia_int` endpoints (§4).
    pub referencia_int: bool,
    /// `null`/`0000-00-00 00:00:00` in `referencia_data` on a few rows of the objects where it
    /// was seen live, and zero dates in other optional date fields (§4, §5).
    pub zero_dates: bool,
    /// `""` instead of `null` for some optional strings (§5).
    pub empty_strings: bool,
    /// HTML entities in text (`&amp;`, §5).
    pub html_entities: bool,
    /// `idlead` as a comma-separated list in one string (§5).
    pub idlead_csv: bool,
    /// Nested arrays (`associados`, `campos_adicionais`, `plantas`...). Off: the fields are left out.
    pub nested_arrays: bool,
    /// `total_de_registros: 0, total_de_paginas: 0` with rows present on `/demandas`
    /// whenever its answer fits in one page (§3.1: seen once, on /demandas, 17 rows).
    pub zero_total: bool,
    /// Envelope key order varies by endpoint (§3.1).
    pub unstable_key_order: bool,
    /// Dirt in the fields the sales metrics read, at the rates of [`crate::dirt`]: money as numeric
    /// strings, zero/empty event dates, sales without `valor_contrato`, reservations without
    /// team fields or payment conditions (§5, §8).
    pub metric_dirt: bool,
}

impl Quirks {
    pub fn none() -> Self {
        Self {
            pagina_string: false,
            referencia_int: false,
            zero_dates: false,
            empty_strings: false,
            html_entities: false,
            idlead_csv: false,
            nested_arrays: false,
            zero_total: false,
            unstable_key_order: false,
            metric_dirt: false,
        }
    }
    pub fn all() -> Self {
        Self {
            pagina_string: true,
            referencia_int: true,
            zero_dates: true,
            empty_strings: true,
            html_entities: true,
            idlead_csv: true,
            nested_arrays: true,
            zero_total: true,
            unstable_key_order: true,
            metric_dirt: true,
        }
    }
}

impl Default for Quirks {
    fn default() -> Self {
        Self::all()
    }
}

/// Everything the simulator can be told.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// 1.0 ≈ 1 000 reservas / 800 vendas / 8 000 leads; the largest object (`/leads/interacoes`,
    /// 3 rows per lead) passes 1 million rows at scale ≈ 42.
    pub scale: f64,
    pub email: String,
    pub token: String,
    pub rate_limit: RateLimit,
    pub quirks: Quirks,
    /// Probability that a request gets a random fault (after auth and rate limit).
    pub fault_rate: f64,
    /// How long a [`crate::Fault::Slow`] response sleeps before answering.
    pub slow_delay: Duration,
    /// Object paths (`/unidades` or `unidades`) the credential may not read (→ 401).
    pub denied_objects: Vec<String>,
    /// Whether requests rejected with 429 are recorded in the rate window too (default true:
    /// a client that keeps hammering stays throttled, as reported of the real API, §3.4).
    pub count_rejected: bool,
    /// The simulated "now" at start (`YYYY-MM-DD HH:MM:SS`, naive São Paulo time).
    pub start_now: chrono::NaiveDateTime,
    /// Years of history generated before `start_now`.
    pub history_years: u32,
    /// Rows to deliberately malform (a test aid for the loader's quarantine; empty by default,
    /// and the real API is never assumed to do this). See [`crate::Simulator::malformed_rows`].
    pub malformed: Vec<MalformSpec>,
    /// Expected distratos per simulated day while the clock advances; `None` (the default):
    /// about 7% of sales, which at small scales is almost never (tests that need some set it).
    pub distratos_per_day: Option<f64>,
    /// The world's proportions ([`WorldShape::classic`] unless a [`Profile`] says otherwise).
    pub shape: WorldShape,
}

impl SimConfig {
    /// The world of a named size (realistic proportions, 3 years of history), with the
    /// default clock, credentials and rate limit.
    pub fn for_profile(profile: Profile) -> Self {
        Self {
            scale: profile.scale(),
            shape: WorldShape::realistic(),
            ..Self::default()
        }
    }

    /// The same world (same counts and relations for the same seed) with every date shifted
    /// so that the clock stands at `now`: the history ends there. Generation draws times as
    /// offsets from the start of the history, so only the dates move.
    pub fn ending_at(mut self, now: chrono::NaiveDateTime) -> Self {
        self.start_now = now;
        self
    }

    /// A small world for integration tests: scale 0.05 (50 reservas, ~40 vendas, 400 leads,
    /// 1 200 `/leads/interacoes`), no rate limit, 5 s slow faults; everything else default.
    pub fn for_tests() -> Self {
        Self {
            scale: 0.05,
            rate_limit: RateLimit::disabled(),
            slow_delay: Duration::from_secs(5),
            ..Self::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            scale: 1.0,
            email: "demo@cvdw.local".into(),
            token: "demo-token".into(),
            rate_limit: RateLimit::default(),
            quirks: Quirks::all(),
            fault_rate: 0.0,
            slow_delay: Duration::from_secs(65),
            denied_objects: Vec::new(),
            count_rejected: true,
            start_now: chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .and_then(|date| date.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            history_years: 3,
            malformed: Vec::new(),
            distratos_per_day: None,
            shape: WorldShape::classic(),
        }
    }
}

/// A deliberate defect in one served row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Malformation {
    /// The natural-key fields are left out (`referencia` still names the row).
    NoKey,
    /// `field` (one of the object's documented fields) holds text where the API sends a number.
    TextIn { field: String },
}

/// Malform `count` rows of `object` (a catalogue path or name), chosen by the seed among the
/// rows that exist when the world is generated. A chosen row stays malformed in every answer
/// and in [`crate::Simulator::ground_truth`]; rows created later are never malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformSpec {
    pub object: String,
    pub count: u32,
    pub malformation: Malformation,
}

/// One malformed row: its object, its natural key as it would render without the defect
/// (`shared::catalogue::ObjectSpec::natural_key`), and the defect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedRow {
    pub object_path: String,
    pub key: String,
    pub malformation: Malformation,
}
