//! # The loader: raw CVDW pages → PostgreSQL, idempotent and order-proof
//!
//! Input is one page: its S3 key, its bytes and its [`PageMeta`] — from S3 (the load
//! Lambda, one page per call: [`load_page`]), or from disk (`cvdw load`) and the archive
//! (`cvdw replay`), which have a queue of pages and feed it to [`queue::load_queue`]: the same
//! transactions, pipelined on one connection, each page parsed ahead ([`prepare`]).
//! Manifests go through [`load_manifest`].
//!
//! ## Guarantees
//! - **Lossless, lenient.** Every row gets a key ([`crate::identity`]: its ids, or one derived
//!   from its content). Rows are coerced with `shared::values` into the typed columns of
//!   [`tables`]; a row that cannot be coerced or stored goes to `etl.rejected_rows` (page key,
//!   index, key, reason, raw JSON) and the rest of the page loads. A page that is not a CVDW envelope is recorded in `etl.failed_pages` and the
//!   call fails (so Lambda retries, then the DLQ keeps the event).
//! - **Idempotent.** `etl.pages` (the ledger: key, sha256, etag, counts, times) is written in
//!   the page's transaction; a re-delivery with the same sha256 is a no-op. `force` reloads.
//! - **Order-proof.** Deliveries are at-least-once and unordered, so the `cvdw` tables are a
//!   pure function of the *set* of pages and manifests delivered, whatever the order:
//!   * data columns and `payload` come from the newest observation by
//!     `(fetched_at, run_id, page)` — never `referencia_data`, which can be null or zero;
//!     within a page the last duplicate wins;
//!   * `first_seen_run`/`last_seen_run` are least/greatest over observations;
//!   * deletions: once every page of a FULL run `F` is loaded and its manifest has arrived,
//!     `F` is *applied*. A row is deleted iff some applied full run is newer than its
//!     `last_seen_run`; `deleted_by_run` is the first such run and `deleted_at` its start.
//!     A page of run `R` therefore sets, on the rows whose `last_seen_run` becomes `R`, the
//!     deletion `D(R)` = first applied full run after `R` (usually none: a later sighting
//!     clears `deleted_at`), and applying `F` marks rows with `last_seen_run < F` unless an
//!     earlier full run already did. Both steps keep the invariant, so any order converges;
//!   * a manifest whose pages are not all in the ledger stays pending in `etl.manifests`;
//!     the page that completes it applies it, in the same transaction.
//!   * wall-clock times (load time, receipt) live only in `etl`.
//!   * A row *rejected* in a page still counts as seen: its stored twin gets the page's
//!     sighting (`Bookkeeping`), so a bad value cannot make a live row vanish.
//!   * A full run deletes only on complete evidence ([`evidence`]); otherwise its manifest is
//!     applied as `deletion_skipped` and counts for nothing in `D(R)`.
//! - **Fast.** One transaction per page; one `INSERT … SELECT … FROM unnest($rows) ON CONFLICT
//!   DO UPDATE … WHERE` per table, the page's rows going as one array of the table's own row
//!   type in binary ([`wire`]; no row-by-row round trips). Statements go out unnamed with
//!   their parameter types and planned generic (`SET LOCAL plan_cache_mode`, see `begin`);
//!   nothing is session-scoped, so it is fine behind Neon's transaction pooler (see [`sql`]
//!   for the statement choices and `docs/load-benchmark.md` for the figures). The upserted
//!   tables leave half of each page free (migration 0006), so a re-sighting updates its row
//!   in place (HOT) instead of adding an entry to every index.
//! - **One round trip for the usual page.** A page that is new, the newest observation of
//!   each of its keys, completes no pending manifest, and whose row layout the process has
//!   cached, needs no decision from the client once it starts: BEGIN, locks, guard, upsert,
//!   children, bookkeeping and COMMIT go out together (`load_in_one_round_trip`,
//!   [`pipeline`]) and the server checks what the client used to check between statements
//!   (`etl.page_guard`, `etl.expect_newest`: migration 0005). Anything else aborts that
//!   transaction with its own SQLSTATE and the page is loaded *step by step*: the same
//!   statements, with the client reading between them (late pages, the page that completes a
//!   manifest). Both paths write the same rows; tests check which one each case takes.
//! - **Concurrent, without deadlocks.** The load Lambda runs several pages at once, often of
//!   the same object (a run's pages land together). Each page transaction takes two
//!   transaction-level advisory locks, always in this order: its page key exclusively (two
//!   deliveries of one page queue, and the second finds the first in the ledger), then
//!   `(tenant, object)` *shared*, so pages of one object upsert in parallel. Their row locks
//!   cannot form a cycle: keys are sorted before each statement, and `ON CONFLICT DO UPDATE`
//!   locks every key of the page (written or not) in that order before anything else touches
//!   them. Applying a manifest takes `(tenant, object)` exclusively, so it never interleaves
//!   with a page: a page's `D(R)` read and a manifest's deletion pass each see the other
//!   committed or not started. A page that finds, under the shared lock, a pending manifest it
//!   completes rolls back and loads again under the exclusive lock (rare: the last page of a
//!   full run when its manifest came first), so "the page that completes a manifest applies
//!   it, in the same transaction" still holds.

pub mod event;
pub mod evidence;
pub mod guard;
pub mod pipeline;
pub mod prepare;
pub mod queue;
pub mod replay;
pub mod rows;
pub mod sql;
pub mod tables;
pub mod wire;

use crate::catalogue::{self, ObjectSpec};
use crate::db::is_retryable_pg;
use crate::landing::{parse_manifest_key, Manifest, PageKey, PageMeta};
use chrono::{DateTime, Utc};
use rows::{Batch, ChildBatch};
use std::time::{Duration, Instant};
use tables::TypedTable;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, GenericClient, Transaction};

