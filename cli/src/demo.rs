//! `cvdw demo`: the whole pipeline on one machine, with one command.
//!
//! The same code as in AWS, with local stand-ins where AWS would be:
//!
//! | AWS | here (default) | override |
//! |---|---|---|
//! | CV CRM's CVDW | the in-process simulator (seed, scale; its rate limit relaxed, and it says so) | `CVDW_BASE_URL` + `CVDW_EMAIL` + `CVDW_TOKEN` (a real tenant) |
//! | the raw S3 bucket | an in-process S3 server (s3s-fs, real S3 protocol) under `.cvdw/s3` | `AWS_ENDPOINT_URL_S3`/AWS credentials + `RAW_BUCKET` |
//! | S3 → load notifications | every key a cycle created is delivered as a real-shaped `ObjectCreated` event to the load Lambda's handler (`shared::load::event::handle_s3_event`) | — |
//! | Neon | `DATABASE_URL`, else 127.0.0.1:5432, else a private cluster under `.cvdw/pg` | `DATABASE_URL` |
//! | the api function URL | `http://127.0.0.1:3000` (the same router) with a generated API key | `--port` |
//!
//! A cycle is: extract (the first one is full), then load every landed page and manifest.
//! Without `--once`, the demo then serves the dashboard and, every `--every` seconds,
//! advances the simulator's clock and runs an incremental cycle, until Ctrl-C.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use shared::db::{Db, DbConfig};
use shared::extract::{jobs_from_config, ExtractConfig, TenantJob};
use shared::landing::{MANIFEST_PREFIX, RAW_PREFIX};
use shared::load::event::{handle_s3_event, object_created_event, KeyOutcome};
use shared::load::replay::ReplaySummary;
use shared::load::{LoadOptions, PageOutcome};
use shared::store::{ObjectStore, S3Store};

use crate::extract::{run_once, start_simulator, Display};
use crate::pg_local;

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Do one full cycle, print a summary and exit (for scripts and CI).
    #[arg(long)]
    pub once: bool,
    /// Dashboard port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Seconds between incremental cycles (each advances the simulator's clock first).
    #[arg(long, default_value_t = 60)]
    pub every: u64,
    /// Simulated days each cycle advances the clock.
    #[arg(long, default_value_t = 7)]
    pub advance_days: u32,
    /// Where the demo keeps its local S3 data and private PostgreSQL cluster.
    #[arg(long, default_value = ".cvdw")]
    pub dir: PathBuf,
    /// Database name created on the local server (ignored with DATABASE_URL).
    #[arg(long, default_value = "cvdw_demo")]
    pub database: String,
    /// Simulator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The simulated tenant's size: small (≈ 50 000 rows, the default), medium or large
    /// (`cvdw simulate --profile`).
    #[arg(long, default_value = "small")]
    pub profile: simulator::Profile,
    /// Multiplies the profile's size (0.5: half its rows).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The simulator's rate limit for the demo. The real CVDW allows 20/60s; the demo relaxes
    /// it so the first full extraction takes seconds, not half an hour.
    #[arg(long, default_value = "1000/60s")]
    pub sim_rate_limit: String,
    /// Objects to extract (default: all 70).
    #[arg(long)]
    pub objects: Option<String>,
    /// Tenant name in S3 keys and tables.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
}

/// What one cycle did: the load totals `cvdw load`/`replay` report, plus the extract side.
#[derive(Debug, Default, Clone)]
pub struct CycleSummary {
    pub objects: usize,
    pub load: ReplaySummary,
    pub extract_failures: usize,
    pub seconds: f64,
}

impl CycleSummary {
    fn line(&self) -> String {
        format!(
            "objects={} extract_failures={} {}",
            self.objects,
            self.extract_failures,
            self.load.line(self.seconds)
        )
    }
}

struct Pipeline {
    store: S3Store,
    s3: aws_sdk_s3::Client,
    config: ExtractConfig,
    jobs: Vec<TenantJob>,
    display: Arc<Display>,
    db: Db,
    seen: BTreeSet<String>,
}

