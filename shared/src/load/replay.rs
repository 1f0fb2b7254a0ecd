//! `cvdw replay`: rebuild (or top up) the database from the S3 archive through the same loader.
//!
//! The archive is listed once, and the ledger read once for those keys (unless `--force`):
//! a page already loaded is skipped without being sent. Every page of the slice goes into one
//! queue in observation order (`run_id`, then page: run ids sort by start time, pages by fetch
//! time within a run), and `parallelism` workers, one connection each, take pages from it —
//! pages of one object too, since the loader takes the object lock shared for a page (see
//! [`super`]). Each worker is a [`super::queue`]: it reads and parses the next pages while the
//! current ones load, and keeps its connection busy with pipelined page transactions. When
//! every page is in, the manifests follow, one at a time per worker; each then applies at once
//! (its pages are all loaded). Because the loader is order-proof, the result equals the
//! incremental path's whatever the interleaving.
//!
//! A bad page is counted and skipped (it is in `etl.failed_pages`); a retryable error is
//! retried with backoff on a fresh connection, then aborts the replay. At the end, the tables
//! of the replayed objects are `ANALYZE`d (see [`super::analyze_loaded`]).

use super::event::{fetch_page, load_stored_page, Fetched};
use super::prepare::{joined, PreparedPage};
use super::queue::{load_queue, Ledger, Queued};
use super::{load_manifest, LoadError, LoadOptions, ManifestOutcome, PageOutcome};
use crate::db::{Db, DbConfig};
use crate::landing::{parse_manifest_key, PageKey, MANIFEST_PREFIX, RAW_PREFIX};
use crate::store::ObjectStore;
use chrono::NaiveDate;
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which part of the archive to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    pub tenant: Option<String>,
    /// Catalogue name (`reservas_condicoes`).
    pub object: Option<String>,
    /// Runs started on or after this UTC date.
    pub since: Option<NaiveDate>,
    /// Runs started on or before this UTC date.
    pub until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    pub force: bool,
    /// Concurrent `(tenant, object)` groups (and connections).
    pub parallelism: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            force: false,
            parallelism: 4,
        }
    }
}

/// Totals of a replay, a `cvdw load` or a demo cycle, updated as it goes (the progress callback
/// sees them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    pub pages_total: u64,
    pub pages: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub rows: u64,
    pub rejected: u64,
    pub manifests: u64,
    pub manifests_pending: u64,
}

impl ReplaySummary {
    /// Count a page that loaded, or that the ledger already had.
    pub fn add_page(&mut self, out: &PageOutcome) {
        match out {
            PageOutcome::Loaded(r) => {
                self.pages += 1;
                self.rows += r.loaded as u64;
                self.rejected += r.rejected as u64;
            }
            PageOutcome::Duplicate { .. } => self.duplicates += 1,
        }
    }

