//! `cvdw bench freshness`: how fresh a big tenant's data stays under the 20 requests/minute
//! ceiling, over a simulated week run through the real code path.
//!
//! **What runs.** The simulator serves a profile's world (clean values: this measures time,
//! not dirt) whose clock ends `--days` + 1 days before today, so no simulated date is in the
//! real future. The extractor is configured exactly as the Lambda is
//! ([`ExtractConfig::from_lookup`]: the slot budget, the sales set daily and the rest every six days,
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

mod check;
mod week;

use anyhow::Context;
use check::{sales_changes, watch_run, Loader};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use shared::catalogue;
use shared::db::{self, Db};
use shared::extract::schedule::{next_run_after, Plan};
use shared::extract::{
    drive, Clock, Deadline, DeadlineAt, ExtractConfig, Outcome, Progress, WarpClock,
};
use shared::local_s3::LocalS3;
use shared::store::Announcer;
use simulator::{Profile, Quirks, RateLimit, SimConfig, Simulator};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use week::Week;

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
    let (store, created) = Announcer::around(s3.store("cvdw-bench-freshness").await?);

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
