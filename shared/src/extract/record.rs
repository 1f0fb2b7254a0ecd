//! What a run writes down to resume: the continuation record (checkpoint) and the event that
//! hands a run over to the next invocation. The write order that makes them safe is in the
//! [module docs](super).

use super::schedule::Plan;
use crate::landing::{ManifestPage, Mode, RunId, STATE_PREFIX};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The continuation record's key for a tenant.
pub fn continuation_key(tenant: &str) -> String {
    format!("{STATE_PREFIX}{tenant}/_continuation.json")
}

/// The checkpoint of a run in progress, rewritten after every stored page. Whoever holds the
/// lock next (a continuation invocation or the next scheduled run) resumes from it with the
/// same run id and the same filter, so page numbers stay consistent and no page is skipped or
/// stored twice under different keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    pub tenant: String,
    pub run_id: RunId,
    pub started_at: DateTime<Utc>,
    /// Catalogue names, fixed for the whole run.
    pub objects: Vec<String>,
    /// Index into `objects` of the object in progress (or next to start).
    pub object_index: usize,
    /// Progress within that object, once it has started.
    pub current: Option<ObjectProgress>,
    /// `--full`: every object of this run is a full run.
    #[serde(default)]
    pub force_full: bool,
    /// Objects that failed permanently in this run (skipped; state untouched).
    #[serde(default)]
    pub failed: Vec<String>,
    /// The run's plan ([`schedule`]): `objects` follows its steps. `None` for a run started
    /// before plans existed (each object then decides its own mode).
    #[serde(default)]
    pub plan: Option<Plan>,
    /// Requests the run has spent so far (for the budget), over all its invocations.
    #[serde(default)]
    pub requests_used: u64,
    /// Invocations that worked on this run so far.
    pub invocations: u32,
    pub updated_at: DateTime<Utc>,
}

/// Progress within one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectProgress {
    pub object: String,
    pub mode: Mode,
    /// The `a_partir_data_referencia` in use (CVDW format); `None` for a full run.
    pub filter: Option<String>,
    /// The page to fetch next.
    pub next_page: u32,
    /// True once the last page is stored (only the manifest and state are left to write).
    pub pages_done: bool,
    pub pages: Vec<ManifestPage>,
    pub rows: u64,
    pub max_referencia_data: Option<String>,
    pub started_at: DateTime<Utc>,
    /// The pass's own run id when it began in an earlier run (a resumed pass,
    /// [`schedule`]); `None`: the run's. Its pages and manifest go under this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_run_id: Option<RunId>,
}

impl ObjectProgress {
    pub(crate) fn run_id<'a>(&'a self, run: &'a RunId) -> &'a RunId {
        self.pass_run_id.as_ref().unwrap_or(run)
    }
}

/// The payload a continuation invocation receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContinuationEvent {
    pub cvdw_continuation: ContinuationTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContinuationTarget {
    pub tenant: String,
    pub run_id: RunId,
}

/// How often a run records its progress while pages come in ([`Continuation`]): a crash
/// re-fetches at most this much work (under the same keys: nothing is duplicated).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_event_shape() {
        let ev = ContinuationEvent {
            cvdw_continuation: ContinuationTarget {
                tenant: "acme".into(),
                run_id: RunId::parse("20261129T043512Z-a1b2c3").unwrap(),
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"cvdw_continuation": {"tenant": "acme", "run_id": "20261129T043512Z-a1b2c3"}})
        );
    }
}
