//! `cvdw bench replay`: a whole tenant's archive replayed into a fresh database by the
//! `cvdw replay` command itself, against `COPY` of the same rows measured in the same run.
//!
//! - **The archive**: the real extractor (`shared::extract`, as `cvdw extract` and the demo run
//!   it) does one full run of every catalogue object against the simulator (its rate limit
//!   off) into the in-process S3 server (`shared::local_s3`), kept in a temporary directory:
//!   the landing zone holds what production stores (gzip pages with their metadata,
//!   manifests, state).
//! - **The replay**: this binary (`std::env::current_exe()`) is started as
//!   `cvdw replay --parallel K` with the environment a user sets (`DATABASE_URL` of a fresh
//!   database, `RAW_BUCKET`, `AWS_ENDPOINT_URL_S3` and the server's credentials). Its wall time
//!   runs from the spawn to its exit, so it includes start-up, the migrations of the empty
//!   database, listing the archive and the final `ANALYZE`. Its peak RSS is the child's
//!   `ru_maxrss` as `wait4(2)` reports it when it is reaped (exact, no sampling). Its rows are
//!   the `rows=` of its summary line.
//! - **The baseline**: the physical floor of [`super::load`] — what the loader writes for a
//!   page (typed rows, payload, children) by `COPY … FROM STDIN` into UNLOGGED tables without
//!   indexes — over the same pages, object by object, in the same database after the replay.
//!   The pages are read from S3, inflated and turned into text before each clock starts, in
//!   chunks of [`COPY_CHUNK_ROWS`] rows to bound the benchmark's own memory.
//!
//! `RESULT replay vs_copy=<replay rows/s ÷ COPY rows/s> rows=<n> peak_rss_mb=<m>`; the goal is
//! vs_copy ≥ 0.4 on the medium profile.
//!
//! What limits it: the replay does everything the floor leaves out — reading every page over
//! the S3 protocol (from a server in this process, on the same cores), inflating and parsing
//! it, coercing and quarantining rows, upserting into indexed, logged tables with the ledger in
//! the same transactions, the manifests, and one process start and migration run. On a
//! machine of few cores the replay's client, the S3 server and PostgreSQL share them.
//!
//! Reproduce (release build; `DATABASE_URL` for a server other than 127.0.0.1:5432):
//! `cargo run --release -p cvdw -- bench replay --profile medium`.

use anyhow::Context;
use shared::db::{self, Db};
use shared::landing::{decode_page, PageKey, MANIFEST_PREFIX, RAW_PREFIX};
use shared::load::tables::typed;
use shared::store::{ObjectStore, S3Store};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use super::load::{run_copy_into, text_rows_of, TextPage};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: crate::load::DbArgs,
    /// Size of the tenant: small, medium or large (`cvdw simulate --profile`).
    #[arg(long, default_value = "medium")]
    pub profile: simulator::Profile,
    /// Simulator scale, instead of the profile's (the profile's proportions kept).
    #[arg(long)]
    pub scale: Option<f64>,
    /// `cvdw replay --parallel`: pages loaded at once, one connection each.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Simulator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// The database `cvdw replay` connects to without `DATABASE_URL`.
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

const BUCKET: &str = "cvdw-bench-replay";
const TENANT: &str = "bench";

/// Rows per `COPY` of the baseline: the text of one chunk is held in memory at a time.
const COPY_CHUNK_ROWS: usize = 20_000;

