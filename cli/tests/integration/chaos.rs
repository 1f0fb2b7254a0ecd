//! # Chaos: the whole pipeline under faults, crashes, disorder and dropped connections
//!
//! One seeded scenario runs simulator → extract → local S3 → load → PostgreSQL through the
//! production code paths (`shared::extract::Extractor` over the real S3 protocol, and every S3
//! notification through `shared::load::event::handle_s3_event`, the load Lambda's handler)
//! while what goes wrong in production goes wrong here:
//!
//! | what | how |
//! |---|---|
//! | CVDW faults | the simulator answers ~10% of requests with a random fault of every kind (429, 200-with-429-body, HTML 500, 422, truncated body, slow, reset); slow answers outlast a short client timeout, so they cost little |
//! | extract crashes | each invocation runs in a task over a [`ChaosStore`] that kills it at a seeded point: before a page is stored, after a page is stored but before its checkpoint, after a manifest but before the state, after the state but before the checkpoint, or while the Nth HTTP request is in flight (mid-page). A killed invocation never touches the bucket again (even its background checkpoint writes hang) and leaves its lock held: the restart waits out the lock's TTL and takes it over, as after a Lambda crash |
//! | hand-overs | some invocations get a page budget and hand over through a continuation event |
//! | overlap | some invocations get an overlapping twin (a second scheduled invocation): it must find the lock held, or take over a crashed holder |
//! | zombies | in two runs an invocation freezes before a page until a second invocation, started once the lock has expired, has taken it over and carried the run on; the frozen one then wakes up, writes its page and checkpoint as a zombie, and must stop on losing the lock |
//! | S3 events | one `ObjectCreated` event per successful put under `raw/` and `manifests/` (the template's notification filter, overwrites included), delivered shuffled, a quarter of them twice, and with a fifth of a run's pages held back until after the next run's events |
//! | PostgreSQL | at seeded events the loader's connection is killed with `pg_terminate_backend`: while idle before the event, or mid-transaction while the loader waits on a table lock the test holds; the event must fail *retryably*, and it is redelivered later (as Lambda's async retry does) and must then succeed |
//! | time | the simulator's clock advances between runs (creations, updates, distratos, inactivations, hard deletions): a full run, three incremental runs, a final full run |
//!
//! Then, after the final full run: the typed tables (and two objects of `cvdw.objects`) equal
//! the simulator's ground truth row for row (no key missing, none duplicated, no payload or
//! `ativo` stale, every hard deletion reflected, also in `analytics.fato_vendas`); their typed
//! columns and child rows equal a clean, in-order load of that ground truth; the ledger holds
//! every page in the bucket with its current sha256 and every manifest applied; and
//! `etl.rejected_rows` holds exactly the rows the simulator was told to malform.
//!
//! Nothing here asserts on wall-clock time (a noisy 2-core machine): waits are bounded polls.
//! The scenario is a pure function of the seed, except where real concurrency decides (which
//! request a mid-page kill interrupts, whether a connection kill lands before or during a
//! statement); the assertions hold either way.
//!
//! `cargo test -p cvdw --test chaos -- --nocapture` shows the figures; the last line is
//! `RESULT chaos faults=<n> kills=<n> redeliveries=<n> missing=0 duplicated=0 stale=0`.
//! `CHAOS_SEED=<n>` plays another scenario.

use crate::load_support;

use bytes::Bytes;
use load_support::*;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use shared::catalogue::{self, ObjectSpec};
use shared::cvdw::{ClientConfig, CvdwClient, Pacer, PacerConfig, RetryPolicy};
use shared::extract::{
    continuation_key, lock_key, ContinuationEvent, Deadline, ExtractError, Extractor, FullEvery,
    LocalContinuer, LockError, LockRecord, NoDeadline, ObjectStatus, Outcome, Quiet, RunSettings,
    TenantJob, TenantReport, Trigger,
};
use shared::landing::{Mode, RunId};
use shared::load::event::{handle_s3_event, object_created_event, EventReport};
use shared::load::tables::TYPED;
use shared::load::LoadOptions;
use shared::store::{Hooked, ObjectStore, S3Store, StoreCall, StoreError, StoreHook};
use simulator::{Fault, MalformSpec, Malformation, RateLimit, SimConfig, Simulator};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::Client;

const TENANT: &str = "chaos";
const DEFAULT_SEED: u64 = 8;
/// Objects without a typed table, compared in `cvdw.objects`.
const GENERIC: [&str; 2] = ["leads_tarefas", "pessoas"];
const LOCK_TTL: Duration = Duration::from_secs(1);

// ------------------------------------------------------------------------------------------
// Extract crashes: a store that kills its invocation at an exact point.

/// Where an invocation dies. Ordinals count within one invocation, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// Before the Nth page is stored.
    BeforePage(u32),
    /// After the Nth page is stored, before any later write (its checkpoint).
    AfterPage(u32),
    /// After the Nth manifest, before that object's state.
    AfterManifest(u32),
    /// After the Nth object state, before the checkpoint that moves past the object.
    AfterState(u32),
    /// While the Nth HTTP request of the invocation is in flight (the driver aborts the task).
    MidRequest(u64),
}

impl Kill {
    fn name(self) -> &'static str {
        match self {
            Kill::BeforePage(_) => "before-page",
            Kill::AfterPage(_) => "after-page",
            Kill::AfterManifest(_) => "after-manifest",
            Kill::AfterState(_) => "after-state",
            Kill::MidRequest(_) => "mid-request",
        }
    }
}

