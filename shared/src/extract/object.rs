//! One object's step of a run: where it starts (a resumed pass, the plan's mode), its pages
//! fetched and stored in order, and its manifest and state written at the end; or its pass
//! paused when the budget runs out.
//!
//! Fetching and storing overlap: a fetcher walks the pages while a writer stores them in order
//! and checkpoints. At most [`WRITE_AHEAD`] fetched pages wait in memory (still page by page,
//! bounded), and the request pipe is not idle while S3 writes happen. The checkpoint always
//! names the first page *not yet stored*, so stopping anywhere loses nothing.

use super::config::RunSettings;
use super::lock::LockGuard;
use super::record::{Continuation, ObjectProgress, CHECKPOINT_EVERY};
use super::report::{ObjectReport, ObjectStatus, TenantReport};
use super::run::{join_checkpoint, ExtractError, Extractor, Step, Tally, TenantJob};
use super::schedule::{decide, Planned};
use crate::catalogue::ObjectSpec;
use crate::cvdw::{CvdwError, FetchedPage, PageRequest};
use crate::landing::{
    encode_page, manifest_key, state_key, Manifest, ManifestPage, Mode, ObjectState, PageKey,
    PageMeta, PausedPass, RunId, ENCODING_KEY, GZIP,
};
use crate::store::ObjectStore;
use chrono::NaiveDateTime;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::Instrument;

/// A run never reads more pages than this for one object (a guard against a server that
/// never returns a last page; 50 M rows at 500 per page).
pub const MAX_PAGES_PER_OBJECT: u32 = 100_000;

/// Fetched pages that may wait for the writer (bounded memory: a few pages).
const WRITE_AHEAD: usize = 8;

