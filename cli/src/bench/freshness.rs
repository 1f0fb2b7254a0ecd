//! `cvdw bench freshness`: how fresh a big tenant's data stays under the 20 requests/minute
//! ceiling, over a simulated week run through the real code path.
//!
//! **What runs.** The simulator serves a profile's world (clean values: this measures time,
//! not dirt) whose clock ends `--days` + 1 days before today, so no simulated date is in the
//! real future. The extractor is configured exactly as the Lambda is
//! ([`ExtractConfig::from_lookup`]: the slot budget, the sales set daily and the rest weekly,
//! the 15-minute invocation and its continuations, the lock, the landing zone in the local S3
//! server), with one difference: its calendar is a [`WarpClock`] that runs `--speedup` times
//! faster than real time and skips the idle hours between scheduled runs. The rate limit (the
//! simulator's and the pacer's), the Lambda deadline and the retry pauses are compressed by
//! the same factor, so every run makes the same requests in the same simulated time as in
//! production. Every stored page and manifest is announced, as S3 would, to an in-process
//! loader that upserts it into a fresh PostgreSQL database (`DATABASE_URL` or the local
//! server).
//!
//! **The schedule.** Runs start at 06, 10, 14, 18 and 22 São Paulo time (the template's
//! schedule) for `--days` days. Before each run the world advances to the run's start
//! (`Simulator::advance_by`: new leads, interactions, reservations, sales, distratos and hard
//! deletions at the profile's daily rates, spread over the span).
//!
//! **The figures.**
//! - `backfill_vs_floor`: from the first run's start to the moment every object's first full
//!   pass is stored in PostgreSQL, ÷ the floor (the pages of those passes at 20 a minute).
//! - `sales_stale_max_min`: for every run after the backfill, the time from its scheduled
//!   start until PostgreSQL holds every row of the sales set changed in the day before that
//!   start, with its current `referencia_data` (checked against the simulator, key by key,
//!   every few simulated seconds). Runs start late only if the previous one overran its slot;
//!   staleness counts from the scheduled time.
//! - `sales_deletion_lag_max_h`, `other_deletion_lag_max_h`: from a hard deletion in the
//!   simulator to the moment PostgreSQL marks that row `deleted_at`. A deletion is dated at the
//!   start of the span it happened in (an upper bound of the lag). Deletions not reconciled by
//!   the end count with their age then (a lower bound), and are reported apart. Content-keyed
//!   objects (docs/row-identity.md) have no natural key to follow and are left out.
//! - `budget_used`: requests ÷ the runs' budgets; `throttled`: 429s the simulator answered.
//!
//! The last line is `RESULT freshness backfill_vs_floor=<x> sales_stale_max_min=<m>
//! sales_deletion_lag_max_h=<h> other_deletion_lag_max_h=<h> throttled=<n>`.
//!
//! **Limits.** The compressed limit must stay below what the simulator, the local S3 server
//! and the loader sustain on the machine, or the extractor falls behind its own allowance and
//! the figures are worse than production's; the benchmark prints the loader's backlog so that
//! is visible, and `--speedup` lowers the pressure.

use anyhow::Context;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use shared::catalogue::{self, ObjectSpec};
use shared::db::{self, Db};
use shared::extract::schedule::{next_run_after, Plan};
use shared::extract::{
    drive, Clock, Deadline, DeadlineAt, ExtractConfig, Outcome, Progress, WarpClock,
};
use shared::load::event::handle_key;
use shared::load::LoadOptions;
use shared::local_s3::LocalS3;
use shared::store::Announcing;
use simulator::{Profile, Quirks, RateLimit, SimConfig, Simulator};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: crate::load::DbArgs,
    /// The tenant's size: small, medium or large (≥ 3 million rows).
    #[arg(long, default_value = "large")]
    pub profile: Profile,
    /// Simulated days of scheduled runs.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Simulated seconds per real second while a run works.
    #[arg(long, default_value_t = 150.0)]
    pub speedup: f64,
    /// Seed of the world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// São Paulo hours of the scheduled runs (the template's schedule).
