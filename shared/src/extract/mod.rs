//! # Extraction: CVDW → the S3 landing zone
//!
//! One invocation (the scheduled Lambda, a continuation, or `cvdw extract`) does, per tenant
//! and concurrently across tenants:
//!
//! 1. **Lock** `state/{tenant}/_lock.json` ([`lock`]): create-only, or compare-and-swap over
//!    an expired/released lock. Held by someone else → the invocation does nothing for that
//!    tenant (an overlapping schedule never doubles the request rate). The previous holder's
//!    recent request times seed the pacer.
//! 2. **Resume or start.** A pending `state/{tenant}/_continuation.json` is resumed (same run
//!    id, same object list, same filter, next page); otherwise a new run starts with a fresh
//!    [`RunId`](crate::landing::RunId). A continuation event for a finished run is a no-op.
//! 3. **Per object, in the order of the run's plan** ([`schedule`]): the sales set
//!    incrementally first, then backfills, the other objects, and the full passes that are
//!    due (the sales set daily, `EXTRACT_FULL_EVERY`; the rest every six days,
//!    `EXTRACT_OTHER_FULL_EVERY`), within the budget of the slot to the next scheduled run; a
//!    pass that meets the end of the budget pauses in the object's state and the next run
//!    resumes it. *Full* means no filter; *incremental* sends
//!    `a_partir_data_referencia = cursor`.
//!    Then page by page: fetch (paced, retried — see [`crate::cvdw`]), store the exact bytes at
//!    `raw/{tenant}/{object}/{yyyy}/{mm}/{dd}/{run_id}/{page:05}.json` with [`PageMeta`](crate::landing::PageMeta)
//!    as user metadata, then checkpoint the continuation. Fetching and storing overlap: a
//!    fetcher hands pages to an in-order writer through a small bounded queue (8 pages), so
//!    memory stays bounded (page by page, never the whole object) and the request pipe does not
//!    idle during S3 writes; the checkpoint always names the first page not yet stored, written
//!    whenever the writer has caught up. When every page is stored: the
//!    manifest, then the state (cursor = max valid `referencia_data` ever seen − overlap; null
//!    and zero dates never move it), then the checkpoint moves to the next object.
//! 4. **Deadline.** Before every page, if less than `EXTRACT_DEADLINE_MARGIN` is left, the
//!    invocation stops, releases the lock and asks its [`Continuer`] to re-invoke the
//!    extractor asynchronously (Lambda: `Invoke` with `InvocationType=Event` on itself). A
//!    page's own attempts, backoffs and throttle pauses stop at the margin too (each attempt's
//!    timeout is cut to the time left): a slow CVDW near the deadline ends in a hand-over, never
//!    in an invocation killed with no continuation.
//! 5. **Finish.** The continuation is deleted, the lock released, one EMF line per tenant (and
//!    per object) is printed ([`metrics`]).
//!
//! ## Why nothing is lost or duplicated
//! - Write order: page → checkpoint → … → manifest → state → checkpoint. State and manifests
//!   only ever point at stored pages; a crash between a page and its checkpoint re-fetches that
//!   page under the *same key* (same run id and page number), so a page is never stored twice
//!   under two names and never skipped.
//! - The filter of a run is frozen in the checkpoint, so page numbers mean the same thing in
//!   every invocation of the run.
//! - The cursor moves only after every page of the object is stored, and only forward.
//! - CVDW pages by offset, ordered by `referencia_data`: a row modified *during* a crawl moves
//!   to the end and can shift an unread row onto an already-read page. The overlap does not
//!   cover that; the daily full run does (and lets the loader reconcile deletions).
//! - A permanent refusal of one object (400/401/405) skips that object (its state untouched,
//!   reported as failed) and the run goes on; a retryable failure stops the invocation with
//!   the checkpoint in place, and the next run resumes it.
//!
//! ## Configuration (environment; read once by [`ExtractConfig::from_env`])
//! | variable | default | meaning |
//! |---|---|---|
//! | `RAW_BUCKET` | required | the landing-zone bucket |
//! | `CVDW_TENANTS` | — | JSON array `[{"tenant","subdomain","email","token","objects"?,"base_url"?}]`; `objects` is a CSV string or a list (default all 70) |
//! | `CVDW_TENANT`, `CVDW_SUBDOMAIN`, `CVDW_EMAIL`, `CVDW_TOKEN`, `CVDW_OBJECTS` | — | the single-tenant alternative (`CVDW_TENANT` defaults to the subdomain) |
//! | `CVDW_BASE_URL` | `https://{subdomain}.cvcrm.com.br/api/v1/cvdw` | override for every tenant (the simulator) |
//! | `CVDW_RATE_LIMIT` | `20/60s` | requests per rolling window, per credential |
//! | `CVDW_THROTTLE_PAUSE` | the window | first pause after a 429 (doubles on repeats, capped at 8× the window) |
//! | `CVDW_MAX_ATTEMPTS` | `6` | attempts per page on transient failures |
//! | `CVDW_MAX_THROTTLES` | `8` | throttle pauses per page before giving up |
//! | `CVDW_BACKOFF_BASE`, `CVDW_BACKOFF_MAX` | `2s`, `60s` | exponential backoff with jitter |
//! | `CVDW_TIMEOUT` | `60s` | whole-request timeout |
//! | `CVDW_PAGE_SIZE` | `500` | `registros_por_pagina` (1–500) |
//! | `CVDW_OVERLAP_MINUTES` | `10` | subtracted from the max `referencia_data` for the next cursor |
//! | `EXTRACT_FULL_EVERY` | `daily` | `daily` (first run of the São Paulo day), `always`, `never`, or a duration (`6h`) |
//! | `EXTRACT_OTHER_FULL_EVERY` | `6d` (as `EXTRACT_FULL_EVERY` when that is `always`/`never`) | full passes of the objects outside the sales set |
//! | `EXTRACT_BUDGET` | `slot` | `slot` (the requests until the next scheduled run), `off`, or a number of requests per run |
//! | `EXTRACT_RUN_HOURS` | `6,10,14,18,22` | São Paulo hours of the scheduled runs (the slots) |
//! | `EXTRACT_SCHEDULE` | — | the schedule's `cron(...)` expression: its hours are the slots when `EXTRACT_RUN_HOURS` is unset |
//! | `EXTRACT_BUDGET_MARGIN` | `5m` | kept out of each slot's budget |
//! | `EXTRACT_DEADLINE_MARGIN` | `90s` | hand over when less than this is left |
//! | `EXTRACT_LOCK_TTL` | `20m` | lock lifetime (renewed while working) |
//! | `EXTRACT_CONTINUE_FUNCTION` | `AWS_LAMBDA_FUNCTION_NAME` | the function a continuation invokes |
//!
//! Durations accept `500ms`, `90s`, `10m`, `6h`, `1d`. Standard AWS variables (`AWS_REGION`,
//! credentials, `AWS_ENDPOINT_URL_S3`) configure S3. Tokens are never logged.

