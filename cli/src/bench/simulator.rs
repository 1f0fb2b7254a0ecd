//! `cvdw bench simulator`: how fast the simulator generates a world and how many 500-row
//! `/vendas` pages per second it serves, so we know it is never the bottleneck of later
//! benchmarks.
//!
//! Method: generate a world (`--profile large` by default: ≥ 3 million rows; or the classic
//! world at `--scale`), print the generation time and the peak RSS (`VmHWM`), serve it
//! in-process with the rate limit off, and fetch random 500-row pages of `/vendas` with
//! `--concurrency` keep-alive connections. Goals: generation ≤ 60 s, peak RSS ≤ 4 GB,
//! ≥ 100 pages/s (release build).
//! Baseline, same run, same HTTP stack (axum, the same listener and the same minimal HTTP/1.1
//! client): a route that returns one pre-rendered 500-row `/vendas` page (the simulator's own
//! page 1, rendered once). The ratio says how much of the cost is the
//! simulator's own work (filtering, paging, rendering) rather than HTTP.
//!
//! Cost (2 shared cores): seconds to generate `large` (8.4 M rows, a few hundred MB; the
//! simulator crate is optimised even in the debug profile) and ~20 s end to end with the
//! default 8 s per measurement. The pages/s goal is for a release build: in debug, axum and
//! serde_json run unoptimised and land near it.
//!
//! The client is a tiny HTTP/1.1 keep-alive loop over `TcpStream` so that client overhead
//! stays small and identical for both measurements.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use simulator::{Profile, RateLimit, SimConfig, Simulator};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The goals the RESULT line checks.
const GOAL_GENERATION_S: f64 = 60.0;
const GOAL_PEAK_RSS_MB: f64 = 4096.0;
const GOAL_PAGES_PER_S: f64 = 100.0;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// World profile: `small`, `medium` or `large` (≥ 3 million rows).
    #[arg(long, default_value = "large", conflicts_with = "scale")]
    pub profile: Profile,
    /// The classic world at this scale instead of a profile (42 puts ≥ 1 million rows in
    /// `/leads/interacoes`).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Seed of the generated world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,
}

/// A `/proc/self/status` figure (`VmRSS`, `VmHWM`: the peak) in MB.
fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One keep-alive connection: GET `target` and read the whole body; returns the body length.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    async fn get(&mut self, target: &str) -> anyhow::Result<usize> {
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nemail: demo@cvdw.local\r\ntoken: demo-token\r\naccept: application/json\r\n\r\n",
            self.host
        );
        self.reader.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        if !line.starts_with("HTTP/1.1 200") {
            bail!("unexpected status line: {line:?}");
        }
        let mut len = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = Some(v.trim().parse::<usize>()?);
                }
            }
        }
        let len = len.context("response without content-length")?;
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body).await?;
        Ok(len)
    }
}