const RUN_HOURS: [u32; 5] = [6, 10, 14, 18, 22];
/// The Lambda's time limit, in simulated time.
const INVOCATION: Duration = Duration::from_secs(15 * 60);
/// How often the checker looks at PostgreSQL, in simulated time.
const CHECK_EVERY: Duration = Duration::from_secs(20);
/// The window of sales changes a run must have stored to count as fresh.
const CHANGE_WINDOW_H: i64 = 24;
const TENANT: &str = "bench";
/// Load functions at once: the template's `LoadReservedConcurrency` default.
const LOADERS: usize = 5;

pub async fn run(args: Args) -> anyhow::Result<()> {
    shared::store::install_crypto_provider();
    anyhow::ensure!(
        args.speedup >= 1.0 && args.days >= 1,
        "--speedup must be ≥ 1 and --days ≥ 1"
    );
    let real_window = Duration::from_secs(60).div_f64(args.speedup);
    let started = Instant::now();
    let end_of_week = Utc::now().naive_utc() - ChronoDuration::days(1);
    let world_start = end_of_week - ChronoDuration::days(i64::from(args.days));
    let sim = Simulator::new(
        SimConfig {
            seed: args.seed,
            quirks: Quirks::none(),
            rate_limit: RateLimit::new(20, real_window),
            ..SimConfig::for_profile(args.profile)
        }
        .ending_at(world_start),
    );
    let rows: usize = catalogue::OBJECTS
        .iter()
        .map(|o| sim.row_count(o.path))
        .sum();
    // The floor of the first complete sync: every object's pages at 20 a minute.
    let floor_pages: u64 = catalogue::OBJECTS
        .iter()
        .map(|o| (sim.row_count(o.path) as u64).div_ceil(500).max(1))
        .sum();
    println!(
        "world: profile {}, {rows} rows, generated in {:.1} s; speedup ×{}",
        args.profile,
        started.elapsed().as_secs_f64(),
        args.speedup
    );
    let running = sim.serve("127.0.0.1:0".parse()?).await?;
    let dir = std::env::temp_dir().join(format!("cvdw-bench-freshness-{}", std::process::id()));
    let s3 = LocalS3::start(&dir).await?;
    let (store, created) = Announcing::new(s3.store("cvdw-bench-freshness").await?);

    let admin = args.db.config()?;
    let db_cfg = db::create_fresh_database(&admin, "bench_freshness").await?;
    let mut check_db = Db::connect(&db_cfg).await?;
    db::migrate(check_db.client()).await?;
    let mut connections = Vec::new();
    for _ in 0..LOADERS {
        connections.push(Db::connect(&db_cfg).await?);
    }
    let loader = Loader::start(
        connections,
        s3.store("cvdw-bench-freshness").await?,
        created,
    );

    let warp = Arc::new(WarpClock::new(sao_paulo_to_utc(world_start), args.speedup));
    let cfg = extract_config(&running.base_url(), real_window, &warp)?;
    let jobs = shared::extract::jobs_from_config(&cfg, None)?;
    let watch = Watch::default();
    let mut week = Week {
        floor_pages,
        ..Week::default()
    };
    let mut world_now = world_start;
    let mut slot = next_run_after(warp.now(), &RUN_HOURS);
    let last_slot = sao_paulo_to_utc(end_of_week);

    let deadline =
        || -> Box<dyn Deadline> { Box::new(DeadlineAt(Instant::now() + warp.real(INVOCATION))) };
    while slot <= last_slot {
        // The world moves to the run's start; the clock stands still meanwhile.
        warp.freeze();
        let at = utc_to_sao_paulo(slot);
        let changes = sim.advance_by((at - world_now).to_std().unwrap_or_default());
        week.note_deletions(&changes.deleted_keys, sao_paulo_to_utc(world_now));
        world_now = at;
        let expected = week
            .backfilled
            .then(|| sales_changes(&sim, at - ChronoDuration::hours(CHANGE_WINDOW_H)));
        warp.jump_to(slot.max(warp.now()));
        let late = warp.now() - slot;

        let requests_before = jobs[0].client.pacer().stats().await.requests;
        let run_done = std::sync::atomic::AtomicBool::new(false);
        let run = async {
            let reports = drive(&store, &cfg.run, &jobs, &watch, &deadline, false, 10_000).await;
            run_done.store(true, Ordering::SeqCst);
            (reports, warp.now())
        };
        let check = watch_run(&mut check_db, &warp, &loader, &run_done, expected.as_ref());
        let ((reports, ran_until), fresh_at) = tokio::join!(run, check);
        let requests = jobs[0].client.pacer().stats().await.requests - requests_before;
        for (_, report) in reports.into_iter().flatten() {
            let report = report.context("an extract invocation failed")?;
            week.throttled += report.throttled;
            if matches!(report.outcome, Outcome::Skipped(_)) {
                week.skipped += 1;
            }
            week.note_objects(&report.objects);
        }
        week.requests += requests;
        week.budget += watch.take_budget();
        loader.drain().await;
        let loaded_at = warp.now();
        week.finish_run(
            slot,
            late,
            fresh_at,
            ran_until,
            loaded_at,
            expected.is_some(),
        );
        week.check_deletions(&mut check_db, loaded_at).await?;
        println!(
            "{}",
            week.run_line(slot, requests, late, ran_until, loader.backlog())
        );
        slot = next_run_after(slot, &RUN_HOURS);
    }
    warp.freeze();
    let result = week.result(warp.now());
    drop(running);
    let _ = db::drop_database(&admin, db_cfg.dbname().unwrap_or_default()).await;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "real time {:.0} s; loader: {} keys, {} failed",
        started.elapsed().as_secs_f64(),
        loader.loaded.load(Ordering::Relaxed),
        loader.failed.load(Ordering::Relaxed)
    );
    println!("{result}");
    Ok(())
}