pub mod clock;
pub mod config;
pub mod event;
pub mod lock;
pub mod metrics;
mod object;
pub mod record;
pub mod report;
pub mod run;
pub mod schedule;

pub use clock::{Clock, WarpClock};
pub use config::{ConfigError, ExtractConfig, FullEvery, RunSettings, TenantConfig};
pub use event::{EventError, ExtractEvent};
pub use lock::{lock_key, LockError, LockGuard, LockRecord};
pub use metrics::emf_lines;
pub use object::{EARLY_EMPTY_RETRIES, MAX_PAGES_PER_OBJECT};
pub use record::{
    continuation_key, Continuation, ContinuationEvent, ContinuationTarget, ObjectProgress,
    CHECKPOINT_EVERY,
};
pub use report::{ObjectReport, ObjectStatus, Outcome, Progress, Quiet, TenantReport};
pub use run::{
    ContinueError, Continuer, Continuing, Deadline, DeadlineAt, ExtractError, Extractor,
    NoDeadline, TenantJob, Trigger,
};
pub use schedule::decide;

use crate::cvdw::{CvdwClient, CvdwError, Pacer, WaitHook};
use crate::store::ObjectStore;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub use crate::landing::sha256_hex;

/// Build one job per tenant. Tenants that share a credential (same base URL and e-mail)
/// share one pacer: the limit is per credential, not per tenant.
pub fn jobs_from_config(
    cfg: &ExtractConfig,
    wait_hook: Option<WaitHook>,
) -> Result<Vec<TenantJob>, CvdwError> {
    let mut pacers: HashMap<(String, String), Arc<Pacer>> = HashMap::new();
    cfg.tenants
        .iter()
        .map(|t| {
            let pacer = pacers
                .entry((t.base_url.clone(), t.email.to_ascii_lowercase()))
                .or_insert_with(|| Arc::new(Pacer::new(cfg.pacer.clone())))
                .clone();
            let mut client = CvdwClient::new(cfg.client_config(t), pacer)?;
            if let Some(h) = &wait_hook {
                client = client.with_wait_hook(h.clone());
            }
            Ok(TenantJob {
                tenant: t.tenant.clone(),
                objects: t.objects.clone(),
                client,
            })
        })
        .collect()
}

