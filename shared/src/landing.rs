//! # The S3 landing zone: the contract between extract and load
//!
//! The raw bucket is the system of record. Extract writes; load (and `cvdw replay`) read.
//! Every name below is sortable and self-describing, so a listing alone tells what a run did.
//!
//! ```text
//! raw/{tenant}/{object}/{yyyy}/{mm}/{dd}/{run_id}/{page:05}.json   one CVDW page, byte for byte
//! manifests/{tenant}/{run_id}/{object}.json                        written once every page of that
//!                                                                   object's run is stored
//! state/{tenant}/{object}.json                                     cursor; written last
//! state/{tenant}/_lock.json, state/{tenant}/_continuation.json     single flight and deadline hand-off
//! ```
//!
//! - `{object}` is the catalogue name (`reservas_condicoes`), `{yyyy}/{mm}/{dd}` the UTC date the
//!   run started, and `{run_id}` a UTC timestamp plus a random suffix (`20261129T043512Z-a1b2c3`),
//!   so lexical order is time order.
//! - A page body is exactly the bytes CVDW returned. What is known about the request travels in
//!   the object's user metadata ([`PageMeta`]): run id, object path, page, request parameters,
//!   HTTP status, `fetched_at` (UTC), mode, row count and sha256 of the body.
//! - Write order is the safety argument: pages, then the manifest, then state. A crash can leave
//!   pages without a manifest (they load fine and are re-fetched next run), but never state or a
//!   manifest that points at data that is not stored.
//! - The loader orders observations of the same row by `(fetched_at, run_id, page)`, never by
//!   `referencia_data`, which can be null or zero.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Top-level prefixes. Only `raw/` and `manifests/` trigger the loader.
pub const RAW_PREFIX: &str = "raw/";
pub const MANIFEST_PREFIX: &str = "manifests/";
pub const STATE_PREFIX: &str = "state/";

/// Incremental runs filter on the cursor; full runs fetch everything and let the loader
/// reconcile deletions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Incremental,
    Full,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Incremental => "incremental",
            Mode::Full => "full",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "incremental" => Some(Mode::Incremental),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }
}