/// A parameter with its wire type: every statement of the page transaction is sent unnamed,
/// typed, in one round trip (see [`sql`]).
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("database: {}", crate::db::pg_error_text(.0))]
    Db(#[from] tokio_postgres::Error),
    /// The page cannot be loaded as it is (recorded in `etl.failed_pages`).
    #[error("page {key}: {reason}")]
    BadPage { key: String, reason: String },
    /// The manifest cannot be read (recorded in `etl.failed_pages`).
    #[error("manifest {key}: {reason}")]
    BadManifest { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The database's table differs from what the loader writes (a migration is missing).
    #[error(transparent)]
    Layout(#[from] wire::LayoutMismatch),
    /// The page was committed without waiting for the disk, and the commit that would have
    /// made it durable failed ([`queue`]): it may be lost; load it again (a no-op if it was
    /// not).
    #[error("page {key}: not known to be durable: {reason}")]
    Unconfirmed { key: String, reason: String },
}

impl LoadError {
    /// Database hiccups pass; a bad page or manifest stays bad until someone fixes it.
    pub fn is_retryable(&self) -> bool {
        match self {
            LoadError::Db(e) => is_retryable_pg(e),
            LoadError::BadPage { .. } | LoadError::BadManifest { .. } | LoadError::Layout(_) => {
                false
            }
            LoadError::Store(e) => e.is_retryable(),
            LoadError::Unconfirmed { .. } => true,
        }
    }
}

/// Options of a load.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Reload a page even when the ledger already has it with the same sha256.
    pub force: bool,
}

/// What loading a page did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    Loaded(PageReport),
    /// Already in the ledger with the same sha256: nothing done.
    Duplicate {
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageReport {
    pub key: String,
    /// Rows in `dados`.
    pub rows: u32,
    /// Distinct natural keys upserted.
    pub loaded: u32,
    /// Of those, rows whose stored values now come from this page.
    pub newest: u32,
    pub duplicates: u32,
    pub rejected: u32,
    /// Pending manifests this page completed (and that were applied).
    pub manifests_applied: u32,
    /// Of those, full runs applied without deletions for want of evidence ([`evidence`]).
    pub deletions_skipped: u32,
    /// Loaded in one round trip (the usual case), not step by step.
    pub one_round_trip: bool,
    /// Where the time went.
    pub phases: PagePhases,
}

/// Wall time of a page load by phase (what `cvdw bench load` breaks its figure down into).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PagePhases {
    /// Client CPU: sha256, JSON parse, coercion, de-duplication.
    pub parse: Duration,
    /// What the ledger check added to the parse it overlaps; reading the row layout when it
    /// was not cached. Step by step: also BEGIN, the locks and the reads under them.
    pub begin: Duration,
    /// In one round trip: the whole transaction, BEGIN to COMMIT. Step by step: the bulk
    /// upsert (plus, for a late out-of-order page, the bookkeeping of newer rows).
    pub upsert: Duration,
    /// Step by step: children, quarantine, ledger and pending manifests (pipelined), and
    /// manifests applied.
    pub rest: Duration,
    /// Step by step: COMMIT (the WAL flush).
    pub commit: Duration,
}

/// What loading a manifest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestOutcome {
    Applied {
        deleted: u64,
    },
    /// Waiting for this many pages.
    Pending {
        missing: i64,
    },
    AlreadyApplied,
    /// A full run whose pages were not complete evidence ([`evidence`]): recorded, nothing
    /// deleted.
    DeletionSkipped {
        reason: String,
    },
}

pub use crate::landing::sha256_hex;

/// Take a transaction-level advisory lock named `$1`: exclusively, or shared.
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
const LOCK_SHARED: &str = "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))";

fn lock_name(tenant: &str, object: &str) -> String {
    format!("cvdw-load/{tenant}/{object}")
}

/// The canonical ledger key of a page: its landing-zone key, rebuilt from its metadata (so a
/// page loaded from disk and the same page from S3 are one ledger entry).
pub fn canonical_key(spec: &ObjectSpec, meta: &PageMeta) -> String {
    PageKey {
        tenant: meta.tenant.clone(),
        object: spec.name.to_string(),
        run_id: meta.run_id.clone(),
        page: meta.page,
    }
    .to_key()
}

pub(crate) async fn record_failure(
    client: &Client,
    key: &str,
    meta: Option<&PageMeta>,
    object: Option<&str>,
    sha: Option<&str>,
    reason: &str,
    body: &[u8],
) -> Result<(), tokio_postgres::Error> {
    let prefix = guard::storable_text(&String::from_utf8_lossy(&body[..body.len().min(200)]));
    let reason = &guard::storable_text(reason);
    client
        .execute(
            "INSERT INTO etl.failed_pages (source_key, tenant, object, run_id, sha256, reason, body_prefix) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &key,
                &meta.map(|m| m.tenant.as_str()),
                &object,
                &meta.map(|m| m.run_id.as_str()),
                &sha,
                &reason,
                &prefix,
            ],
        )
        .await?;
    Ok(())
}

/// Load one raw page. `key` is where it came from (the S3 key, or the canonical key for
/// pages read from disk); it must be the canonical key of its metadata.
///
/// The ledger check (a redelivery is a no-op) and the parse overlap: the query goes out
/// first, and the page is parsed while it travels. A loader with a queue of pages uses
/// [`queue::load_queue`] instead, which parses the next pages while this one loads.
#[tracing::instrument(name = "load_page", skip_all, fields(run_id = %meta.run_id, object = %meta.object_path, page = meta.page, tenant = %meta.tenant))]
pub async fn load_page(
    client: &mut Client,
    key: &str,
    body: &[u8],
    meta: &PageMeta,
    etag: Option<&str>,
    opts: LoadOptions,
) -> Result<PageOutcome, LoadError> {
    let started = Instant::now();
    let marked = guard::marked_utf8(body);
    let sha = sha256_hex(body);
    let t_join = Instant::now();
    let (already, mut prepared) = futures::join!(
        async {
            if opts.force {
                Ok(false)
            } else {
                ledger_has(&*client, key, &sha).await
            }
        },
        async { prepare::prepare_hashed(key, body, marked.as_deref(), meta, sha.clone()) }
    );
    // A page that cannot be loaded is recorded whatever the ledger says.
    if already? && prepared.ready.is_ok() {
        tracing::info!(key, "page already loaded; skipped");
        return Ok(PageOutcome::Duplicate {
            key: key.to_string(),
        });
    }
    // What the ledger check added on top of the parse it overlapped; the parse includes the
    // hashing before it.
    let check = t_join.elapsed().saturating_sub(prepared.parse);
    prepared.parse += t_join - started;
    let raw = RawPage {
        key,
        body,
        meta,
        etag,
    };
    load_ready(client, &raw, &prepared, check, started, opts).await
}

/// A raw page as a loader was handed it.
struct RawPage<'a> {
    key: &'a str,
    body: &'a [u8],
    meta: &'a PageMeta,
    etag: Option<&'a str>,
}