impl<S: ObjectStore> Extractor<'_, S> {
    /// One invocation across tenants: every tenant concurrently (each with its own pacer) for
    /// a scheduled trigger; only the named tenant for a continuation.
    pub async fn run_invocation(
        &self,
        jobs: &[TenantJob],
        event: Option<&ContinuationEvent>,
        force_full: bool,
    ) -> Vec<(String, Result<TenantReport, ExtractError>)> {
        let selected: Vec<(&TenantJob, Trigger)> = match event {
            Some(ev) => jobs
                .iter()
                .filter(|j| j.tenant == ev.cvdw_continuation.tenant)
                .map(|j| {
                    (
                        j,
                        Trigger::Continuation {
                            run_id: Some(ev.cvdw_continuation.run_id.clone()),
                        },
                    )
                })
                .collect(),
            None => jobs
                .iter()
                .map(|j| (j, Trigger::Scheduled { force_full }))
                .collect(),
        };
        if let (Some(ev), true) = (event, selected.is_empty()) {
            let t = ev.cvdw_continuation.tenant.clone();
            return vec![(
                t.clone(),
                Err(ExtractError::Invalid(format!(
                    "continuation for tenant `{t}`, which is not configured"
                ))),
            )];
        }
        futures::future::join_all(selected.into_iter().map(|(job, trigger)| async move {
            (job.tenant.clone(), self.run_tenant(job, trigger).await)
        }))
        .await
    }
}

/// A [`Continuer`] that queues continuation events for the caller to run locally (the CLI,
/// tests). [`drive`] runs a whole invocation chain with it.
#[derive(Default)]
pub struct LocalContinuer {
    queue: Mutex<VecDeque<ContinuationEvent>>,
}

impl LocalContinuer {
    pub fn pop(&self) -> Option<ContinuationEvent> {
        self.queue.lock().ok()?.pop_front()
    }
    pub fn len(&self) -> usize {
        self.queue.lock().map(|q| q.len()).unwrap_or_default()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Continuer for LocalContinuer {
    fn continue_run<'a>(&'a self, event: &'a ContinuationEvent) -> Continuing<'a> {
        Box::pin(async move {
            if let Ok(mut q) = self.queue.lock() {
                q.push_back(event.clone());
            }
            Ok(())
        })
    }
}

/// Run a scheduled invocation and then every continuation it hands over, locally, until the
/// chain ends. `make_deadline` gives each invocation its deadline (tests use a page budget).
/// Returns every invocation's reports, in order. Bounded by `max_invocations`.
pub async fn drive<S: ObjectStore>(
    store: &S,
    settings: &RunSettings,
    jobs: &[TenantJob],
    progress: &dyn Progress,
    make_deadline: &(dyn Fn() -> Box<dyn Deadline> + Send + Sync),
    force_full: bool,
    max_invocations: usize,
) -> Vec<Vec<(String, Result<TenantReport, ExtractError>)>> {
    let continuer = LocalContinuer::default();
    let mut all = Vec::new();
    let mut next: Option<Option<ContinuationEvent>> = Some(None);
    while let Some(event) = next.take() {
        if all.len() >= max_invocations {
            break;
        }
        let deadline = make_deadline();
        let ex = Extractor {
            store,
            settings,
            deadline: deadline.as_ref(),
            continuer: &continuer,
            progress,
        };
        all.push(ex.run_invocation(jobs, event.as_ref(), force_full).await);
        next = continuer.pop().map(Some);
    }
    all
}

/// The Lambda [`Continuer`]: invokes a function (normally this one) asynchronously.
pub struct LambdaContinuer {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaContinuer {
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        Self {
            client,
            function: function.into(),
        }
    }

    /// From the standard AWS environment; the function is `EXTRACT_CONTINUE_FUNCTION`, else
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda itself).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let function = ["EXTRACT_CONTINUE_FUNCTION", "AWS_LAMBDA_FUNCTION_NAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            .ok_or_else(|| ConfigError {
                var: "EXTRACT_CONTINUE_FUNCTION".into(),
                problem: "is required outside Lambda (AWS_LAMBDA_FUNCTION_NAME is not set)".into(),
            })?;
        crate::store::install_crypto_provider();
        use aws_smithy_http_client::tls;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .load()
            .await;
        Ok(Self::new(aws_sdk_lambda::Client::new(&shared), function))
    }
}

impl Continuer for LambdaContinuer {
    fn continue_run<'a>(&'a self, event: &'a ContinuationEvent) -> Continuing<'a> {
        Box::pin(async move {
            let fail = |message: String| ContinueError {
                tenant: event.cvdw_continuation.tenant.clone(),
                run_id: event.cvdw_continuation.run_id.to_string(),
                message,
            };
            let payload = serde_json::to_vec(event).map_err(|e| fail(e.to_string()))?;
            self.client
                .invoke()
                .function_name(&self.function)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_smithy_types::Blob::new(payload))
                .send()
                .await
                .map_err(|e| fail(aws_sdk_lambda::error::DisplayErrorContext(&e).to_string()))?;
            tracing::info!(function = %self.function, tenant = %event.cvdw_continuation.tenant,
                run_id = %event.cvdw_continuation.run_id, "continuation invoked");
            Ok(())
        })
    }
}