/// Run `concurrency` connections for `secs`, each requesting `target(i)`; pages/s and bytes.
async fn measure(
    addr: SocketAddr,
    concurrency: usize,
    secs: u64,
    target: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> anyhow::Result<(f64, u64)> {
    let pages = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (pages, bytes, target) = (pages.clone(), bytes.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut i = w as u64;
            while Instant::now() < deadline {
                let n = conn.get(&target(i)).await?;
                pages.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(n as u64, Ordering::Relaxed);
                i += concurrency as u64;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((
        pages.load(Ordering::Relaxed) as f64 / elapsed,
        bytes.load(Ordering::Relaxed),
    ))
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.seconds == 0 {
        bail!("--concurrency and --seconds must be positive");
    }
    let rss_before = status_mb("VmRSS:").unwrap_or(0.0);
    let (base, world) = match args.scale {
        Some(scale) if scale.is_finite() && scale > 0.0 => (
            SimConfig {
                scale,
                ..SimConfig::default()
            },
            format!("the classic world at scale {scale}"),
        ),
        Some(scale) => bail!("--scale must be a positive number, got {scale}"),
        None => (
            SimConfig::for_profile(args.profile),
            format!("profile {}", args.profile),
        ),
    };
    let cfg = SimConfig {
        seed: args.seed,
        rate_limit: RateLimit::disabled(),
        ..base
    };
    println!("generating {world} (seed {})...", args.seed);
    let t0 = Instant::now();
    let sim = tokio::task::spawn_blocking(move || Simulator::new(cfg)).await?;
    let gen_s = t0.elapsed().as_secs_f64();
    let rss = status_mb("VmRSS:").unwrap_or(0.0);
    let peak_after_generation = status_mb("VmHWM:").unwrap_or(0.0);
    let (largest, largest_rows) = shared::catalogue::OBJECTS
        .iter()
        .map(|o| (o.path, sim.row_count(o.path)))
        .max_by_key(|(_, n)| *n)
        .unwrap_or(("-", 0));
    let total_rows: usize = shared::catalogue::OBJECTS
        .iter()
        .map(|o| sim.row_count(o.path))
        .sum();
    let vendas = sim.row_count("/vendas");
    println!(
        "generated in {gen_s:.2} s (goal ≤ {GOAL_GENERATION_S} s): {total_rows} rows in 70 objects, largest {largest} = {largest_rows} rows, /vendas = {vendas} rows; RSS {rss:.0} MB (+{:.0} MB), peak {peak_after_generation:.0} MB",
        rss - rss_before
    );
    let running = sim.serve("127.0.0.1:0".parse()?).await?;
    let addr = running.addr();
    let n_pages = (vendas as u64).div_ceil(500).max(1);

    // The simulator: random 500-row pages of /vendas.
    let target: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(move |i| {
        let p = simulator::world::mix(i) % n_pages + 1;
        format!("/api/v1/cvdw/vendas?pagina={p}&registros_por_pagina=500")
    });
    let (sim_pps, sim_bytes) = measure(addr, args.concurrency, args.seconds, target).await?;
    println!(
        "simulator: {sim_pps:.1} pages/s of 500 /vendas rows (goal ≥ {GOAL_PAGES_PER_S}; {:.1} MB/s)",
        sim_bytes as f64 / 1e6 / args.seconds as f64
    );

    // Baseline: the same stack serving one pre-rendered page.
    let page = sim
        .render_page("/vendas", 1, 500)
        .context("rendering the baseline page")?;
    let baseline = simulator::server::serve_static_page(page, "127.0.0.1:0".parse()?).await?;
    let base_addr = baseline.addr();
    let target: Arc<dyn Fn(u64) -> String + Send + Sync> =
        Arc::new(|_| "/api/v1/cvdw/vendas?pagina=1&registros_por_pagina=500".to_string());
    let (base_pps, _) = measure(base_addr, args.concurrency, args.seconds, target).await?;
    baseline.shutdown().await;
    let ratio = if base_pps > 0.0 {
        sim_pps / base_pps
    } else {
        0.0
    };
    println!("baseline (pre-rendered 500-row page, same HTTP stack): {base_pps:.1} pages/s");
    println!("ratio simulator/baseline: {ratio:.3}");
    let stats = sim.stats();
    println!("simulator counters: {stats:?}");
    running.shutdown().await;
    let peak = status_mb("VmHWM:").unwrap_or(0.0);
    println!("peak RSS (VmHWM): {peak:.0} MB (goal ≤ {GOAL_PEAK_RSS_MB} MB)");
    let goals_met =
        gen_s <= GOAL_GENERATION_S && peak <= GOAL_PEAK_RSS_MB && sim_pps >= GOAL_PAGES_PER_S;
    println!(
        "RESULT simulator world={} rows={total_rows} gen_s={gen_s:.2} peak_rss_mb={peak:.0} pages_per_s={sim_pps:.1} baseline_pages_per_s={base_pps:.1} ratio={ratio:.3} goals={}",
        world.replace(' ', "_"),
        if goals_met { "met" } else { "missed" }
    );
    Ok(())
}