pub async fn run(args: Args) -> anyhow::Result<()> {
    crate::load::init_logs();
    shared::store::install_crypto_provider();
    let scale = args.scale.unwrap_or(args.profile.scale());
    let dir = std::env::temp_dir().join(format!("cvdw-bench-replay-{}", std::process::id()));
    let result = bench(&args, scale, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(args: &Args, scale: f64, dir: &Path) -> anyhow::Result<()> {
    let s3 = shared::local_s3::LocalS3::start(dir)
        .await
        .context("starting the local S3 server")?;
    let store = s3.store(BUCKET).await?;
    let archive = build_archive(&store, args.profile, args.seed, scale).await?;
    println!(
        "archive: scale {scale}, {} objects, {} pages ({:.1} MB stored), {} manifests; extracted in {:.1} s",
        archive.objects,
        archive.pages,
        archive.bytes as f64 / 1e6,
        archive.manifests,
        archive.seconds
    );

    let admin_url = args
        .db
        .database_url
        .clone()
        .unwrap_or_else(|| LOCAL_URL.to_string());
    let admin = db::DbConfig::from_url(&admin_url).context("--database-url / DATABASE_URL")?;
    let fresh = db::create_fresh_database(&admin, "bench_replay").await?;
    let name = fresh.dbname().unwrap_or_default().to_string();
    let result = async {
        let replay =
            run_replay_command(&s3, &url_with_dbname(&admin_url, &name), args.parallel).await?;
        let mut db = Db::connect(&fresh).await?;
        let phases = replay_phases(db.client(), replay.spawned_at, replay.wall_seconds).await?;
        let copy = copy_baseline(&store, db.client()).await?;
        anyhow::Ok((replay, phases, copy))
    }
    .await;
    let _ = db::drop_database(&admin, &name).await;
    let (replay, phases, copy) = result?;

    let replay_rate = replay.summary.rows as f64 / replay.wall_seconds;
    let copy_rate = copy.rows as f64 / copy.seconds;
    let vs_copy = replay_rate / copy_rate;
    let peak_rss_mb = replay.peak_rss_kib as f64 / 1024.0;
    println!(
        "replay: `cvdw replay --parallel {}` {} rows ({} pages, {} rejected) in {:.2} s wall ({:.2} s by its own clock): {replay_rate:.0} rows/s",
        args.parallel,
        replay.summary.rows,
        replay.summary.pages,
        replay.summary.rejected,
        replay.wall_seconds,
        replay.summary.seconds
    );
    if let Some(p) = phases {
        println!(
            "    where its wall time went (the ledger's timestamps, by the server's clock): start-up, migrations and listing {:.2} s; pages {:.2} s; manifests {:.2} s; ANALYZE and exit {:.2} s",
            p.before_pages, p.pages, p.manifests, p.after_manifests
        );
    }
    println!(
        "COPY → unlogged tables (floor): {} rows in {:.2} s: {copy_rate:.0} rows/s",
        copy.rows, copy.seconds
    );
    println!("replay / COPY = {vs_copy:.3}   (goal ≥ 0.4 on the medium profile)");
    println!("peak RSS of the replay process: {peak_rss_mb:.1} MB (wait4 ru_maxrss)");
    println!(
        "RESULT replay vs_copy={vs_copy:.3} rows={} peak_rss_mb={peak_rss_mb:.1}",
        replay.summary.rows
    );
    Ok(())
}

/// What the extraction left in the landing zone.
struct Archive {
    objects: usize,
    pages: usize,
    manifests: usize,
    bytes: u64,
    seconds: f64,
}

/// One full extraction of every catalogue object from a simulator at `scale` into `store`,
/// through the extractor `cvdw extract` runs.
async fn build_archive(
    store: &S3Store,
    profile: simulator::Profile,
    seed: u64,
    scale: f64,
) -> anyhow::Result<Archive> {
    let sim_config = simulator::SimConfig {
        seed,
        scale,
        rate_limit: simulator::RateLimit::disabled(),
        ..simulator::SimConfig::for_profile(profile)
    };
    let mut vars = HashMap::from([
        ("RAW_BUCKET".to_string(), store.bucket().to_string()),
        // One run does all it plans: no budget tied to the time of day.
        ("EXTRACT_BUDGET".to_string(), "off".to_string()),
    ]);
    // The simulator's limit is off; the pacer's is set far above what it can reach.
    let (_sim, running) =
        crate::extract::start_simulator(sim_config, TENANT, "1000000/1s", &mut vars).await?;
    let config = shared::extract::ExtractConfig::from_lookup(|k| vars.get(k).cloned())?;
    let jobs = shared::extract::jobs_from_config(&config, None)?;
    eprintln!(
        "bench replay: extracting every object from the simulator at {} (scale {scale})",
        running.base_url()
    );
    let started = Instant::now();
    let failed =
        crate::extract::run_once(store, &config, &jobs, &shared::extract::Quiet, true, false).await;
    let seconds = started.elapsed().as_secs_f64();
    if failed > 0 {
        anyhow::bail!("the extraction failed (see above)");
    }
    let pages = store.list(RAW_PREFIX).await?;
    let manifests = store.list(MANIFEST_PREFIX).await?;
    let objects: std::collections::BTreeSet<String> = pages
        .iter()
        .filter_map(|o| PageKey::parse(&o.key).map(|k| k.object))
        .collect();
    Ok(Archive {
        objects: objects.len(),
        pages: pages.len(),
        manifests: manifests.len(),
        bytes: pages.iter().map(|o| o.size).sum(),
        seconds,
    })
}

/// What `cvdw replay` reported and cost.
struct ReplayRun {
    summary: ReplayLine,
    /// When the child was started, in seconds since the Unix epoch.
    spawned_at: f64,
    wall_seconds: f64,
    peak_rss_kib: u64,
}

/// Runs this binary as `cvdw replay` against the local S3 server and `database_url`, as a
/// user would, and waits for it.
async fn run_replay_command(
    s3: &shared::local_s3::LocalS3,
    database_url: &str,
    parallel: usize,
) -> anyhow::Result<ReplayRun> {
    let exe = std::env::current_exe().context("the path of this binary")?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["replay", "--parallel", &parallel.max(1).to_string()])
        .env("DATABASE_URL", database_url)
        .env("RAW_BUCKET", BUCKET)
        .env("AWS_ENDPOINT_URL_S3", s3.endpoint())
        .env("AWS_ACCESS_KEY_ID", s3.access_key())
        .env("AWS_SECRET_ACCESS_KEY", s3.secret_key())
        .env("AWS_REGION", shared::local_s3::REGION)
        // Nothing else from this shell may pick other credentials or another endpoint.
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    eprintln!("bench replay: `cvdw replay --parallel {parallel}` into a fresh database");
    // The S3 server answers on this process's runtime while a blocking thread waits.
    let (stdout, status, peak_rss_kib, spawned_at, wall_seconds) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let spawned_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default();
            let started = Instant::now();
            let mut child = command.spawn().context("starting `cvdw replay`")?;
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                out.read_to_string(&mut stdout)
                    .context("reading `cvdw replay`'s output")?;
            }
            let (status, peak_rss_kib) = wait_with_peak_rss(child.id())?;
            Ok((
                stdout,
                status,
                peak_rss_kib,
                spawned_at,
                started.elapsed().as_secs_f64(),
            ))
        })
        .await??;
    if status != Some(0) {
        anyhow::bail!("`cvdw replay` failed (exit status {status:?}); its errors are above");
    }
    let summary = parse_summary(&stdout)
        .with_context(|| format!("no summary line in `cvdw replay`'s output: {stdout:?}"))?;
    if summary.failed > 0 {
        anyhow::bail!("`cvdw replay` failed {} page(s)", summary.failed);
    }
    Ok(ReplayRun {
        summary,
        spawned_at,
        wall_seconds,
        peak_rss_kib,
    })
}