/// The extractor's configuration as the Lambda reads it, with the rate limit, the deadline
/// margin and the retry pauses compressed, and the warped calendar.
fn extract_config(
    base_url: &str,
    real_window: Duration,
    warp: &Arc<WarpClock>,
) -> anyhow::Result<ExtractConfig> {
    let compressed = |simulated: Duration| format!("{}ms", warp.real(simulated).as_millis().max(1));
    let env: HashMap<&str, String> = [
        ("RAW_BUCKET", "cvdw-bench-freshness".to_string()),
        ("CVDW_TENANT", TENANT.to_string()),
        ("CVDW_SUBDOMAIN", TENANT.to_string()),
        ("CVDW_EMAIL", "demo@cvdw.local".to_string()),
        ("CVDW_TOKEN", "demo-token".to_string()),
        ("CVDW_BASE_URL", base_url.to_string()),
        (
            "CVDW_RATE_LIMIT",
            format!("20/{}ms", real_window.as_millis().max(1)),
        ),
        ("CVDW_BACKOFF_BASE", compressed(Duration::from_secs(2))),
        ("CVDW_BACKOFF_MAX", compressed(Duration::from_secs(60))),
        ("CVDW_THROTTLE_PAUSE", compressed(Duration::from_secs(60))),
        (
            "EXTRACT_DEADLINE_MARGIN",
            compressed(Duration::from_secs(90)),
        ),
    ]
    .into_iter()
    .collect();
    let mut cfg = ExtractConfig::from_lookup(|k| env.get(k).cloned())?;
    cfg.run.clock = Clock::Warped(warp.clone());
    Ok(cfg)
}

/// CVDW's (and the simulator's) dates are São Paulo wall time: UTC−3, no DST since 2019.
fn sao_paulo_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    (local + ChronoDuration::hours(3)).and_utc()
}

fn utc_to_sao_paulo(at: DateTime<Utc>) -> NaiveDateTime {
    (at - ChronoDuration::hours(3)).naive_utc()
}

/// Rows of the sales set changed since `since`, as the simulator serves them now: object
/// name → natural key → `referencia_data`.
type SalesChanges = BTreeMap<&'static str, HashMap<String, String>>;

