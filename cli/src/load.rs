//! `cvdw migrate`, `cvdw load <file-or-dir>...`, `cvdw replay ...`: thin wrappers over
//! `shared::db` and `shared::load` (the same loader the Lambda runs).
//!
//! `cvdw load` reads raw pages from disk — the same bytes as in S3. Each file's metadata comes
//! from a sidecar `<file>.meta.json` (a serialised `PageMeta`), or from its path when it ends in
//! the landing-zone layout (`raw/{tenant}/{object}/{yyyy}/{mm}/{dd}/{run_id}/{page}.json`),
//! or from flags. Files under `manifests/…` are loaded as manifests, after the pages.

use crate::progress::LoadProgress;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use shared::db::{self, Db, DbConfig};
use shared::landing::{Mode, PageKey, PageMeta, RunId, MANIFEST_PREFIX, RAW_PREFIX};
use shared::load::prepare::{joined, PageInput, PreparedPage};
use shared::load::queue::{Ledger, Queued};
use shared::load::replay::{ReplayFilter, ReplayOptions, ReplaySummary};
use shared::load::{self, LoadOptions, ManifestOutcome, PageOutcome};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct DbArgs {
    /// PostgreSQL URL (sslmode=require for TLS). Defaults to the local server.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DbArgs {
    pub fn config(&self) -> anyhow::Result<DbConfig> {
        let url = self.database_url.clone().unwrap_or_else(|| {
            "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into()
        });
        DbConfig::from_url(&url).context("--database-url / DATABASE_URL")
    }
}

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Raw page files or directories (searched recursively for `*.json`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Tenant, when neither a sidecar nor the path says it.
    #[arg(long)]
    pub tenant: Option<String>,
    /// CVDW object (path or name), when neither a sidecar nor the path says it.
    #[arg(long)]
    pub object: Option<String>,
    /// Run id (`YYYYMMDDTHHMMSSZ-xxxxxx`), when neither a sidecar nor the path says it.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Page number, when neither a sidecar nor the path says it (single file only).
    #[arg(long)]
    pub page: Option<u32>,
    /// When the page was fetched (RFC 3339); default: the run id's start time.
    #[arg(long)]
    pub fetched_at: Option<DateTime<Utc>>,
    /// Mode of the run the pages belong to.
    #[arg(long, default_value = "incremental")]
    pub mode: String,
    /// Reload pages already in the ledger.
    #[arg(long)]
    pub force: bool,
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    init_logs();
    let cfg = args.db.config()?;
    let mut db = Db::connect(&cfg).await?;
    let report = db::migrate(db.client()).await?;
    eprintln!(
        "migrations: {} applied ({}), {} already applied",
        report.applied.len(),
        report.applied.join(", "),
        report.already.len()
    );
    Ok(())
}

/// Logs to stderr; `RUST_LOG` overrides the default (warnings only, the progress line says the
/// rest).
pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// One thing to load from disk.
#[derive(Debug)]
pub enum DiskItem {
    Page { path: PathBuf, meta: Box<PageMeta> },
    Manifest { path: PathBuf, key: String },
}

fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        let md = std::fs::metadata(&p).with_context(|| format!("{}", p.display()))?;
        if md.is_dir() {
            for e in std::fs::read_dir(&p).with_context(|| format!("{}", p.display()))? {
                stack.push(e?.path());
            }
        } else {
            let name = p.to_string_lossy();
            if name.ends_with(".json") && !name.ends_with(".meta.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The landing-zone key inside a path (from `raw/` or `manifests/` on), if any.
fn key_in_path(path: &Path) -> Option<String> {
    let s = path.to_string_lossy().replace('\\', "/");
    for prefix in [RAW_PREFIX, MANIFEST_PREFIX] {
        if s.starts_with(prefix) {
            return Some(s);
        }
        if let Some(ix) = s.find(&format!("/{prefix}")) {
            return Some(s[ix + 1..].to_string());
        }
    }
    None
}

/// Work out what each file is and its metadata.
pub fn plan(args: &LoadArgs, files: &[PathBuf]) -> anyhow::Result<Vec<DiskItem>> {
    let mode = Mode::parse(&args.mode).context("--mode must be incremental or full")?;
    let mut items = Vec::new();
    for path in files {
        let sidecar = PathBuf::from(format!("{}.meta.json", path.display()));
        if sidecar.exists() {
            let meta: PageMeta = serde_json::from_slice(&std::fs::read(&sidecar)?)
                .with_context(|| format!("sidecar {}", sidecar.display()))?;
            items.push(DiskItem::Page {
                path: path.clone(),
                meta: Box::new(meta),
            });
            continue;
        }
        let key = key_in_path(path);
        if let Some(k) = key.as_deref().filter(|k| k.starts_with(MANIFEST_PREFIX)) {
            items.push(DiskItem::Manifest {
                path: path.clone(),
                key: k.to_string(),
            });
            continue;
        }
        let pk = match key.as_deref().and_then(PageKey::parse) {
            Some(pk) => pk,
            None => {
                let (Some(tenant), Some(object), Some(run)) =
                    (&args.tenant, &args.object, &args.run_id)
                else {
                    bail!(
                        "{}: no sidecar .meta.json, not a landing-zone path, and --tenant/--object/--run-id not all given",
                        path.display()
                    );
                };
                let spec = shared::catalogue::find(object)
                    .with_context(|| format!("--object {object}"))?;
                if files.len() > 1 && args.page.is_none() {
                    bail!(
                        "{}: --page is needed, and only for a single file",
                        path.display()
                    );
                }
                PageKey {
                    tenant: tenant.clone(),
                    object: spec.name.to_string(),
                    run_id: RunId::parse(run).context("--run-id")?,
                    page: args.page.unwrap_or(1),
                }
            }
        };
        let spec = shared::catalogue::find(&pk.object).context("object")?;
        let started =
            chrono::NaiveDateTime::parse_from_str(&pk.run_id.as_str()[..16], "%Y%m%dT%H%M%SZ")
                .map(|d| d.and_utc())
                .context("run id")?;
        let meta = PageMeta {
            tenant: pk.tenant.clone(),
            run_id: pk.run_id.clone(),
            object_path: spec.path.to_string(),
            page: pk.page,
            params: String::new(),
            http_status: 200,
            fetched_at: args.fetched_at.unwrap_or(started),
            mode,
            rows: 0,
            // Nothing to check the body against: the loader hashes it for the ledger.
            sha256: String::new(),
        };
        items.push(DiskItem::Page {
            path: path.clone(),
            meta: Box::new(meta),
        });
    }
    // Observation order, manifests last (they apply once their pages are in).
    items.sort_by(|a, b| match (a, b) {
        (DiskItem::Page { meta: x, .. }, DiskItem::Page { meta: y, .. }) => (
            x.fetched_at,
            x.run_id.as_str(),
            x.page,
        )
            .cmp(&(y.fetched_at, y.run_id.as_str(), y.page)),
        (DiskItem::Page { .. }, DiskItem::Manifest { .. }) => std::cmp::Ordering::Less,
        (DiskItem::Manifest { .. }, DiskItem::Page { .. }) => std::cmp::Ordering::Greater,
        (DiskItem::Manifest { key: x, .. }, DiskItem::Manifest { key: y, .. }) => x.cmp(y),
    });
    Ok(items)
}

/// A page file, read and prepared on the blocking pool (a file that cannot be read fails its
/// page, not the whole load).
fn read_page(key: String, path: PathBuf, meta: PageMeta) -> Queued {
    match std::fs::read(&path) {
        Ok(body) => Queued::Page(PreparedPage::new(PageInput {
            key,
            body: body.into(),
            meta,
            etag: None,
        })),
        Err(e) => {
            let reason = format!("reading {}: {e}", path.display());
            Queued::Failed(key.clone(), load::LoadError::BadPage { key, reason })
        }
    }
}

pub async fn load_files(args: LoadArgs) -> anyhow::Result<()> {
    use futures::StreamExt;
    init_logs();
    let started = Instant::now();
    let files = collect_files(&args.paths)?;
    let items = plan(&args, &files)?;
    let cfg = args.db.config()?;
    let mut db = Db::connect(&cfg).await?;
    db::migrate(db.client()).await?;
    let opts = LoadOptions { force: args.force };
    let total = items.len();
    // Pages, by their canonical key (the ledger's), in the plan's order; then the manifests.
    let mut pages: Vec<(String, PathBuf, PageMeta)> = Vec::new();
    let mut manifests: Vec<(&PathBuf, &String)> = Vec::new();
    for item in &items {
        match item {
            DiskItem::Page { path, meta } => {
                let spec = shared::catalogue::find(&meta.object_path).with_context(|| {
                    format!("{}: unknown object {}", path.display(), meta.object_path)
                })?;
                pages.push((
                    load::canonical_key(spec, meta),
                    path.clone(),
                    (**meta).clone(),
                ));
            }
            DiskItem::Manifest { path, key } => manifests.push((path, key)),
        }
    }
    let sum = std::sync::Mutex::new(ReplaySummary::default());
    let touched = std::sync::Mutex::new(Vec::<&'static str>::new());
    let bar = LoadProgress::new(total as u64);
    let progress = |sum: &ReplaySummary| {
        let n = sum.pages + sum.duplicates + sum.failed + sum.manifests;
        bar.update(n, total as u64, sum.line(started.elapsed().as_secs_f64()));
    };
    let record = |key: &str, out: Result<PageOutcome, load::LoadError>| {
        let mut s = sum.lock().unwrap_or_else(|p| p.into_inner());
        match out {
            Ok(out) => {
                let object = PageKey::parse(key).and_then(|k| shared::catalogue::find(&k.object));
                if let (PageOutcome::Loaded(_), Some(spec)) = (&out, object) {
                    let mut t = touched.lock().unwrap_or_else(|p| p.into_inner());
                    if !t.contains(&spec.name) {
                        t.push(spec.name);
                    }
                }
                s.add_page(&out);
            }
            Err(e) => {
                s.failed += 1;
                bar.note(&format!("{key}: {e}"));
            }
        }
        progress(&s);
    };

    // The pages through one queue: each read and parsed while the previous ones load.
    let ledger = match opts.force {
        true => Ledger::default(),
        false => {
            let keys: Vec<String> = pages.iter().map(|(k, _, _)| k.clone()).collect();
            Ledger::read(db.client(), &keys).await?
        }
    };
    let by_key: std::collections::HashMap<String, (PathBuf, PageMeta)> = pages
        .iter()
        .map(|(k, p, m)| (k.clone(), (p.clone(), m.clone())))
        .collect();
    let queued = futures::stream::iter(pages)
        .map(|(key, path, meta)| {
            joined(tokio::task::spawn_blocking(move || {
                read_page(key, path, meta)
            }))
        })
        .buffered(2);
    let mut queued = std::pin::pin!(queued);
    loop {
        db.ensure_connected().await?;
        let mut done = |key: &str, out| record(key, out);
        let interrupted =
            load::queue::load_queue(db.client(), &mut queued, opts, &ledger, &mut done).await;
        if interrupted.is_empty() {
            break;
        }
        // A dropped connection or a deadlock: those pages once more, one at a time.
        for (key, e) in interrupted {
            let Some((path, meta)) = by_key.get(&key) else {
                bail!("{key}: {e}");
            };
            tracing::warn!(key, error = %e, "loading the page again on a fresh connection");
            db.reconnect().await?;
            let body = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            let out = load::load_page(db.client(), &key, &body, meta, None, opts).await;
            match out {
                Err(e) if e.is_retryable() => {
                    return Err(e).with_context(|| format!("{}", path.display()))
                }
                out => record(&key, out),
            }
        }
    }

    for (path, key) in manifests {
        let body = std::fs::read(path)?;
        let out = load::load_manifest(db.client(), key, &body).await;
        let mut s = sum.lock().unwrap_or_else(|p| p.into_inner());
        match out {
            Ok(out) => {
                s.manifests += 1;
                if let ManifestOutcome::Applied { .. } = out {
                    let object = shared::landing::parse_manifest_key(key)
                        .and_then(|(_, _, o)| shared::catalogue::find(&o))
                        .map(|s| s.name);
                    let mut t = touched.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(o) = object.filter(|o| !t.contains(o)) {
                        t.push(o);
                    }
                }
                if let ManifestOutcome::Pending { missing } = out {
                    bar.note(&format!("{key}: pending, {missing} page(s) not loaded yet"));
                }
            }
            Err(e) if !e.is_retryable() => {
                s.failed += 1;
                bar.note(&format!("{}: {e}", path.display()));
            }
            Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
        }
        progress(&s);
    }
    bar.finish();
    let sum = sum.into_inner().unwrap_or_else(|p| p.into_inner());
    let touched = touched.into_inner().unwrap_or_else(|p| p.into_inner());
    // Statistics for what was just bulk-loaded (a failure loses nothing: warn only).
    if let Err(e) = load::analyze_loaded(db.client(), touched.iter().copied()).await {
        eprintln!("warning: ANALYZE after the load failed: {e}");
    }
    println!("load {}", sum.line(started.elapsed().as_secs_f64()));
    if sum.failed > 0 {
        bail!(
            "{} file(s) could not be loaded (see etl.failed_pages)",
            sum.failed
        );
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The raw (landing-zone) bucket. S3 settings come from the standard AWS environment
    /// (`AWS_ENDPOINT_URL_S3` for an S3-compatible endpoint).
    #[arg(long, env = "RAW_BUCKET")]
    pub bucket: String,
    #[arg(long)]
    pub tenant: Option<String>,
    /// CVDW object (path or name).
    #[arg(long)]
    pub object: Option<String>,
    /// Only runs started on or after this UTC date (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<chrono::NaiveDate>,
    /// Only runs started on or before this UTC date (YYYY-MM-DD).
    #[arg(long)]
    pub until: Option<chrono::NaiveDate>,
    /// Reload pages already in the ledger.
    #[arg(long)]
    pub force: bool,
    /// Pages loaded at once (one connection each; pages of one object too).
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
}

pub async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    init_logs();
    shared::store::install_crypto_provider();
    let started = Instant::now();
    let object = match &args.object {
        Some(o) => Some(
            shared::catalogue::find(o)
                .with_context(|| format!("--object {o}: not a CVDW object"))?
                .name
                .to_string(),
        ),
        None => None,
    };
    let cfg = args.db.config()?;
    {
        let mut db = Db::connect(&cfg).await?;
        db::migrate(db.client()).await?;
    }
    let client = shared::store::s3_client_from_env().await;
    let store = shared::store::S3Store::new(client, args.bucket.clone());
    let filter = ReplayFilter {
        tenant: args.tenant.clone(),
        object,
        since: args.since,
        until: args.until,
    };
    let sum = run_replay(&store, &cfg, &filter, args.force, args.parallel).await?;
    println!(
        "replay pages={} duplicates={} failed={} rows={} rejected={} manifests={} pending_manifests={} seconds={:.2}",
        sum.pages,
        sum.duplicates,
        sum.failed,
        sum.rows,
        sum.rejected,
        sum.manifests,
        sum.manifests_pending,
        started.elapsed().as_secs_f64()
    );
    if sum.failed > 0 {
        bail!(
            "{} page(s) or manifest(s) could not be loaded (see etl.failed_pages)",
            sum.failed
        );
    }
    Ok(())
}

/// The replay with its progress on stderr (shared by `cvdw replay` and the demo/tests).
pub async fn run_replay<S: shared::store::ObjectStore>(
    store: &S,
    cfg: &DbConfig,
    filter: &ReplayFilter,
    force: bool,
    parallel: usize,
) -> anyhow::Result<ReplaySummary> {
    let started = Instant::now();
    let bar = std::sync::Arc::new(LoadProgress::new(0));
    let shown = bar.clone();
    let progress: shared::load::replay::Progress = std::sync::Arc::new(move |s: &ReplaySummary| {
        shown.update(
            s.pages + s.duplicates + s.failed,
            s.pages_total,
            format!(
                "rows={} rejected={} failed={} {:.1}s",
                s.rows,
                s.rejected,
                s.failed,
                started.elapsed().as_secs_f64()
            ),
        );
    });
    let sum = shared::load::replay::replay(
        store,
        cfg,
        filter,
        ReplayOptions {
            force,
            parallelism: parallel,
        },
        Some(progress),
    )
    .await?;
    bar.finish();
    Ok(sum)
}