/// Seconds of the replay's wall time in each of its stages.
struct Phases {
    before_pages: f64,
    pages: f64,
    manifests: f64,
    after_manifests: f64,
}

/// Where the replay's wall time went, from when its first and last page transactions began
/// (`etl.pages.first_loaded_at`) and its last manifest was recorded (`etl.manifests`). These
/// are the server's clock, compared with this machine's: meaningful for a local server only;
/// `None` when the ledger is empty.
async fn replay_phases(
    client: &tokio_postgres::Client,
    spawned_at: f64,
    wall_seconds: f64,
) -> anyhow::Result<Option<Phases>> {
    let row = client
        .query_one(
            "SELECT extract(epoch FROM min(first_loaded_at))::float8,
                    extract(epoch FROM max(first_loaded_at))::float8,
                    (SELECT extract(epoch FROM max(coalesce(applied_at, received_at)))::float8
                       FROM etl.manifests)
               FROM etl.pages",
            &[],
        )
        .await?;
    let (Some(first_page), Some(last_page)) =
        (row.get::<_, Option<f64>>(0), row.get::<_, Option<f64>>(1))
    else {
        return Ok(None);
    };
    let last_manifest = row.get::<_, Option<f64>>(2).unwrap_or(last_page);
    let exited_at = spawned_at + wall_seconds;
    Ok(Some(Phases {
        before_pages: first_page - spawned_at,
        pages: last_page - first_page,
        manifests: last_manifest - last_page,
        after_manifests: exited_at - last_manifest,
    }))
}