/// A run id: `YYYYMMDDTHHMMSSZ-xxxxxx`. Sorts by start time (to the millisecond for ids made
/// by [`RunId::starting`], as extract makes them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// A new id for a run starting at `started_at`, with `suffix` (6 hex chars of randomness
    /// from the caller) so two runs in the same second do not collide.
    pub fn new(started_at: DateTime<Utc>, suffix: u32) -> Self {
        Self(format!(
            "{}-{:06x}",
            started_at.format("%Y%m%dT%H%M%SZ"),
            suffix & 0xff_ffff
        ))
    }
    /// The id of a run starting now-ish at `started_at`: the suffix's top 10 bits are the
    /// start's millisecond and its low 14 bits are `random`. Ids of runs started within the
    /// same second then still sort by start time (deletion reconciliation orders full runs by
    /// id: with a purely random suffix, of two full runs in one second the *earlier* could
    /// sort last and mark deleted a row only the later one saw), and two runs in the same
    /// millisecond still get different ids. Same shape as [`RunId::new`]: keys already in
    /// the archive stay valid.
    pub fn starting(started_at: DateTime<Utc>, random: u32) -> Self {
        let ms = started_at.timestamp_subsec_millis().min(999);
        Self::new(started_at, (ms << 14) | (random & 0x3fff))
    }
    /// Accepts only the shape `new` produces, so a key with anything else is not ours.
    pub fn parse(s: &str) -> Option<Self> {
        let (ts, suffix) = s.split_once('-')?;
        chrono::NaiveDateTime::parse_from_str(ts, "%Y%m%dT%H%M%SZ").ok()?;
        (suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The UTC date the run started (the date part of raw keys).
    pub fn date(&self) -> NaiveDate {
        chrono::NaiveDateTime::parse_from_str(&self.0[..16], "%Y%m%dT%H%M%SZ")
            .map(|dt| dt.date())
            .unwrap_or_default()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The address of one raw page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub tenant: String,
    /// Catalogue name, e.g. `reservas_condicoes`.
    pub object: String,
    pub run_id: RunId,
    /// 1-based CVDW page number.
    pub page: u32,
}

impl PageKey {
    pub fn to_key(&self) -> String {
        let d = self.run_id.date();
        format!(
            "{RAW_PREFIX}{}/{}/{}/{:05}.json",
            self.tenant,
            self.object,
            format_args!("{}/{}", d.format("%Y/%m/%d"), self.run_id),
            self.page
        )
    }

    /// Parse an (already URL-decoded) S3 key. `None` when the key is not a raw page.
    pub fn parse(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(RAW_PREFIX)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [tenant, object, yyyy, mm, dd, run, page] = parts.as_slice() else {
            return None;
        };
        let run_id = RunId::parse(run)?;
        if format!("{yyyy}/{mm}/{dd}") != run_id.date().format("%Y/%m/%d").to_string() {
            return None;
        }
        let page = page
            .strip_suffix(".json")?
            .parse::<u32>()
            .ok()
            .filter(|p| *p > 0)?;
        if tenant.is_empty() || crate::catalogue::find(object).is_none() {
            return None;
        }
        Some(Self {
            tenant: tenant.to_string(),
            object: object.to_string(),
            run_id,
            page,
        })
    }
}

/// Hex sha256 of a page body: the `sha256` of [`PageMeta`], computed by extract when it stores
/// a page and by load when it checks one.
#[cfg(feature = "runtime")]
pub fn sha256_hex(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

/// The address of a manifest.
pub fn manifest_key(tenant: &str, run_id: &RunId, object: &str) -> String {
    format!("{MANIFEST_PREFIX}{tenant}/{run_id}/{object}.json")
}

/// Parse a manifest key into (tenant, run id, object).
pub fn parse_manifest_key(key: &str) -> Option<(String, RunId, String)> {
    let rest = key.strip_prefix(MANIFEST_PREFIX)?;
    let [tenant, run, file] = rest.split('/').collect::<Vec<_>>()[..] else {
        return None;
    };
    let object = file.strip_suffix(".json")?;
    crate::catalogue::find(object)?;
    Some((tenant.to_string(), RunId::parse(run)?, object.to_string()))
}

/// The address of an object's extraction state.
pub fn state_key(tenant: &str, object: &str) -> String {
    format!("{STATE_PREFIX}{tenant}/{object}.json")
}

/// What is known about a stored page, carried as S3 user metadata (`x-amz-meta-*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageMeta {
    pub tenant: String,
    pub run_id: RunId,
    /// CVDW path, e.g. `/reservas/condicoes`.
    pub object_path: String,
    pub page: u32,
    /// The query string sent, percent-encoded as on the wire (never includes credentials).
    pub params: String,
    pub http_status: u16,
    pub fetched_at: DateTime<Utc>,
    pub mode: Mode,
    /// Rows in `dados` (as counted by the extractor).
    pub rows: u32,
    /// Hex sha256 of the body.
    pub sha256: String,
}

impl PageMeta {
    /// As S3 user metadata (keys without the `x-amz-meta-` prefix; values ASCII).
    pub fn to_metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            ("tenant".into(), self.tenant.clone()),
            ("run-id".into(), self.run_id.to_string()),
            ("object-path".into(), self.object_path.clone()),
            ("page".into(), self.page.to_string()),
            ("params".into(), self.params.clone()),
            ("http-status".into(), self.http_status.to_string()),
            (
                "fetched-at".into(),
                self.fetched_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
            ("mode".into(), self.mode.as_str().into()),
            ("rows".into(), self.rows.to_string()),
            ("sha256".into(), self.sha256.clone()),
        ])
    }

    /// From S3 user metadata; the error names the first missing or malformed entry.
    pub fn from_metadata(m: &HashMap<String, String>) -> Result<Self, MetaError> {
        let get = |k: &'static str| m.get(k).map(String::as_str).ok_or(MetaError(k));
        Ok(Self {
            tenant: get("tenant")?.to_string(),
            run_id: RunId::parse(get("run-id")?).ok_or(MetaError("run-id"))?,
            object_path: get("object-path")?.to_string(),
            page: get("page")?.parse().map_err(|_| MetaError("page"))?,
            params: get("params").unwrap_or_default().to_string(),
            http_status: get("http-status")?
                .parse()
                .map_err(|_| MetaError("http-status"))?,
            fetched_at: DateTime::parse_from_rfc3339(get("fetched-at")?)
                .map_err(|_| MetaError("fetched-at"))?
                .with_timezone(&Utc),
            mode: Mode::parse(get("mode")?).ok_or(MetaError("mode"))?,
            rows: get("rows")?.parse().map_err(|_| MetaError("rows"))?,
            sha256: get("sha256")?.to_string(),
        })
    }
}

