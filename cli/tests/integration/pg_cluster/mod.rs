//! A private PostgreSQL cluster for the tests that need what the shared local server cannot
//! give: password (SCRAM) authentication over TCP, TLS with a certificate from a throwaway CA,
//! or no TLS at all (the local Debian server has TLS on). Started with `initdb`/`pg_ctl` in a
//! temporary directory on a free port, with `log_connections` on; stopped on drop. `start*`
//! says why when this machine has no PostgreSQL server binaries or no `openssl`; the test then
//! reports it through [`missing`], the one way a test here meets an absent precondition.

pub mod mitm;

use shared::db::{Db, DbConfig};
use std::path::PathBuf;

/// The superuser password of a cluster started with [`PgCluster::start`].
pub const PASSWORD: &str = "s3cr3t-pw";

pub struct PgCluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub password: String,
    as_postgres: bool,
}

const SETUP: &str = r#"set -e
cd "$D"
if [ "$TLS" = on ]; then
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=cvdw test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" > ext.cnf
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -sha256 -extfile ext.cnf 2>/dev/null
fi
printf '%s\n' "$PW" > pw
if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$D"; RUN="runuser -u postgres --"; else RUN=""; fi
$RUN "$BIN/initdb" -D "$D/data" -U postgres --auth=scram-sha-256 --pwfile="$D/pw" -E UTF8 --no-sync >/dev/null
rm -f "$D/pw"
if [ "$TLS" = on ]; then
  cp server.crt server.key "$D/data/"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$D"/data/server.*
  chmod 600 "$D/data/server.key"
fi
$RUN "$BIN/pg_ctl" -D "$D/data" -o "-p $PORT -k $D -c listen_addresses=127.0.0.1 -c ssl=$TLS -c fsync=off -c log_connections=on" -l "$D/pg.log" -w start >/dev/null
"#;

/// A precondition this machine lacks, for the test `test`: under `CI` (where every
/// precondition is installed) that is a failure; elsewhere the test prints `SKIP <test>: <why>`
/// on stdout and its caller returns, or goes on with the part it can still check.
pub fn missing(test: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}, and CI is set: a missing precondition fails there");
    }
    println!("SKIP {test}: {why}");
}

/// The directory of the PostgreSQL server binaries, found as `cvdw demo` finds them.
fn pg_bin() -> Result<PathBuf, String> {
    cvdw_cli::pg_local::pg_bin("initdb")
        .and_then(|initdb| initdb.parent().map(PathBuf::from))
        .ok_or_else(|| "no PostgreSQL server binaries (initdb) on this machine".to_string())
}

impl PgCluster {
    /// TLS on (certificate for 127.0.0.1 from the CA in `ca.crt`), password [`PASSWORD`].
    pub fn start() -> Result<PgCluster, String> {
        Self::start_with(true, PASSWORD)
    }

    /// `tls`: `ssl=on` with the throwaway CA, or `ssl=off` (a server that cannot do TLS).
    /// `Err` says which precondition is missing; anything else going wrong panics.
    pub fn start_with(tls: bool, password: &str) -> Result<PgCluster, String> {
        let bin = pg_bin()?;
        if tls
            && std::process::Command::new("openssl")
                .arg("version")
                .output()
                .is_err()
        {
            return Err("no openssl on this machine (for the test CA)".into());
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .expect("id -u")
            .stdout
            == b"0\n";
        let ok = std::process::Command::new("sh")
            .args(["-c", SETUP])
            .env("D", dir.path())
            .env("BIN", &bin)
            .env("PORT", port.to_string())
            .env("PW", password)
            .env("TLS", if tls { "on" } else { "off" })
            .status()
            .expect("sh")
            .success();
        assert!(ok, "private PostgreSQL set-up failed");
        Ok(PgCluster {
            dir,
            port,
            password: password.to_string(),
            as_postgres,
        })
    }

    /// The throwaway CA's certificate (TLS clusters only).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A URL for the superuser with this cluster's password and the given query string.
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgresql://postgres:{}@127.0.0.1:{}/postgres?{query}",
            self.password, self.port
        )
    }

    /// A connection that trusts this cluster's CA, and only it, and verifies the host name.
    pub async fn connect_verified(&self) -> Db {
        let ca = self.ca();
        let url = self.url(&format!("sslmode=verify-full&sslrootcert={}", ca.display()));
        let connected = Db::connect(&DbConfig::from_url(&url).unwrap()).await;
        connected.unwrap_or_else(|e| panic!("verify-full with the cluster's CA: {e}"))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pg.log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let Ok(bin) = pg_bin() else { return };
        let data = self.dir.path().join("data");
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
            c
        } else {
            std::process::Command::new(bin.join("pg_ctl"))
        };
        let _ = cmd
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// Whether the session of `db` is encrypted, as the server sees it.
pub async fn ssl_in_use(db: &mut Db) -> bool {
    let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    crate::load_support::scalar(db.client(), sql, &[]).await
}