#[derive(Default)]
struct KillSwitch {
    plan: Option<Kill>,
    pages: AtomicU32,
    manifests: AtomicU32,
    states: AtomicU32,
    dead: AtomicBool,
    killed: tokio::sync::Notify,
    /// Stall (a frozen process, a network partition) before the Nth page, long enough for the
    /// lock to expire and another invocation to take it over; then carry on as a zombie.
    stall: Option<u32>,
    stall_pages: AtomicU32,
    stalled: tokio::sync::Notify,
}

/// The invocation's view of the bucket, as the hook of a [`ChaosStore`]. Every successful put
/// is recorded as the S3 event it would raise; the [`Kill`] plan stops the invocation dead.
struct Chaos {
    /// The bucket itself, unhooked: where a frozen invocation watches the lock.
    bucket: S3Store,
    kill: Arc<KillSwitch>,
    events: Arc<Mutex<Vec<String>>>,
}

type ChaosStore = Hooked<S3Store, Chaos>;

#[derive(PartialEq)]
enum Class {
    Page,
    Manifest,
    State,
    Other,
}

fn class(key: &str) -> Class {
    if key.starts_with("raw/") {
        Class::Page
    } else if key.starts_with("manifests/") {
        Class::Manifest
    } else if key.starts_with("state/") && !key.rsplit('/').next().unwrap_or("").starts_with('_') {
        Class::State
    } else {
        Class::Other
    }
}

impl Chaos {
    /// Mark the invocation dead and never return: the driver aborts the task.
    async fn die(&self) -> ! {
        self.kill.dead.store(true, Ordering::SeqCst);
        self.kill.killed.notify_one();
        std::future::pending::<()>().await;
        unreachable!()
    }

    /// A dead invocation's leftovers (background checkpoint writes) never reach the bucket.
    async fn gate(&self) {
        if self.kill.dead.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }

    /// Whether the plan kills before this put (counted as it is about to be written).
    fn kills_before(&self, key: &str) -> bool {
        match (class(key), self.kill.plan) {
            (Class::Page, Some(Kill::BeforePage(n))) => next(&self.kill.pages) == n,
            _ => false,
        }
    }

    /// Whether the plan kills after this put (counted once it is written).
    fn kills_after(&self, key: &str) -> bool {
        match (class(key), self.kill.plan) {
            (Class::Page, Some(Kill::AfterPage(n))) => next(&self.kill.pages) == n,
            (Class::Manifest, Some(Kill::AfterManifest(n))) => next(&self.kill.manifests) == n,
            (Class::State, Some(Kill::AfterState(n))) => next(&self.kill.states) == n,
            _ => false,
        }
    }

    /// Frozen until another invocation owns the tenant's lock (the driver starts the usurper
    /// once the lock has expired): waking on that, not after a fixed time, is what makes this
    /// invocation a zombie however slow the machine is. Bounded, so a usurper that never comes
    /// fails the test's count rather than hanging it.
    async fn until_taken_over(&self) {
        let owner = || async {
            let lock = self.bucket.get(&lock_key(TENANT)).await.ok()?;
            serde_json::from_slice::<LockRecord>(&lock.body)
                .ok()
                .map(|record| record.owner)
        };
        let frozen = owner().await;
        for _ in 0..6000 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if owner().await != frozen {
                return;
            }
        }
    }

    fn record(&self, key: &str) {
        if matches!(class(key), Class::Page | Class::Manifest) {
            self.events.lock().unwrap().push(key.to_string());
        }
    }
}

/// The ordinal of the next put of a class, from 1.
fn next(counter: &AtomicU32) -> u32 {
    counter.fetch_add(1, Ordering::SeqCst) + 1
}

impl StoreHook for Chaos {
    async fn before(&self, call: StoreCall<'_>) -> Result<(), StoreError> {
        self.gate().await;
        let StoreCall::Put { key } = call else {
            return Ok(());
        };
        if class(key) == Class::Page && self.kill.stall == Some(next(&self.kill.stall_pages)) {
            self.kill.stalled.notify_one();
            self.until_taken_over().await;
        }
        if self.kills_before(key) {
            self.die().await;
        }
        Ok(())
    }