    /// One line of totals, as `cvdw load` and the demo print them.
    pub fn line(&self, secs: f64) -> String {
        format!(
            "pages={} duplicates={} failed={} rows={} rejected={} manifests={} seconds={secs:.2}",
            self.pages, self.duplicates, self.failed, self.rows, self.rejected, self.manifests
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("listing the archive: {0}")]
    List(#[source] crate::store::StoreError),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
    #[error("{key}: {source}")]
    Load {
        key: String,
        #[source]
        source: LoadError,
    },
}

/// The slice of the archive to replay: page keys in observation order, then manifest keys.
#[derive(Debug, Default)]
struct Plan {
    /// `(run_id, page, key)`, sorted.
    pages: Vec<(String, u32, String)>,
    manifests: Vec<String>,
    /// Catalogue names of the objects involved (for the final ANALYZE).
    objects: BTreeSet<String>,
}

pub type Progress = Arc<dyn Fn(&ReplaySummary) + Send + Sync>;

fn wanted(filter: &ReplayFilter, tenant: &str, object: &str, date: NaiveDate) -> bool {
    filter.tenant.as_deref().is_none_or(|t| t == tenant)
        && filter.object.as_deref().is_none_or(|o| o == object)
        && filter.since.is_none_or(|d| date >= d)
        && filter.until.is_none_or(|d| date <= d)
}

/// List the archive slice.
async fn plan<S: ObjectStore>(store: &S, filter: &ReplayFilter) -> Result<Plan, ReplayError> {
    let narrow = |base: &str| match (&filter.tenant, &filter.object) {
        (Some(t), Some(o)) if base == RAW_PREFIX => format!("{base}{t}/{o}/"),
        (Some(t), _) => format!("{base}{t}/"),
        _ => base.to_string(),
    };
    let mut plan = Plan::default();
    for obj in store
        .list(&narrow(RAW_PREFIX))
        .await
        .map_err(ReplayError::List)?
    {
        let Some(pk) = PageKey::parse(&obj.key) else {
            tracing::warn!(key = obj.key, "not a raw page key; skipped");
            continue;
        };
        if wanted(filter, &pk.tenant, &pk.object, pk.run_id.date()) {
            plan.objects.insert(pk.object.clone());
            plan.pages.push((pk.run_id.to_string(), pk.page, obj.key));
        }
    }
    for obj in store
        .list(&narrow(MANIFEST_PREFIX))
        .await
        .map_err(ReplayError::List)?
    {
        let Some((tenant, run_id, object)) = parse_manifest_key(&obj.key) else {
            continue;
        };
        if wanted(filter, &tenant, &object, run_id.date()) {
            plan.objects.insert(object);
            plan.manifests.push(obj.key);
        }
    }
    plan.pages.sort();
    plan.manifests.sort();
    Ok(plan)
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Pages,
    Manifests,
}

enum Work<'a> {
    Page(&'a str),
    Manifest(&'a str),
}

/// Tries of one piece of work before a retryable error aborts the replay, and the first
/// pause between them (then four times longer each time).
const TRIES: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// Count a page's final outcome (an error here is one that retrying will not fix).
fn tally(s: &mut ReplaySummary, key: &str, result: Result<PageOutcome, LoadError>) {
    match result {
        Ok(out) => s.add_page(&out),
        Err(e) => {
            s.failed += 1;
            tracing::error!(key, error = %e, "skipped");
        }
    }
}

/// Read a page for a worker's queue and prepare it (on the blocking pool), retrying store
/// errors that may pass as [`attempt`] does.
async fn read_for_queue<S: ObjectStore>(store: S, key: String) -> Queued {
    let mut delay = FIRST_PAUSE;
    let mut tries = 1;
    loop {
        match fetch_page(&store, &key).await {
            Ok(Fetched::Page(input)) => {
                return Queued::Page(joined(PreparedPage::spawn(input)).await)
            }
            Ok(Fetched::Unreadable(u)) => return Queued::Unreadable(u),
            Err(e) if e.is_retryable() && tries < TRIES => {
                tracing::warn!(key, error = %e, tries, "retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
                tries += 1;
            }
            Err(e) => return Queued::Failed(key, e),
        }
    }
}

/// One worker's share of the pages: a queue on its connection, fed from the shared list of
/// keys, each page read and parsed two ahead; pages the queue hands back (a retryable error)
/// are retried one by one on a fresh connection, then the queue goes on.
async fn load_pages<S: ObjectStore>(
    db: &mut Db,
    store: &S,
    keys: Arc<Mutex<VecDeque<String>>>,
    ledger: &Ledger,
    opts: LoadOptions,
    sum: &Mutex<ReplaySummary>,
    progress: Option<&Progress>,
) -> Result<(), ReplayError> {
    use futures::StreamExt;
    let next =
        std::iter::from_fn(move || keys.lock().unwrap_or_else(|p| p.into_inner()).pop_front());
    let reader = store.clone();
    let items = futures::stream::iter(next)
        .map(move |key| joined(tokio::spawn(read_for_queue(reader.clone(), key))))
        .buffered(2);
    let mut items = std::pin::pin!(items);
    let report = |key: &str, result| {
        let mut s = sum.lock().unwrap_or_else(|p| p.into_inner());
        tally(&mut s, key, result);
        if let Some(p) = progress {
            p(&s);
        }
    };
    loop {
        db.ensure_connected().await?;
        let mut done = |key: &str, result| report(key, result);
        let interrupted = load_queue(db.client(), &mut items, opts, ledger, &mut done).await;
        if interrupted.is_empty() {
            return Ok(());
        }
        for (key, e) in interrupted {
            tracing::warn!(key, error = %e, "retrying on a fresh connection");
            if let LoadError::Db(pg) = &e {
                if crate::db::is_connection_lost(pg) {
                    db.reconnect().await?;
                }
            }
            attempt(db, store, &Work::Page(&key), opts, sum).await?;
            if let Some(p) = progress {
                p(&sum.lock().unwrap_or_else(|p| p.into_inner()));
            }
        }
    }
}

/// Run one unit of work, retrying retryable errors on a fresh connection.
async fn attempt<S: ObjectStore>(
    db: &mut Db,
    store: &S,
    work: &Work<'_>,
    opts: LoadOptions,
    sum: &Mutex<ReplaySummary>,
) -> Result<(), ReplayError> {
    let key = match work {
        Work::Page(k) | Work::Manifest(k) => *k,
    };
    let mut delay = FIRST_PAUSE;
    for tries in 1.. {
        db.ensure_connected().await?;
        let result = match work {
            Work::Page(k) => load_stored_page(db.client(), store, k, opts)
                .await
                .map(Some),
            Work::Manifest(k) => {
                let out = match store.get(k).await {
                    Ok(obj) => load_manifest(db.client(), k, &obj.body).await,
                    Err(e) => Err(e.into()),
                };
                out.map(|m| {
                    let mut s = sum.lock().unwrap_or_else(|p| p.into_inner());
                    s.manifests += 1;
                    if matches!(m, ManifestOutcome::Pending { .. }) {
                        s.manifests_pending += 1;
                    }
                    None
                })
            }
        };
        match result {
            Ok(None) => return Ok(()),
            Ok(Some(out)) => {
                tally(
                    &mut sum.lock().unwrap_or_else(|p| p.into_inner()),
                    key,
                    Ok(out),
                );
                return Ok(());
            }
            Err(e) if !e.is_retryable() => {
                tally(
                    &mut sum.lock().unwrap_or_else(|p| p.into_inner()),
                    key,
                    Err(e),
                );
                return Ok(());
            }
            Err(e) if tries >= TRIES => {
                return Err(ReplayError::Load {
                    key: key.to_string(),
                    source: e,
                })
            }
            Err(e) => {
                tracing::warn!(key, error = %e, tries, "retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
        }
    }
    Ok(())
}

/// Replay the archive slice `filter` into the database of `db`.
pub async fn replay<S: ObjectStore>(
    store: &S,
    db: &DbConfig,
    filter: &ReplayFilter,
    opts: ReplayOptions,
    progress: Option<Progress>,
) -> Result<ReplaySummary, ReplayError> {
    let Plan {
        pages,
        manifests,
        objects,
    } = plan(store, filter).await?;
    let sum = Arc::new(Mutex::new(ReplaySummary {
        pages_total: pages.len() as u64,
        ..Default::default()
    }));
    // Pages in observation order across objects, then (after all of them) the manifests.
    let pages: Vec<String> = pages.into_iter().map(|(_, _, key)| key).collect();
    let load_opts = LoadOptions { force: opts.force };
    let workers = opts.parallelism.max(1);
    let mut dbs = Vec::with_capacity(workers);
    for _ in 0..workers {
        dbs.push(Db::connect(db).await?);
    }
    // What the ledger already has, read once (a replay run again sends nothing).
    let ledger = Arc::new(if opts.force {
        Ledger::default()
    } else {
        match dbs.first_mut() {
            Some(d) => Ledger::read(d.client(), &pages)
                .await
                .map_err(crate::db::DbError::from)?,
            None => Ledger::default(),
        }
    });
    for (phase, keys) in [(Phase::Pages, pages), (Phase::Manifests, manifests)] {
        let queue = Arc::new(Mutex::new(VecDeque::from(keys)));
        let mut handles = Vec::new();
        for mut conn in dbs.drain(..) {
            let queue = queue.clone();
            let sum = sum.clone();
            let store = store.clone();
            let progress = progress.clone();
            let ledger = ledger.clone();
            handles.push(tokio::spawn(async move {
                if let Phase::Pages = phase {
                    load_pages(
                        &mut conn,
                        &store,
                        queue,
                        &ledger,
                        load_opts,
                        &sum,
                        progress.as_ref(),
                    )
                    .await?;
                    return Ok::<Db, ReplayError>(conn);
                }
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(key) = next else { break };
                    attempt(&mut conn, &store, &Work::Manifest(&key), load_opts, &sum).await?;
                }
                Ok::<Db, ReplayError>(conn)
            }));
        }
        let mut first_err = None;
        for h in handles {
            match h.await {
                Ok(Ok(conn)) => dbs.push(conn),
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(join) => {
                    first_err.get_or_insert(ReplayError::Load {
                        key: String::new(),
                        source: LoadError::BadPage {
                            key: String::new(),
                            reason: format!("replay worker panicked: {join}"),
                        },
                    });
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
    }
    let out = sum.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if out.pages + out.manifests > 0 {
        // Statistics for what was just bulk-loaded; a failure here loses no data, so it
        // only warns.
        let analyzed = match Db::connect(db).await {
            Ok(mut c) => super::analyze_loaded(c.client(), objects.iter().map(String::as_str))
                .await
                .map_err(crate::db::DbError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = analyzed {
            tracing::warn!(error = %e, "ANALYZE after the replay failed");
        }
    }
    Ok(out)
}
