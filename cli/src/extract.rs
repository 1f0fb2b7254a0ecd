//! `cvdw extract`: the same extraction the Lambda runs, from a terminal.
//!
//! Configuration is the Lambda's (see `shared::extract` for every variable), plus local
//! stand-ins so it runs with nothing set up:
//! - **CVDW**: when neither `CVDW_BASE_URL`, `CVDW_TENANTS` nor `CVDW_SUBDOMAIN` is set, an
//!   in-process simulator is started (tenant `demo`, its rate limit time-compressed to
//!   `--sim-rate-limit`, default 20/2s) — said so on stderr.
//! - **S3**: without `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`/`AWS_ACCESS_KEY_ID`/`AWS_PROFILE`,
//!   an in-process S3 server (s3s-fs) serves `--s3-dir` (default `./.cvdw/s3`).
//!
//! Deadlines do not apply locally: one invocation runs to the end (a pending continuation
//! from an interrupted run is resumed first). Progress — objects, pages, rate-limit waits — goes
//! to stderr; the per-tenant reports go to stdout as JSON with `--json`.

use anyhow::Context;
use shared::cvdw::{WaitHook, WaitKind};
use shared::extract::{
    drive, jobs_from_config, Deadline, ExtractConfig, NoDeadline, ObjectReport, ObjectStatus,
    Progress, TenantReport,
};
use shared::landing::{Mode, RunId};
use shared::store::{ObjectStore, S3Store};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct ExtractArgs {
    /// Run once and exit (default: run again every --every, like the schedule).
    #[arg(long)]
    pub once: bool,
    /// Interval between runs without --once.
    #[arg(long, default_value = "15m")]
    pub every: String,
    /// Objects to extract, e.g. `vendas,reservas` (default: CVDW_OBJECTS, else all 70).
    #[arg(long)]
    pub objects: Option<String>,
    /// Landing-zone bucket (default: RAW_BUCKET, else `cvdw-raw` on the local S3 server).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Force a full run (no date filter) for every object.
    #[arg(long)]
    pub full: bool,
    /// Directory of the local S3 server (used only without AWS configuration).
    #[arg(long, default_value = ".cvdw/s3")]
    pub s3_dir: PathBuf,
    /// Scale of the in-process simulator (used only when no CVDW is configured).
    #[arg(long, default_value_t = 0.05)]
    pub sim_scale: f64,
    /// Rate limit of the in-process simulator, also applied to the pacer unless
    /// CVDW_RATE_LIMIT is set.
    #[arg(long, default_value = "20/2s")]
    pub sim_rate_limit: String,
    /// Print each tenant's report as a JSON line on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ExtractArgs) -> anyhow::Result<()> {
    shared::telemetry::init(shared::telemetry::LogFormat::Pretty);
    shared::store::install_crypto_provider();
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    let set =
        |vars: &HashMap<String, String>, k: &str| vars.get(k).is_some_and(|v| !v.trim().is_empty());

    // CVDW: the real thing, or an in-process simulator.
    let mut _sim = None;
    if !set(&vars, "CVDW_BASE_URL") && !set(&vars, "CVDW_TENANTS") && !set(&vars, "CVDW_SUBDOMAIN")
    {
        let rate = simulator::RateLimit::parse(&args.sim_rate_limit)
            .map_err(|e| anyhow::anyhow!("--sim-rate-limit: {e}"))?;
        let cfg = simulator::SimConfig {
            scale: args.sim_scale,
            rate_limit: rate,
            ..Default::default()
        };
        let (_, running) = start_simulator(cfg, "demo", &args.sim_rate_limit, &mut vars).await?;
        eprintln!(
            "cvdw extract: no CVDW configured (CVDW_BASE_URL, CVDW_TENANTS, CVDW_SUBDOMAIN unset): \
             started the in-process simulator at {} (scale {}, limit {})",
            running.base_url(),
            args.sim_scale,
            args.sim_rate_limit
        );
        _sim = Some(running);
    }
    if let Some(b) = &args.bucket {
        vars.insert("RAW_BUCKET".into(), b.clone());
    }
    vars.entry("RAW_BUCKET".into())
        .or_insert_with(|| "cvdw-raw".into());
    if let Some(o) = &args.objects {
        vars.insert("CVDW_OBJECTS".into(), o.clone());
    }
    let mut config = ExtractConfig::from_lookup(|k| vars.get(k).cloned())?;
    if let Some(o) = &args.objects {
        // --objects applies to every tenant, CVDW_TENANTS included.
        let list = shared::catalogue::select(o)?;
        for t in &mut config.tenants {
            t.objects = list.clone();
        }
    }

    // S3: AWS (or any endpoint from the standard variables), or the local server.
    let aws = [
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
    ]
    .iter()
    .any(|k| set(&vars, k));
    let mut _local = None;
    let store = if aws {
        eprintln!(
            "cvdw extract: S3 from the AWS environment, bucket {}",
            config.bucket
        );
        S3Store::new(
            shared::store::s3_client_from_env().await,
            config.bucket.clone(),
        )
    } else {
        let local = shared::local_s3::LocalS3::start(&args.s3_dir)
            .await
            .with_context(|| {
                format!("starting the local S3 server on {}", args.s3_dir.display())
            })?;
        eprintln!(
            "cvdw extract: no AWS configuration: local S3 server at {} serving {}, bucket {}",
            local.endpoint(),
            args.s3_dir.display(),
            config.bucket
        );
        let store = local.store(&config.bucket).await?;
        _local = Some(local);
        store
    };

    let display = Arc::new(Display::default());
    let hook_display = display.clone();
    let hook: WaitHook = Arc::new(move |kind, d| hook_display.wait(kind, d));
    let jobs = jobs_from_config(&config, Some(hook))?;
    let every = shared::extract::config::parse_duration(&args.every)
        .ok_or_else(|| anyhow::anyhow!("--every: `{}` is not a duration", args.every))?;

    loop {
        let failed = run_once(
            &store,
            &config,
            &jobs,
            display.as_ref(),
            args.full,
            args.json,
        )
        .await;
        if args.once {
            if failed > 0 {
                anyhow::bail!("{failed} tenant run(s) failed");
            }
            return Ok(());
        }
        eprintln!("cvdw extract: next run in {}", humanize(every));
        tokio::time::sleep(every).await;
    }
}