fn sales_changes(sim: &Simulator, since: NaiveDateTime) -> SalesChanges {
    let since = since.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut out = SalesChanges::new();
    for spec in sales_specs() {
        let rows = sim
            .ground_truth(spec.path)
            .into_iter()
            .filter_map(|row| {
                let at = row.get("referencia_data")?.as_str()?.to_string();
                (at >= since).then(|| Some((spec.natural_key(&row)?, at)))?
            })
            .collect();
        out.insert(spec.name, rows);
    }
    out
}

fn sales_specs() -> impl Iterator<Item = &'static ObjectSpec> {
    catalogue::SALES_SET
        .iter()
        .filter_map(|name| catalogue::find(name))
}

/// The table an object lands in, and whether rows are told apart by an `object` column.
/// Table names come from the static list in `shared::load::tables`.
fn table_of(spec: &ObjectSpec) -> (String, bool) {
    match shared::load::tables::typed(spec.name) {
        Some(typed) => (format!("cvdw.\"{}\"", typed.table), false),
        None => ("cvdw.objects".to_string(), true),
    }
}

/// `columns` of the stored rows of `spec` with one of `keys` (and `and`, a fixed condition).
async fn rows_by_key(
    db: &mut Db,
    spec: &ObjectSpec,
    columns: &str,
    and: &str,
    keys: &[&str],
) -> anyhow::Result<Vec<tokio_postgres::Row>> {
    let (table, by_object) = table_of(spec);
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE tenant = $1 AND natural_key = ANY($2){and}{}",
        if by_object { " AND object = $3" } else { "" }
    );
    Ok(if by_object {
        db.client()
            .query(&sql, &[&TENANT, &keys, &spec.name])
            .await?
    } else {
        db.client().query(&sql, &[&TENANT, &keys]).await?
    })
}

/// The first expected row PostgreSQL does not hold with its current `referencia_data`, if any.
async fn missing_sales_change(
    db: &mut Db,
    expected: &SalesChanges,
) -> anyhow::Result<Option<String>> {
    for spec in sales_specs() {
        let Some(want) = expected.get(spec.name).filter(|w| !w.is_empty()) else {
            continue;
        };
        let keys: Vec<&str> = want.keys().map(String::as_str).collect();
        let rows = rows_by_key(
            db,
            spec,
            "natural_key, to_char(referencia_data, 'YYYY-MM-DD HH24:MI:SS')",
            "",
            &keys,
        )
        .await?;
        let stored: HashMap<String, Option<String>> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let missing = want
            .iter()
            .find(|(key, at)| stored.get(*key).and_then(Option::as_deref) != Some(at.as_str()));
        if let Some((key, at)) = missing {
            let held = stored.get(key).cloned().flatten();
            return Ok(Some(format!(
                "{} {key} at {at} (stored: {})",
                spec.name,
                held.as_deref().unwrap_or("absent")
            )));
        }
    }
    Ok(None)
}

/// Polls PostgreSQL while a run works; returns when the expected sales changes are all
/// stored (`Some(at)`), or `None` when the run and its loading are over and they are not.
async fn watch_run(
    db: &mut Db,
    warp: &WarpClock,
    loader: &Loader,
    run_done: &std::sync::atomic::AtomicBool,
    expected: Option<&SalesChanges>,
) -> Option<DateTime<Utc>> {
    let expected = expected?;
    loop {
        let over = run_done.load(Ordering::SeqCst) && loader.backlog() == 0;
        match missing_sales_change(db, expected).await {
            Ok(None) => return Some(warp.now()),
            Ok(Some(missing)) if over => {
                println!("  not stored after the run: {missing}");
                return None;
            }
            Err(e) if over => {
                println!("  the check failed: {e}");
                return None;
            }
            _ => tokio::time::sleep(warp.real(CHECK_EVERY)).await,
        }
    }
}

