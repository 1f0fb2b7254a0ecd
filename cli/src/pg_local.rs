//! Finding a PostgreSQL for local runs (`cvdw demo`), in order:
//!
//! 1. `DATABASE_URL`, if set: used as it is.
//! 2. A server on `127.0.0.1:5432` accepting user `postgres` without a password (the Debian
//!    default after `scripts/ensure-postgres.sh`): a database named `database` is created there
//!    if missing.
//! 3. PostgreSQL binaries (`initdb`, `pg_ctl`) on this machine: a private cluster under
//!    `<dir>/pg`, on port 54329, started on demand. `initdb` refuses to run as root, so as root
//!    the cluster is owned by (and run as) the `postgres` system user.
//!
//! If none works, the error says what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// Port of the private cluster, chosen away from the standard 5432.
pub const PRIVATE_PORT: u16 = 54329;

/// Where the database came from, for the demo's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env,
    LocalServer,
    PrivateCluster(PathBuf),
}

/// A usable connection string and where it came from.
#[derive(Debug, Clone)]
pub struct LocalDatabase {
    pub url: String,
    pub source: Source,
}

/// Find or start a PostgreSQL and make sure `database` exists on it.
pub async fn find_or_start(database: &str, dir: &Path) -> anyhow::Result<LocalDatabase> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if !url.trim().is_empty() {
            return Ok(LocalDatabase {
                url,
                source: Source::Env,
            });
        }
    }
    let local = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3";
    if create_database_if_missing(local, database).await.is_ok() {
        return Ok(LocalDatabase {
            url: format!("postgres://postgres@127.0.0.1:5432/{database}?sslmode=disable"),
            source: Source::LocalServer,
        });
    }
    let pg_dir = dir.join("pg");
    start_private_cluster(&pg_dir).with_context(|| {
        "no PostgreSQL found: set DATABASE_URL, or start a server on 127.0.0.1:5432 \
         (`bash scripts/ensure-postgres.sh`), or install the PostgreSQL server binaries \
         (Debian/Ubuntu: `apt-get install postgresql`)"
    })?;
    let private = format!(
        "host=127.0.0.1 port={PRIVATE_PORT} user=postgres dbname=postgres connect_timeout=5"
    );
    create_database_if_missing(&private, database)
        .await
        .context("the private PostgreSQL cluster started but does not accept connections")?;
    Ok(LocalDatabase {
        url: format!("postgres://postgres@127.0.0.1:{PRIVATE_PORT}/{database}?sslmode=disable"),
        source: Source::PrivateCluster(pg_dir),
    })
}

async fn create_database_if_missing(admin_conn: &str, database: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(admin_conn, tokio_postgres::NoTls).await?;
    let conn = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database])
        .await?
        .is_some();
    if !exists {
        // CREATE DATABASE takes no bind parameters; the name is ours (a constant or a
        // generated test name), checked here so nothing else can reach the statement.
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!("invalid database name {database:?}");
        }
        if let Err(e) = client
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .await
        {
            // Lost a race with another creator: fine.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                return Err(e.into());
            }
        }
    }
    drop(client);
    let _ = conn.await;
    Ok(())
}

/// A PostgreSQL server binary: the newest Debian install first, then `PATH`.
pub fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.flatten()
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates.reverse();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|p| p.join(name)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// Run a PostgreSQL binary, as the `postgres` user when we are root.
fn run_pg(bin: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = if is_root() {
        Command::new("runuser")
            .arg("-u")
            .arg("postgres")
            .arg("--")
            .arg(bin)
            .args(args)
            .status()
    } else {
        Command::new(bin).args(args).status()
    }
    .with_context(|| format!("running {}", bin.display()))?;
    if !status.success() {
        bail!("{} {} failed with {status}", bin.display(), args.join(" "));
    }
    Ok(())
}

/// Initialise (once) and start a private cluster under `pg_dir`.
pub fn start_private_cluster(pg_dir: &Path) -> anyhow::Result<()> {
    let initdb = pg_bin("initdb").context("initdb not found")?;
    let pg_ctl = pg_bin("pg_ctl").context("pg_ctl not found")?;
    std::fs::create_dir_all(pg_dir)?;
    let pg_dir = pg_dir.canonicalize()?;
    if is_root() {
        let status = Command::new("chown")
            .arg("-R")
            .arg("postgres:postgres")
            .arg(&pg_dir)
            .status()?;
        if !status.success() {
            bail!("cannot hand {} to the postgres user", pg_dir.display());
        }
    }
    let data = pg_dir.join("data");
    let data_s = data.to_string_lossy().to_string();
    if !data.join("PG_VERSION").exists() {
        run_pg(
            &initdb,
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
    }
    let log = pg_dir.join("pg.log").to_string_lossy().to_string();
    let opts = format!(
        "-p {PRIVATE_PORT} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
        pg_dir.to_string_lossy()
    );
    // `status` exits non-zero when the server is not running.
    if run_pg(&pg_ctl, &["-D", &data_s, "status"]).is_err() {
        run_pg(
            &pg_ctl,
            &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "start"],
        )?;
    }
    Ok(())
}

/// Stop a private cluster started by [`start_private_cluster`] (fast shutdown).
pub fn stop_private_cluster(pg_dir: &Path) -> anyhow::Result<()> {
    let pg_ctl = pg_bin("pg_ctl").context("pg_ctl not found")?;
    let data = pg_dir.canonicalize()?.join("data");
    run_pg(
        &pg_ctl,
        &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
    )
}