/// Load a prepared page: record it as failed, or write it (in one round trip, else step by
/// step). `check` and `started` are for the page's phases and load time.
async fn load_ready(
    client: &mut Client,
    raw: &RawPage<'_>,
    prepared: &prepare::Prepared<'_>,
    check: Duration,
    started: Instant,
    opts: LoadOptions,
) -> Result<PageOutcome, LoadError> {
    let page = match PageToLoad::new(raw, prepared, started) {
        Ok(page) => page,
        Err(reason) => return Err(fail_page(client, raw, prepared, reason).await),
    };
    page.log_rejected();
    let start = wire::RowTypes::cached(page.stmts).map(Start::Cached);
    complete(client, &page, start, check, Instant::now(), opts).await
}

/// Record a page that cannot be loaded in `etl.failed_pages`; the error to return.
async fn fail_page(
    client: &Client,
    raw: &RawPage<'_>,
    prepared: &prepare::Prepared<'_>,
    reason: &str,
) -> LoadError {
    let (key, meta) = (raw.key, raw.meta);
    tracing::error!(key, reason, "page failed");
    let object = catalogue::find(&meta.object_path).map(|s| s.name);
    let sha = Some(prepared.sha.as_str());
    match record_failure(client, key, Some(meta), object, sha, reason, raw.body).await {
        Ok(()) => LoadError::BadPage {
            key: key.to_string(),
            reason: reason.to_string(),
        },
        Err(e) => e.into(),
    }
}

/// One try at loading a page in one round trip, and when it was sent.
pub(crate) struct Attempt {
    result: Result<Result<PageReport, Detour>, LoadError>,
    sent: Instant,
}

impl Attempt {
    async fn run(
        client: &Client,
        page: &PageToLoad<'_>,
        types: &wire::RowTypes,
        force: bool,
        commit: Commit,
    ) -> Attempt {
        let sent = Instant::now();
        let result = load_in_one_round_trip(client, page, types, force, commit).await;
        Attempt { result, sent }
    }
}

/// When a page's transaction is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// At its COMMIT (the load Lambda: the S3 event is acknowledged when the call returns).
    Durable,
    /// At the next commit that waits for the WAL flush ([`queue`]'s barrier): COMMIT returns
    /// without waiting for the disk, and the server goes on with the next page.
    Deferred,
}

/// How an attempt ends its page, if it does: loaded, or already in the ledger. Otherwise why
/// not, for [`complete`].
fn settle(
    page: &PageToLoad<'_>,
    attempt: Attempt,
    check: Duration,
    t_begin: Instant,
) -> Result<PageOutcome, Unsettled> {
    let key = page.key;
    match attempt.result {
        Ok(Ok(mut report)) => {
            report.phases = PagePhases {
                parse: page.parse,
                begin: check + attempt.sent.saturating_duration_since(t_begin),
                upsert: attempt.sent.elapsed(),
                ..PagePhases::default()
            };
            log_loaded(key, &report, page.started);
            Ok(PageOutcome::Loaded(report))
        }
        Ok(Err(Detour::Duplicate)) => {
            tracing::info!(key, "page already loaded; skipped");
            Ok(PageOutcome::Duplicate {
                key: key.to_string(),
            })
        }
        Ok(Err(detour)) => Err(Ok(detour)),
        Err(e) => Err(Err(e)),
    }
}

/// Why an attempt did not end its page (see [`settle`]).
type Unsettled = Result<Detour, LoadError>;

/// What [`complete`] starts from.
enum Start {
    /// The row layout this process has cached: try the page in one round trip with it.
    Cached(std::sync::Arc<wire::RowTypes>),
    /// A one-round-trip attempt made elsewhere (pipelined by [`queue`]) that did not end it.
    Tried(Unsettled),
}

/// Load a page, durably, from `start` (`None`: no layout cached, read it first): in one round
/// trip, once more with the layout read again if the cached one was stale, or step by step.
async fn complete(
    client: &mut Client,
    page: &PageToLoad<'_>,
    mut start: Option<Start>,
    check: Duration,
    t_begin: Instant,
    opts: LoadOptions,
) -> Result<PageOutcome, LoadError> {
    let key = page.key;
    let parse = page.parse;
    let mut fresh = false;
    let detour = loop {
        let unsettled = match start.take() {
            Some(Start::Tried(u)) => u,
            cached => {
                let types = match cached {
                    Some(Start::Cached(types)) => types,
                    _ => {
                        fresh = true;
                        wire::RowTypes::refresh(&*client, page.stmts).await?
                    }
                };
                let attempt = Attempt::run(client, page, &types, opts.force, Commit::Durable).await;
                match settle(page, attempt, check, t_begin) {
                    Ok(outcome) => return Ok(outcome),
                    Err(u) => u,
                }
            }
        };
        match unsettled {
            // Read the layout again (a migration ran, or another database) and retry once.
            Ok(Detour::StaleLayout) | Err(LoadError::Layout(_)) if !fresh => continue,
            Ok(detour) => break detour,
            Err(e) => return Err(e),
        }
    };
    tracing::debug!(key, ?detour, "loading the page step by step");
    let outcome = load_step_by_step(client, page, detour == Detour::Exclusive, opts.force).await?;
    if let PageOutcome::Loaded(mut report) = outcome {
        let ph = &mut report.phases;
        ph.parse = parse;
        ph.begin = (check + t_begin.elapsed()).saturating_sub(ph.upsert + ph.rest + ph.commit);
        log_loaded(key, &report, page.started);
        return Ok(PageOutcome::Loaded(report));
    }
    Ok(outcome)
}

/// A parsed page and where it goes: what both ways of loading it work from.
struct PageToLoad<'a> {
    spec: &'static ObjectSpec,
    typed: Option<&'static TypedTable>,
    stmts: &'static sql::TableSql,
    key: &'a str,
    sha: &'a str,
    etag: Option<&'a str>,
    meta: &'a PageMeta,
    run: &'a str,
    page: i32,
    batch: &'a Batch<'a>,
    started: Instant,
    /// Client CPU spent preparing it.
    parse: Duration,
}