/// The in-process load side: every announced key is loaded as the load Lambda loads it on
/// its S3 notification, by [`LOADERS`] workers at once (the template's default reserved
/// concurrency of the load function), each on its own connection, in no set order.
struct Loader {
    pending: Arc<AtomicUsize>,
    loaded: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Loader {
    fn start(
        connections: Vec<Db>,
        store: shared::store::S3Store,
        mut created: tokio::sync::mpsc::UnboundedReceiver<String>,
    ) -> Self {
        let pending = Arc::new(AtomicUsize::new(0));
        let loaded = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        // Counted when announced, so a drain never misses a key still in the channel.
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let counter = pending.clone();
        tokio::spawn(async move {
            while let Some(key) = created.recv().await {
                counter.fetch_add(1, Ordering::SeqCst);
                if tx.send(key).is_err() {
                    break;
                }
            }
        });
        let queue = Arc::new(tokio::sync::Mutex::new(rx));
        for mut db in connections {
            let (queue, store) = (queue.clone(), store.clone());
            let (p, l, f) = (pending.clone(), loaded.clone(), failed.clone());
            tokio::spawn(async move {
                loop {
                    let Some(key) = queue.lock().await.recv().await else {
                        break;
                    };
                    match handle_key(db.client(), &store, &key, LoadOptions::default()).await {
                        Ok(_) => l.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("load {key}: {e}");
                            f.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    p.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
        Self {
            pending,
            loaded,
            failed,
        }
    }

    fn backlog(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Waits until every key announced so far is loaded.
    async fn drain(&self) {
        // The forwarder counts a key a moment after the store announced it.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while self.backlog() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Collects each new run's budget from its plan.
#[derive(Default)]
struct Watch {
    budget: Mutex<u64>,
}

impl Watch {
    fn take_budget(&self) -> u64 {
        std::mem::take(&mut *self.budget.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Progress for Watch {
    fn plan_ready(&self, _tenant: &str, plan: &Plan) {
        *self.budget.lock().unwrap_or_else(|e| e.into_inner()) += plan.budget;
    }
}

/// A deletion in the simulator, waiting to show in PostgreSQL.
struct Deletion {
    spec: &'static ObjectSpec,
    key: String,
    at: DateTime<Utc>,
}

/// What the week has shown so far.
#[derive(Default)]
struct Week {
    first_start: Option<DateTime<Utc>>,
    backfilled: bool,
    backfill_done: std::collections::BTreeSet<&'static str>,
    floor_pages: u64,
    backfill_vs_floor: Option<f64>,
    sales_stale_max: Option<ChronoDuration>,
    stale_unmet: u32,
    runs: u32,
    late_max: ChronoDuration,
    pending: Vec<Deletion>,
    sales_lag_max: ChronoDuration,
    other_lag_max: ChronoDuration,
    reconciled: u64,
    untracked_deletions: u64,
    requests: u64,
    budget: u64,
    throttled: u64,
    skipped: u64,
}

impl Week {
    fn note_deletions(&mut self, deleted: &BTreeMap<String, Vec<String>>, at: DateTime<Utc>) {
        for (path, keys) in deleted {
            let Some(spec) = catalogue::find(path) else {
                continue;
            };
            if spec.content_keyed {
                self.untracked_deletions += keys.len() as u64;
                continue;
            }
            self.pending.extend(keys.iter().map(|key| Deletion {
                spec,
                key: key.clone(),
                at,
            }));
        }
    }

    fn note_objects(&mut self, objects: &[shared::extract::ObjectReport]) {
        if self.backfilled {
            return;
        }
        for object in objects {
            if object.mode == shared::landing::Mode::Full
                && object.status == shared::extract::ObjectStatus::Done
            {
                if let Some(spec) = catalogue::find(&object.object) {
                    self.backfill_done.insert(spec.name);
                }
            }
        }
    }

    fn finish_run(
        &mut self,
        slot: DateTime<Utc>,
        late: ChronoDuration,
        fresh_at: Option<DateTime<Utc>>,
        ran_until: DateTime<Utc>,
        loaded_at: DateTime<Utc>,
        checked: bool,
    ) {
        self.runs += 1;
        self.late_max = self.late_max.max(late);
        let first = *self.first_start.get_or_insert(slot);
        if checked {
            match fresh_at {
                Some(at) => {
                    let stale = at - slot;
                    self.sales_stale_max =
                        Some(self.sales_stale_max.map_or(stale, |m| m.max(stale)));
                }
                None => self.stale_unmet += 1,
            }
        }
        if !self.backfilled && self.backfill_done.len() == catalogue::OBJECTS.len() {
            self.backfilled = true;
            let took = (loaded_at.max(ran_until) - first).num_seconds() as f64;
            let floor = self.floor_pages as f64 * 3.0;
            self.backfill_vs_floor = Some(took / floor.max(1.0));
        }
    }

    async fn check_deletions(&mut self, db: &mut Db, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut by_object: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for deletion in &self.pending {
            by_object
                .entry(deletion.spec.name)
                .or_default()
                .push(deletion.key.clone());
        }
        let mut reconciled = std::collections::HashSet::new();
        for (name, keys) in by_object {
            let Some(spec) = catalogue::find(name) else {
                continue;
            };
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let rows = rows_by_key(
                db,
                spec,
                "natural_key",
                " AND deleted_at IS NOT NULL",
                &keys,
            )
            .await?;
            for row in rows {
                reconciled.insert((name, row.get::<_, String>(0)));
            }
        }
        let mut still = Vec::new();
        for deletion in self.pending.drain(..) {
            if reconciled.contains(&(deletion.spec.name, deletion.key.clone())) {
                let lag = now - deletion.at;
                let max = if catalogue::is_sales(deletion.spec.name) {
                    &mut self.sales_lag_max
                } else {
                    &mut self.other_lag_max
                };
                *max = (*max).max(lag);
                self.reconciled += 1;
            } else {
                still.push(deletion);
            }
        }
        self.pending = still;
        Ok(())
    }

    fn run_line(
        &self,
        slot: DateTime<Utc>,
        requests: u64,
        late: ChronoDuration,
        ran_until: DateTime<Utc>,
        backlog: usize,
    ) -> String {
        format!(
            "run {} (SP): {requests} requests, late {} min, worked {} min, loader backlog {backlog}{}",
            utc_to_sao_paulo(slot).format("%a %d %H:%M"),
            late.num_minutes(),
            (ran_until - slot).num_minutes(),
            if self.backfilled { "" } else { " [backfill]" }
        )
    }

    fn result(&self, end: DateTime<Utc>) -> String {
        let hours = |d: ChronoDuration| d.num_minutes() as f64 / 60.0;
        let (mut sales_open, mut other_open) = (ChronoDuration::zero(), ChronoDuration::zero());
        for deletion in &self.pending {
            let age = end - deletion.at;
            if catalogue::is_sales(deletion.spec.name) {
                sales_open = sales_open.max(age);
            } else {
                other_open = other_open.max(age);
            }
        }
        let stale_min = self
            .sales_stale_max
            .map_or(f64::INFINITY, |d| d.num_seconds() as f64 / 60.0);
        println!(
            "backfill floor: {} pages; runs {} (latest start {} min late, {} skipped on a held lock); \
             sales checks never met: {}",
            self.floor_pages, self.runs, self.late_max.num_minutes(), self.skipped, self.stale_unmet
        );
        println!(
            "deletions: {} reconciled, {} still open at the end (oldest: sales {:.1} h, other {:.1} h), \
             {} in content-keyed objects not followed",
            self.reconciled,
            self.pending.len(),
            hours(sales_open),
            hours(other_open),
            self.untracked_deletions
        );
        println!(
            "requests {} ÷ budget {} = {:.2}; goals: backfill_vs_floor ≤ 1.05, sales_stale_max_min ≤ 15, \
             sales_deletion_lag_max_h ≤ 24, other_deletion_lag_max_h ≤ 168, throttled = 0",
            self.requests,
            self.budget,
            self.requests as f64 / self.budget.max(1) as f64
        );
        format!(
            "RESULT freshness backfill_vs_floor={:.3} sales_stale_max_min={:.1} \
             sales_deletion_lag_max_h={:.1} other_deletion_lag_max_h={:.1} throttled={}",
            self.backfill_vs_floor.unwrap_or(f64::INFINITY),
            if self.stale_unmet > 0 {
                f64::INFINITY
            } else {
                stale_min
            },
            hours(self.sales_lag_max.max(sales_open)),
            hours(self.other_lag_max.max(other_open)),
            self.throttled
        )
    }
}
