//! One invocation's work for one tenant: lock, resume or start a run, walk the objects page by
//! page, checkpoint, hand over at the deadline, release.

use super::config::RunSettings;
use super::lock::{self, LockError, LockGuard};
use super::record::{continuation_key, Continuation, ContinuationEvent, ContinuationTarget};
use super::report::{ObjectReport, ObjectStatus, Outcome, Progress, TenantReport};
use super::schedule::{self, Plan};
use crate::catalogue::{self, ObjectSpec};
use crate::cvdw::{CvdwClient, CvdwError};
use crate::landing::{state_key, Mode, ObjectState, RunId};
use crate::store::{ObjectStore, StoreError};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tracing::Instrument;

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

/// What [`Continuer::continue_run`] returns: boxed, so a continuer can be held as `dyn`.
pub type Continuing<'a> = Pin<Box<dyn Future<Output = Result<(), ContinueError>> + Send + 'a>>;

/// Re-invokes the extractor asynchronously to carry on a run (Lambda: an `Event` invoke of
/// this function; tests and the CLI: a local queue).
pub trait Continuer: Send + Sync {
    fn continue_run<'a>(&'a self, event: &'a ContinuationEvent) -> Continuing<'a>;
}

/// What triggered the invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// The schedule (or `cvdw extract`): resume a pending run, else start one.
    Scheduled { force_full: bool },
    /// A hand-over: resume the pending run; do nothing if it is already finished.
    Continuation { run_id: Option<RunId> },
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

pub(crate) enum Step {
    Done,
    Deadline,
    /// The run's budget is spent ([`schedule`]).
    Budget,
}

/// What one object's step did in this invocation.
pub(crate) struct Tally {
    pub(crate) pages: u64,
    pub(crate) rows: u64,
    pub(crate) retries: u64,
}