impl<'a> PageToLoad<'a> {
    /// The page's rows and where they go, or why it cannot be loaded at all.
    fn new(
        raw: &RawPage<'a>,
        prepared: &'a prepare::Prepared<'a>,
        started: Instant,
    ) -> Result<Self, &'a str> {
        let ready = prepared.ready.as_ref().map_err(String::as_str)?;
        Ok(PageToLoad {
            spec: ready.spec,
            typed: ready.typed,
            stmts: sql::for_object(ready.typed),
            key: raw.key,
            sha: &prepared.sha,
            etag: raw.etag,
            meta: raw.meta,
            run: raw.meta.run_id.as_str(),
            page: raw.meta.page as i32,
            batch: &ready.batch,
            started,
            parse: prepared.parse,
        })
    }

    fn log_rejected(&self) {
        for r in &self.batch.rejected {
            tracing::warn!(key = self.key, index = r.index, natural_key = r.natural_key.as_deref(), reason = %r.reason, "row rejected");
        }
    }

    /// The page's rows as an array of the table's row type.
    fn rows<'b>(&'b self, row_type: &'b wire::RowType) -> Result<wire::RowSet<'b>, LoadError> {
        let names: Vec<&str> = tables::columns_of(self.typed).map(|c| c.name).collect();
        let b = self.batch;
        Ok(wire::RowSet::new(
            row_type,
            &b.keys,
            None,
            wire::Payloads::Raw(&b.payloads),
            &names,
            &b.cols,
        )?)
    }

    /// The upsert's parameters `$1`–`$7` (see [`sql`]).
    fn upsert_params<'b>(&'b self, rows: &'b wire::RowSet<'b>, ty: Type) -> Vec<Param<'b>> {
        vec![
            (&self.meta.tenant, Type::TEXT),
            (&self.run, Type::TEXT),
            (&self.meta.fetched_at, Type::TIMESTAMPTZ),
            (&self.page, Type::INT4),
            (&self.key, Type::TEXT),
            (&self.spec.name, Type::TEXT),
            (rows, ty),
        ]
    }

    /// The object's child table, if it has one: its statements, and the page's items.
    fn child<'b>(
        &'b self,
        types: &'b wire::RowTypes,
    ) -> Option<(&'static tables::Child, ChildStatements<'b>, &'b ChildBatch)> {
        match (
            self.typed.and_then(|t| t.child.as_ref()),
            self.stmts.child_delete.as_deref(),
            self.stmts.child_insert.as_deref(),
            types.child.as_ref(),
            self.batch.children.as_ref(),
        ) {
            (Some(t), Some(delete), Some(insert), Some(row_type), Some(items)) => Some((
                t,
                ChildStatements {
                    delete,
                    insert,
                    row_type,
                },
                items,
            )),
            _ => None,
        }
    }

    fn report(&self, newest: usize, manifests_applied: u32, one_round_trip: bool) -> PageReport {
        PageReport {
            key: self.key.to_string(),
            rows: self.batch.total,
            loaded: self.batch.keys.len() as u32,
            newest: newest as u32,
            duplicates: self.batch.duplicates,
            rejected: self.batch.rejected.len() as u32,
            manifests_applied,
            deletions_skipped: 0,
            one_round_trip,
            phases: PagePhases::default(),
        }
    }
}

fn page_lock_name(key: &str) -> String {
    format!("cvdw-page/{key}")
}

fn log_loaded(key: &str, report: &PageReport, started: Instant) {
    let ph = &report.phases;
    tracing::info!(
        key,
        rows = report.rows,
        loaded = report.loaded,
        rejected = report.rejected,
        duplicates = report.duplicates,
        manifests_applied = report.manifests_applied,
        ms = started.elapsed().as_millis() as u64,
        parse_us = ph.parse.as_micros() as u64,
        begin_us = ph.begin.as_micros() as u64,
        upsert_us = ph.upsert.as_micros() as u64,
        rest_us = ph.rest.as_micros() as u64,
        commit_us = ph.commit.as_micros() as u64,
        one_round_trip = report.one_round_trip,
        "page loaded"
    );
}

async fn ledger_has(
    c: &impl GenericClient,
    key: &str,
    sha: &str,
) -> Result<bool, tokio_postgres::Error> {
    let row = c
        .query_typed_opt(
            "SELECT sha256 FROM etl.pages WHERE source_key = $1",
            &[(&key, Type::TEXT)],
        )
        .await?;
    Ok(row.is_some_and(|r| r.get::<_, String>(0).eq_ignore_ascii_case(sha)))
}

/// Why the one-round-trip attempt left a page to the step-by-step path (the SQLSTATEs of
/// migration 0005).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detour {
    /// CV001: the ledger has the page with this sha256 (a concurrent delivery got there first).
    Duplicate,
    /// CV002: the page completes a pending manifest: load it under the exclusive object lock.
    Exclusive,
    /// CV003: the cached row types are not the database's.
    StaleLayout,
    /// CV004: some stored row is newer than the page (a late, out-of-order page).
    Late,
}

impl Detour {
    fn of(e: &tokio_postgres::Error) -> Option<Detour> {
        match e.code()?.code() {
            "CV001" => Some(Detour::Duplicate),
            "CV002" => Some(Detour::Exclusive),
            "CV003" => Some(Detour::StaleLayout),
            "CV004" => Some(Detour::Late),
            _ => None,
        }
    }
}

/// The usual page in ONE round trip: BEGIN, the locks, `etl.page_guard`, the upsert (which
/// aborts unless the page is the newest observation of every key), its children, its
/// bookkeeping and COMMIT go out together; the server runs them in order. Whatever the client
/// used to decide between statements is decided by the server, and anything unusual aborts the
/// transaction with a [`Detour`]: the statements after it fail, COMMIT rolls back, and the
/// caller loads the page step by step. Everything that can fail on the client (the row sets'
/// layout) is checked before anything is sent.
async fn load_in_one_round_trip(
    client: &Client,
    p: &PageToLoad<'_>,
    types: &wire::RowTypes,
    force: bool,
    commit: Commit,
) -> Result<Result<PageReport, Detour>, LoadError> {
    let rows = if p.batch.keys.is_empty() {
        None
    } else {
        Some(p.rows(&types.table)?)
    };
    let child = match p.child(types) {
        Some((t, stmts, items)) if rows.is_some() => Some((stmts, child_rows(t, &stmts, items)?)),
        _ => None,
    };
    let lock = lock_name(&p.meta.tenant, p.spec.name);
    let page_lock = page_lock_name(p.key);
    let n_keys = p.batch.keys.len() as i32;
    let (tables, layouts) = types.layouts();
    let bookkeeping = Bookkeeping::new(p);

    let mut steps = vec![
        pipeline::command(client, begin(commit)),
        pipeline::statement(client, LOCK, vec![(&page_lock, Type::TEXT)]),
        pipeline::statement(client, LOCK_SHARED, vec![(&lock, Type::TEXT)]),
        pipeline::statement(
            client,
            "SELECT etl.page_guard($1, $2, $3, $4, $5, $6, $7)",
            vec![
                (&p.key, Type::TEXT),
                (&p.sha, Type::TEXT),
                (&force, Type::BOOL),
                (&p.meta.tenant, Type::TEXT),
                (&p.spec.name, Type::TEXT),
                (&tables, Type::TEXT_ARRAY),
                (&layouts, Type::TEXT_ARRAY),
            ],
        ),
    ];
    if let Some(rows) = &rows {
        let mut params = p.upsert_params(rows, types.table.array_type());
        params.push((&n_keys, Type::INT4));
        steps.push(pipeline::statement(
            client,
            p.stmts.upsert_newest.as_str(),
            params,
        ));
    }
    if let Some((stmts, items)) = &child {
        steps.extend(child_steps(
            client,
            stmts,
            &p.meta.tenant,
            &p.batch.keys,
            items.as_ref(),
        ));
    }
    steps.extend(bookkeeping.steps(client));
    steps.push(pipeline::command(client, "COMMIT"));
    // If COMMIT cannot be sent, ROLLBACK goes in its place, at once: with pipelined pages,
    // the next page's transaction may be queued right behind this one.
    let rollback = pipeline::command(client, "ROLLBACK");
    match pipeline::run(steps, Some(rollback)).await {
        Ok(()) => Ok(Ok(p.report(p.batch.keys.len(), 0, true))),
        Err(failed) => match Detour::of(&failed.error) {
            Some(detour) => Ok(Err(detour)),
            None => Err(failed.error.into()),
        },
    }
}

