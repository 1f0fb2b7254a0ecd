//! `cvdw bench extract`: how fully the pacer uses a time-compressed rate limit, and whether
//! extraction streams.
//!
//! 1. **Baseline** (same run): the unpaced sequential request rate the simulator sustains on
//!    this machine, to show the paced figure is bound by the allowance, not by latency.
//! 2. **Pacing**: the simulator enforces its real sliding-window limit, time-compressed
//!    (default 20 requests per 2 s); a full extraction of `/leads/interacoes` with a page size
//!    that needs about `--seconds` of allowance. Achieved rate = requests after the first
//!    window ÷ time from the first to the last request; ratio = achieved ÷ allowed. The 429s
//!    counted are the simulator's real rejections.
//! 3. **Streaming**: the same object at 500 rows per page, unpaced, three full passes, while
//!    the process RSS is sampled every 20 ms; peak RSS growth is compared with the bytes stored
//!    (flat across passes = page by page, nothing accumulates).
//!
//! The last line is `RESULT extract pacing_ratio=<x> throttled=<n> ...`.

use shared::cvdw::{ClientConfig, CvdwClient, Pacer, PacerConfig, PageRequest};
use shared::extract::{drive, Deadline, FullEvery, NoDeadline, Quiet, RunSettings, TenantJob};
use shared::store::ObjectStore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Approximate length of the pacing phase, in seconds.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// The simulator's limit (and the pacer's), N/WINDOW.
    #[arg(long, default_value = "20/2s")]
    pub limit: String,
    /// Simulator scale (the streaming phase extracts `/leads/interacoes` at this scale:
    /// 24 000 rows at 1.0).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
}

const OBJECT: &str = "/leads/interacoes";

