//! What an invocation reports: per object and per tenant (the EMF metrics and the CLI read
//! them), and the progress callbacks a display hooks into.

use super::schedule::Plan;
use crate::landing::{Mode, RunId};
use serde::Serialize;

/// Progress callbacks for displays; every method has a no-op default.
pub trait Progress: Send + Sync {
    fn run_started(&self, _tenant: &str, _run_id: &RunId, _resumed: bool) {}
    /// A new run's plan, before its first request.
    fn plan_ready(&self, _tenant: &str, _plan: &Plan) {}
    fn object_started(
        &self,
        _tenant: &str,
        _object: &str,
        _mode: Mode,
        _index: usize,
        _total: usize,
    ) {
    }
    fn page_stored(&self, _tenant: &str, _object: &str, _page: u32, _rows: u32) {}
    fn object_finished(&self, _tenant: &str, _report: &ObjectReport) {}
}

/// Progress that shows nothing.
pub struct Quiet;
impl Progress for Quiet {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectStatus {
    Done,
    Failed(String),
}

/// One object's part in this invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectReport {
    pub object: String,
    pub mode: Mode,
    /// Pages and rows stored by this invocation.
    pub pages: u32,
    pub rows: u64,
    pub cursor_before: Option<String>,
    pub cursor_after: Option<String>,
    pub status: ObjectStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every object of the run is finished.
    Completed,
    /// The deadline came; a continuation was scheduled.
    Continued,
    /// Another invocation holds the tenant's lock.
    Skipped(String),
    /// A continuation arrived for a run that is already finished.
    NothingToContinue,
}

/// What one invocation did for one tenant (the EMF metrics come from here).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantReport {
    pub tenant: String,
    pub run_id: Option<RunId>,
    pub outcome: Outcome,
    pub objects: Vec<ObjectReport>,
    pub pages: u64,
    pub rows: u64,
    pub throttled: u64,
    pub retries: u64,
    pub duration_ms: u64,
    /// Steps of the plan left for a later run when the budget was spent.
    pub deferred: Vec<String>,
}

impl TenantReport {
    /// A report with nothing done yet (the outcome is set as the invocation goes).
    pub(crate) fn empty(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            run_id: None,
            outcome: Outcome::Completed,
            objects: Vec::new(),
            pages: 0,
            rows: 0,
            throttled: 0,
            retries: 0,
            duration_ms: 0,
            deferred: Vec::new(),
        }
    }
}