impl Pipeline {
    /// Extract, then deliver every new key as an S3 event to the load handler.
    async fn cycle(&mut self, full: bool) -> anyhow::Result<CycleSummary> {
        let started = Instant::now();
        let extract_failures = run_once(
            &self.store,
            &self.config,
            &self.jobs,
            self.display.as_ref(),
            full,
            false,
        )
        .await;
        let mut new_keys = Vec::new();
        for prefix in [RAW_PREFIX, MANIFEST_PREFIX] {
            for o in self.store.list(prefix).await? {
                if self.seen.insert(o.key.clone()) {
                    new_keys.push(o.key);
                }
            }
        }
        let mut summary = CycleSummary {
            extract_failures,
            ..Default::default()
        };
        let mut objects = BTreeSet::new();
        // Pages first, then manifests, in batches the size S3 notifications have (one record
        // each in practice; batching here only saves round trips to the handler).
        new_keys.sort_by_key(|k| (k.starts_with(MANIFEST_PREFIX), k.clone()));
        eprintln!(
            "load: delivering {} S3 ObjectCreated events to the load handler",
            new_keys.len()
        );
        for chunk in new_keys.chunks(50) {
            let event = object_created_event(self.store.bucket(), chunk);
            let report =
                handle_s3_event(&mut self.db, &self.s3, event, LoadOptions::default()).await?;
            for (key, outcome) in &report.done {
                match outcome {
                    KeyOutcome::Page(page) => {
                        summary.load.add_page(page);
                        if let (PageOutcome::Loaded(_), Some(o)) = (page, key.split('/').nth(2)) {
                            objects.insert(o.to_string());
                        }
                    }
                    KeyOutcome::Manifest(_) => summary.load.manifests += 1,
                    KeyOutcome::Ignored => {}
                }
            }
            for f in &report.failures {
                eprintln!("load: FAILED {f}");
            }
            summary.load.failed += report.failures.len() as u64;
        }
        summary.objects = objects.len();
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // The progress display is the demo's output; library logs only when something is wrong.
    shared::telemetry::init_with_default(shared::telemetry::LogFormat::Pretty, "warn");
    shared::store::install_crypto_provider();
    let started = Instant::now();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;

    // PostgreSQL.
    let database = pg_local::find_or_start(&args.database, &args.dir).await?;
    let db_config = DbConfig::from_url(&database.url)?;
    eprintln!(
        "postgres: {} ({:?})",
        redact(&database.url),
        database.source
    );
    let mut db = Db::connect(&db_config)
        .await
        .context("connecting to PostgreSQL")?;
    let migrations = shared::db::migrate(db.client()).await?;
    eprintln!("postgres: migrations applied: {:?}", migrations.applied);

    // CVDW: a real tenant when configured, else the simulator.
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    let real = ["CVDW_BASE_URL", "CVDW_EMAIL", "CVDW_TOKEN"]
        .iter()
        .all(|k| vars.get(*k).is_some_and(|v| !v.trim().is_empty()));
    let mut sim = None;
    let mut _running_sim = None;
    if real {
        eprintln!(
            "cvdw: extracting from the real CVDW at {}",
            vars["CVDW_BASE_URL"]
        );
        vars.entry("CVDW_TENANT".into())
            .or_insert_with(|| args.tenant.clone());
    } else {
        let rate = simulator::RateLimit::parse(&args.sim_rate_limit)
            .map_err(|e| anyhow::anyhow!("--sim-rate-limit: {e}"))?;
        // The world's history ends now, São Paulo time, so "this month" and "the last 12
        // months" hold data whatever the day; the seed still fixes every count and relation.
        let world = simulator::SimConfig::for_profile(args.profile);
        let cfg = simulator::SimConfig {
            seed: args.seed,
            scale: world.scale * args.scale,
            rate_limit: rate,
            ..world
        }
        .ending_at(sao_paulo_now(chrono::Utc::now()));
        let (s, running) =
            start_simulator(cfg, &args.tenant, &args.sim_rate_limit, &mut vars).await?;
        eprintln!(
            "cvdw: simulator at {} (profile {} × {}, seed {}, its clock at {}); its rate limit is relaxed to {} for the demo (the real CVDW allows 20/60s)",
            running.base_url(),
            args.profile,
            args.scale,
            args.seed,
            s.now(),
            args.sim_rate_limit
        );
        sim = Some(s);
        _running_sim = Some(running);
    }
    if let Some(o) = &args.objects {
        vars.insert("CVDW_OBJECTS".into(), o.clone());
    }
    vars.entry("RAW_BUCKET".into())
        .or_insert_with(|| "cvdw-raw".into());
    // Each cycle decides full vs incremental by the cursor; the first is full (no cursor yet).
    vars.insert("EXTRACT_FULL_EVERY".into(), "never".into());
    // A demo cycle does all it plans: no budget tied to the time of day.
    vars.insert("EXTRACT_BUDGET".into(), "off".into());
    let config = ExtractConfig::from_lookup(|k| vars.get(k).cloned())?;

    // S3: a real endpoint when configured, else the local server.
    let aws = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|k| vars.get(*k).is_some_and(|v| !v.trim().is_empty()));
    let mut _local_s3 = None;
    let (store, s3) = if aws {
        let client = shared::store::s3_client_from_env().await;
        eprintln!("s3: bucket {} from the AWS environment", config.bucket);
        (S3Store::new(client.clone(), config.bucket.clone()), client)
    } else {
        let dir = args.dir.join("s3");
        let local = shared::local_s3::LocalS3::start(&dir)
            .await
            .context("starting the local S3 server")?;
        eprintln!(
            "s3: local S3 server at {} storing under {} (bucket {})",
            local.endpoint(),
            dir.display(),
            config.bucket
        );
        let store = local.store(&config.bucket).await?;
        let client = local.client().await;
        _local_s3 = Some(local);
        (store, client)
    };