/// Start an in-process simulator on a free loopback port and point the extract configuration
/// variables at it (base URL, tenant, its credentials; its rate limit for the pacer unless
/// `CVDW_RATE_LIMIT` is already set). Keep the returned server alive while extracting.
pub async fn start_simulator(
    cfg: simulator::SimConfig,
    tenant: &str,
    rate_limit: &str,
    vars: &mut HashMap<String, String>,
) -> anyhow::Result<(simulator::Simulator, simulator::RunningSimulator)> {
    let (email, token) = (cfg.email.clone(), cfg.token.clone());
    let sim = simulator::Simulator::new(cfg);
    let running = sim
        .serve("127.0.0.1:0".parse()?)
        .await
        .context("starting the in-process simulator")?;
    vars.insert("CVDW_BASE_URL".into(), running.base_url());
    vars.insert("CVDW_TENANT".into(), tenant.into());
    vars.insert("CVDW_EMAIL".into(), email);
    vars.insert("CVDW_TOKEN".into(), token);
    vars.entry("CVDW_RATE_LIMIT".into())
        .or_insert_with(|| rate_limit.to_string());
    vars.remove("CVDW_TENANTS");
    vars.remove("CVDW_SUBDOMAIN");
    Ok((sim, running))
}

/// One scheduled run (and, locally, every continuation it hands over). Returns the number
/// of failed tenant runs.
pub async fn run_once<S: ObjectStore>(
    store: &S,
    config: &ExtractConfig,
    jobs: &[shared::extract::TenantJob],
    progress: &dyn Progress,
    full: bool,
    json: bool,
) -> usize {
    let no_deadline = || -> Box<dyn Deadline> { Box::new(NoDeadline) };
    let invocations = drive(
        store,
        &config.run,
        jobs,
        progress,
        &no_deadline,
        full,
        10_000,
    )
    .await;
    let mut failed = 0;
    for (tenant, result) in invocations.into_iter().flatten() {
        match result {
            Ok(r) => {
                summary(&r);
                if json {
                    if let Ok(line) = serde_json::to_string(&r) {
                        println!("{line}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("[{tenant}] FAILED: {e}");
            }
        }
    }
    failed
}

fn summary(r: &TenantReport) {
    let failed: Vec<&ObjectReport> = r
        .objects
        .iter()
        .filter(|o| o.status != ObjectStatus::Done)
        .collect();
    eprintln!(
        "[{}] run {}: {:?}; {} objects, {} pages, {} rows, {} throttled, {} retries, {}",
        r.tenant,
        r.run_id.as_ref().map(|r| r.as_str()).unwrap_or("-"),
        r.outcome,
        r.objects.len(),
        r.pages,
        r.rows,
        r.throttled,
        r.retries,
        humanize(Duration::from_millis(r.duration_ms)),
    );
    for o in failed {
        if let ObjectStatus::Failed(m) = &o.status {
            eprintln!("[{}]   {} failed: {m}", r.tenant, o.object);
        }
    }
}

fn humanize(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d < Duration::from_secs(120) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{:.1} min", d.as_secs_f64() / 60.0)
    }
}

/// Line-oriented progress on stderr (works in CI logs as well as terminals). Short waits for
/// the rate-limit window are summed and shown when they add up, not one line per request.
#[derive(Default)]
pub struct Display {
    state: Mutex<DisplayState>,
}

#[derive(Default)]
struct DisplayState {
    pending_wait: Duration,
    last_wait_line: Option<Instant>,
}

impl Display {
    /// Note a wait (rate limit, throttle pause, backoff) of the client.
    pub fn wait(&self, kind: WaitKind, d: Duration) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        match kind {
            WaitKind::RateLimit => {
                st.pending_wait += d;
                let due = st
                    .last_wait_line
                    .is_none_or(|t| t.elapsed() > Duration::from_secs(5));
                if d >= Duration::from_secs(1) || (due && st.pending_wait >= Duration::from_secs(1))
                {
                    eprintln!(
                        "  … waiting for the rate limit ({} now, {} since the last note)",
                        humanize(d),
                        humanize(st.pending_wait)
                    );
                    st.pending_wait = Duration::ZERO;
                    st.last_wait_line = Some(Instant::now());
                }
            }
            WaitKind::Throttled => {
                eprintln!(
                    "  ! CVDW said \"Too many requests\": pausing the credential {}",
                    humanize(d)
                )
            }
            WaitKind::Backoff => eprintln!("  ! transient failure: retrying in {}", humanize(d)),
        }
        let _ = std::io::stderr().flush();
    }
}

impl Progress for Display {
    fn run_started(&self, tenant: &str, run_id: &RunId, resumed: bool) {
        eprintln!(
            "[{tenant}] {} run {run_id}",
            if resumed { "resuming" } else { "starting" }
        );
    }
    fn plan_ready(&self, tenant: &str, plan: &shared::extract::schedule::Plan) {
        eprintln!("[{tenant}] plan: {}", plan.describe());
    }
    fn object_started(&self, tenant: &str, object: &str, mode: Mode, index: usize, total: usize) {
        eprintln!(
            "[{tenant}] ({}/{total}) {object}: {}",
            index + 1,
            mode.as_str()
        );
    }
    fn page_stored(&self, tenant: &str, object: &str, page: u32, rows: u32) {
        eprintln!("[{tenant}]     {object} page {page}: {rows} rows stored");
    }
    fn object_finished(&self, tenant: &str, r: &ObjectReport) {
        eprintln!(
            "[{tenant}]     {} done: {} pages, {} rows, cursor {} → {}",
            r.object,
            r.pages,
            r.rows,
            r.cursor_before.as_deref().unwrap_or("(none)"),
            r.cursor_after.as_deref().unwrap_or("(none)")
        );
    }
}