    async fn written(&self, call: StoreCall<'_>) {
        self.record(call.key());
        if let StoreCall::Put { key } = call {
            if self.kills_after(key) {
                self.die().await;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// The scenario.

#[derive(Default)]
struct Figures {
    invocations: u32,
    twins: u32,
    stalls: u32,
    lost_locks: u32,
    kills: BTreeMap<&'static str, u32>,
    lock_waits: u32,
    handovers: u32,
    extract_errors: u32,
    events: u32,
    duplicates: u32,
    held_back: u32,
    pg_kills: BTreeMap<&'static str, u32>,
    failed_deliveries: u32,
    retries: u32,
}

struct Ctx {
    sim: Simulator,
    store: S3Store,
    job: TenantJob,
    settings: RunSettings,
    events: Arc<Mutex<Vec<String>>>,
    rng: SmallRng,
    fig: Figures,
}

type Task = tokio::task::JoinHandle<(
    Result<TenantReport, ExtractError>,
    Option<ContinuationEvent>,
)>;

enum Invocation {
    Done(
        Box<Result<TenantReport, ExtractError>>,
        Option<ContinuationEvent>,
    ),
    Killed,
}

impl Ctx {
    /// Start one invocation in its own task (after `delay`), over a store that kills it as
    /// `kill` says.
    fn spawn(
        &mut self,
        trigger: Trigger,
        kill: Option<Kill>,
        stall: Option<u32>,
        budget: Option<i64>,
        delay: Duration,
    ) -> (Task, Arc<KillSwitch>) {
        self.fig.invocations += 1;
        let switch = Arc::new(KillSwitch {
            plan: kill,
            stall,
            ..Default::default()
        });
        let chaos = Chaos {
            bucket: self.store.clone(),
            kill: switch.clone(),
            events: self.events.clone(),
        };
        let store: ChaosStore = Hooked::new(self.store.clone(), chaos);
        let job = self.job.clone();
        let settings = self.settings.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let continuer = LocalContinuer::default();
            let deadline: Box<dyn Deadline> = match budget {
                Some(n) => PageBudget::boxed(n),
                None => Box::new(NoDeadline),
            };
            let ex = Extractor {
                store: &store,
                settings: &settings,
                deadline: deadline.as_ref(),
                continuer: &continuer,
                progress: &Quiet,
            };
            let r = ex.run_tenant(&job, trigger).await;
            (r, continuer.pop())
        });
        (task, switch)
    }

    /// One invocation, killed as `kill` says; with `twin`, a second scheduled invocation
    /// starts that much later and overlaps it (an overlapping schedule: it must find the lock
    /// held, or take over a crashed or expired holder). With `stall`, the invocation freezes
    /// before that page and a second one starts once its lock has expired: the usurper takes
    /// the run over, the frozen one wakes up as a zombie and must notice it lost the lock.
    /// Outcomes in start order.
    async fn invoke(
        &mut self,
        trigger: Trigger,
        (kill, stall): (Option<Kill>, Option<u32>),
        budget: Option<i64>,
        twin: Option<Duration>,
        force_full: bool,
    ) -> Vec<Invocation> {
        let (mut task, switch) = self.spawn(trigger, kill, stall, budget, Duration::ZERO);
        let mut twin = twin.map(|d| {
            self.fig.twins += 1;
            self.spawn(Trigger::Scheduled { force_full }, None, None, None, d)
                .0
        });
        let in_flight = match kill {
            Some(Kill::MidRequest(n)) => Some(self.sim.stats().requests + n),
            _ => None,
        };
        let mut out = Vec::new();
        loop {
            tokio::select! {
                r = &mut task => {
                    let (r, cont) = r.expect("the extract task panicked");
                    out.push(Invocation::Done(Box::new(r), cont));
                    break;
                }
                _ = switch.killed.notified() => {}
                _ = switch.stalled.notified(), if twin.is_none() => {
                    // Its lock has at most one TTL left: start the usurper after that.
                    self.fig.stalls += 1;
                    let after = LOCK_TTL + Duration::from_millis(200);
                    let budget = Some(3);
                    twin = Some(self.spawn(Trigger::Scheduled { force_full }, None, None, budget, after).0);
                }
                _ = tokio::time::sleep(Duration::from_millis(2)), if in_flight.is_some() => {
                    if in_flight.is_some_and(|n| self.sim.stats().requests >= n) {
                        switch.dead.store(true, Ordering::SeqCst);
                    }
                }
            }
            if switch.dead.load(Ordering::SeqCst) {
                task.abort();
                let _ = (&mut task).await;
                *self
                    .fig
                    .kills
                    .entry(kill.map_or("?", Kill::name))
                    .or_default() += 1;
                out.push(Invocation::Killed);
                break;
            }
        }
        if let Some(t) = twin {
            let (r, cont) = t.await.expect("the extract task panicked");
            out.push(Invocation::Done(Box::new(r), cont));
        }
        out
    }

    /// The next kill: the kinds take turns by kills that happened (so each one happens), the
    /// point is seeded and early enough in the remaining work that it is usually reached.
    fn next_kill(&mut self, pages: u32, objects: u32) -> Kill {
        let turn: u32 = self.fig.kills.values().sum();
        let r = &mut self.rng;
        let pages = (pages / 3).max(1);
        let objects = (objects / 3).max(1);
        match turn % 5 {
            0 => Kill::BeforePage(r.random_range(1..=pages)),
            1 => Kill::AfterPage(r.random_range(1..=pages)),
            2 => Kill::AfterManifest(r.random_range(1..=objects)),
            3 => Kill::AfterState(r.random_range(1..=objects)),
            _ => Kill::MidRequest(r.random_range(1..=pages as u64)),
        }
    }

    /// Extract until a run completes, crashing `kills` invocations on the way. Returns the
    /// completed runs (more than one if a crash hit after a run's last write).
    async fn extract(
        &mut self,
        force_full: bool,
        mut kills: u32,
        mut stall: bool,
        pages_hint: u32,
    ) -> Vec<RunId> {
        let objects = self.job.objects.len() as u32;
        let mut trigger = Trigger::Scheduled { force_full };
        let mut runs = Vec::new();
        for _ in 0..500 {
            let kill = if kills > 0 {
                Some(self.next_kill(pages_hint, objects))
            } else {
                None
            };
            let budget = if self.rng.random_bool(0.25) {
                Some(self.rng.random_range(3..30))
            } else {
                None
            };
            let twin = if self.rng.random_bool(0.15) {
                Some(Duration::from_millis(self.rng.random_range(0..1500)))
            } else {
                None
            };
            // A stalling phase starts with invocations that stall (unkilled, unlimited) until
            // one does; the usurper hands over soon, and the kills come after.
            let (kill, twin, budget, stall_at) = if stall {
                // Early: the first invocations of a run may fail on the scripted faults.
                let at = self.rng.random_range(1..=2);
                (None, None, None, Some(at))
            } else {
                (kill, twin, budget, None)
            };
            let stalls = self.fig.stalls;
            let outcomes = self
                .invoke(trigger.clone(), (kill, stall_at), budget, twin, force_full)
                .await;
            // The first outcome is the invocation that stalled, if one did.
            let zombie = self.fig.stalls > stalls;
            stall &= !zombie;
            trigger = Trigger::Scheduled { force_full };
            let mut done = false;
            let mut skipped = false;
            for (index, o) in outcomes.into_iter().enumerate() {
                let o = match o {
                    Invocation::Done(r, cont) => Ok((*r, cont)),
                    Invocation::Killed => Err(()),
                };
                match o {
                    Err(()) => kills = kills.saturating_sub(1),
                    Ok((Err(e), _)) => {
                        assert!(e.is_retryable(), "extract failed permanently: {e}");
                        // Only the zombie's loss is counted: with a short TTL, a starved
                        // live invocation may lose its lock to an overlapping one too, which
                        // is a retryable error like any other.
                        if zombie
                            && index == 0
                            && matches!(e, ExtractError::Lock(LockError::Lost { .. }))
                        {
                            self.fig.lost_locks += 1;
                        } else {
                            self.fig.extract_errors += 1;
                        }
                    }
                    Ok((Ok(r), cont)) => {
                        for o in &r.objects {
                            assert_eq!(
                                o.status,
                                ObjectStatus::Done,
                                "{}: {:?}",
                                o.object,
                                o.status
                            );
                        }
                        match r.outcome {
                            Outcome::Completed => {
                                runs.push(r.run_id.clone().expect("a completed run has an id"));
                                done = true;
                            }
                            Outcome::Continued => {
                                self.fig.handovers += 1;
                                let ev = cont.expect("a continued run hands over");
                                trigger = Trigger::Continuation {
                                    run_id: Some(ev.cvdw_continuation.run_id),
                                };
                            }
                            // The lock of a crashed (or live, overlapping) invocation.
                            Outcome::Skipped(_) => {
                                self.fig.lock_waits += 1;
                                skipped = true;
                            }
                            Outcome::NothingToContinue => {}
                        }
                    }
                }
            }
            // Done when a run completed and none is pending (an overlapping invocation may
            // have started another one, which this phase then finishes).
            let pending = !matches!(
                self.store.get(&continuation_key(TENANT)).await,
                Err(StoreError::NotFound { .. })
            );
            if done && !pending {
                return runs;
            }
            if skipped {
                // Give a held lock a quarter of its TTL before the schedule tries again.
                tokio::time::sleep(LOCK_TTL / 4).await;
            }
        }
        panic!("the extract never completed in 500 invocations");
    }
}

// ------------------------------------------------------------------------------------------
// S3 events and connection kills.

/// How the loader's connection is killed around one event.
#[derive(Debug, Clone, Copy)]
enum PgKill {
    /// Terminated while idle, just before the event arrives.
    Idle,
    /// Terminated mid-transaction, while it waits for a lock the test holds on this table.
    Blocked(&'static str),
}

impl PgKill {
    fn name(self) -> &'static str {
        match self {
            PgKill::Idle => "idle",
            PgKill::Blocked("etl.pages") => "blocked-on-ledger",
            PgKill::Blocked("etl.manifests") => "blocked-on-manifests",
            PgKill::Blocked(_) => "blocked-on-quarantine",
        }
    }
}

struct Loader {
    db: shared::db::Db,
    s3: aws_sdk_s3::Client,
    bucket: String,
    /// Holds the blocking table locks.
    locker: Client,
    /// Watches `pg_stat_activity` and terminates backends.
    watcher: Client,
}

/// Terminate a backend; with `wait`, until it is gone (up to 5 s).
async fn terminate(watcher: &Client, pid: i32, wait: bool) -> bool {
    let timeout: i64 = if wait { 5000 } else { 0 };
    scalar(
        watcher,
        "SELECT pg_terminate_backend($1, $2)",
        &[&pid, &timeout],
    )
    .await
}

impl Loader {
    async fn connect(config: &shared::db::DbConfig, store: &S3Store) -> Loader {
        Loader {
            db: shared::db::Db::connect(config).await.unwrap(),
            s3: store.client().clone(),
            bucket: store.bucket().to_string(),
            locker: shared::db::open_client(config).await.unwrap(),
            watcher: shared::db::open_client(config).await.unwrap(),
        }
    }

    async fn pid(&mut self) -> Option<i32> {
        self.db.ensure_connected().await.ok()?;
        let r = self
            .db
            .client()
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .ok()?;
        Some(r.get(0))
    }

    /// Deliver one S3 event for `key`, killing the connection as `kill` says. Returns the
    /// report and whether a kill landed.
    async fn deliver(&mut self, key: &str, kill: Option<PgKill>) -> (EventReport, bool) {
        let event = object_created_event(&self.bucket, &[key.to_string()]);
        let opts = LoadOptions::default();
        let Some(kill) = kill else {
            let r = handle_s3_event(&mut self.db, &self.s3, event, opts).await;
            return (r.expect("the loader could not reach the database"), false);
        };
        let Some(pid) = self.pid().await else {
            let r = handle_s3_event(&mut self.db, &self.s3, event, opts).await;
            return (r.expect("the loader could not reach the database"), false);
        };
        match kill {
            PgKill::Idle => {
                // Gone before the event arrives, as after an idle timeout or a failover.
                let killed = terminate(&self.watcher, pid, true).await;
                let r = handle_s3_event(&mut self.db, &self.s3, event, opts).await;
                (r.expect("the loader could not reconnect"), killed)
            }
            PgKill::Blocked(table) => {
                // Test code: the table name is one of three constants.
                self.locker
                    .batch_execute(&format!(
                        "BEGIN; LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"
                    ))
                    .await
                    .unwrap();
                let mut locked = true;
                let mut killed = false;
                let watcher = &self.watcher;
                let locker = &self.locker;
                let fut = handle_s3_event(&mut self.db, &self.s3, event, opts);
                tokio::pin!(fut);
                let mut polls = 0u32;
                let r = loop {
                    tokio::select! {
                        biased;
                        r = &mut fut => break r,
                        _ = tokio::time::sleep(Duration::from_millis(3)), if locked => {
                            polls += 1;
                            let waiting = watcher
                                .query_opt(
                                    "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                                    &[&pid],
                                )
                                .await
                                .unwrap()
                                .is_some();
                            if waiting {
                                // No waiting: the statement's FATAL races the socket's EOF.
                                killed = terminate(watcher, pid, false).await;
                            }
                            // Never hold the lock for good: a loader that somehow does not
                            // wait on it must not hang the test.
                            if waiting || polls > 5000 {
                                locker.batch_execute("ROLLBACK").await.unwrap();
                                locked = false;
                            }
                        }
                    }
                };
                if locked {
                    locker.batch_execute("ROLLBACK").await.unwrap();
                }
                (r.expect("the loader could not reconnect"), killed)
            }
        }
    }
}

/// One S3 event to deliver (a raw page or manifest key); `retry` when Lambda re-delivers it
/// after a failure.
struct Delivery {
    key: String,
    retry: bool,
}

/// Account for one delivery; a failed one comes back a little later, as Lambda's async retry.
fn settle(
    ctx: &mut Ctx,
    queue: &mut VecDeque<Delivery>,
    d: Delivery,
    (report, killed): (EventReport, bool),
    kill: Option<PgKill>,
) {
    ctx.fig.events += 1;
    if d.retry {
        ctx.fig.retries += 1;
    }
    if killed {
        *ctx.fig
            .pg_kills
            .entry(kill.map_or("?", PgKill::name))
            .or_default() += 1;
    }
    if report.failures.is_empty() {
        return;
    }
    if std::env::var_os("CHAOS_VERBOSE").is_some() {
        println!("chaos: {kill:?} killed={killed}: {:?}", report.failures);
    }
    // Only a killed connection fails a delivery, and only that one: the next event finds a
    // new connection (and concurrent loads neither deadlock nor fail each other).
    assert!(
        killed,
        "{}: failed without a kill: {:?}",
        d.key, report.failures
    );
    assert_eq!(
        report.permanent_failures, 0,
        "{}: a killed connection must fail retryably: {:?}",
        d.key, report.failures
    );
    ctx.fig.failed_deliveries += 1;
    let at = ctx.rng.random_range(0..=queue.len().min(8));
    queue.insert(
        at,
        Delivery {
            key: d.key,
            retry: true,
        },
    );
}

/// S3's at-least-once, unordered delivery: a quarter of the events twice, all shuffled.
fn scramble(keys: Vec<String>, rng: &mut SmallRng, fig: &mut Figures) -> Vec<String> {
    let mut out = keys.clone();
    for k in keys {
        if rng.random_bool(0.25) {
            fig.duplicates += 1;
            out.push(k);
        }
    }
    out.shuffle(rng);
    out
}

/// Deliver a run's events (shuffled, some twice, a fifth of its pages held back) and then the
/// previous run's held-back pages; failed deliveries come back a few events later. Returns
/// this run's held-back events.
async fn deliver_run(
    ctx: &mut Ctx,
    lanes: &mut [Loader; 2],
    events: Vec<String>,
    held_before: Vec<String>,
    hold: bool,
) -> Vec<String> {
    let mut now: Vec<String> = Vec::new();
    let mut held: Vec<String> = Vec::new();
    for k in events {
        if hold && k.starts_with("raw/") && ctx.rng.random_bool(0.2) {
            held.push(k);
        } else {
            now.push(k);
        }
    }
    ctx.fig.held_back += held.len() as u32;
    let mut queue: VecDeque<Delivery> = VecDeque::new();
    let now = scramble(now, &mut ctx.rng, &mut ctx.fig);
    let late = scramble(held_before, &mut ctx.rng, &mut ctx.fig);
    for k in now.into_iter().chain(late) {
        queue.push_back(Delivery {
            key: k,
            retry: false,
        });
    }
    while let Some(a) = queue.pop_front() {
        // Two load functions at once, as Lambda scales out on a burst of events; at most one
        // of them has its connection killed.
        let b = queue.pop_front();
        let kill = if ctx.rng.random_bool(0.12) {
            Some(match ctx.rng.random_range(0..4) {
                0 => PgKill::Idle,
                1 => PgKill::Blocked("etl.pages"),
                2 => PgKill::Blocked("etl.manifests"),
                _ => PgKill::Blocked("etl.rejected_rows"),
            })
        } else {
            None
        };
        let on_b = b.is_some() && ctx.rng.random_bool(0.5);
        let (ka, kb) = if on_b { (None, kill) } else { (kill, None) };
        let [la, lb] = lanes;
        let (ra, rb) = tokio::join!(la.deliver(&a.key, ka), async {
            match &b {
                Some(d) => Some(lb.deliver(&d.key, kb).await),
                None => None,
            }
        });
        settle(ctx, &mut queue, a, ra, ka);
        if let (Some(b), Some(rb)) = (b, rb) {
            settle(ctx, &mut queue, b, rb, kb);
        }
    }
    held
}

// ------------------------------------------------------------------------------------------

fn job(base_url: &str, objects: &[&str]) -> TenantJob {
    let mut c = ClientConfig::new(
        base_url,
        "demo@cvdw.local",
        shared::secret::Secret::new("demo-token"),
    );
    c.page_size = 10;
    // Slow faults (1.5 s) outlast this, so each costs one short timeout and a retry.
    c.timeout = Duration::from_millis(800);
    c.connect_timeout = Duration::from_secs(1);
    c.retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_throttles: 8,
    };
    let mut p = PacerConfig::new(10_000, Duration::from_secs(1));
    p.throttle_pause = Duration::from_millis(30);
    p.throttle_pause_max = Duration::from_millis(120);
    TenantJob {
        tenant: TENANT.into(),
        objects: catalogue::select(&objects.join(",")).unwrap(),
        client: CvdwClient::new(c, Arc::new(Pacer::new(p))).unwrap(),
    }
}

fn malformations() -> Vec<MalformSpec> {
    vec![
        malformed::text_in("/vendas", 2, "valor_contrato"),
        malformed::text_in("/comissoes", 1, "valor_comissao"),
        malformed::no_key("/reservas", 1),
        malformed::no_key("/leads/tarefas", 1),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_loses_nothing_and_duplicates_nothing() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    shared::store::install_crypto_provider();
    let sim = Simulator::new(SimConfig {
        seed,
        scale: 0.03,
        rate_limit: RateLimit::disabled(),
        fault_rate: 0.10,
        slow_delay: Duration::from_millis(1500),
        malformed: malformations(),
        // Small worlds almost never see a distrato; this one sees a few every run.
        distratos_per_day: Some(0.5),
        ..Default::default()
    });
    let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let bucket = LocalBucket::start("cvdw-raw-chaos").await;
    let store = bucket.store.clone();
    let objects: Vec<&str> = TYPED.iter().map(|t| t.object).chain(GENERIC).collect();
    let mut ctx = Ctx {
        job: job(&running.base_url(), &objects),
        sim: sim.clone(),
        store: store.clone(),
        settings: RunSettings {
            overlap: Duration::from_secs(600),
            full_every: FullEvery::Never,
            deadline_margin: Duration::from_secs(1),
            lock_ttl: LOCK_TTL,
            store_attempts: 2,
            ..RunSettings::default()
        },
        events: Arc::default(),
        rng: SmallRng::seed_from_u64(seed),
        fig: Figures::default(),
    };
    let mut t = TestDb::migrated("chaos").await;
    let mut lanes = [
        Loader::connect(&t.config, &store).await,
        Loader::connect(&t.config, &store).await,
    ];

    // (label, days to advance first, force full, extract kills, a stalled invocation)
    let phases = [
        ("full", 0, false, 4, true),
        ("incremental", 3, false, 2, false),
        ("incremental", 4, false, 2, true),
        ("incremental", 5, false, 2, false),
        ("final full", 2, true, 3, false),
    ];
    let mut held: Vec<String> = Vec::new();
    let mut hard_deleted: HashMap<String, HashSet<String>> = HashMap::new();
    let mut pages_hint = 120;
    for (i, (label, days, force_full, kills, stall)) in phases.into_iter().enumerate() {
        // A floor of one fault of each kind per run, in a row: five transient failures on one
        // page exhaust its attempts, so the invocation stops retryably and the schedule
        // resumes it. The random 10% come on top.
        sim.script_faults(Fault::ALL);
        let mut changed = String::new();
        if days > 0 {
            let changes = sim.advance(days);
            let mut total = simulator::ObjectChanges::default();
            for o in &objects {
                let c = changes.counts(catalogue::find(o).unwrap().path);
                total.created += c.created;
                total.updated += c.updated;
                total.inactivated += c.inactivated;
                total.deleted += c.deleted;
            }
            let distratos = changes.counts("/distratos").created;
            changed = format!(
                " after {days} days ({} created incl. {distratos} distratos, {} updated, {} inactivated, {} deleted)",
                total.created, total.updated, total.inactivated, total.deleted
            );
            for (path, keys) in changes.deleted_keys {
                if objects.contains(&catalogue::find(&path).unwrap().name) {
                    hard_deleted.entry(path).or_default().extend(keys);
                }
            }
        }
        let start = ctx.events.lock().unwrap().len();
        let clock = std::time::Instant::now();
        let runs = ctx.extract(force_full, kills, stall, pages_hint).await;
        let events: Vec<String> = ctx.events.lock().unwrap()[start..].to_vec();
        let pages = events.iter().filter(|k| k.starts_with("raw/")).count();
        let extracted = clock.elapsed();
        let n_events = events.len();
        pages_hint = (pages as u32).max(5);
        let last = i + 1 == phases.len();
        let before = std::mem::take(&mut held);
        held = deliver_run(&mut ctx, &mut lanes, events, before, !last).await;
        println!(
            "chaos: run {i} ({label}){changed} {}: {pages} page and {} manifest events; extract {:.1}s, load {:.1}s",
            runs.iter().map(RunId::as_str).collect::<Vec<_>>().join(", "),
            n_events - pages,
            extracted.as_secs_f64(),
            (clock.elapsed() - extracted).as_secs_f64(),
        );
    }
    assert!(held.is_empty());
    let fig = &ctx.fig;

    // The extractor closed its last run: no continuation, lock released.
    assert!(matches!(
        store.get(&continuation_key(TENANT)).await,
        Err(StoreError::NotFound { .. })
    ));
    let lock: LockRecord =
        serde_json::from_slice(&store.get(&lock_key(TENANT)).await.unwrap().body).unwrap();
    assert!(lock.released, "lock left held: {lock:?}");

    let c = t.client();
    // The ledger: every page in the bucket, with the bytes the bucket holds now.
    let ledger: HashMap<String, String> =
        rows(c, "SELECT source_key, sha256 FROM etl.pages", &[]).await;
    let listed = store.list("raw/").await.unwrap();
    let mut unledgered = Vec::new();
    for o in &listed {
        let stored = store.get(&o.key).await.unwrap();
        let body = shared::landing::decode_page(&stored.metadata, stored.body).unwrap();
        if ledger.get(&o.key) != Some(&shared::load::sha256_hex(&body)) {
            unledgered.push(o.key.clone());
        }
    }
    assert!(
        unledgered.is_empty(),
        "pages not in the ledger as stored: {unledgered:?}"
    );
    assert_eq!(
        ledger.len(),
        listed.len(),
        "the ledger names pages the bucket lacks"
    );
    let manifests = store.list("manifests/").await.unwrap();
    let applied: i64 = scalar(
        c,
        "SELECT count(*) FROM etl.manifests WHERE applied_at IS NOT NULL",
        &[],
    )
    .await;
    assert_eq!(applied as usize, manifests.len(), "every manifest applied");
    let open_failures: i64 = scalar(
        c,
        "SELECT count(*) FROM etl.failed_pages WHERE resolved_at IS NULL",
        &[],
    )
    .await;
    assert_eq!(open_failures, 0, "pages left failed");

    // Quarantine: exactly the rows the simulator gave a value no column takes, each at least
    // once. Rows it served without their ids are not quarantined: they are stored under derived
    // keys, and the row-for-row comparison below finds them.
    let malformed: Vec<_> = sim
        .malformed_rows()
        .into_iter()
        .filter(|m| m.malformation != Malformation::NoKey)
        .collect();
    let rejected: HashSet<(String, String)> = c
        .query(
            "SELECT object, coalesce(natural_key, raw->'referencia' #>> '{}') FROM etl.rejected_rows",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let object: String = r.get(0);
            let key: Option<String> = r.get(1);
            (object, key.unwrap_or_default())
        })
        .collect();
    let expected: HashSet<(String, String)> = malformed
        .iter()
        .map(|m| {
            let spec = catalogue::find(&m.object_path).unwrap();
            (spec.name.to_string(), m.key.clone())
        })
        .collect();
    assert_eq!(
        rejected, expected,
        "rejected rows vs the simulator's malformed rows"
    );

    // Row for row against the ground truth.
    let mut missing = Vec::new();
    let mut duplicated = Vec::new();
    let mut stale = Vec::new();
    let mut deleted = 0;
    for name in &objects {
        let spec: &ObjectSpec = catalogue::find(name).unwrap();
        let bad: HashSet<String> = malformed
            .iter()
            .filter(|m| m.object_path == spec.path)
            .map(|m| m.key.clone())
            .collect();
        let d = diff_against_truth(c, TENANT, spec, &sim.ground_truth(spec.path), &bad).await;
        missing.extend(d.missing);
        duplicated.extend(d.duplicated);
        stale.extend(d.stale);
        deleted += d.deleted;
    }
    let hard: usize = hard_deleted.values().map(HashSet::len).sum();
    // The views see what the tables say: sales = live, active vendas with a sale date.
    let fato: HashSet<String> = column_where(
        c,
        "SELECT idreserva::text FROM analytics.fato_vendas WHERE tenant = $1",
        &[&TENANT],
    )
    .await;
    let vendas = catalogue::find("vendas").unwrap();
    let want_fato: HashSet<String> = sim
        .ground_truth("/vendas")
        .iter()
        .filter(|v| {
            let k = vendas.natural_key(v);
            k.is_some()
                && !malformed
                    .iter()
                    .any(|m| m.object_path == "/vendas" && Some(&m.key) == k.as_ref())
                && v.get("ativo")
                    .and_then(|a| shared::values::parse_bool(a).ok())
                    .flatten()
                    != Some(false)
                && v["data_venda"]
                    .as_str()
                    .and_then(shared::values::parse_datetime)
                    .is_some()
        })
        .map(|v| vendas.natural_key(v).unwrap())
        .collect();
    for k in fato.symmetric_difference(&want_fato) {
        stale.push(format!("analytics.fato_vendas {k}"));
    }

    // Typed columns and child rows: equal to a clean, in-order load of the ground truth.
    let mut reference = TestDb::migrated("chaos_ref").await;
    let run = RunId::new(chrono::Utc::now(), 0xc1ea);
    for name in &objects {
        let spec = catalogue::find(name).unwrap();
        let pages = run_pages(
            TENANT,
            spec.path,
            &run,
            Mode::Full,
            &sim.ground_truth(spec.path),
            500,
        );
        let (mk, mb) = manifest(&pages, Mode::Full);
        for p in pages {
            deliver_item(reference.client(), &Item::Page(p)).await;
        }
        deliver_item(reference.client(), &Item::Manifest(mk, mb)).await;
    }
    let want = content_dump(reference.client(), TENANT, &objects).await;
    let got = content_dump(t.client(), TENANT, &objects).await;
    for (table, rows) in &want {
        let have: HashSet<&String> = got[table].iter().collect();
        let need: HashSet<&String> = rows.iter().collect();
        for r in need.symmetric_difference(&have) {
            stale.push(format!("{table}: {}", &r[..r.len().min(200)]));
        }
    }
    reference.drop().await;

    let faults = sim.stats().faults;
    let by_kind: Vec<String> = sim
        .fault_counts()
        .iter()
        .map(|(f, n)| format!("{f:?}={n}"))
        .collect();
    println!(
        "chaos: seed={seed} requests={} faults={faults} ({})",
        sim.stats().requests,
        by_kind.join(" ")
    );
    println!(
        "chaos: extract invocations={} (overlapping={}) kills={:?} skipped on a held lock={} stalled={} zombies that lost their lock={} hand-overs={} retryable errors={}",
        fig.invocations, fig.twins, fig.kills, fig.lock_waits, fig.stalls, fig.lost_locks, fig.handovers, fig.extract_errors
    );
    println!(
        "chaos: events={} duplicated={} held back={} pg kills={:?} failed deliveries={} retried={}",
        fig.events, fig.duplicates, fig.held_back, fig.pg_kills, fig.failed_deliveries, fig.retries
    );
    println!(
        "chaos: {} pages in the bucket and the ledger, {} manifests applied, {} rejected rows ({} malformed), {deleted} rows marked deleted ({hard} hard-deleted in the source)",
        listed.len(),
        manifests.len(),
        rejected.len(),
        malformed.len()
    );
    for (what, v) in [
        ("missing", &missing),
        ("duplicated", &duplicated),
        ("stale", &stale),
    ] {
        for x in v.iter().take(20) {
            println!("chaos: {what}: {x}");
        }
    }
    let kills = fig.kills.values().sum::<u32>() + fig.pg_kills.values().sum::<u32>();
    let redeliveries = fig.duplicates + fig.retries;
    println!(
        "RESULT chaos faults={faults} kills={kills} redeliveries={redeliveries} missing={} duplicated={} stale={}",
        missing.len(),
        duplicated.len(),
        stale.len()
    );
    assert_eq!(missing.len(), 0);
    assert_eq!(duplicated.len(), 0);
    assert_eq!(stale.len(), 0);
    // The scenario did what it says (else a green run would prove little).
    for (f, n) in sim.fault_counts() {
        assert!(n > 0, "no {f:?} fault was injected");
    }
    assert_eq!(
        fig.kills.len(),
        5,
        "every kind of extract kill: {:?}",
        fig.kills
    );
    assert!(
        fig.pg_kills.values().sum::<u32>() >= 3,
        "pg kills: {:?}",
        fig.pg_kills
    );
    assert!(fig.failed_deliveries > 0 && fig.retries > 0);
    assert!(deleted > 0, "no deletion was reflected");
    assert!(fig.stalls > 0, "no invocation stalled");
    assert_eq!(
        fig.lost_locks, fig.stalls,
        "every stalled invocation found its lock taken over"
    );
    drop(lanes);
    t.drop().await;
}

/// Regression: a connection killed mid-transaction fails its event retryably, with the
/// server's reason, and the *next* event gets a new connection. (`is_closed()` lags behind the
/// server's FATAL; the loader used to keep the dead connection and fail one more event.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_transaction_does_not_fail_the_next_event() {
    let bucket = LocalBucket::start("cvdw-raw-kill").await;
    let store = bucket.store.clone();
    let run = run_id(0, 1);
    let mut keys = Vec::new();
    for n in 1..=3u32 {
        let rows: Vec<_> = (0..3).map(|i| venda(i64::from(n) * 10 + i, 1)).collect();
        let p = page(TENANT, "/vendas", &run, n, Mode::Full, envelope(&rows, n));
        store
            .put(
                &p.key,
                Bytes::from(p.body),
                "application/json",
                &p.meta.to_metadata(),
            )
            .await
            .unwrap();
        keys.push(p.key);
    }
    let t = TestDb::migrated("chaos_kill").await;
    let mut loader = Loader::connect(&t.config, &store).await;
    for round in 0..3 {
        let (r, killed) = loader
            .deliver(&keys[0], Some(PgKill::Blocked("etl.pages")))
            .await;
        if round == 0 {
            assert!(killed, "the loader never waited on the ledger lock");
            assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
            assert_eq!(r.permanent_failures, 0, "{:?}", r.failures);
            // The server's FATAL when it arrives first, else the closed socket.
            assert!(
                r.failures[0].contains("terminating connection")
                    || r.failures[0].contains("connection closed"),
                "the failure names why: {:?}",
                r.failures
            );
        }
        let (next, _) = loader.deliver(&keys[1 + round % 2], None).await;
        assert!(
            next.failures.is_empty(),
            "round {round}: {:?}",
            next.failures
        );
    }
    let (again, _) = loader.deliver(&keys[0], None).await;
    assert!(again.failures.is_empty(), "{:?}", again.failures);
    let loaded: i64 = scalar(
        loader.db.client(),
        "SELECT count(*) FROM cvdw.vendas WHERE tenant = $1",
        &[&TENANT],
    )
    .await;
    assert_eq!(loaded, 9);
    drop(loader);
    t.drop().await;
}