    let display = Arc::new(Display::default());
    let hook_display = display.clone();
    let hook: shared::cvdw::WaitHook = Arc::new(move |kind, d| hook_display.wait(kind, d));
    let jobs = jobs_from_config(&config, Some(hook))?;
    let mut pipeline = Pipeline {
        store,
        s3,
        config,
        jobs,
        display,
        db,
        seen: BTreeSet::new(),
    };

    // The first cycle: a full extraction (no cursor yet) and its load.
    let first = pipeline.cycle(false).await?;
    let url = format!("http://127.0.0.1:{}/", args.port);
    if args.once {
        println!(
            "cvdw demo: {} url={url} total_seconds={:.1}",
            first.line(),
            started.elapsed().as_secs_f64()
        );
        if first.load.failed > 0 || first.extract_failures > 0 {
            anyhow::bail!("the cycle had failures (see above)");
        }
        return Ok(());
    }
    eprintln!("cycle 1: {}", first.line());

    // Serve the dashboard with a generated key.
    // A fresh key and session secret per start: nothing to configure, nothing left behind.
    let api_key = shared::secret::random_hex(24).map_err(anyhow::Error::msg)?;
    let config = shared::api::ApiConfig::from_plain_keys(
        "the demo's API key",
        &[api_key.as_str()],
        shared::api::generate_session_secret()?,
    )?;
    let state = Arc::new(shared::api::AppState::new(
        shared::api::Database::new(shared::api::connect_with(db_config.clone())),
        config,
    ));
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} (use --port)"))?;
    let server = tokio::spawn(shared::api::serve(listener, shared::api::router(state)));
    println!("\ncvdw demo: dashboard at {url}\ncvdw demo: API key (log in with it, or `Authorization: Bearer <key>`): {api_key}\n");

    let mut cycle = 1;
    let mut ticker = tokio::time::interval(Duration::from_secs(args.every.max(1)));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = ticker.tick() => {
                cycle += 1;
                if let Some(s) = &sim {
                    s.advance(args.advance_days);
                    eprintln!("cycle {cycle}: simulator clock +{} days → {}", args.advance_days, s.now());
                }
                match pipeline.cycle(false).await {
                    Ok(summary) => eprintln!("cycle {cycle}: {}", summary.line()),
                    Err(e) => eprintln!("cycle {cycle} failed: {e:#}"),
                }
            }
        }
    }
    eprintln!("cvdw demo: shutting down");
    server.abort();
    Ok(())
}

/// The wall-clock time in São Paulo, to the second, as CVDW writes its naive timestamps.
fn sao_paulo_now(utc: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    let date = shared::extract::schedule::sao_paulo_date(utc);
    let time = (utc - chrono::Duration::hours(3)).time();
    date.and_hms_opt(
        chrono::Timelike::hour(&time),
        chrono::Timelike::minute(&time),
        chrono::Timelike::second(&time),
    )
    .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN))
}

/// A connection URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sao_paulo_now_is_three_hours_behind_utc_across_midnight() {
        let utc = chrono::DateTime::parse_from_rfc3339("2026-12-08T02:30:15Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            sao_paulo_now(utc).to_string(),
            "2026-12-07 23:30:15",
            "the demo's world ends on the São Paulo day"
        );
    }
}
