//! A loader with a queue of pages and one connection: `cvdw replay`, `cvdw load` and `cvdw
//! bench load`. The load Lambda gets one page per call and uses [`super::load_page`].
//!
//! One page at a time, the server idles while the client parses the next page, encodes its
//! rows, waits for the answer and for the disk; one loader then runs at about 70 % of the
//! server's own pace on loopback, less across a network. Here the server never waits:
//!
//! - the pages arrive *prepared* (parsed on another thread while the previous ones load:
//!   [`super::prepare::PreparedPage::spawn`] behind a `buffered` stream);
//! - each page goes in one round trip (`BEGIN … COMMIT` as one batch, see [`super`]), and the
//!   next page's batch is sent as soon as it is ready, **without waiting for the answer to
//!   the one before**. The server runs the batches one after the other, each its own
//!   transaction, so pipelining them changes nothing that either one sees;
//! - each batch commits with `synchronous_commit = off`: its COMMIT does not wait for the WAL
//!   to reach the disk. Every [`BARRIER_EVERY`] pages, and at the end, the queue commits a
//!   transaction that does wait (migration 0007), which makes every earlier commit durable,
//!   and only then reports those pages as loaded. If that fails (the connection or the
//!   server went away), the pages since the last barrier are handed back to be loaded again:
//!   the ones that did reach the disk are then no-ops. Other sessions see a page as soon as
//!   it commits, as with any commit; a server crash in that instant can lose it, and the
//!   queue that loaded it then fails and loads it again.
//!
//! Two things keep pipelining safe:
//!
//! - A batch leaves in full or not at all: every statement of it is queued on the connection
//!   on its first poll, and if one cannot even be encoded, a ROLLBACK is queued in that same
//!   poll in place of the rest ([`super::pipeline::run`]). So a batch queued behind another
//!   never finds a transaction left open by it.
//! - Anything that needs the client between statements (a late page, the page that completes
//!   a manifest, a row layout not yet read, a page to record as failed) waits until every
//!   batch in flight has been answered, and then runs alone, with the connection to itself,
//!   exactly as [`super::load_page`] would run it (durably). The loader is order-proof, so
//!   finishing such a page after a later one changes nothing.
//!
//! A retryable error (a deadlock, a dropped connection) stops the queue once the batches in
//! flight are answered; the keys of the pages it hit, and of the pages not yet known to be
//! durable, are handed back, and the caller reconnects and loads them again before going on
//! with the same stream.