/// The user-metadata entry that says how a raw page's bytes are stored; absent: as they came.
pub const ENCODING_KEY: &str = "encoding";
/// [`ENCODING_KEY`]'s value for a page stored as the gzip of CVDW's exact bytes.
pub const GZIP: &str = "gzip";
/// The most a stored page may inflate to (a CVDW page is ~250 kB): anything larger is not a
/// page of ours, and inflating it would only exhaust the loader's memory.
pub const MAX_PAGE_BYTES: u64 = 64 << 20;

/// The stored form of a raw page: the gzip of the exact bytes CVDW sent. The byte-for-byte
/// contract holds through it: [`decode_page`] gives those bytes back, and the page's `sha256`
/// metadata is theirs, not the stored object's. JSON pages shrink about tenfold, which is most
/// of the raw zone's bill (docs/cost.md).
#[cfg(feature = "runtime")]
pub fn encode_page(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 8),
        flate2::Compression::new(6),
    );
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(body);
    gz.finish().unwrap_or_default()
}

/// The bytes CVDW sent, from a stored page and its metadata: inflated when
/// [`ENCODING_KEY`] says [`GZIP`], as they are otherwise (pages stored before compression).
#[cfg(feature = "runtime")]
pub fn decode_page(
    metadata: &HashMap<String, String>,
    stored: bytes::Bytes,
) -> Result<bytes::Bytes, String> {
    use std::io::Read;
    match metadata.get(ENCODING_KEY).map(String::as_str) {
        None | Some("") => Ok(stored),
        Some(GZIP) => {
            let mut out = Vec::with_capacity(stored.len() * 8);
            flate2::read::GzDecoder::new(&stored[..])
                .take(MAX_PAGE_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("stored as gzip, but does not inflate: {e}"))?;
            if out.len() as u64 > MAX_PAGE_BYTES {
                return Err(format!(
                    "stored as gzip, and inflates past {MAX_PAGE_BYTES} bytes: not a page"
                ));
            }
            Ok(out.into())
        }
        Some(other) => Err(format!("unknown page encoding `{other}`")),
    }
}

/// A page's metadata entry is missing or malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("page metadata `{0}` is missing or malformed")]
pub struct MetaError(pub &'static str);

/// One page listed in a manifest, with what its envelope claimed. The claims are the
/// evidence a full run's deletions rest on (`load::evidence`): a manifest without them never
/// deletes anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestPage {
    pub page: u32,
    pub key: String,
    pub rows: u32,
    pub sha256: String,
    /// The envelope's `total_de_registros`, `total_de_paginas` and `registros` (the page
    /// size in force), as sent; `None` when absent or not a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_de_registros: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_de_paginas: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registros: Option<u64>,
}

/// Written when every page of one object's run is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub tenant: String,
    pub run_id: RunId,
    /// Catalogue name.
    pub object: String,
    pub object_path: String,
    pub mode: Mode,
    pub pages: Vec<ManifestPage>,
    pub rows: u64,
    /// Cursor (`referencia_data`, CVDW format) before and after the run; `None` = no filter.
    pub cursor_before: Option<String>,
    pub cursor_after: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// Per-object extraction state: written last, after the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ObjectState {
    /// Next `a_partir_data_referencia` (CVDW format), already minus the overlap.
    pub cursor: Option<String>,
    /// Highest valid `referencia_data` seen, before the overlap is subtracted.
    pub max_referencia_data: Option<String>,
    pub last_run_id: Option<RunId>,
    pub last_mode: Option<Mode>,
    pub last_full_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Rows the object held at its last full pass (the envelope's `total_de_registros`): how
    /// the schedule estimates a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_rows: Option<u64>,
    /// A backfill or full pass that met the end of a run's budget: the next run resumes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_pass: Option<PausedPass>,
}

/// A full pass (or backfill) paused at the end of a run's budget
/// ([`crate::extract::schedule`]). Its pages so far are stored under its own run id; the pass
/// goes on under that id, and its manifest lists every page of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PausedPass {
    pub run_id: RunId,
    pub started_at: DateTime<Utc>,
    /// The first page not stored yet.
    pub next_page: u32,
    pub pages: Vec<ManifestPage>,
    pub rows: u64,
    pub max_referencia_data: Option<String>,
}

