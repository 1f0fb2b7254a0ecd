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

// The way a page goes, in order.
mod attempt;
mod bookkeeping;
mod locks;
mod manifest;
mod outcome;
mod step_by_step;

// The parts it is made of.
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

pub use manifest::{analyze_loaded, load_manifest, tables_of};
pub use outcome::{LoadError, LoadOptions, ManifestOutcome, PageOutcome, PagePhases, PageReport};

use attempt::{complete, settle, Attempt, Commit, Start, Unsettled};
pub(crate) use bookkeeping::record_failure;

use crate::catalogue::{self, ObjectSpec};
use crate::landing::{PageKey, PageMeta};
use bookkeeping::ledger_has;
use rows::{Batch, ChildBatch};
use std::time::{Duration, Instant};
use step_by_step::ChildStatements;
use tables::TypedTable;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

/// A parameter with its wire type: every statement of the page transaction is sent unnamed,
/// typed, in one round trip (see [`sql`]).
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

pub use crate::landing::sha256_hex;

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