/// How a one-round-trip transaction starts.
///
/// `plan_cache_mode`: each statement is sent unnamed, so PostgreSQL plans it at every Bind, and
/// a custom plan takes the parameters in as constants: the page's rows, ~1 MB, copied into the
/// plan tree and through the planner's passes. A generic plan leaves them parameters (the
/// statements have nothing a value could change about their plan: the keys hide behind
/// sub-selects, see [`sql`]); measured ~5 % of a page's time. `LOCAL` keeps it to this
/// transaction, which a transaction-mode pooler allows.
fn begin(commit: Commit) -> &'static str {
    match commit {
        Commit::Durable => "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan",
        Commit::Deferred => {
            "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL synchronous_commit = off"
        }
    }
}

/// The page step by step, the client reading between statements: for late pages, the page
/// that completes a pending manifest, and whatever else the one-round-trip path declined.
async fn load_step_by_step(
    client: &mut Client,
    p: &PageToLoad<'_>,
    exclusive: bool,
    force: bool,
) -> Result<PageOutcome, LoadError> {
    let lock = lock_name(&p.meta.tenant, p.spec.name);
    let page_lock = page_lock_name(p.key);
    let lock_params: [Param; 1] = [(&lock, Type::TEXT)];
    let page_lock_params: [Param; 1] = [(&page_lock, Type::TEXT)];
    // Pages of one object load concurrently (the object lock is taken shared); only applying
    // a manifest takes it exclusively. A page that turns out to complete a pending manifest is
    // rolled back and loaded again under the exclusive lock (see the module docs).
    let mut exclusive = exclusive;
    let (tx, mut report) = loop {
        let tx = client.transaction().await?;
        let object_lock = if exclusive { LOCK } else { LOCK_SHARED };
        // Pipelined: the locks are sent first (page, then object: every loader takes them in
        // this order), so the server runs the reads after they are held. Every answer is
        // awaited before an error is taken, in statement order (see [`pipeline`]).
        let (page_locked, object_locked, row_types, already) = futures::join!(
            tx.execute_typed(LOCK, &page_lock_params),
            tx.execute_typed(object_lock, &lock_params),
            wire::RowTypes::refresh(&tx, p.stmts),
            // Again under the lock: a concurrent delivery of the same page may have just finished.
            ledger_has(&tx, p.key, p.sha),
        );
        page_locked?;
        object_locked?;
        let (row_types, already) = (row_types?, already?);
        if !force && already {
            tx.commit().await?;
            return Ok(PageOutcome::Duplicate {
                key: p.key.to_string(),
            });
        }
        match write_page(&tx, p, &row_types, exclusive).await? {
            Some(report) => break (tx, report),
            None => {
                tracing::info!(
                    key = p.key,
                    "page completes a pending manifest; loading it again under the exclusive lock"
                );
                tx.rollback().await?;
                exclusive = true;
            }
        }
    };
    let t_commit = Instant::now();
    tx.commit().await?;
    report.phases.commit = t_commit.elapsed();
    Ok(PageOutcome::Loaded(report))
}

/// Upsert the page's rows; returns the keys whose stored values now come from this page
/// (sorted), and fixes the bookkeeping of the rows the page is older than (see [`sql`]).
async fn upsert_rows(
    tx: &Transaction<'_>,
    p: &PageToLoad<'_>,
    row_type: &wire::RowType,
) -> Result<Vec<String>, LoadError> {
    let rows = p.rows(row_type)?;
    let params = p.upsert_params(&rows, row_type.array_type());
    let written = tx.execute_typed(p.stmts.upsert.as_str(), &params).await?;
    let keys = &p.batch.keys;
    if written == keys.len() as u64 {
        // The usual case (pages arrive in order): the page is the newest observation of
        // every key, and the upsert did all the bookkeeping.
        return Ok(keys.clone());
    }
    // A late page: find which keys it won, and give the others its sighting.
    let tenant = &p.meta.tenant;
    let mut took_params: Vec<Param> = vec![
        (tenant, Type::TEXT),
        (&p.run, Type::TEXT),
        (&p.meta.fetched_at, Type::TIMESTAMPTZ),
        (&p.page, Type::INT4),
        (keys, Type::TEXT_ARRAY),
    ];
    if p.typed.is_none() {
        took_params.push((&p.spec.name, Type::TEXT));
    }
    let seen_params: [Param; 4] = [
        (tenant, Type::TEXT),
        (&p.run, Type::TEXT),
        (keys, Type::TEXT_ARRAY),
        (&p.spec.name, Type::TEXT),
    ];
    let (took, seen) = futures::join!(
        tx.query_typed(p.stmts.took.as_str(), &took_params),
        tx.execute_typed(p.stmts.seen.as_str(), &seen_params)
    );
    let (took, _) = (took?, seen?);
    let mut keys: Vec<String> = took.iter().map(|r| r.get::<_, String>(0)).collect();
    keys.sort();
    Ok(keys)
}