#[cfg(test)]
impl PausedPass {
    /// A pass of run `20261201T000000Z-000001` paused before `next_page`.
    pub fn at_page(next_page: u32) -> Self {
        let started_at = DateTime::<Utc>::from_timestamp(1_764_547_200, 0).unwrap_or_default();
        PausedPass {
            run_id: RunId::new(started_at, 1),
            started_at,
            next_page,
            pages: Vec::new(),
            rows: 0,
            max_referencia_data: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn run() -> RunId {
        RunId::new(
            Utc.with_ymd_and_hms(2026, 11, 29, 4, 35, 12).unwrap(),
            0xa1b2c3,
        )
    }

    #[test]
    fn runs_in_the_same_second_sort_by_start_time() {
        let at = |ms: i64| {
            Utc.with_ymd_and_hms(2026, 11, 29, 14, 32, 27).unwrap()
                + chrono::Duration::milliseconds(ms)
        };
        let earlier = RunId::starting(at(269), 0xff_ffff);
        let later = RunId::starting(at(976), 0);
        assert!(earlier < later, "{earlier} < {later}");
        assert_ne!(RunId::starting(at(5), 1), RunId::starting(at(5), 2));
        assert_eq!(RunId::parse(later.as_str()), Some(later.clone()));
        assert_eq!(later.date(), at(0).date_naive());
    }

    #[test]
    fn page_key_round_trip() {
        let k = PageKey {
            tenant: "acme".into(),
            object: "reservas_condicoes".into(),
            run_id: run(),
            page: 7,
        };
        let s = k.to_key();
        assert_eq!(
            s,
            "raw/acme/reservas_condicoes/2026/11/29/20261129T043512Z-a1b2c3/00007.json"
        );
        assert_eq!(PageKey::parse(&s), Some(k));
        assert_eq!(
            PageKey::parse("raw/acme/nope/2026/11/29/20261129T043512Z-a1b2c3/00007.json"),
            None
        );
        assert_eq!(
            PageKey::parse("raw/acme/vendas/2026/11/28/20261129T043512Z-a1b2c3/00007.json"),
            None
        );
        assert_eq!(
            PageKey::parse("raw/acme/vendas/2026/11/29/20261129T043512Z-a1b2c3/00000.json"),
            None
        );
    }

    #[test]
    fn manifest_key_round_trip() {
        let k = manifest_key("acme", &run(), "vendas");
        assert_eq!(
            parse_manifest_key(&k),
            Some(("acme".into(), run(), "vendas".into()))
        );
    }

    #[test]
    fn meta_round_trip() {
        let m = PageMeta {
            tenant: "acme".into(),
            run_id: run(),
            object_path: "/vendas".into(),
            page: 1,
            params: "pagina=1&registros_por_pagina=500".into(),
            http_status: 200,
            fetched_at: Utc.with_ymd_and_hms(2026, 11, 29, 4, 35, 13).unwrap(),
            mode: Mode::Full,
            rows: 500,
            sha256: "ab".repeat(32),
        };
        assert_eq!(PageMeta::from_metadata(&m.to_metadata()), Ok(m.clone()));
        let mut broken = m.to_metadata();
        broken.remove("fetched-at");
        assert_eq!(
            PageMeta::from_metadata(&broken),
            Err(MetaError("fetched-at"))
        );
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn pages_are_stored_as_the_gzip_of_their_exact_bytes() {
        let page = br#"{"pagina":1,"registros":500,"dados":[{"nome":"Jo\u00e3o","valor":1.50}]}"#;
        let stored = encode_page(page);
        let gz = HashMap::from([(ENCODING_KEY.to_string(), GZIP.to_string())]);
        assert_eq!(&decode_page(&gz, stored.clone().into()).unwrap()[..], page);
        // Pages stored before compression read as they are.
        assert_eq!(
            &decode_page(&HashMap::new(), page.to_vec().into()).unwrap()[..],
            page
        );
        let err = decode_page(&gz, page.to_vec().into()).unwrap_err();
        assert!(err.contains("does not inflate"), "{err}");
        let odd = HashMap::from([(ENCODING_KEY.to_string(), "br".to_string())]);
        assert!(decode_page(&odd, stored.into())
            .unwrap_err()
            .contains("unknown"));
        // A bomb: a small object that inflates past any page.
        let bomb = encode_page(&vec![b' '; (MAX_PAGE_BYTES + 10) as usize]);
        assert!(bomb.len() < 1 << 20);
        assert!(decode_page(&gz, bomb.into()).unwrap_err().contains("past"));
    }
}