impl<S: ObjectStore> Extractor<'_, S> {
    /// One object's step of the run. `planned` is its step in the plan (`None` for a run
    /// without one); `allowance` the requests the budget leaves it (`None`: unbounded).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn extract_object(
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
            let mut progress = start_object(spec, planned, &state, self.settings, cont.force_full);
            // An object with an incremental step earlier in this run gets its full pass under a
            // run id of its own: under the run's, the pass's pages and manifest would take the
            // incremental step's keys (same run, object and page numbers) and replace them in
            // the landing zone, and the loader would take the pass for a page it already had.
            let incremental_too = cont.plan.as_ref().is_some_and(|plan| {
                plan.steps
                    .iter()
                    .any(|step| step.object == spec.name && !step.step.is_full())
            });
            if progress.mode == Mode::Full && progress.pass_run_id.is_none() && incremental_too {
                progress.pass_run_id = Some(RunId::starting(
                    self.settings.clock.now(),
                    crate::cvdw::client::random_u64() as u32,
                ));
            }
            cont.current = Some(progress);
        }
        let Some(progress) = cont.current.as_ref() else {
            return Err(ExtractError::Invalid(format!(
                "{}: no progress to resume",
                spec.name
            )));
        };
        let (mode, filter_str, pages_done) =
            (progress.mode, progress.filter.clone(), progress.pages_done);
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
        if !pages_done {
            let filter = filter_str
                .as_deref()
                .and_then(crate::values::parse_filter_datetime);
            let (tx, rx) = mpsc::channel::<(u32, FetchedPage)>(WRITE_AHEAD);
            let first_page = cont.current.as_ref().map_or(1, |p| p.next_page);
            let fetcher = self.fetch_pages(job, spec, filter, first_page, allowance, tx);
            let writer = self.write_pages(job, spec, mode, rx, cont, guard, &mut tally);
            let (fetched, written) = tokio::join!(fetcher, writer);
            report.pages += tally.pages;
            report.rows += tally.rows;
            report.retries += tally.retries;
            // A store failure wins: it is why the fetcher stopped.
            written?;
            match fetched? {
                // The caller checkpoints, with the requests this invocation spent.
                Step::Deadline => return Ok(Step::Deadline),
                Step::Budget if !cont.current.as_ref().is_some_and(|p| p.pages_done) => {
                    return Ok(Step::Budget);
                }
                _ => {}
            }
        }
        self.finish_object(job, spec, &state, &tally, cont, report)
            .await?;
        Ok(Step::Done)
    }

    /// Walks the pages from `first_page` and queues them for the writer, until the last page,
    /// the deadline's margin or the budget.
    async fn fetch_pages(
        &self,
        job: &TenantJob,
        spec: &'static ObjectSpec,
        filter: Option<NaiveDateTime>,
        first_page: u32,
        allowance: Option<u64>,
        tx: mpsc::Sender<(u32, FetchedPage)>,
    ) -> Result<Step, ExtractError> {
        let pacer = job.client.pacer().clone();
        let sent_at_start = pacer.stats().await.requests;
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
            let until = left
                .map(|left| Instant::now() + left.saturating_sub(self.settings.deadline_margin));
            let Some(fetched) = fetch_page_checked(job, spec, page_no, filter, announced, until)
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
    }

    /// Stores the queued pages in order, moving the object's progress on, and checkpoints.
    #[allow(clippy::too_many_arguments)]
    async fn write_pages(
        &self,
        job: &TenantJob,
        spec: &'static ObjectSpec,
        mode: Mode,
        mut rx: mpsc::Receiver<(u32, FetchedPage)>,
        cont: &mut Continuation,
        guard: &mut LockGuard,
        tally: &mut Tally,
    ) -> Result<(), ExtractError> {
        let mut inflight = None;
        let mut checkpointed = Instant::now();
        let result = async {
            while let Some((page_no, fetched)) = rx.recv().await {
                tally.retries += u64::from(fetched.retries);
                let run_id = current(cont)?
                    .pass_run_id
                    .clone()
                    .unwrap_or_else(|| cont.run_id.clone());
                let entry = self
                    .store_page(job, spec, &run_id, mode, page_no, &fetched)
                    .instrument(tracing::info_span!("page", page = page_no))
                    .await?;
                let progress = current(cont)?;
                if let Some(e) = &entry {
                    tally.pages += 1;
                    tally.rows += u64::from(e.rows);
                    self.progress
                        .page_stored(&job.tenant, spec.name, page_no, e.rows);
                }
                record_page(progress, page_no, &fetched, entry);
                // Checkpoint on the last page, and when the writer has caught up and the last
                // checkpoint is CHECKPOINT_EVERY old: pages stored in between are re-fetched
                // under the same keys after a crash (at most that much work), and a paced run
                // does not write a checkpoint per page (an S3 PUT each: half the raw zone's
                // requests, docs/cost.md). The deadline and the budget checkpoint on their own.
                // The checkpoint write overlaps the next page's write; checkpoints stay ordered.
                if fetched.is_last || (rx.is_empty() && checkpointed.elapsed() >= CHECKPOINT_EVERY)
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
        // Stop the fetcher: a writer that failed must not leave it fetching ahead and then
        // waiting forever on a full queue (the receiver outlives this future).
        rx.close();
        // Whatever happened, the last checkpoint started must land (or fail) first.
        let last = join_checkpoint(inflight.take()).await;
        result.and(last)
    }

    /// Every page is stored: the manifest, then the state, then the checkpoint moves on.
    async fn finish_object(
        &self,
        job: &TenantJob,
        spec: &'static ObjectSpec,
        state: &ObjectState,
        tally: &Tally,
        cont: &mut Continuation,
        report: &mut TenantReport,
    ) -> Result<(), ExtractError> {
        let p = current(cont)?.clone();
        let mode = p.mode;
        let skey = state_key(&job.tenant, spec.name);
        let (new_max, cursor_after) = cursor_after(state, &p, self.settings.overlap);
        let now = self.settings.clock.now();
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
        self.checkpoint_next_object(cont).await
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
    pub(crate) async fn pause(
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
        state.updated_at = Some(self.settings.clock.now());
        tracing::info!(
            object = spec.name,
            next_page = p.next_page,
            "pass paused for the next run"
        );
        self.put_json(&skey, &state).await
    }
}

/// The highest `referencia_data` ever seen, with this step's pages, and the cursor it gives:
/// that less the overlap (null and zero dates never move it: the cursor stays).
fn cursor_after(
    state: &ObjectState,
    progress: &ObjectProgress,
    overlap: std::time::Duration,
) -> (Option<NaiveDateTime>, Option<String>) {
    let parse = |at: &Option<String>| at.as_deref().and_then(crate::values::parse_datetime);
    let new_max = parse(&state.max_referencia_data).max(parse(&progress.max_referencia_data));
    let overlap = chrono::Duration::from_std(overlap).unwrap_or_default();
    let cursor = match new_max {
        Some(max) => Some(crate::values::format_datetime(&(max - overlap))),
        None => state.cursor.clone(),
    };
    (new_max, cursor)
}

/// The object in progress (set when its step starts).
fn current(cont: &mut Continuation) -> Result<&mut ObjectProgress, ExtractError> {
    let run_id = cont.run_id.clone();
    cont.current
        .as_mut()
        .ok_or_else(|| ExtractError::Invalid(format!("run {run_id}: no object in progress")))
}

/// A stored page moves the object's progress on: its manifest entry (none for a 204), its
/// highest `referencia_data`, the next page to fetch.
fn record_page(
    progress: &mut ObjectProgress,
    page_no: u32,
    fetched: &FetchedPage,
    entry: Option<ManifestPage>,
) {
    if let Some(e) = entry {
        progress.rows += u64::from(e.rows);
        progress.pages.push(e);
    }
    if fetched.summary.future_referencia_data > 0 {
        tracing::warn!(
            page = page_no,
            rows = fetched.summary.future_referencia_data,
            "referencia_data in the future: stored, but not used as the cursor"
        );
    }
    if let Some(m) = fetched.summary.max_referencia_data {
        let prev = progress
            .max_referencia_data
            .as_deref()
            .and_then(crate::values::parse_datetime);
        if prev.is_none_or(|prev| m > prev) {
            progress.max_referencia_data = Some(crate::values::format_datetime(&m));
        }
    }
    progress.next_page = page_no + 1;
    if fetched.is_last {
        progress.pages_done = true;
    }
    tracing::debug!(
        page = page_no,
        rows = fetched.summary.rows,
        last = fetched.is_last,
        "page stored"
    );
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
    let now = settings.clock.now();
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