/// Everything the page writes, in its transaction; `None` when it completes a pending
/// manifest and does not hold the object lock exclusively (the caller retries with it).
async fn write_page(
    tx: &Transaction<'_>,
    p: &PageToLoad<'_>,
    row_types: &wire::RowTypes,
    exclusive: bool,
) -> Result<Option<PageReport>, LoadError> {
    let t_upsert = Instant::now();
    let newest_keys = if p.batch.keys.is_empty() {
        Vec::new()
    } else {
        upsert_rows(tx, p, &row_types.table).await?
    };
    let upsert = t_upsert.elapsed();
    let t_rest = Instant::now();

    // Children follow their parent: replaced whenever the parent's values are. Usually the
    // page is the newest observation of all its keys: then all its children go, with no copy.
    let selected;
    let child = match p.child(row_types) {
        Some((t, stmts, items)) if !newest_keys.is_empty() => {
            let items = if newest_keys.len() == p.batch.keys.len() {
                items
            } else {
                selected = items.select(&newest_keys, t.cols);
                &selected
            };
            Some((stmts, child_rows(t, &stmts, items)?))
        }
        _ => None,
    };
    let bookkeeping = Bookkeeping::new(p);
    let mut steps = Vec::new();
    if let Some((stmts, items)) = &child {
        steps.extend(child_steps(
            tx,
            stmts,
            &p.meta.tenant,
            &newest_keys,
            items.as_ref(),
        ));
    }
    steps.extend(bookkeeping.steps(tx));
    let pending_params: [Param; 3] = [
        (&p.meta.tenant, Type::TEXT),
        (&p.spec.name, Type::TEXT),
        (&p.key, Type::TEXT),
    ];
    let pending = tx.query_typed(
        "SELECT run_id FROM etl.manifests \
         WHERE tenant = $1 AND object = $2 AND applied_at IS NULL AND $3 = ANY(page_keys) ORDER BY run_id",
        &pending_params,
    );
    // Pipelined, the writes first; every answer awaited before an error is taken, in
    // statement order (see [`pipeline`]).
    let (written, pending) = futures::join!(pipeline::run(steps, None), pending);
    written.map_err(|f| f.error)?;
    let pending = pending?;

    // Manifests that were waiting for this page (their check sees this page's ledger row).
    // Applying one needs the object lock exclusively: the caller retries with it.
    if !pending.is_empty() && !exclusive {
        return Ok(None);
    }
    let (mut manifests_applied, mut deletions_skipped) = (0, 0);
    for r in pending {
        let run_id: String = r.get(0);
        match try_apply(tx, &p.meta.tenant, p.spec.name, &run_id).await? {
            ManifestOutcome::Applied { .. } => manifests_applied += 1,
            ManifestOutcome::DeletionSkipped { .. } => {
                manifests_applied += 1;
                deletions_skipped += 1;
            }
            ManifestOutcome::Pending { .. } | ManifestOutcome::AlreadyApplied => {}
        }
    }
    let mut report = p.report(newest_keys.len(), manifests_applied, false);
    report.deletions_skipped = deletions_skipped;
    report.phases.upsert = upsert;
    report.phases.rest = t_rest.elapsed();
    Ok(Some(report))
}

/// The statements that replace a page's children, and their rows' type.
#[derive(Clone, Copy)]
struct ChildStatements<'a> {
    delete: &'a str,
    insert: &'a str,
    row_type: &'a wire::RowType,
}

/// The child rows as an array of the child table's row type; `None` when there are none.
fn child_rows<'a>(
    t: &tables::Child,
    stmts: &ChildStatements<'a>,
    items: &'a ChildBatch,
) -> Result<Option<wire::RowSet<'a>>, LoadError> {
    if items.parent_keys.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = t.cols.iter().map(|c| c.name).collect();
    Ok(Some(wire::RowSet::new(
        stmts.row_type,
        &items.parent_keys,
        Some(&items.ordinals),
        wire::Payloads::Values(&items.payloads),
        &names,
        &items.cols,
    )?))
}

/// Replace the children of `parents` with `items` (the children of exactly those parents, if
/// they have any): the delete, then the insert.
fn child_steps<'a, C: GenericClient + Sync>(
    c: &'a C,
    child: &'a ChildStatements<'a>,
    tenant: &'a String,
    parents: &'a Vec<String>,
    items: Option<&'a wire::RowSet<'a>>,
) -> Vec<pipeline::Step<'a>> {
    let mut steps = vec![pipeline::statement(
        c,
        child.delete,
        vec![(tenant, Type::TEXT), (parents, Type::TEXT_ARRAY)],
    )];
    if let Some(rows) = items {
        steps.push(pipeline::statement(
            c,
            child.insert,
            vec![(tenant, Type::TEXT), (rows, child.row_type.array_type())],
        ));
    }
    steps
}

/// What a page writes to `etl` besides its rows: its rejected rows (replacing a previous
/// load's, so a forced reload does not double them), its ledger entry, and the resolution of a
/// failure recorded for it earlier. Both paths send it the same way.
struct Bookkeeping<'a> {
    key: &'a str,
    tenant: &'a str,
    object: &'a str,
    run: &'a str,
    page: i32,
    mode: &'a str,
    fetched_at: &'a DateTime<Utc>,
    sha: &'a str,
    etag: Option<&'a str>,
    rows: i32,
    loaded: i32,
    duplicates: i32,
    rejected: i32,
    ms: i32,
    index: Vec<i32>,
    natural_keys: Vec<Option<&'a str>>,
    reasons: Vec<&'a str>,
    raws: Vec<&'a serde_json::Value>,
    /// The `seen` statement of the page's table ([`sql`]), and the keys of quarantined rows
    /// that no accepted row of the page carries (sorted): a row that was in the page was
    /// seen, even if it could not be stored, so its stored twin must not be deleted by a full
    /// run.
    seen: &'a str,
    rejected_keys: Vec<String>,
}

impl<'a> Bookkeeping<'a> {
    fn new(p: &'a PageToLoad<'a>) -> Self {
        let (meta, batch) = (p.meta, p.batch);
        Bookkeeping {
            key: p.key,
            tenant: &meta.tenant,
            object: p.spec.name,
            run: p.run,
            page: p.page,
            mode: meta.mode.as_str(),
            fetched_at: &meta.fetched_at,
            sha: p.sha,
            etag: p.etag,
            rows: batch.total as i32,
            loaded: batch.keys.len() as i32,
            duplicates: batch.duplicates as i32,
            rejected: batch.rejected.len() as i32,
            ms: p.started.elapsed().as_millis().min(i32::MAX as u128) as i32,
            index: batch.rejected.iter().map(|r| r.index).collect(),
            natural_keys: batch
                .rejected
                .iter()
                .map(|r| r.natural_key.as_deref())
                .collect(),
            reasons: batch.rejected.iter().map(|r| r.reason.as_str()).collect(),
            raws: batch.rejected.iter().map(|r| &r.raw).collect(),
            seen: p.stmts.seen.as_str(),
            rejected_keys: rejected_keys(batch),
        }
    }