impl<S: ObjectStore> Extractor<'_, S> {
    /// Run one invocation for one tenant. See the [module docs](super) for the protocol.
    pub async fn run_tenant(
        &self,
        job: &TenantJob,
        trigger: Trigger,
    ) -> Result<TenantReport, ExtractError> {
        let started = Instant::now();
        let mut report = TenantReport::empty(&job.tenant);
        let Some(mut guard) = self.lock_or_skip(job, &mut report).await? else {
            report.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(report);
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
        if let Some(event) = result? {
            // Hand over only after the lock is released, so the continuation can take it.
            self.continuer.continue_run(&event).await?;
        }
        Ok(report)
    }

    /// The tenant's lock; `None` (the report says why) when another invocation holds it.
    async fn lock_or_skip(
        &self,
        job: &TenantJob,
        report: &mut TenantReport,
    ) -> Result<Option<LockGuard>, ExtractError> {
        let owner = format!("inv-{:016x}", crate::cvdw::client::random_u64());
        let acquired = lock::acquire(
            self.store,
            &job.tenant,
            &owner,
            None,
            self.settings.lock_ttl,
        )
        .await;
        match acquired {
            Ok(guard) => Ok(Some(guard)),
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
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Returns the continuation to schedule, if the deadline came.
    async fn run_locked(
        &self,
        job: &TenantJob,
        trigger: Trigger,
        guard: &mut LockGuard,
        report: &mut TenantReport,
    ) -> Result<Option<ContinuationEvent>, ExtractError> {
        let pending = self.pending_run(&job.tenant).await?;
        let resumed = pending.is_some();
        let Some(mut cont) = self.resume_or_start(job, pending, &trigger).await? else {
            report.outcome = Outcome::NothingToContinue;
            return Ok(None);
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
            guard.renew(self.store, Some(cont.run_id.as_str()), self.settings.lock_ttl).await?;
            self.checkpoint(&mut cont).await?;
            if let Some(handover) = self.walk_plan(job, &mut cont, guard, report).await? {
                return Ok(Some(handover));
            }
            // The run is complete (or its budget spent): the continuation goes last.
            let ckey = continuation_key(&job.tenant);
            self.store.delete(&ckey).await.map_err(|e| store_err(&ckey, e))?;
            tracing::info!(pages = report.pages, rows = report.rows, failed = cont.failed.len(), "run complete");
            report.outcome = Outcome::Completed;
            Ok(None)
        }
        .instrument(span)
        .await
    }

    /// The tenant's pending run, if a continuation record is in the bucket.
    async fn pending_run(&self, tenant: &str) -> Result<Option<Continuation>, ExtractError> {
        let ckey = continuation_key(tenant);
        match self.store.get(&ckey).await {
            Ok(o) => Ok(Some(serde_json::from_slice(&o.body).map_err(|e| {
                ExtractError::Invalid(format!(
                    "{ckey} is not a continuation record ({e}); inspect or delete it"
                ))
            })?)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(&ckey, e)),
        }
    }

    /// The run this invocation works on: the pending one, or (scheduled) a new one with its
    /// plan. `None`: a continuation arrived and nothing is pending.
    async fn resume_or_start(
        &self,
        job: &TenantJob,
        pending: Option<Continuation>,
        trigger: &Trigger,
    ) -> Result<Option<Continuation>, ExtractError> {
        match (pending, trigger) {
            (Some(mut cont), _) => {
                if let Trigger::Continuation {
                    run_id: Some(asked),
                } = trigger
                {
                    if *asked != cont.run_id {
                        tracing::warn!(tenant = %job.tenant, expected = %asked, pending = %cont.run_id,
                            "continuation event for another run; resuming the pending one");
                    }
                }
                cont.invocations += 1;
                Ok(Some(cont))
            }
            (None, Trigger::Continuation { .. }) => Ok(None),
            (None, Trigger::Scheduled { force_full }) => {
                let now = self.settings.clock.now();
                let plan = self.plan(job, now, *force_full).await?;
                Ok(Some(Continuation {
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
                }))
            }
        }
    }

    /// The run's objects in plan order, from where it stands, until the plan is done or the
    /// budget spent. `Some(event)`: the deadline came; hand over to a continuation.
    async fn walk_plan(
        &self,
        job: &TenantJob,
        cont: &mut Continuation,
        guard: &mut LockGuard,
        report: &mut TenantReport,
    ) -> Result<Option<ContinuationEvent>, ExtractError> {
        let pacer = job.client.pacer().clone();
        let (sent_before, used_before) = (pacer.stats().await.requests, cont.requests_used);
        while cont.object_index < cont.objects.len() {
            let name = cont.objects[cont.object_index].clone();
            let Some(spec) = catalogue::find(&name) else {
                return Err(ExtractError::Invalid(format!(
                    "continuation names unknown object {name}"
                )));
            };
            let planned = cont
                .plan
                .as_ref()
                .and_then(|p| p.steps.get(cont.object_index))
                .cloned();
            cont.requests_used = used_before + (pacer.stats().await.requests - sent_before);
            // What the budget leaves this step; `None`: not budgeted.
            let allowance = match (&cont.plan, &planned) {
                (Some(plan), Some(step)) if step.step.budgeted() => {
                    Some(plan.budget.saturating_sub(cont.requests_used))
                }
                _ => None,
            };
            let step = if allowance == Some(0) {
                Ok(Step::Budget)
            } else {
                self.extract_object(job, spec, planned.as_ref(), allowance, cont, guard, report)
                    .instrument(tracing::info_span!("object", object = spec.name))
                    .await
            };
            // Counted before anything is recorded: an object's step that goes on in the next
            // invocation must find what this one spent, or each invocation of a long pass
            // would start from the same allowance and the run overspend its budget.
            cont.requests_used = used_before + (pacer.stats().await.requests - sent_before);
            match step {
                Ok(Step::Done) => {}
                Ok(Step::Budget) => {
                    self.pause(job, spec, cont).await?;
                    report.deferred = cont.objects[cont.object_index..].to_vec();
                    tracing::info!(
                        used = cont.requests_used,
                        deferred = report.deferred.len(),
                        "budget spent; the rest of the plan waits for the next run"
                    );
                    break;
                }
                Ok(Step::Deadline) => {
                    self.checkpoint(cont).await?;
                    tracing::info!(
                        object = spec.name,
                        "deadline near; handing over to a continuation"
                    );
                    report.outcome = Outcome::Continued;
                    return Ok(Some(ContinuationEvent {
                        cvdw_continuation: ContinuationTarget {
                            tenant: job.tenant.clone(),
                            run_id: cont.run_id.clone(),
                        },
                    }));
                }
                Err(ExtractError::Cvdw { source, object, .. }) if !source.is_retryable() => {
                    self.skip_refused(spec, object, &source, cont, report)
                        .await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// A permanent refusal (e.g. no permission on one object) must not stop the others: the
    /// object is skipped, its state left alone, and the refusal reported.
    async fn skip_refused(
        &self,
        spec: &ObjectSpec,
        object: String,
        source: &CvdwError,
        cont: &mut Continuation,
        report: &mut TenantReport,
    ) -> Result<(), ExtractError> {
        tracing::error!(object = %object, error = %source, "object refused permanently; skipping it");
        report.objects.push(ObjectReport {
            object: spec.name.to_string(),
            mode: cont.current.as_ref().map_or(Mode::Full, |p| p.mode),
            pages: 0,
            rows: 0,
            cursor_before: cont.current.as_ref().and_then(|p| p.filter.clone()),
            cursor_after: None,
            status: ObjectStatus::Failed(source.to_string()),
        });
        cont.failed.push(object);
        self.checkpoint_next_object(cont).await
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
        let budget = self.settings.budget.as_ref().map(|b| {
            b.requests(
                now,
                pacer.requests,
                self.settings.clock.stretch(pacer.window),
            )
        });
        Ok(schedule::plan(
            &job.objects,
            &states,
            now,
            self.settings.cadence(),
            budget,
            job.client.config().page_size,
        ))
    }

    pub(crate) async fn read_state(&self, key: &str) -> Result<ObjectState, ExtractError> {
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

    /// The current object is done with (finished, or failed for good): the run moves on to
    /// the next one, durably, so a continuation never redoes it.
    pub(crate) async fn checkpoint_next_object(
        &self,
        cont: &mut Continuation,
    ) -> Result<(), ExtractError> {
        cont.object_index += 1;
        cont.current = None;
        self.checkpoint(cont).await
    }

    pub(crate) async fn checkpoint(&self, cont: &mut Continuation) -> Result<(), ExtractError> {
        cont.updated_at = self.settings.clock.now();
        self.put_json(&continuation_key(&cont.tenant), &*cont).await
    }

    pub(crate) async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), ExtractError> {
        let body = serde_json::to_vec_pretty(value)
            .map_err(|e| ExtractError::Invalid(format!("serialising {key}: {e}")))?;
        self.put_retrying(key, Bytes::from(body), &HashMap::new())
            .await
    }

    /// A write, retried a few times on transient store errors (short backoff).
    pub(crate) async fn put_retrying(
        &self,
        key: &str,
        body: Bytes,
        meta: &HashMap<String, String>,
    ) -> Result<(), ExtractError> {
        put_with_retry(self.store, key, body, meta, self.settings.store_attempts).await
    }

    /// Start writing the checkpoint in the background (the next page's write overlaps it).
    /// The caller awaits the previous one first, so checkpoints land in order.
    pub(crate) fn checkpoint_in_background(
        &self,
        cont: &mut Continuation,
    ) -> Result<tokio::task::JoinHandle<Result<(), ExtractError>>, ExtractError> {
        cont.updated_at = self.settings.clock.now();
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

pub(crate) async fn join_checkpoint(
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

pub(crate) fn store_err(what: &str, source: StoreError) -> ExtractError {
    ExtractError::Store {
        what: what.to_string(),
        source,
    }
}