/// One forced full run of `job` to the end, with no deadline: the pages it stored, or the
/// first tenant error.
async fn full_run<S: ObjectStore>(store: &S, job: &TenantJob) -> anyhow::Result<u64> {
    let no_deadline = || -> Box<dyn Deadline> { Box::new(NoDeadline) };
    let reports = drive(
        store,
        &settings(),
        std::slice::from_ref(job),
        &Quiet,
        &no_deadline,
        true,
        100,
    )
    .await;
    let mut pages = 0;
    for (tenant, report) in reports.into_iter().flatten() {
        match report {
            Ok(report) => pages += report.pages,
            Err(e) => anyhow::bail!("tenant {tenant}: {e}"),
        }
    }
    Ok(pages)
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn client(base: &str, page_size: u32, pacer: PacerConfig) -> anyhow::Result<CvdwClient> {
    let mut c = ClientConfig::new(
        base,
        "demo@cvdw.local",
        shared::secret::Secret::new("demo-token"),
    );
    c.page_size = page_size;
    c.timeout = Duration::from_secs(30);
    Ok(CvdwClient::new(c, Arc::new(Pacer::new(pacer)))?)
}

fn settings() -> RunSettings {
    RunSettings {
        full_every: FullEvery::Always,
        ..Default::default()
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    shared::store::install_crypto_provider();
    let limit = simulator::RateLimit::parse(&args.limit).map_err(|e| anyhow::anyhow!(e))?;
    let allowed_rps = f64::from(limit.requests) / limit.window.as_secs_f64();
    let sim = simulator::Simulator::new(simulator::SimConfig {
        scale: args.scale,
        rate_limit: simulator::RateLimit::disabled(),
        ..Default::default()
    });
    let running = sim.serve("127.0.0.1:0".parse()?).await?;
    let base = running.base_url();
    let dir = std::env::temp_dir().join(format!("cvdw-bench-extract-{}", std::process::id()));
    let s3 = shared::local_s3::LocalS3::start(&dir).await?;
    let store = s3.store("cvdw-bench-extract").await?;
    let rows = sim.row_count(OBJECT);
    let spec = shared::catalogue::find(OBJECT).ok_or_else(|| anyhow::anyhow!("no {OBJECT}"))?;
    println!(
        "simulator: scale {}, {OBJECT} has {rows} rows; limit {} ({allowed_rps:.2} req/s allowed)",
        args.scale, args.limit
    );

    // 1. Baseline: unpaced sequential requests (page 1, 100 rows) for ~3 s.
    let unpaced = PacerConfig::new(1_000_000, Duration::from_secs(1));
    let c = client(&base, 100, unpaced.clone())?;
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed() < Duration::from_secs(3) {
        c.fetch_page(PageRequest {
            object: spec,
            page: 1 + n % 5,
            from: None,
            until: None,
        })
        .await?;
        n += 1;
    }
    let baseline_rps = f64::from(n) / t0.elapsed().as_secs_f64();
    println!("baseline: {baseline_rps:.1} req/s unpaced, sequential ({n} requests)");

    // 2. Pacing against the real, compressed limit.
    sim.set_rate_limit(limit);
    let target_requests = (args.seconds as f64 * allowed_rps)
        .ceil()
        .max(2.0 * f64::from(limit.requests));
    let page_size = ((rows as f64 / target_requests).floor() as u32).clamp(1, 500);
    let pacer_cfg = PacerConfig::new(limit.requests, limit.window);
    let job = TenantJob {
        tenant: "bench".into(),
        objects: vec![spec],
        client: client(&base, page_size, pacer_cfg.clone())?,
    };
    let before = sim.stats();
    let t1 = Instant::now();
    full_run(&store, &job).await?;
    let elapsed = t1.elapsed();
    let after = sim.stats();
    let stats = job.client.pacer().stats().await;
    let throttled = after.throttled - before.throttled;
    let requests = stats.requests;
    let span = match (stats.first_request, stats.last_request) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    // The first window's burst is free; the sustained rate is what follows it.
    let sustained = requests.saturating_sub(u64::from(limit.requests)) as f64;
    let achieved_rps = if span.is_zero() {
        0.0
    } else {
        sustained / span.as_secs_f64()
    };
    let ratio = achieved_rps / allowed_rps;
    println!(
        "pacing: {requests} requests ({page_size} rows/page) in {:.1} s; sustained {achieved_rps:.2} req/s \
         = {ratio:.3} of allowed; {throttled} throttled (429) by the server; {} waits, {:.1} s waited",
        elapsed.as_secs_f64(),
        stats.waits,
        stats.waited.as_secs_f64()
    );
    println!(
        "         vs baseline: the unpaced client could do {:.0}× the allowance",
        baseline_rps / allowed_rps
    );

    // 3. Streaming: 500-row pages, unpaced, sampling RSS.
    sim.set_rate_limit(simulator::RateLimit::disabled());
    let job = TenantJob {
        tenant: "bench-rss".into(),
        objects: vec![spec],
        client: client(&base, 500, unpaced)?,
    };
    let rss_before = rss_kib("VmRSS:");
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib("VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    // Three full passes: if extraction accumulated rows, peak RSS would grow with the bytes
    // stored; streaming keeps it flat after the first pass (allocator warm-up).
    let t2 = Instant::now();
    let mut pages = 0u64;
    let mut growth_first_mb = 0.0;
    for pass in 1..=3 {
        pages += full_run(&store, &job).await?;
        peak.fetch_max(rss_kib("VmRSS:"), Ordering::Relaxed);
        let growth = peak.load(Ordering::Relaxed).saturating_sub(rss_before) as f64 / 1024.0;
        if pass == 1 {
            growth_first_mb = growth;
        }
        println!("streaming pass {pass}: peak RSS growth so far {growth:.1} MB");
    }
    let stream_elapsed = t2.elapsed();
    sampler.abort();
    let stored: u64 = store
        .list("raw/bench-rss/")
        .await?
        .iter()
        .map(|o| o.size)
        .sum();
    let peak_kib = peak.load(Ordering::Relaxed);
    let growth_mb = peak_kib.saturating_sub(rss_before) as f64 / 1024.0;
    let stored_mb = stored as f64 / 1_048_576.0;
    println!(
        "streaming: {pages} pages, {stored_mb:.1} MB stored in {:.1} s (3 passes); RSS {:.1} MB before, \
         peak {:.1} MB: growth {growth_first_mb:.1} MB after pass 1, {growth_mb:.1} MB after all \
         ({:.2} of the bytes stored; VmHWM {:.1} MB)",
        stream_elapsed.as_secs_f64(),
        rss_before as f64 / 1024.0,
        peak_kib as f64 / 1024.0,
        if stored_mb > 0.0 { growth_mb / stored_mb } else { 0.0 },
        rss_kib("VmHWM:") as f64 / 1024.0,
    );
    println!(
        "RESULT extract pacing_ratio={ratio:.3} throttled={throttled} requests={requests} \
         achieved_rps={achieved_rps:.2} allowed_rps={allowed_rps:.2} baseline_rps={baseline_rps:.1} \
         peak_rss_mb={:.1} rss_growth_mb={growth_mb:.1} stored_mb={stored_mb:.1}",
        peak_kib as f64 / 1024.0
    );
    drop(s3);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