    /// The statements, in order.
    fn steps<C: GenericClient + Sync>(&'a self, c: &'a C) -> Vec<pipeline::Step<'a>> {
        let mut steps = vec![pipeline::statement(
            c,
            "DELETE FROM etl.rejected_rows WHERE source_key = $1",
            vec![(&self.key, Type::TEXT)],
        )];
        if !self.index.is_empty() {
            steps.push(pipeline::statement(
                c,
                "INSERT INTO etl.rejected_rows (source_key, row_index, tenant, object, run_id, natural_key, reason, raw) \
                 SELECT $1, u.i, $2, $3, $4, u.k, u.r, u.raw \
                 FROM unnest($5::int4[], $6::text[], $7::text[], $8::jsonb[]) AS u(i, k, r, raw)",
                vec![
                    (&self.key, Type::TEXT),
                    (&self.tenant, Type::TEXT),
                    (&self.object, Type::TEXT),
                    (&self.run, Type::TEXT),
                    (&self.index, Type::INT4_ARRAY),
                    (&self.natural_keys, Type::TEXT_ARRAY),
                    (&self.reasons, Type::TEXT_ARRAY),
                    (&self.raws, Type::JSONB_ARRAY),
                ],
            ));
        }
        steps.push(pipeline::statement(
            c,
            "INSERT INTO etl.pages (source_key, tenant, object, run_id, page, mode, fetched_at, sha256, etag, rows, loaded_rows, duplicates, rejected, load_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (source_key) DO UPDATE SET sha256 = excluded.sha256, etag = excluded.etag, rows = excluded.rows, \
               loaded_rows = excluded.loaded_rows, duplicates = excluded.duplicates, rejected = excluded.rejected, \
               loads = etl.pages.loads + 1, loaded_at = now(), load_ms = excluded.load_ms",
            vec![
                (&self.key, Type::TEXT),
                (&self.tenant, Type::TEXT),
                (&self.object, Type::TEXT),
                (&self.run, Type::TEXT),
                (&self.page, Type::INT4),
                (&self.mode, Type::TEXT),
                (self.fetched_at, Type::TIMESTAMPTZ),
                (&self.sha, Type::TEXT),
                (&self.etag, Type::TEXT),
                (&self.rows, Type::INT4),
                (&self.loaded, Type::INT4),
                (&self.duplicates, Type::INT4),
                (&self.rejected, Type::INT4),
                (&self.ms, Type::INT4),
            ],
        ));
        if !self.rejected_keys.is_empty() {
            steps.push(pipeline::statement(
                c,
                self.seen,
                vec![
                    (&self.tenant, Type::TEXT),
                    (&self.run, Type::TEXT),
                    (&self.rejected_keys, Type::TEXT_ARRAY),
                    (&self.object, Type::TEXT),
                ],
            ));
        }
        steps.push(pipeline::statement(
            c,
            "UPDATE etl.failed_pages SET resolved_at = now() WHERE source_key = $1 AND resolved_at IS NULL",
            vec![(&self.key, Type::TEXT)],
        ));
        steps
    }
}