use super::event::Unreadable;
use super::prepare::{PreparedPage, Source};
use super::{
    complete, fail_page, settle, sql, wire, Attempt, Commit, LoadError, LoadOptions, PageOutcome,
    PageToLoad, RawPage, Start, Unsettled,
};
use futures::{Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// A page back from its batch, with the attempt when one was made.
type Sent = (PreparedPage, Option<Attempt>);

type InFlight<'c> = Pin<Box<dyn Future<Output = Sent> + Send + 'c>>;

/// What a queue reports each page's outcome to, with the page's key.
pub type Done<'a> = &'a mut (dyn FnMut(&str, Result<PageOutcome, LoadError>) + Send);

/// Pages to load again on a fresh connection (by key), and why.
pub type Interrupted = Vec<(String, LoadError)>;

/// What a queue is fed: a page ready to load, or what reading one came to.
#[derive(Debug)]
pub enum Queued {
    Page(PreparedPage),
    /// Read, but not loadable as it is: recorded in `etl.failed_pages` when its turn comes.
    Unreadable(Unreadable),
    /// Not read (a store error that outlasted the reader's own retries).
    Failed(String, LoadError),
}

/// The ledger's `(key, sha256)` for the pages a queue is about to load, read once: a page
/// loaded before is then skipped without sending it (a replay run twice sends nothing the
/// second time). A page loaded meanwhile by someone else is still found by `etl.page_guard`.
#[derive(Debug, Default)]
pub struct Ledger(std::collections::HashMap<String, String>);

impl Ledger {
    pub async fn read(c: &Client, keys: &[String]) -> Result<Ledger, tokio_postgres::Error> {
        let mut known = std::collections::HashMap::new();
        for chunk in keys.chunks(10_000) {
            let rows = c
                .query_typed(
                    "SELECT source_key, sha256 FROM etl.pages WHERE source_key = ANY($1)",
                    &[(&chunk, tokio_postgres::types::Type::TEXT_ARRAY)],
                )
                .await?;
            for r in rows {
                known.insert(r.get::<_, String>(0), r.get::<_, String>(1));
            }
        }
        Ok(Ledger(known))
    }

    fn has(&self, key: &str, sha: &str) -> bool {
        self.0.get(key).is_some_and(|s| s.eq_ignore_ascii_case(sha))
    }
}

/// Pages committed without waiting for the disk between two barriers: how much a lost
/// connection makes the caller load again, and how often the pipeline drains (once per
/// barrier: a round trip and a WAL flush, ~1 % of the time of this many pages).
pub const BARRIER_EVERY: usize = 32;

/// Make every earlier commit of the session durable (migration 0007), whatever the server's
/// default for `synchronous_commit`.
async fn barrier(c: &Client) -> Result<(), tokio_postgres::Error> {
    c.batch_execute(
        "BEGIN; SET LOCAL synchronous_commit = on; \
         SELECT pg_catalog.setval('etl.commit_barrier', 1, false); COMMIT",
    )
    .await
}

/// Load the pages of `pages` in order on `client`, pipelined (see the module docs). `done`
/// gets every page's outcome once it is final (a loaded page: once it is durable), except
/// for the pages returned: those met a retryable error or are not known to be durable, and
/// must be loaded again. The stream is left where it stopped.
pub async fn load_queue<S>(
    client: &mut Client,
    pages: &mut S,
    opts: LoadOptions,
    ledger: &Ledger,
    done: Done<'_>,
) -> Interrupted
where
    S: Stream<Item = Queued> + Unpin + Send,
{
    let mut interrupted = Vec::new();
    let mut out = Answers::default();
    let mut exhausted = false;
    while !exhausted {
        {
            let c: &Client = client;
            let mut in_flight: Option<InFlight<'_>> = None;
            loop {
                let mut sent = None;
                match pages.next().await {
                    None => exhausted = true,
                    Some(Queued::Page(page))
                        if !opts.force && ledger.has(page.key(), page.sha()) =>
                    {
                        tracing::info!(key = page.key(), "page already loaded; skipped");
                        let key = page.key().to_string();
                        done(page.key(), Ok(PageOutcome::Duplicate { key }));
                    }
                    Some(Queued::Page(page)) => match send(c, page, opts) {
                        Ok(mut batch) => {
                            // The first poll queues the whole batch behind the one in flight.
                            match futures::poll!(batch.as_mut()) {
                                Poll::Ready(s) => out.take(s, done),
                                Poll::Pending => sent = Some(batch),
                            }
                        }
                        Err(page) => out.alone.push((page, None)),
                    },
                    Some(Queued::Unreadable(u)) => out.unreadable.push(u),
                    Some(Queued::Failed(key, e)) if e.is_retryable() => interrupted.push((key, e)),
                    Some(Queued::Failed(key, e)) => done(&key, Err(e)),
                }
                if let Some(batch) = in_flight.take() {
                    out.take(batch.await, done);
                }
                in_flight = sent;
                let full = out.unconfirmed.len() >= BARRIER_EVERY;
                let stop = !out.alone.is_empty() || !out.unreadable.is_empty();
                if exhausted || stop || full || !interrupted.is_empty() {
                    if let Some(batch) = in_flight.take() {
                        out.take(batch.await, done);
                    }
                    break;
                }
            }
        }
        if !out.unconfirmed.is_empty() {
            match barrier(client).await {
                Ok(()) => {
                    for (key, outcome) in out.unconfirmed.drain(..) {
                        done(&key, Ok(outcome));
                    }
                }
                Err(e) => {
                    let reason = crate::db::pg_error_text(&e);
                    tracing::warn!(error = %reason, pages = out.unconfirmed.len(), "commit barrier failed; the pages since the last one will be loaded again");
                    for (key, _) in out.unconfirmed.drain(..) {
                        let reason = reason.clone();
                        interrupted.push((key.clone(), LoadError::Unconfirmed { key, reason }));
                    }
                }
            }
        }
        for u in std::mem::take(&mut out.unreadable) {
            let key = u.key.clone();
            let e = u.record(client).await;
            match e.is_retryable() {
                true => interrupted.push((key, e)),
                false => done(&key, Err(e)),
            }
        }
        for (page, unsettled) in std::mem::take(&mut out.alone) {
            match finish(client, &page, unsettled, opts).await {
                Err(e) if e.is_retryable() => interrupted.push((page.key().to_string(), e)),
                outcome => done(page.key(), outcome),
            }
        }
        if !interrupted.is_empty() {
            return interrupted;
        }
    }
    interrupted
}

/// The batches' answers the queue still has to act on.
#[derive(Default)]
struct Answers {
    /// Loaded by a commit that did not wait for the disk: reported after the next barrier.
    unconfirmed: Vec<(String, PageOutcome)>,
    /// Pages to finish with the connection to themselves, in the order they came.
    alone: Vec<(PreparedPage, Option<Unsettled>)>,
    /// Pages to record as failed.
    unreadable: Vec<Unreadable>,
}

impl Answers {
    fn take(&mut self, (page, attempt): Sent, done: Done<'_>) {
        let Some(attempt) = attempt else {
            return self.alone.push((page, None));
        };
        let (source, prepared) = page.parts();
        let raw = raw_page(source);
        let sent = attempt.sent;
        let settled = match PageToLoad::new(&raw, prepared, sent) {
            Ok(p) => settle(&p, attempt, Duration::ZERO, sent),
            Err(_) => return self.alone.push((page, None)),
        };
        match settled {
            Ok(outcome @ PageOutcome::Loaded(_)) => {
                self.unconfirmed.push((page.key().to_string(), outcome))
            }
            // Nothing was committed (already in the ledger): final now.
            Ok(outcome) => done(page.key(), Ok(outcome)),
            Err(unsettled) => self.alone.push((page, Some(unsettled))),
        }
    }
}

/// The page's batch, not yet polled; the page back when it cannot go in one round trip as it
/// is (it cannot be loaded, or its table's row layout has not been read yet).
fn send(c: &Client, page: PreparedPage, opts: LoadOptions) -> Result<InFlight<'_>, PreparedPage> {
    let types = match &page.parts().1.ready {
        Ok(ready) => wire::RowTypes::cached(sql::for_object(ready.typed)),
        Err(_) => None,
    };
    let Some(types) = types else {
        return Err(page);
    };
    Ok(Box::pin(async move {
        let attempt = {
            let (source, prepared) = page.parts();
            let raw = raw_page(source);
            match PageToLoad::new(&raw, prepared, Instant::now()) {
                Ok(p) => {
                    p.log_rejected();
                    Some(Attempt::run(c, &p, &types, opts.force, Commit::Deferred).await)
                }
                Err(_) => None,
            }
        };
        (page, attempt)
    }))
}

fn raw_page(source: &Source) -> RawPage<'_> {
    let input = &source.input;
    RawPage {
        key: &input.key,
        body: &input.body,
        meta: &input.meta,
        etag: input.etag.as_deref(),
    }
}

/// Finish a page with the connection to itself, as [`super::load_page`] would.
async fn finish(
    client: &mut Client,
    page: &PreparedPage,
    unsettled: Option<Unsettled>,
    opts: LoadOptions,
) -> Result<PageOutcome, LoadError> {
    let (source, prepared) = page.parts();
    let raw = raw_page(source);
    let started = Instant::now();
    let to_load = match PageToLoad::new(&raw, prepared, started) {
        Ok(p) => p,
        Err(reason) => return Err(fail_page(client, &raw, prepared, reason).await),
    };
    if unsettled.is_none() {
        to_load.log_rejected();
    }
    let start = unsettled.map(Start::Tried);
    complete(client, &to_load, start, Duration::ZERO, started, opts).await
}
