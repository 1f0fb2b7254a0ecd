//! One invocation's work for one tenant: lock, resume or start a run, walk the objects page by
//! page, checkpoint, hand over at the deadline, release.

use super::config::{FullEvery, RunSettings};
use super::lock::{self, LockError, LockGuard};
use super::schedule::{self, Plan, Planned};
use crate::catalogue::{self, ObjectSpec};
use crate::cvdw::{CvdwClient, CvdwError, FetchedPage, PageRequest};
use crate::landing::{
    encode_page, manifest_key, state_key, Manifest, ManifestPage, Mode, ObjectState, PageKey,
    PageMeta, PausedPass, RunId, ENCODING_KEY, GZIP, STATE_PREFIX,
};
use crate::store::{ObjectStore, StoreError};
use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// A run never reads more pages than this for one object (a guard against a server that
/// never returns a last page; 50 M rows at 500 per page).
pub const MAX_PAGES_PER_OBJECT: u32 = 100_000;

/// Fetched pages that may wait for the writer (bounded memory: a few pages).
const WRITE_AHEAD: usize = 8;

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
    fn run_id<'a>(&'a self, run: &'a RunId) -> &'a RunId {
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

/// How far the invocation may go. Checked before every page.
pub trait Deadline: Send + Sync {
    /// Time left, `None` = unlimited.
    fn remaining(&self) -> Option<Duration>;
}

/// No deadline (the CLI).
pub struct NoDeadline;
impl Deadline for NoDeadline {
    fn remaining(&self) -> Option<Duration> {
        None
    }
}

/// A wall-clock deadline (the Lambda context's).
pub struct DeadlineAt(pub Instant);
impl Deadline for DeadlineAt {
    fn remaining(&self) -> Option<Duration> {
        Some(self.0.saturating_duration_since(Instant::now()))
    }
}

/// Failure to schedule a continuation.
#[derive(Debug, thiserror::Error)]
#[error("could not schedule the continuation of run {run_id} for tenant {tenant}: {message}")]
pub struct ContinueError {
    pub tenant: String,
    pub run_id: String,
    pub message: String,
}

/// Re-invokes the extractor asynchronously to carry on a run (Lambda: an `Event` invoke of
/// this function; tests and the CLI: a local queue).
pub trait Continuer: Send + Sync {
    fn continue_run<'a>(
        &'a self,
        event: &'a ContinuationEvent,
    ) -> Pin<Box<dyn Future<Output = Result<(), ContinueError>> + Send + 'a>>;
}

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

/// What triggered the invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// The schedule (or `cvdw extract`): resume a pending run, else start one.
    Scheduled { force_full: bool },
    /// A hand-over: resume the pending run; do nothing if it is already finished.
    Continuation { run_id: Option<RunId> },
}

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

/// A failure that stopped the invocation. The continuation (if any) stays in the bucket, so
/// the next run resumes where this one stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("storing {what}: {source}")]
    Store {
        what: String,
        #[source]
        source: StoreError,
    },
    #[error("extracting {object} for tenant {tenant}: {source}")]
    Cvdw {
        tenant: String,
        object: String,
        #[source]
        source: Box<CvdwError>,
    },
    #[error(transparent)]
    Continue(#[from] ContinueError),
    #[error("{0}")]
    Invalid(String),
}

impl ExtractError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ExtractError::Lock(e) => e.is_retryable(),
            ExtractError::Store { source, .. } => source.is_retryable(),
            ExtractError::Cvdw { source, .. } => source.is_retryable(),
            ExtractError::Continue(_) => true,
            ExtractError::Invalid(_) => false,
        }
    }
}

/// One tenant: its name, objects and client (with its own pacer).
#[derive(Debug, Clone)]
pub struct TenantJob {
    pub tenant: String,
    pub objects: Vec<&'static ObjectSpec>,
    pub client: CvdwClient,
}

/// The collaborators of a run.
pub struct Extractor<'a, S: ObjectStore> {
    pub store: &'a S,
    pub settings: &'a RunSettings,
    pub deadline: &'a dyn Deadline,
    pub continuer: &'a dyn Continuer,
    pub progress: &'a dyn Progress,
}

enum Step {
    Done,
    Deadline,
    /// The run's budget is spent ([`schedule`]).
    Budget,
}

struct Tally {
    pages: u64,
    rows: u64,
    retries: u64,
}

