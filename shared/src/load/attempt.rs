//! The usual page in one round trip, and what happens when it cannot be: the attempt, how it
//! ends ([`settle`]), and [`complete`], which falls back to the step-by-step path
//! ([`super::step_by_step`]) for the cases the server turns away ([`Detour`]).

use super::bookkeeping::Bookkeeping;
use super::locks::{lock_name, page_lock_name, LOCK, LOCK_SHARED};
use super::step_by_step::{child_rows, child_steps, load_step_by_step};
use super::{
    log_loaded, pipeline, wire, LoadError, LoadOptions, PageOutcome, PagePhases, PageReport,
    PageToLoad,
};
use std::time::{Duration, Instant};
use tokio_postgres::types::Type;
use tokio_postgres::Client;

/// One try at loading a page in one round trip, and when it was sent.
pub(super) struct Attempt {
    pub(super) result: Tried,
    pub(super) sent: Instant,
}

impl Attempt {
    pub(super) async fn run(
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
pub(super) enum Commit {
    /// At its COMMIT (the load Lambda: the S3 event is acknowledged when the call returns).
    Durable,
    /// At the next commit that waits for the WAL flush ([`queue`]'s barrier): COMMIT returns
    /// without waiting for the disk, and the server goes on with the next page.
    Deferred,
}

/// How an attempt ends its page, if it does: loaded, or already in the ledger. Otherwise why
/// not, for [`complete`].
pub(super) fn settle(
    page: &PageToLoad<'_>,
    attempt: Attempt,
    check: Duration,
    t_begin: Instant,
) -> Result<PageOutcome, Unsettled> {
    let key = page.key;
    match attempt.result {
        Tried::Loaded(mut report) => {
            report.phases = PagePhases {
                parse: page.parse,
                begin: check + attempt.sent.saturating_duration_since(t_begin),
                upsert: attempt.sent.elapsed(),
                ..PagePhases::default()
            };
            log_loaded(key, &report, page.started);
            Ok(PageOutcome::Loaded(report))
        }
        Tried::Detour(Detour::Duplicate) => {
            tracing::info!(key, "page already loaded; skipped");
            Ok(PageOutcome::Duplicate {
                key: key.to_string(),
            })
        }
        Tried::Detour(detour) => Err(Unsettled::Detour(detour)),
        Tried::Failed(e) => Err(Unsettled::Failed(e)),
    }
}

/// How one round trip ended.
pub(super) enum Tried {
    /// Loaded and committed.
    Loaded(PageReport),
    /// The server turned the page away (or found it loaded already): see [`Detour`].
    Detour(Detour),
    Failed(LoadError),
}

/// Why an attempt did not end its page (see [`settle`]): what [`complete`] goes on from.
pub(super) enum Unsettled {
    Detour(Detour),
    Failed(LoadError),
}

/// What [`complete`] starts from.
pub(super) enum Start {
    /// The row layout this process has cached: try the page in one round trip with it.
    Cached(std::sync::Arc<wire::RowTypes>),
    /// A one-round-trip attempt made elsewhere (pipelined by [`queue`]) that did not end it.
    Tried(Unsettled),
}

/// Load a page, durably, from `start` (`None`: no layout cached, read it first): in one round
/// trip, once more with the layout read again if the cached one was stale, or step by step.
pub(super) async fn complete(
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
            Unsettled::Detour(Detour::StaleLayout) | Unsettled::Failed(LoadError::Layout(_))
                if !fresh =>
            {
                continue
            }
            Unsettled::Detour(detour) => break detour,
            Unsettled::Failed(e) => return Err(e),
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

/// Why the one-round-trip attempt left a page to the step-by-step path (the SQLSTATEs of
/// migration 0005).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detour {
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
    pub(super) fn of(e: &tokio_postgres::Error) -> Option<Detour> {
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
pub(super) async fn load_in_one_round_trip(
    client: &Client,
    p: &PageToLoad<'_>,
    types: &wire::RowTypes,
    force: bool,
    commit: Commit,
) -> Tried {
    let rows = if p.batch.keys.is_empty() {
        None
    } else {
        match p.rows(&types.table) {
            Ok(rows) => Some(rows),
            Err(e) => return Tried::Failed(e),
        }
    };
    let child = match p.child(types) {
        Some((t, stmts, items)) if rows.is_some() => match child_rows(t, &stmts, items) {
            Ok(items) => Some((stmts, items)),
            Err(e) => return Tried::Failed(e),
        },
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
        Ok(()) => Tried::Loaded(p.report(p.batch.keys.len(), 0, true)),
        Err(failed) => match Detour::of(&failed.error) {
            Some(detour) => Tried::Detour(detour),
            None => Tried::Failed(failed.error.into()),
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
pub(super) fn begin(commit: Commit) -> &'static str {
    match commit {
        Commit::Durable => "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan",
        Commit::Deferred => {
            "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL synchronous_commit = off"
        }
    }
}