/// The keys of a page's quarantined rows that none of its accepted rows carries, sorted (row
/// locks are always taken in key order).
fn rejected_keys(batch: &Batch<'_>) -> Vec<String> {
    let mut keys: Vec<String> = batch
        .rejected
        .iter()
        .filter_map(|r| r.natural_key.clone())
        .filter(|k| batch.keys.binary_search(k).is_err())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Apply a manifest if every page it lists is in the ledger (caller holds the object lock
/// exclusively). A full run's deletions are applied only on complete evidence ([`evidence`]);
/// otherwise the manifest is recorded as applied with `deletion_skipped` and its reason, and
/// later pages do not count it as a deleting run (`sql::deletion_of_run`).
async fn try_apply(
    tx: &Transaction<'_>,
    tenant: &str,
    object: &str,
    run_id: &str,
) -> Result<ManifestOutcome, LoadError> {
    let Some(m) = tx
        .query_typed_opt(
            "SELECT mode, started_at, applied_at IS NOT NULL, \
               (SELECT count(*) FROM unnest(m.page_keys) AS k(key) \
                 WHERE NOT EXISTS (SELECT 1 FROM etl.pages p WHERE p.source_key = k.key)), \
               body \
             FROM etl.manifests m WHERE tenant = $1 AND object = $2 AND run_id = $3",
            &[
                (&tenant, Type::TEXT),
                (&object, Type::TEXT),
                (&run_id, Type::TEXT),
            ],
        )
        .await?
    else {
        return Ok(ManifestOutcome::Pending { missing: 0 });
    };
    let mode: String = m.get(0);
    let started_at: DateTime<Utc> = m.get(1);
    if m.get::<_, bool>(2) {
        return Ok(ManifestOutcome::AlreadyApplied);
    }
    let missing: i64 = m.get(3);
    if missing > 0 {
        tracing::info!(run_id, object, missing, "manifest pending: pages missing");
        return Ok(ManifestOutcome::Pending { missing });
    }
    let mut deleted = 0;
    let mut skipped = None;
    if mode == "full" {
        let typed = tables::typed(object);
        let stmts = sql::for_object(typed);
        let body: serde_json::Value = m.get(4);
        skipped = deletion_blocker(tx, stmts, tenant, object, run_id, body).await?;
        if skipped.is_none() {
            let mut p: Vec<Param> = vec![
                (&tenant, Type::TEXT),
                (&run_id, Type::TEXT),
                (&started_at, Type::TIMESTAMPTZ),
            ];
            if typed.is_none() {
                p.push((&object, Type::TEXT));
            }
            deleted = tx.execute_typed(stmts.delete_absent.as_str(), &p).await?;
        }
    }
    let deleted_i = deleted.min(i32::MAX as u64) as i32;
    tx.execute_typed(
        "UPDATE etl.manifests SET applied_at = now(), deleted_rows = $4, deletion_skipped = $5 \
         WHERE tenant = $1 AND object = $2 AND run_id = $3",
        &[
            (&tenant, Type::TEXT),
            (&object, Type::TEXT),
            (&run_id, Type::TEXT),
            (&deleted_i, Type::INT4),
            (&skipped, Type::TEXT),
        ],
    )
    .await?;
    match skipped {
        Some(reason) => {
            tracing::warn!(run_id, object, reason = %reason, "full run applied without deletions: incomplete evidence");
            Ok(ManifestOutcome::DeletionSkipped { reason })
        }
        None => {
            tracing::info!(run_id, object, mode, deleted, "manifest applied");
            Ok(ManifestOutcome::Applied { deleted })
        }
    }
}

/// Why a full run's manifest must not delete (see [`evidence`]), or `None`.
async fn deletion_blocker(
    tx: &Transaction<'_>,
    stmts: &sql::TableSql,
    tenant: &str,
    object: &str,
    run_id: &str,
    body: serde_json::Value,
) -> Result<Option<String>, LoadError> {
    let manifest: Manifest = match serde_json::from_value(body) {
        Ok(m) => m,
        Err(e) => return Ok(Some(format!("the stored manifest does not parse: {e}"))),
    };
    let keys: Vec<&str> = manifest.pages.iter().map(|p| p.key.as_str()).collect();
    let ledger = tx
        .query_typed(
            "SELECT source_key, rows FROM etl.pages WHERE source_key = ANY($1)",
            &[(&keys, Type::TEXT_ARRAY)],
        )
        .await?;
    let ledger: std::collections::HashMap<String, i32> =
        ledger.iter().map(|r| (r.get(0), r.get(1))).collect();
    if let Err(reason) = evidence::check_pages(&manifest.pages, &ledger) {
        return Ok(Some(reason));
    }
    let generic = stmts.table == "cvdw.objects";
    let mut p: Vec<Param> = vec![(&tenant, Type::TEXT), (&run_id, Type::TEXT)];
    if generic {
        p.push((&object, Type::TEXT));
    }
    let counts = tx.query_typed(stmts.absent_count.as_str(), &p).await?;
    let (live, absent): (i64, i64) = counts.first().map_or((0, 0), |r| (r.get(0), r.get(1)));
    let limit: f64 = tx
        .query_typed_opt(
            "SELECT max_share::float8 FROM etl.deletion_policy \
             WHERE tenant IN ($1, '*') AND object IN ($2, '*') \
             ORDER BY (tenant <> '*') DESC, (object <> '*') DESC LIMIT 1",
            &[(&tenant, Type::TEXT), (&object, Type::TEXT)],
        )
        .await?
        .map_or(evidence::DEFAULT_MAX_SHARE, |r| r.get(0));
    if live > 0 && absent > 0 && absent as f64 >= limit * live as f64 {
        return Ok(Some(format!(
            "would delete {absent} of {live} live rows ({:.1} %), at or above the {:.1} % limit of etl.deletion_policy",
            100.0 * absent as f64 / live as f64,
            100.0 * limit
        )));
    }
    Ok(None)
}

/// The tables behind catalogue objects: typed table (and its child table) or `cvdw.objects`.
/// Names come from the static table list, never from input (they are spliced into SQL).
pub fn tables_of<'a>(objects: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in objects {
        let names = match tables::typed(o) {
            Some(t) => std::iter::once(t.table)
                .chain(t.child.map(|c| c.table))
                .map(|n| format!("cvdw.{n}"))
                .collect(),
            None => vec!["cvdw.objects".to_string()],
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Refresh planner statistics after a bulk load (`cvdw load`, `cvdw replay`) of `objects`:
/// a table filled in one go has none until autovacuum gets round to it, and queries are
/// planned as if it were empty meanwhile (the api benchmark saw that). Once per bulk run,
/// never per page (the Lambda path leaves it to autovacuum). Returns the tables analysed.
pub async fn analyze_loaded<'a>(
    client: &Client,
    objects: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut tables = tables_of(objects);
    if tables.is_empty() {
        return Ok(tables);
    }
    tables.push("etl.pages".to_string());
    let t = Instant::now();
    client
        .batch_execute(&format!("ANALYZE {}", tables.join(", ")))
        .await?;
    tracing::info!(tables = %tables.join(","), ms = t.elapsed().as_millis() as u64, "analyzed");
    Ok(tables)
}

/// Record a manifest and apply it if all its pages are loaded (otherwise it stays pending and
/// the page that completes it applies it).
#[tracing::instrument(name = "load_manifest", skip_all, fields(key))]
pub async fn load_manifest(
    client: &mut Client,
    key: &str,
    body: &[u8],
) -> Result<ManifestOutcome, LoadError> {
    let bad = |reason: String| async {
        let reason_ref: &str = &reason;
        tracing::error!(key, reason = reason_ref, "manifest failed");
        let sha = sha256_hex(body);
        record_failure(client, key, None, None, Some(&sha), reason_ref, body).await?;
        Err::<ManifestOutcome, LoadError>(LoadError::BadManifest {
            key: key.to_string(),
            reason,
        })
    };
    let Some((tenant, run_id, object)) = parse_manifest_key(key) else {
        return bad("not a manifest key (manifests/{tenant}/{run_id}/{object}.json)".into()).await;
    };
    let m: Manifest = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(e) => return bad(format!("not a manifest: {e}")).await,
    };
    if m.tenant != tenant || m.run_id != run_id || m.object != object {
        return bad(format!(
            "body says {}/{}/{}, key says {tenant}/{run_id}/{object}",
            m.tenant, m.run_id, m.object
        ))
        .await;
    }
    let page_keys: Vec<&str> = m.pages.iter().map(|p| p.key.as_str()).collect();
    let body_json: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("not JSON: {e}")).await,
    };
    let rows = m.rows.min(i64::MAX as u64) as i64;
    let tx = client.transaction().await?;
    tx.execute(LOCK, &[&lock_name(&tenant, &object)]).await?;
    tx.execute(
        "INSERT INTO etl.manifests (tenant, object, run_id, mode, manifest_key, started_at, finished_at, page_keys, rows, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant, object, run_id) DO NOTHING",
        &[&tenant, &object, &run_id.as_str(), &m.mode.as_str(), &key, &m.started_at, &m.finished_at, &page_keys, &rows, &body_json],
    )
    .await?;
    let out = try_apply(&tx, &tenant, &object, run_id.as_str()).await?;
    tx.commit().await?;
    Ok(out)
}