/// Reaps the child `pid` and returns its exit code (`None` if a signal ended it) and its peak
/// resident set in KiB (`ru_maxrss`, which Linux counts in KiB).
fn wait_with_peak_rss(pid: u32) -> anyhow::Result<(Option<i32>, u64)> {
    let pid = libc::pid_t::try_from(pid).context("child pid")?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both out-pointers are to locals that outlive the call; `pid` is our own
        // child, which `std::process::Child` never reaps on its own.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("waiting for `cvdw replay`");
        }
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok((code, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// The totals of `cvdw replay`'s summary line
/// (`replay pages=… duplicates=… failed=… rows=… rejected=… … seconds=…`).
#[derive(Debug, Clone, PartialEq)]
struct ReplayLine {
    pages: u64,
    failed: u64,
    rows: u64,
    rejected: u64,
    seconds: f64,
}

/// The last summary line of `cvdw replay`'s standard output.
fn parse_summary(stdout: &str) -> Option<ReplayLine> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("replay "))?;
    let fields: HashMap<&str, &str> = line
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let count = |name: &str| fields.get(name)?.parse::<u64>().ok();
    Some(ReplayLine {
        pages: count("pages")?,
        failed: count("failed")?,
        rows: count("rows")?,
        rejected: count("rejected")?,
        seconds: fields.get("seconds")?.parse().ok()?,
    })
}

/// `url` (a `postgres://` URL or a `key=value` string) naming database `dbname` instead.
fn url_with_dbname(url: &str, dbname: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // In a `key=value` string the last `dbname` wins.
        return format!("{url} dbname={dbname}");
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let after_path = rest[authority_end..]
        .find(['?', '#'])
        .map_or("", |ix| &rest[authority_end + ix..]);
    format!(
        "{}{}/{dbname}{after_path}",
        &url[..scheme_end + 3],
        &rest[..authority_end]
    )
}

/// What the baseline copied.
struct CopyRun {
    rows: u64,
    seconds: f64,
}

/// The floor over every page of the archive: each object's pages as the loader's rows, by
/// `COPY` in chunks; only the `COPY`s are timed.
async fn copy_baseline(
    store: &S3Store,
    client: &tokio_postgres::Client,
) -> anyhow::Result<CopyRun> {
    let mut by_object: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for listed in store.list(RAW_PREFIX).await? {
        if let Some(key) = PageKey::parse(&listed.key) {
            by_object.entry(key.object).or_default().push(listed.key);
        }
    }
    eprintln!(
        "bench replay: COPY of the same pages ({} objects)",
        by_object.len()
    );
    let mut run = CopyRun {
        rows: 0,
        seconds: 0.0,
    };
    for (object, keys) in by_object {
        let spec = shared::catalogue::find(&object)
            .with_context(|| format!("{object}: not a catalogue object"))?;
        let table = typed(spec.name);
        let mut chunk = TextPage::default();
        for key in keys {
            let stored = store.get(&key).await?;
            let body = decode_page(&stored.metadata, stored.body)
                .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            let text = text_rows_of(spec, &body).with_context(|| key.clone())?;
            chunk.rows.extend(text.rows);
            chunk.children.extend(text.children);
            if chunk.rows.len() >= COPY_CHUNK_ROWS {
                run.rows += chunk.rows.len() as u64;
                run.seconds += run_copy_into(client, table, &chunk).await?;
                chunk = TextPage::default();
            }
        }
        if !chunk.rows.is_empty() {
            run.rows += chunk.rows.len() as u64;
            run.seconds += run_copy_into(client, table, &chunk).await?;
        }
    }
    client
        .batch_execute("DROP TABLE IF EXISTS bench_copy, bench_copy_children")
        .await?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_the_last_replay_line() {
        let out = "some note\nreplay pages=12 duplicates=0 failed=1 rows=5400 rejected=3 manifests=70 pending_manifests=0 seconds=2.75\n";
        assert_eq!(
            parse_summary(out),
            Some(ReplayLine {
                pages: 12,
                failed: 1,
                rows: 5400,
                rejected: 3,
                seconds: 2.75,
            })
        );
        assert_eq!(parse_summary("replay pages=12 rows=many\n"), None);
        assert_eq!(parse_summary(""), None);
    }

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            url_with_dbname(LOCAL_URL, "bench_replay_1"),
            "postgres://postgres@127.0.0.1:5432/bench_replay_1?sslmode=disable"
        );
        assert_eq!(
            url_with_dbname("postgresql://u:p%2Fq@db.example:5433", "x"),
            "postgresql://u:p%2Fq@db.example:5433/x"
        );
        assert_eq!(
            url_with_dbname("host=127.0.0.1 user=postgres", "x"),
            "host=127.0.0.1 user=postgres dbname=x"
        );
    }
}