impl<S: ObjectStore> Extractor<'_, S> {
    /// Run one invocation for one tenant. See the [module docs](super) for the protocol.
    pub async fn run_tenant(
        &self,
        job: &TenantJob,
        trigger: Trigger,
    ) -> Result<TenantReport, ExtractError> {
        let started = Instant::now();
        let owner = format!("inv-{:016x}", crate::cvdw::client::random_u64());
        let mut report = TenantReport {
            tenant: job.tenant.clone(),
            run_id: None,
            outcome: Outcome::Completed,
            objects: Vec::new(),
            pages: 0,
            rows: 0,
            throttled: 0,
            retries: 0,
            duration_ms: 0,
            deferred: Vec::new(),
        };
        let mut guard = match lock::acquire(
            self.store,
            &job.tenant,
            &owner,
            None,
            self.settings.lock_ttl,
        )
        .await
        {
            Ok(g) => g,
            Err(LockError::Held {
                owner,
                run_id,
                expires_at,
                ..
            }) => {
                tracing::info!(tenant = %job.tenant, holder = %owner, holder_run = %run_id, %expires_at,
                    "another invocation holds the tenant's lock; not running");
                report.outcome = Outcome::Skipped(format!(
                    "locked by {owner} (run {run_id}) until {expires_at}"
                ));
                report.duration_ms = started.elapsed().as_millis() as u64;
                return Ok(report);
            }
            Err(e) => return Err(e.into()),
        };
        let pacer = job.client.pacer().clone();
        pacer.seed(&guard.inherited_requests).await;
        let throttled_before = pacer.stats().await.throttled;

        let result = self.run_locked(job, trigger, &mut guard, &mut report).await;

        report.throttled = pacer.stats().await.throttled - throttled_before;
        report.duration_ms = started.elapsed().as_millis() as u64;
        // Release whatever happened (the continuation, if any, stays for the next holder).
        let recent = pacer.recent_sends().await;
        if let Err(e) = guard.release(self.store, recent).await {
            tracing::warn!(tenant = %job.tenant, error = %e, "could not release the lock; it will expire");
        }
        let continued = result?;
        if let Some(event) = continued {
            // Hand over only after the lock is released, so the continuation can take it.
            self.continuer.continue_run(&event).await?;
        }
        Ok(report)
    }

    /// Returns the continuation to schedule, if the deadline came.
    async fn run_locked(
        &self,
        job: &TenantJob,
        trigger: Trigger,
        guard: &mut LockGuard,
        report: &mut TenantReport,
    ) -> Result<Option<ContinuationEvent>, ExtractError> {
        let ckey = continuation_key(&job.tenant);
        let pending: Option<Continuation> = match self.store.get(&ckey).await {
            Ok(o) => Some(serde_json::from_slice(&o.body).map_err(|e| {
                ExtractError::Invalid(format!(
                    "{ckey} is not a continuation record ({e}); inspect or delete it"
                ))
            })?),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(store_err(&ckey, e)),
        };
        let resumed = pending.is_some();
        let mut cont = match (pending, &trigger) {
            (Some(mut c), _) => {
                if let Trigger::Continuation { run_id: Some(r) } = &trigger {
                    if *r != c.run_id {
                        tracing::warn!(tenant = %job.tenant, expected = %r, pending = %c.run_id,
                            "continuation event for another run; resuming the pending one");
                    }
                }
                c.invocations += 1;
                c
            }
            (None, Trigger::Continuation { .. }) => {
                report.outcome = Outcome::NothingToContinue;
                return Ok(None);
            }
            (None, Trigger::Scheduled { force_full }) => {
                let now = Utc::now();
                let plan = self.plan(job, now, *force_full).await?;
                Continuation {
                    tenant: job.tenant.clone(),
                    run_id: RunId::starting(now, crate::cvdw::client::random_u64() as u32),
                    started_at: now,
                    objects: plan.steps.iter().map(|p| p.object.clone()).collect(),
                    object_index: 0,
                    current: None,
                    force_full: *force_full,
                    failed: Vec::new(),
                    plan: Some(plan),
                    requests_used: 0,
                    invocations: 1,
                    updated_at: now,
                }
            }
        };
        report.run_id = Some(cont.run_id.clone());
        let span = tracing::info_span!("extract", run_id = %cont.run_id, tenant = %job.tenant);
        async {
            tracing::info!(resumed, invocation = cont.invocations, objects = cont.objects.len(), "run started");
            self.progress.run_started(&job.tenant, &cont.run_id, resumed);
            if let (false, Some(plan)) = (resumed, &cont.plan) {
                tracing::info!(budget = plan.budget, steps = plan.steps.len(), plan = %plan.describe(), "plan");
                self.progress.plan_ready(&job.tenant, plan);
            }
            let pacer = job.client.pacer().clone();
            let (sent_before, used_before) = (pacer.stats().await.requests, cont.requests_used);
            guard.renew(self.store, Some(cont.run_id.as_str()), self.settings.lock_ttl).await?;
            self.checkpoint(&mut cont).await?;
            while cont.object_index < cont.objects.len() {
                let name = cont.objects[cont.object_index].clone();
                let Some(spec) = catalogue::find(&name) else {
                    return Err(ExtractError::Invalid(format!("continuation names unknown object {name}")));
                };
                let planned = cont.plan.as_ref().and_then(|p| p.steps.get(cont.object_index)).cloned();
                cont.requests_used = used_before + (pacer.stats().await.requests - sent_before);
                // What the budget leaves this step; `None`: not budgeted.
                let allowance = match (&cont.plan, &planned) {
                    (Some(plan), Some(step)) if step.step.budgeted() => {
                        Some(plan.budget.saturating_sub(cont.requests_used))
                    }
                    _ => None,
                };
                let ospan = tracing::info_span!("object", object = spec.name);
                let step = if allowance == Some(0) {
                    Ok(Step::Budget)
                } else {
                    self.extract_object(job, spec, planned.as_ref(), allowance, &mut cont, guard, report).instrument(ospan).await
                };
                match step {
                    Ok(Step::Done) => {}
                    Ok(Step::Budget) => {
                        self.pause(job, spec, &mut cont).await?;
                        report.deferred = cont.objects[cont.object_index..].to_vec();
                        tracing::info!(used = cont.requests_used, deferred = report.deferred.len(),
                            "budget spent; the rest of the plan waits for the next run");
                        break;
                    }
                    Ok(Step::Deadline) => {
                        tracing::info!(object = spec.name, "deadline near; handing over to a continuation");
                        report.outcome = Outcome::Continued;
                        return Ok(Some(ContinuationEvent {
                            cvdw_continuation: ContinuationTarget {
                                tenant: job.tenant.clone(),
                                run_id: cont.run_id.clone(),
                            },
                        }));
                    }
                    Err(ExtractError::Cvdw { source, object, tenant }) if !source.is_retryable() => {
                        // A permanent refusal (e.g. no permission on one object) must not stop the
                        // others: skip it, leave its state alone, report it.
                        tracing::error!(object = %object, error = %source, "object refused permanently; skipping it");
                        let mode = cont.current.as_ref().map_or(Mode::Full, |p| p.mode);
                        let filter = cont.current.as_ref().and_then(|p| p.filter.clone());
                        report.objects.push(ObjectReport {
                            object: spec.name.to_string(),
                            mode,
                            pages: 0,
                            rows: 0,
                            cursor_before: filter,
                            cursor_after: None,
                            status: ObjectStatus::Failed(source.to_string()),
                        });
                        let _ = tenant;
                        cont.failed.push(object);
                        cont.object_index += 1;
                        cont.current = None;
                        self.checkpoint(&mut cont).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            // The run is complete (or its budget spent): the continuation goes last.
            self.store
                .delete(&continuation_key(&job.tenant))
                .await
                .map_err(|e| store_err(&continuation_key(&job.tenant), e))?;
            tracing::info!(pages = report.pages, rows = report.rows, failed = cont.failed.len(), "run complete");
            report.outcome = Outcome::Completed;
            Ok(None)
        }
        .instrument(span)
        .await
    }

    /// One object's step of the run. `planned` is its step in the plan (`None` for a run
    /// without one); `allowance` the requests the budget leaves it (`None`: unbounded).
    #[allow(clippy::too_many_arguments)]
    async fn extract_object(
        &self,
        job: &TenantJob,
        spec: &'static ObjectSpec,
        planned: Option<&Planned>,
        allowance: Option<u64>,
        cont: &mut Continuation,
        guard: &mut LockGuard,
        report: &mut TenantReport,
    ) -> Result<Step, ExtractError> {
        let skey = state_key(&job.tenant, spec.name);
        let state = self.read_state(&skey).await?;
        if cont.current.as_ref().is_none_or(|p| p.object != spec.name) {
            cont.current = Some(start_object(
                spec,
                planned,
                &state,
                self.settings,
                cont.force_full,
            ));
        }
        let (mode, filter_str) = {
            let p = cont.current.as_ref().expect("set above");
            (p.mode, p.filter.clone())
        };
        let filter = filter_str
            .as_deref()
            .and_then(crate::values::parse_filter_datetime);
        self.progress.object_started(
            &job.tenant,
            spec.name,
            mode,
            cont.object_index,
            cont.objects.len(),
        );
        tracing::info!(
            mode = mode.as_str(),
            filter = filter_str.as_deref().unwrap_or(""),
            "object started"
        );
        let mut tally = Tally {
            pages: 0,
            rows: 0,
            retries: 0,
        };

        // Fetching and storing overlap: a fetcher walks the pages while a writer stores them in
        // order and checkpoints. At most WRITE_AHEAD fetched pages wait in memory (still page by
        // page, bounded), and the request pipe is not idle while S3 writes happen. The checkpoint
        // always names the first page *not yet stored*, so stopping anywhere loses nothing.
        if !cont.current.as_ref().is_some_and(|p| p.pages_done) {
            let first_page = cont.current.as_ref().map_or(1, |p| p.next_page);
            let (tx, mut rx) = tokio::sync::mpsc::channel::<(u32, FetchedPage)>(WRITE_AHEAD);
            let pacer = job.client.pacer().clone();
            let sent_at_start = pacer.stats().await.requests;
            let fetcher = async move {
                let mut page_no = first_page;
                // The most pages any envelope of this run announced (a 204 announces nothing).
                let mut announced = 0u64;
                loop {
                    let left = self.deadline.remaining();
                    if left.is_some_and(|left| left < self.settings.deadline_margin) {
                        return Ok(Step::Deadline);
                    }
                    if let Some(allowed) = allowance {
                        if pacer.stats().await.requests - sent_at_start >= allowed {
                            return Ok(Step::Budget);
                        }
                    }
                    if page_no > MAX_PAGES_PER_OBJECT {
                        return Err(ExtractError::Invalid(format!(
                            "{} returned more than {MAX_PAGES_PER_OBJECT} pages; refusing to go on",
                            spec.path
                        )));
                    }
                    // The page must come before the margin: its attempts and pauses stop there.
                    let until = left.map(|left| {
                        Instant::now() + left.saturating_sub(self.settings.deadline_margin)
                    });
                    let Some(fetched) =
                        fetch_page_checked(job, spec, page_no, filter, announced, until)
                            .instrument(tracing::info_span!("page", page = page_no))
                            .await?
                    else {
                        return Ok(Step::Deadline);
                    };
                    announced = announced.max(fetched.summary.total_de_paginas.unwrap_or(0));
                    let last = fetched.is_last;
                    if tx.send((page_no, fetched)).await.is_err() {
                        // The writer stopped (a store error); it reports why.
                        return Ok(Step::Done);
                    }
                    if last {
                        return Ok(Step::Done);
                    }
                    page_no += 1;
                }
            };
            let writer = async {
                let mut inflight = None;
                let mut checkpointed = Instant::now();
                let result = async {
                    while let Some((page_no, fetched)) = rx.recv().await {
                        tally.retries += u64::from(fetched.retries);
                        let run_id = cont
                            .current
                            .as_ref()
                            .expect("set above")
                            .run_id(&cont.run_id)
                            .clone();
                        let entry = self
                            .store_page(job, spec, &run_id, mode, page_no, &fetched)
                            .instrument(tracing::info_span!("page", page = page_no))
                            .await?;
                        let p = cont.current.as_mut().expect("set above");
                        if let Some(e) = entry {
                            tally.pages += 1;
                            tally.rows += u64::from(e.rows);
                            p.rows += u64::from(e.rows);
                            self.progress
                                .page_stored(&job.tenant, spec.name, page_no, e.rows);
                            p.pages.push(e);
                        }
                        if fetched.summary.future_referencia_data > 0 {
                            tracing::warn!(
                                page = page_no,
                                rows = fetched.summary.future_referencia_data,
                                "referencia_data in the future: stored, but not used as the cursor"
                            );
                        }
                        if let Some(m) = fetched.summary.max_referencia_data {
                            let prev = p
                                .max_referencia_data
                                .as_deref()
                                .and_then(crate::values::parse_datetime);
                            if prev.is_none_or(|prev| m > prev) {
                                p.max_referencia_data = Some(crate::values::format_datetime(&m));
                            }
                        }
                        p.next_page = page_no + 1;
                        if fetched.is_last {
                            p.pages_done = true;
                        }
                        tracing::debug!(
                            page = page_no,
                            rows = fetched.summary.rows,
                            last = fetched.is_last,
                            "page stored"
                        );
                        // Checkpoint on the last page, and when the writer has caught up and the
                        // last checkpoint is CHECKPOINT_EVERY old: pages stored in between are
                        // re-fetched under the same keys after a crash (at most that much work),
                        // and a paced run does not write a checkpoint per page (an S3 PUT each:
                        // half the raw zone's requests, docs/cost.md). The deadline and the budget
                        // checkpoint on their own. The checkpoint write overlaps the next page's
                        // write; checkpoints stay ordered.
                        if fetched.is_last
                            || (rx.is_empty() && checkpointed.elapsed() >= CHECKPOINT_EVERY)
                        {
                            join_checkpoint(inflight.take()).await?;
                            inflight = Some(self.checkpoint_in_background(cont)?);
                            checkpointed = Instant::now();
                        }
                        if guard.needs_renewal(self.settings.lock_ttl) {
                            guard
                                .renew(
                                    self.store,
                                    Some(cont.run_id.as_str()),
                                    self.settings.lock_ttl,
                                )
                                .await?;
                        }
                    }
                    Ok::<(), ExtractError>(())
                }
                .await;
                // Stop the fetcher: a writer that failed must not leave it fetching ahead and
                // then waiting forever on a full queue (the receiver outlives this future).
                rx.close();
                // Whatever happened, the last checkpoint started must land (or fail) first.
                let last = join_checkpoint(inflight.take()).await;
                result.and(last)
            };
            let (fetched, written) = tokio::join!(fetcher, writer);
            report.pages += tally.pages;
            report.rows += tally.rows;
            report.retries += tally.retries;
            // A store failure wins: it is why the fetcher stopped.
            written?;
            match fetched? {
                Step::Deadline => {
                    self.checkpoint(cont).await?;
                    return Ok(Step::Deadline);
                }
                Step::Budget if !cont.current.as_ref().is_some_and(|p| p.pages_done) => {
                    return Ok(Step::Budget);
                }
                _ => {}
            }
        }

        // Every page is stored: manifest, then state, then move the checkpoint on.
        let p = cont.current.clone().expect("set above");
        let max_before = state
            .max_referencia_data
            .as_deref()
            .and_then(crate::values::parse_datetime);
        let max_run = p
            .max_referencia_data
            .as_deref()
            .and_then(crate::values::parse_datetime);
        let new_max = max_before.max(max_run);
        let overlap = chrono::Duration::from_std(self.settings.overlap).unwrap_or_default();
        let cursor_after = match new_max {
            Some(m) => Some(crate::values::format_datetime(&(m - overlap))),
            None => state.cursor.clone(),
        };
        let now = Utc::now();
        let pass_run = p.run_id(&cont.run_id).clone();
        let manifest = Manifest {
            tenant: job.tenant.clone(),
            run_id: pass_run.clone(),
            object: spec.name.to_string(),
            object_path: spec.path.to_string(),
            mode,
            pages: p.pages.clone(),
            rows: p.rows,
            cursor_before: p.filter.clone(),
            cursor_after: cursor_after.clone(),
            started_at: p.started_at,
            finished_at: now,
        };
        let mkey = manifest_key(&job.tenant, &pass_run, spec.name);
        self.put_json(&mkey, &manifest).await?;
        let full = mode == Mode::Full;
        let new_state = ObjectState {
            cursor: cursor_after.clone(),
            max_referencia_data: new_max.map(|m| crate::values::format_datetime(&m)),
            last_run_id: Some(pass_run),
            last_mode: Some(mode),
            // A pass counts from when it began: what it reconciles is as old as that.
            last_full_at: if full {
                Some(p.started_at.min(cont.started_at))
            } else {
                state.last_full_at
            },
            updated_at: Some(now),
            known_rows: if full {
                announced_rows(&p.pages).or(state.known_rows)
            } else {
                state.known_rows
            },
            // An incremental step leaves a paused pass alone; the pass itself ends it.
            paused_pass: if full {
                None
            } else {
                state.paused_pass.clone()
            },
        };
        self.put_json(&skey, &new_state).await?;
        let obj_report = ObjectReport {
            object: spec.name.to_string(),
            mode,
            pages: tally.pages as u32,
            rows: tally.rows,
            cursor_before: p.filter.clone(),
            cursor_after,
            status: ObjectStatus::Done,
        };
        tracing::info!(
            pages = p.pages.len(),
            rows = p.rows,
            cursor_after = obj_report.cursor_after.as_deref().unwrap_or(""),
            "object complete"
        );
        self.progress.object_finished(&job.tenant, &obj_report);
        report.objects.push(obj_report);
        cont.object_index += 1;
        cont.current = None;
        self.checkpoint(cont).await?;
        Ok(Step::Done)
    }

    /// Store one page; `None` for a 204 (nothing to store).
    async fn store_page(
        &self,
        job: &TenantJob,
        spec: &ObjectSpec,
        run_id: &RunId,
        mode: Mode,
        page: u32,
        f: &FetchedPage,
    ) -> Result<Option<ManifestPage>, ExtractError> {
        if f.http_status == 204 {
            return Ok(None);
        }
        let key = PageKey {
            tenant: job.tenant.clone(),
            object: spec.name.to_string(),
            run_id: run_id.clone(),
            page,
        }
        .to_key();
        let sha256 = super::sha256_hex(&f.body);
        let meta = PageMeta {
            tenant: job.tenant.clone(),
            run_id: run_id.clone(),
            object_path: spec.path.to_string(),
            page,
            params: f.params.clone(),
            http_status: f.http_status,
            fetched_at: f.fetched_at,
            mode,
            rows: f.summary.rows,
            sha256: sha256.clone(),
        };
        // Stored as the gzip of the exact bytes; `sha256` is the original's (landing.rs).
        let mut metadata = meta.to_metadata();
        metadata.insert(ENCODING_KEY.to_string(), GZIP.to_string());
        self.put_retrying(&key, encode_page(&f.body).into(), &metadata)
            .await?;
        Ok(Some(ManifestPage {
            page,
            key,
            rows: f.summary.rows,
            sha256,
            total_de_registros: f.summary.total_de_registros,
            total_de_paginas: f.summary.total_de_paginas,
            registros: f.summary.registros,
        }))
    }

    /// The budget is spent in the middle of `spec`'s step: a full pass (or backfill) is
    /// paused in the object's state, to be resumed by the next run; an incremental step is
    /// simply left (its cursor has not moved, the next run reads the same rows again).
    async fn pause(
        &self,
        job: &TenantJob,
        spec: &ObjectSpec,
        cont: &mut Continuation,
    ) -> Result<(), ExtractError> {
        let Some(p) = cont.current.take() else {
            return Ok(());
        };
        if p.mode != Mode::Full || p.pages.is_empty() {
            return Ok(());
        }
        let skey = state_key(&job.tenant, spec.name);
        let mut state = self.read_state(&skey).await?;
        state.known_rows = announced_rows(&p.pages).or(state.known_rows);
        state.paused_pass = Some(PausedPass {
            run_id: p.run_id(&cont.run_id).clone(),
            started_at: p.started_at,
            next_page: p.next_page,
            pages: p.pages,
            rows: p.rows,
            max_referencia_data: p.max_referencia_data,
        });
        state.updated_at = Some(Utc::now());
        tracing::info!(
            object = spec.name,
            next_page = p.next_page,
            "pass paused for the next run"
        );
        self.put_json(&skey, &state).await
    }

    /// The plan of a new run: the objects' states read, the budget of the slot
    /// ([`schedule`]); every object full in priority order with `--full`.
    async fn plan(
        &self,
        job: &TenantJob,
        now: DateTime<Utc>,
        force_full: bool,
    ) -> Result<Plan, ExtractError> {
        if force_full {
            return Ok(Plan::all_full(&job.objects));
        }
        let mut states = HashMap::new();
        for spec in &job.objects {
            let state = self.read_state(&state_key(&job.tenant, spec.name)).await?;
            states.insert(spec.name.to_string(), state);
        }
        let pacer = job.client.pacer().config();
        let budget = self
            .settings
            .budget
            .as_ref()
            .map(|b| b.requests(now, pacer.requests, pacer.window));
        Ok(schedule::plan(
            &job.objects,
            &states,
            now,
            self.settings.cadence(),
            budget,
            job.client.config().page_size,
        ))
    }

    async fn read_state(&self, key: &str) -> Result<ObjectState, ExtractError> {
        match self.store.get(key).await {
            Ok(o) => serde_json::from_slice(&o.body).map_err(|e| {
                ExtractError::Invalid(format!(
                    "{key} is not an object state ({e}); inspect or delete it"
                ))
            }),
            Err(StoreError::NotFound { .. }) => Ok(ObjectState::default()),
            Err(e) => Err(store_err(key, e)),
        }
    }

    async fn checkpoint(&self, cont: &mut Continuation) -> Result<(), ExtractError> {
        cont.updated_at = Utc::now();
        self.put_json(&continuation_key(&cont.tenant), &*cont).await
    }

    async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ExtractError> {
        let body = serde_json::to_vec_pretty(value)
            .map_err(|e| ExtractError::Invalid(format!("serialising {key}: {e}")))?;
        self.put_retrying(key, Bytes::from(body), &HashMap::new())
            .await
    }

    /// A write, retried a few times on transient store errors (short backoff).
    async fn put_retrying(
        &self,
        key: &str,
        body: Bytes,
        meta: &HashMap<String, String>,
    ) -> Result<(), ExtractError> {
        put_with_retry(self.store, key, body, meta, self.settings.store_attempts).await
    }

    /// Start writing the checkpoint in the background (the next page's write overlaps it).
    /// The caller awaits the previous one first, so checkpoints land in order.
    fn checkpoint_in_background(
        &self,
        cont: &mut Continuation,
    ) -> Result<tokio::task::JoinHandle<Result<(), ExtractError>>, ExtractError> {
        cont.updated_at = Utc::now();
        let key = continuation_key(&cont.tenant);
        let body = serde_json::to_vec_pretty(&*cont)
            .map_err(|e| ExtractError::Invalid(format!("serialising {key}: {e}")))?;
        let store = self.store.clone();
        let attempts = self.settings.store_attempts;
        Ok(tokio::spawn(async move {
            put_with_retry(&store, &key, Bytes::from(body), &HashMap::new(), attempts).await
        }))
    }
}

async fn join_checkpoint(
    h: Option<tokio::task::JoinHandle<Result<(), ExtractError>>>,
) -> Result<(), ExtractError> {
    match h {
        None => Ok(()),
        Some(h) => h
            .await
            .map_err(|e| ExtractError::Invalid(format!("checkpoint task failed: {e}")))?,
    }
}

/// A write, retried a few times on transient store errors (short backoff).
async fn put_with_retry<S: ObjectStore>(
    store: &S,
    key: &str,
    body: Bytes,
    meta: &HashMap<String, String>,
    attempts: u32,
) -> Result<(), ExtractError> {
    let attempts = attempts.max(1);
    let mut n = 0;
    loop {
        n += 1;
        match store.put(key, body.clone(), "application/json", meta).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_retryable() && n < attempts => {
                tracing::warn!(key, attempt = n, error = %e, "store write failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * (1 << n.min(6)))).await;
            }
            Err(e) => return Err(store_err(key, e)),
        }
    }
}

fn store_err(what: &str, source: StoreError) -> ExtractError {
    ExtractError::Store {
        what: what.to_string(),
        source,
    }
}

/// The progress of an object's step as it starts: a paused pass resumed, the plan's mode, or
/// (a run without a plan) [`decide`].
fn start_object(
    spec: &ObjectSpec,
    planned: Option<&Planned>,
    state: &ObjectState,
    settings: &RunSettings,
    force_full: bool,
) -> ObjectProgress {
    let now = Utc::now();
    let fresh = |mode: Mode, filter: Option<NaiveDateTime>| ObjectProgress {
        object: spec.name.to_string(),
        mode,
        filter: filter.map(|f| crate::values::format_datetime(&f)),
        next_page: 1,
        pages_done: false,
        pages: Vec::new(),
        rows: 0,
        max_referencia_data: None,
        started_at: now,
        pass_run_id: None,
    };
    let Some(planned) = planned else {
        let (mode, filter) = decide(state, settings, now, force_full);
        return fresh(mode, filter);
    };
    if let (Some(_), Some(paused)) = (planned.resume_page, &state.paused_pass) {
        return ObjectProgress {
            object: spec.name.to_string(),
            mode: Mode::Full,
            filter: None,
            next_page: paused.next_page,
            pages_done: false,
            pages: paused.pages.clone(),
            rows: paused.rows,
            max_referencia_data: paused.max_referencia_data.clone(),
            started_at: paused.started_at,
            pass_run_id: Some(paused.run_id.clone()),
        };
    }
    let cursor = state
        .cursor
        .as_deref()
        .and_then(crate::values::parse_filter_datetime);
    match cursor {
        Some(c) if !planned.step.is_full() => fresh(Mode::Incremental, Some(c)),
        _ => fresh(Mode::Full, None),
    }
}

/// The most rows any page of a pass announced (`total_de_registros`).
fn announced_rows(pages: &[ManifestPage]) -> Option<u64> {
    pages.iter().filter_map(|p| p.total_de_registros).max()
}

/// How often a run records its progress while pages come in ([`Continuation`]): a crash
/// re-fetches at most this much work (under the same keys: nothing is duplicated).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);

/// How many times a page that comes back empty before the last page its envelope announces
/// is fetched again. CVDW has been seen to answer a glitch with an empty 200 (or a 204); taken
/// as the end of the object, it would end a full run early. If it stays empty the run ends
/// there, and the loader sees the run as incomplete and deletes nothing.
pub const EARLY_EMPTY_RETRIES: u32 = 3;

/// Fetch one page; an empty page (or a 204) before the last page announced so far, by this
/// page or an earlier one (`announced`), is fetched again, up to [`EARLY_EMPTY_RETRIES`] times
/// (each through the pacer, like any request). `None`: the time ran out before `until` (the
/// run hands over to a continuation instead of being killed mid-page).
async fn fetch_page_checked(
    job: &TenantJob,
    spec: &'static ObjectSpec,
    page: u32,
    from: Option<NaiveDateTime>,
    announced: u64,
    until: Option<Instant>,
) -> Result<Option<FetchedPage>, ExtractError> {
    let mut again = 0;
    loop {
        let fetched = match job
            .client
            .fetch_page(PageRequest {
                object: spec,
                page,
                from,
                until,
            })
            .await
        {
            Ok(f) => f,
            Err(CvdwError::OutOfTime { .. }) => return Ok(None),
            Err(source) => {
                return Err(ExtractError::Cvdw {
                    tenant: job.tenant.clone(),
                    object: spec.path.to_string(),
                    source: Box::new(source),
                })
            }
        };
        let announced = announced.max(fetched.summary.total_de_paginas.unwrap_or(0));
        let early_empty = fetched.summary.rows == 0 && u64::from(page) < announced;
        if !early_empty || again >= EARLY_EMPTY_RETRIES {
            if early_empty {
                tracing::warn!(
                    page,
                    total_de_paginas = announced,
                    "page still empty before the announced last page: the run ends here, incomplete"
                );
            }
            return Ok(Some(fetched));
        }
        again += 1;
        tracing::warn!(
            page,
            total_de_paginas = announced,
            attempt = again,
            "empty page before the announced last page; fetching it again"
        );
    }
}

/// America/Sao_Paulo has been UTC−3 all year since 2019 (no DST).
pub fn sao_paulo_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    (t - chrono::Duration::hours(3)).date_naive()
}

/// Full or incremental for one object, and the filter to send.
pub fn decide(
    state: &ObjectState,
    settings: &RunSettings,
    now: DateTime<Utc>,
    force_full: bool,
) -> (Mode, Option<NaiveDateTime>) {
    let cursor = state
        .cursor
        .as_deref()
        .and_then(crate::values::parse_filter_datetime);
    let Some(cursor) = cursor else {
        return (Mode::Full, None);
    };
    if force_full || full_due(settings.full_every, state.last_full_at, now) {
        (Mode::Full, None)
    } else {
        (Mode::Incremental, Some(cursor))
    }
}

/// Whether an object whose last full pass started at `last_full` is due for another at `now`.
pub fn full_due(every: FullEvery, last_full: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match every {
        FullEvery::Always => true,
        FullEvery::Never => false,
        FullEvery::Daily => last_full.is_none_or(|t| sao_paulo_date(t) < sao_paulo_date(now)),
        FullEvery::Interval(d) => {
            last_full.is_none_or(|t| (now - t).to_std().unwrap_or(Duration::ZERO) >= d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn state(cursor: Option<&str>, last_full: Option<DateTime<Utc>>) -> ObjectState {
        ObjectState {
            cursor: cursor.map(str::to_string),
            last_full_at: last_full,
            ..Default::default()
        }
    }

    #[test]
    fn no_cursor_means_full() {
        let s = RunSettings::default();
        let now = Utc::now();
        assert_eq!(
            decide(&state(None, None), &s, now, false),
            (Mode::Full, None)
        );
        // A zero or garbage cursor never becomes a filter (the API answers 400).
        assert_eq!(
            decide(
                &state(Some("0000-00-00 00:00:00"), Some(now)),
                &s,
                now,
                false
            )
            .0,
            Mode::Full
        );
    }

    #[test]
    fn daily_full_is_the_first_run_of_the_sao_paulo_day() {
        let s = RunSettings::default();
        // 02:59 UTC on the 29th is still the 28th in São Paulo.
        let last_full = Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap();
        let st = state(Some("2026-11-28 00:50:00"), Some(last_full));
        let same_day = Utc.with_ymd_and_hms(2026, 11, 29, 2, 59, 0).unwrap();
        let next_day = Utc.with_ymd_and_hms(2026, 11, 29, 3, 0, 0).unwrap();
        let (m, f) = decide(&st, &s, same_day, false);
        assert_eq!(m, Mode::Incremental);
        assert_eq!(f.map(|f| f.to_string()), Some("2026-11-28 00:50:00".into()));
        assert_eq!(decide(&st, &s, next_day, false).0, Mode::Full);
        assert_eq!(decide(&st, &s, same_day, true).0, Mode::Full);
    }

    #[test]
    fn cadence_variants() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        let st = state(
            Some("2026-11-29 08:00:00"),
            Some(now - chrono::Duration::hours(5)),
        );
        let mut s = RunSettings {
            full_every: FullEvery::Never,
            ..Default::default()
        };
        assert_eq!(decide(&st, &s, now, false).0, Mode::Incremental);
        s.full_every = FullEvery::Always;
        assert_eq!(decide(&st, &s, now, false).0, Mode::Full);
        s.full_every = FullEvery::Interval(Duration::from_secs(6 * 3600));
        assert_eq!(decide(&st, &s, now, false).0, Mode::Incremental);
        s.full_every = FullEvery::Interval(Duration::from_secs(4 * 3600));
        assert_eq!(decide(&st, &s, now, false).0, Mode::Full);
    }

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
