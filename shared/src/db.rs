//! # PostgreSQL: connection (TLS) and migrations
//!
//! ## Connection
//! One [`Db`] per process (per Lambda container): created at init, reused by every
//! invocation, checked with `is_closed()` before use ([`Db::ensure_connected`]) and
//! re-established after an error that says the connection is gone ([`Db::reconnect`]). The connection task is spawned on the runtime (tokio-postgres
//! does its I/O there).
//!
//! `DATABASE_URL` is read once into [`DbConfig`]. Its password never reaches a log line, a
//! `Debug` or an error: the URL is read into a [`Secret`], parsed into a `Config` whose
//! `Debug` redacts the password, and errors only name the variable or option.
//! TLS follows libpq's `sslmode` ([`SslPolicy`]):
//! - `disable` → plain TCP;
//! - `prefer` (the default when `sslmode` is absent, as in libpq) → TLS **without** certificate
//!   verification, falling back to plain TCP when the server does not offer TLS. This is what
//!   lets a plain `postgres://postgres@127.0.0.1/postgres` reach a stock Debian/Ubuntu server
//!   (ssl=on with its self-signed "snakeoil" certificate), exactly as `psql` does. It protects
//!   against nothing but passive eavesdropping, so it is refused in Lambda;
//! - `require`, `verify-ca`, `verify-full` → TLS with the certificate verified (chain and host
//!   name) by rustls. For `require` that is **stricter than libpq** (which does not verify):
//!   Neon passes, and a server whose certificate does not verify needs `sslrootcert` or a
//!   weaker mode chosen on purpose.
//!
//! Verified connections trust the Mozilla roots of `webpki-roots` (compiled in, so the container
//! needs no CA bundle and behaves the same on every Lambda image; Neon's certificates chain to
//! them), or, with `sslrootcert=<file>`, **only** the CAs in that file, as libpq does. In Lambda
//! (`AWS_LAMBDA_FUNCTION_NAME` set) a `DATABASE_URL` weaker than `require` is refused, unless it
//! names a loopback server (a local emulator such as `cargo lambda watch`).
//! `channel_binding=require` (Neon) is understood by tokio-postgres, and tokio-postgres-rustls
//! 0.14 computes the binding correctly.
//!
//! ## Migrations
//! Numbered files in `migrations/`, embedded with `include_str!` and applied by
//! [`migrate`] in ONE transaction under a transaction-level advisory lock
//! (`pg_advisory_xact_lock`). That works behind Neon's PgBouncer transaction pooler: no
//! session state survives the transaction. Each applied file is recorded in
//! `etl.schema_migrations` with its sha256; a file that changed after being applied is an
//! error (migrations are append-only), and re-running is a no-op.

use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Every migration, in order. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_etl.sql",
        sql: include_str!("../../migrations/0001_etl.sql"),
    },
    Migration {
        version: 2,
        name: "0002_cvdw_typed.sql",
        sql: include_str!("../../migrations/0002_cvdw_typed.sql"),
    },
    Migration {
        version: 3,
        name: "0003_cvdw_views.sql",
        sql: include_str!("../../migrations/0003_cvdw_views.sql"),
    },
    Migration {
        version: 4,
        name: "0004_payload_lz4.sql",
        sql: include_str!("../../migrations/0004_payload_lz4.sql"),
    },
    Migration {
        version: 5,
        name: "0005_etl_page_guard.sql",
        sql: include_str!("../../migrations/0005_etl_page_guard.sql"),
    },
    Migration {
        version: 6,
        name: "0006_hot_updates.sql",
        sql: include_str!("../../migrations/0006_hot_updates.sql"),
    },
    Migration {
        version: 7,
        name: "0007_commit_barrier.sql",
        sql: include_str!("../../migrations/0007_commit_barrier.sql"),
    },
    Migration {
        version: 8,
        name: "0008_roles.sql",
        sql: include_str!("../../migrations/0008_roles.sql"),
    },
    Migration {
        version: 10,
        name: "0010_row_identity_and_evidence.sql",
        sql: include_str!("../../migrations/0010_row_identity_and_evidence.sql"),
    },
    Migration {
        version: 11,
        name: "0011_metas.sql",
        sql: include_str!("../../migrations/0011_metas.sql"),
    },
    Migration {
        version: 100,
        name: "0100_analytics.sql",
        sql: include_str!("../../migrations/0100_analytics.sql"),
    },
    Migration {
        version: 101,
        name: "0101_analytics_vso.sql",
        sql: include_str!("../../migrations/0101_analytics_vso.sql"),
    },
    Migration {
        version: 102,
        name: "0102_analytics_cache.sql",
        sql: include_str!("../../migrations/0102_analytics_cache.sql"),
    },
    Migration {
        version: 103,
        name: "0103_analytics_metric_fixes.sql",
        sql: include_str!("../../migrations/0103_analytics_metric_fixes.sql"),
    },
    Migration {
        version: 104,
        name: "0104_analytics_estoque_reservas.sql",
        sql: include_str!("../../migrations/0104_analytics_estoque_reservas.sql"),
    },
    Migration {
        version: 105,
        name: "0105_analytics_distratos.sql",
        sql: include_str!("../../migrations/0105_analytics_distratos.sql"),
    },
    Migration {
        version: 106,
        name: "0106_analytics_repasses.sql",
        sql: include_str!("../../migrations/0106_analytics_repasses.sql"),
    },
    Migration {
        version: 107,
        name: "0107_analytics_metas.sql",
        sql: include_str!("../../migrations/0107_analytics_metas.sql"),
    },
    Migration {
        version: 108,
        name: "0108_analytics_funil.sql",
        sql: include_str!("../../migrations/0108_analytics_funil.sql"),
    },
    Migration {
        version: 109,
        name: "0109_analytics_vendas_pessoas.sql",
        sql: include_str!("../../migrations/0109_analytics_vendas_pessoas.sql"),
    },
    Migration {
        version: 110,
        name: "0110_analytics_pessoas_demais.sql",
        sql: include_str!("../../migrations/0110_analytics_pessoas_demais.sql"),
    },
    Migration {
        version: 111,
        name: "0111_analytics_funil_cache.sql",
        sql: include_str!("../../migrations/0111_analytics_funil_cache.sql"),
    },
];

/// Key of the transaction-level advisory lock migrations run under ("cvdwmig" in ASCII).
const MIGRATION_LOCK: i64 = 0x0063_7664_776d_6967;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The variable is missing or the URL does not parse. Never includes the URL itself.
    #[error("database configuration: {0}")]
    Config(String),
    // The messages carry the cause themselves (see `pg_error_text`), so no `#[source]`: a
    // chain printer (anyhow) would only repeat it.
    #[error("connecting to PostgreSQL: {}", pg_error_text(.0))]
    Connect(tokio_postgres::Error),
    #[error("PostgreSQL: {}", pg_error_text(.0))]
    Query(tokio_postgres::Error),
    #[error("migration {name} was changed after it was applied (checksum {applied} in the database, {embedded} embedded); migrations are append-only")]
    MigrationChanged {
        name: String,
        applied: String,
        embedded: String,
    },
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Query(e)
    }
}

/// A tokio-postgres error with its cause. Its own `Display` is only the kind ("db error",
/// "error performing TLS handshake"), which says nothing of what went wrong; the cause is the
/// server's message ("FATAL: password authentication failed for user ...") or the client's
/// ("server does not support TLS"). Neither quotes the connection's password.
pub fn pg_error_text(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

impl DbError {
    /// Connection and query errors may pass (network, failover, serialization); config and
    /// changed migrations do not.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Config(_) | DbError::MigrationChanged { .. } => false,
            // Wrong credentials (class 28) or database (3D000) stay wrong until someone fixes
            // the secret; anything else at connect time (network, restart, pooler) may pass.
            DbError::Connect(e) => !e
                .code()
                .is_some_and(|c| c.code().starts_with("28") || c.code() == "3D000"),
            DbError::Query(e) => is_retryable_pg(e),
        }
    }
}

/// Whether a tokio-postgres error is worth retrying: closed connections, I/O, and the SQLSTATE
/// classes for connection exceptions (08), serialization/deadlock (40), resources (53),
/// operator intervention (57).
pub fn is_retryable_pg(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") || c.starts_with("40") || c.starts_with("53") || c.starts_with("57")
        }
        // No SQLSTATE: an I/O or protocol error.
        None => true,
    }
}

/// Whether an error means the connection itself is gone (closed, I/O, or the server ending the
/// session: class 08, or 57P01–57P03 as sent by `pg_terminate_backend`, a shutdown or a
/// restart), so that every later statement on it would fail too.
pub fn is_connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03")
        }
        None => true,
    }
}

/// libpq's `sslmode`, as this crate applies it (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslPolicy {
    Disable,
    /// TLS if the server offers it, certificate not verified; else plain.
    Prefer,
    /// TLS with the certificate verified (stricter than libpq's `require`).
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslPolicy {
    fn parse(v: &str) -> Result<Self, DbError> {
        Ok(match v {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            // libpq's `allow` (plain first, TLS if the server insists) is not offered.
            _ => {
                return Err(DbError::Config(
                    "sslmode must be disable, prefer, require, verify-ca or verify-full".into(),
                ))
            }
        })
    }

    /// Whether the server's certificate is verified.
    pub fn verifies(self) -> bool {
        self >= Self::Require
    }
}

/// Typed connection settings.
#[derive(Clone)]
pub struct DbConfig {
    /// Holds the password; `Config`'s own Debug redacts it, and ours prints neither.
    config: Config,
    policy: SslPolicy,
    /// The only CAs trusted (PEM), from `sslrootcert=`.
    root_cert: Option<Vec<u8>>,
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tokio_postgres::Config's Debug already redacts the password.
        f.debug_struct("DbConfig")
            .field("host", &self.config.get_hosts())
            .field("port", &self.config.get_ports())
            .field("dbname", &self.config.get_dbname())
            .field("user", &self.config.get_user())
            .field("sslmode", &self.policy)
            .finish_non_exhaustive()
    }
}

impl DbConfig {
    /// From `DATABASE_URL`.
    pub fn from_env() -> Result<Self, DbError> {
        let url = Secret::new(
            std::env::var("DATABASE_URL")
                .map_err(|_| DbError::Config("DATABASE_URL is not set".into()))?,
        );
        Self::from_url(url.expose()).map_err(|e| match e {
            DbError::Config(m) => DbError::Config(format!("DATABASE_URL: {m}")),
            other => other,
        })
    }

    /// From a `postgres://` URL or a `key=value` string. In Lambda (`AWS_LAMBDA_FUNCTION_NAME`
    /// set) an `sslmode` weaker than `require` (including none) is refused.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        let c = Self::parse(url)?;
        if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
            c.check_for_lambda()?;
        }
        Ok(c)
    }

    /// Refuse a connection that would not verify the server's certificate (what Lambda needs:
    /// the database is reached over the internet). A loopback server is exempt: no real Lambda
    /// has one, and local emulators (`cargo lambda watch`, which sets the Lambda variables) reach
    /// the developer's own PostgreSQL.
    pub fn check_for_lambda(&self) -> Result<(), DbError> {
        let loopback = self.tcp_address().is_some_and(|(h, _)| {
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        if self.policy.verifies() || loopback {
            Ok(())
        } else {
            Err(DbError::Config(format!(
                "sslmode is {} (absent means prefer); in Lambda it must be require, verify-ca or verify-full",
                match self.policy {
                    SslPolicy::Disable => "disable",
                    _ => "prefer",
                }
            )))
        }
    }

    fn parse(url: &str) -> Result<Self, DbError> {
        let (normalised, root_cert_path, mode) = normalise_url(url);
        let policy = match mode {
            Some(m) => SslPolicy::parse(&m)?,
            None => SslPolicy::Prefer,
        };
        let mut config = Config::from_str(&normalised)
            // The parser's message names the option, never the value.
            .map_err(|e| DbError::Config(format!("cannot parse the connection string: {e}")))?;
        config.ssl_mode(match policy {
            SslPolicy::Disable => SslMode::Disable,
            SslPolicy::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let root_cert =
            match root_cert_path {
                Some(p) => Some(std::fs::read(&p).map_err(|e| {
                    DbError::Config(format!("cannot read sslrootcert file {p}: {e}"))
                })?),
                None => None,
            };
        Ok(Self {
            config,
            policy,
            root_cert,
        })
    }

    pub fn ssl_policy(&self) -> SslPolicy {
        self.policy
    }

    pub fn dbname(&self) -> Option<&str> {
        self.config.get_dbname()
    }

    /// The same server, another database (for tests and benchmarks that want a fresh one).
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut c = self.clone();
        c.config.dbname(dbname);
        c
    }

    /// The first TCP address of the server, if it is reached over TCP.
    pub fn tcp_address(&self) -> Option<(String, u16)> {
        let host = match self.config.get_hosts().first()? {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        Some((host, port))
    }

    /// The same settings, reaching the server through another address (a benchmark's
    /// latency-injecting proxy). `Config` cannot drop a host, so it is rebuilt with every
    /// connection setting copied. Through a plain TCP proxy, TLS names the proxy's address,
    /// not the server: a managed server that routes by SNI (Neon) cannot be reached this way.
    pub fn via(&self, host: &str, port: u16) -> Self {
        let mut c = self.clone();
        c.config = Config::new();
        c.config
            .host(host)
            .port(port)
            .ssl_mode(self.config.get_ssl_mode())
            .channel_binding(self.config.get_channel_binding())
            .keepalives(self.config.get_keepalives())
            .keepalives_idle(self.config.get_keepalives_idle());
        if let Some(t) = self.config.get_connect_timeout() {
            c.config.connect_timeout(*t);
        }
        if let Some(o) = self.config.get_options() {
            c.config.options(o);
        }
        if let Some(u) = self.config.get_user() {
            c.config.user(u);
        }
        if let Some(p) = self.config.get_password() {
            c.config.password(p);
        }
        if let Some(d) = self.config.get_dbname() {
            c.config.dbname(d);
        }
        if let Some(a) = self.config.get_application_name() {
            c.config.application_name(a);
        }
        c
    }

    pub fn uses_tls(&self) -> bool {
        self.config.get_ssl_mode() != SslMode::Disable
    }
}

/// Take out what this module applies itself: `sslmode` (tokio-postgres knows neither
/// `verify-*` nor libpq's meaning of `prefer`) and `sslrootcert`, both returned separately.
fn normalise_url(url: &str) -> (String, Option<String>, Option<String>) {
    let url = url.trim();
    let mut root = None;
    let mut mode = None;
    if url.contains("://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None, None);
        };
        let mut kept = Vec::new();
        for kv in query.split('&') {
            match kv.split_once('=') {
                Some(("sslmode", v)) => mode = Some(v.to_string()),
                Some(("sslrootcert", v)) => root = Some(v.to_string()),
                _ => kept.push(kv.to_string()),
            }
        }
        let q = kept.join("&");
        (
            if q.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{q}")
            },
            root,
            mode,
        )
    } else {
        let mut kept = Vec::new();
        for kv in url.split_whitespace() {
            match kv.split_once('=') {
                Some(("sslmode", v)) => mode = Some(v.to_string()),
                Some(("sslrootcert", v)) => root = Some(v.to_string()),
                _ => kept.push(kv.to_string()),
            }
        }
        (kept.join(" "), root, mode)
    }
}

/// rustls for `prefer`: encrypts, verifies nothing about the server (libpq's `prefer` and
/// `require`). Signatures are still checked, so the handshake itself is sound.
#[derive(Debug)]
struct NoCertificateVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoCertificateVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn unverified_tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoCertificateVerification(provider)))
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// rustls verifying the server: against the Mozilla roots, or only the CAs of `sslrootcert`.
fn tls_connector(
    root_cert: Option<&[u8]>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    let roots = root_store(root_cert)?;
    // An explicit provider, so the connection does not depend on a process-wide default.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| DbError::Config(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The trust anchors: `sslrootcert`'s certificates and nothing else when it is given (libpq's
/// meaning), else the Mozilla roots.
fn root_store(root_cert: Option<&[u8]>) -> Result<rustls::RootCertStore, DbError> {
    let Some(pem) = root_cert else {
        return Ok(rustls::RootCertStore {
            roots: webpki_roots_vec(),
        });
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem) {
        let cert: rustls::pki_types::CertificateDer<'static> =
            cert.map_err(|e| DbError::Config(format!("sslrootcert: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| DbError::Config(format!("sslrootcert: {e}")))?;
    }
    if roots.is_empty() {
        return Err(DbError::Config("sslrootcert holds no certificate".into()));
    }
    Ok(roots)
}

fn webpki_roots_vec() -> Vec<rustls::pki_types::TrustAnchor<'static>> {
    webpki_roots::TLS_SERVER_ROOTS.to_vec()
}

/// A client plus what is needed to reconnect it.
pub struct Db {
    config: DbConfig,
    client: Client,
}

impl Db {
    pub async fn connect(config: &DbConfig) -> Result<Self, DbError> {
        let client = open(config).await?;
        Ok(Self {
            config: config.clone(),
            client,
        })
    }

    /// Reconnect when the connection was closed (idle purge, failover, a fatal error).
    pub async fn ensure_connected(&mut self) -> Result<(), DbError> {
        if self.client.is_closed() {
            tracing::warn!("database connection closed; reconnecting");
            self.client = open(&self.config).await?;
        }
        Ok(())
    }

    /// Open a new connection whatever `is_closed()` says. After an error that
    /// [`is_connection_lost`] recognises, the connection task may not have read the server's
    /// EOF yet, so `is_closed()` can still be false and [`Db::ensure_connected`] would keep
    /// the dead connection for one more statement.
    pub async fn reconnect(&mut self) -> Result<(), DbError> {
        tracing::warn!("database connection lost; reconnecting");
        self.client = open(&self.config).await?;
        Ok(())
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    pub fn config(&self) -> &DbConfig {
        &self.config
    }
}

/// A bare client on `config` (TLS as configured), for callers that share one connection
/// between concurrent tasks themselves (the api function pipelines queries on it).
pub async fn open_client(config: &DbConfig) -> Result<Client, DbError> {
    open(config).await
}

async fn open(config: &DbConfig) -> Result<Client, DbError> {
    if config.uses_tls() {
        let tls = if config.policy.verifies() {
            tls_connector(config.root_cert.as_deref())?
        } else {
            unverified_tls_connector()?
        };
        let (client, conn) = config.config.connect(tls).await.map_err(DbError::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(error = %e, "database connection ended");
            }
        });
        Ok(client)
    } else {
        let (client, conn) = config
            .config
            .connect(NoTls)
            .await
            .map_err(DbError::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!(error = %e, "database connection ended");
            }
        });
        Ok(client)
    }
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already: Vec<String>,
}

/// Apply the embedded migrations: idempotent, checksummed, one transaction, advisory lock.
pub async fn migrate(client: &mut Client) -> Result<MigrationReport, DbError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS etl;
         CREATE TABLE IF NOT EXISTS etl.schema_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await?;
    let rows = tx
        .query("SELECT version, checksum FROM etl.schema_migrations", &[])
        .await?;
    let applied: std::collections::HashMap<i32, String> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut report = MigrationReport::default();
    for m in MIGRATIONS {
        let sum = m.checksum();
        match applied.get(&m.version) {
            Some(existing) if *existing == sum => report.already.push(m.name.to_string()),
            Some(existing) => {
                return Err(DbError::MigrationChanged {
                    name: m.name.to_string(),
                    applied: existing.clone(),
                    embedded: sum,
                })
            }
            None => {
                tx.batch_execute(m.sql).await?;
                tx.execute(
                    "INSERT INTO etl.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    &[&m.version, &m.name, &sum],
                )
                .await?;
                tracing::info!(migration = m.name, "migration applied");
                report.applied.push(m.name.to_string());
            }
        }
    }
    // Re-grant the api's read-only role on every run: a migration that recreates analytics
    // objects drops their grants with them (migrations/0008_roles.sql).
    tx.batch_execute("SELECT etl.conceder_leitura()").await?;
    tx.commit().await?;
    Ok(report)
}

/// Create a database with a unique name next to `admin`'s (tests, benchmarks) and return its
/// config. The name is generated here, never taken from input.
pub async fn create_fresh_database(admin: &DbConfig, prefix: &str) -> Result<DbConfig, DbError> {
    let prefix: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(30)
        .collect();
    let name = format!(
        "{}_{}_{:08x}",
        if prefix.is_empty() { "cvdw" } else { &prefix },
        std::process::id(),
        unique_suffix()
    )
    .to_lowercase();
    let db = Db::connect(admin).await?;
    // Identifiers cannot be bound as parameters; `name` is built above from [a-z0-9_] only.
    db.client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    Ok(admin.with_dbname(&name))
}

/// Distinct within a process (counter) and across processes/time (clock nanoseconds).
fn unique_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = crate::clock::since_epoch().subsec_nanos();
    nanos.wrapping_add(
        COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9),
    )
}

/// Drop a database made by [`create_fresh_database`] (best effort: forces other sessions off).
pub async fn drop_database(admin: &DbConfig, name: &str) -> Result<(), DbError> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(DbError::Config(format!(
            "refusing to drop database {name:?}"
        )));
    }
    let db = Db::connect(admin).await?;
    db.client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_keeps_every_connection_setting_but_the_address() {
        use tokio_postgres::config::{ChannelBinding, Host};
        let cfg = DbConfig::from_url(
            "postgresql://u:pw@db.example/app?sslmode=require&channel_binding=require&connect_timeout=7&options=-c%20statement_timeout%3D5000&application_name=x",
        )
        .unwrap();
        let v = cfg.via("127.0.0.1", 6543).config;
        assert_eq!(v.get_ports(), &[6543]);
        assert!(matches!(v.get_hosts(), [Host::Tcp(h)] if h == "127.0.0.1"));
        assert_eq!(v.get_ssl_mode(), SslMode::Require);
        assert_eq!(v.get_channel_binding(), ChannelBinding::Require);
        assert_eq!(
            v.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(7))
        );
        assert_eq!(v.get_options(), Some("-c statement_timeout=5000"));
        assert_eq!(
            (
                v.get_user(),
                v.get_password(),
                v.get_dbname(),
                v.get_application_name()
            ),
            (Some("u"), Some(&b"pw"[..]), Some("app"), Some("x"))
        );
    }

    #[test]
    fn url_normalisation() {
        let (u, r, m) = normalise_url(
            "postgresql://u:pw@ep-x-pooler.neon.tech/db?sslmode=verify-full&channel_binding=require&sslrootcert=/tmp/ca.pem",
        );
        assert_eq!(
            u,
            "postgresql://u:pw@ep-x-pooler.neon.tech/db?channel_binding=require"
        );
        assert_eq!(r.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(m.as_deref(), Some("verify-full"));
        let (u, r, m) = normalise_url("host=127.0.0.1 user=postgres sslmode=disable");
        assert_eq!(u, "host=127.0.0.1 user=postgres");
        assert!(r.is_none());
        assert_eq!(m.as_deref(), Some("disable"));
    }

    #[test]
    fn sslmode_follows_libpq_and_lambda_needs_verification() {
        let policy = |u: &str| DbConfig::parse(u).map(|c| c.ssl_policy());
        assert_eq!(
            policy("postgres://postgres@127.0.0.1/postgres").unwrap(),
            SslPolicy::Prefer
        );
        assert_eq!(
            policy("postgres://h/d?sslmode=disable").unwrap(),
            SslPolicy::Disable
        );
        assert_eq!(policy("host=h sslmode=prefer").unwrap(), SslPolicy::Prefer);
        assert_eq!(
            policy("postgres://h/d?sslmode=require").unwrap(),
            SslPolicy::Require
        );
        assert_eq!(
            policy("postgres://h/d?sslmode=verify-ca").unwrap(),
            SslPolicy::VerifyCa
        );
        assert!(policy("postgres://u:s3cr3t@h/d?sslmode=allow")
            .unwrap_err()
            .to_string()
            .contains("sslmode must be"));
        for weak in [
            "postgres://h/d",
            "postgres://u:pw@db.example/d?sslmode=disable",
            "postgres://10.0.0.7/d?sslmode=prefer",
        ] {
            let e = DbConfig::parse(weak)
                .unwrap()
                .check_for_lambda()
                .unwrap_err();
            assert!(e.to_string().contains("in Lambda"), "{e}");
        }
        // A local emulator's own server.
        for local in [
            "postgres://postgres@127.0.0.1:5432/d?sslmode=disable",
            "postgres://localhost/d",
        ] {
            assert!(DbConfig::parse(local).unwrap().check_for_lambda().is_ok());
        }
        for strong in ["require", "verify-ca", "verify-full"] {
            let c = DbConfig::parse(&format!("postgres://h/d?sslmode={strong}")).unwrap();
            assert!(c.check_for_lambda().is_ok());
            assert_eq!(c.config.get_ssl_mode(), SslMode::Require);
        }
    }

    #[test]
    fn neon_url_parses_and_password_is_hidden() {
        let c = DbConfig::from_url(
            "postgresql://neondb_owner:s3cr3tpw@ep-cool-1-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require",
        )
        .unwrap();
        assert!(c.uses_tls());
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3tpw"), "{dbg}");
        let err = DbConfig::from_url("postgresql://u:s3cr3tpw@h/db?sslmode=bogus").unwrap_err();
        assert!(!err.to_string().contains("s3cr3tpw"), "{err}");
    }

    #[test]
    fn tls_connector_builds() {
        assert!(tls_connector(None).is_ok());
        assert!(unverified_tls_connector().is_ok());
        assert!(tls_connector(Some(b"not a pem")).is_err());
    }

    #[test]
    fn sslrootcert_is_the_only_trust_anchor() {
        assert!(root_store(None).unwrap().len() > 100, "the Mozilla roots");
        // Any one CA certificate of the system will do; skipped on a machine without any.
        let Some(pem) = std::fs::read_dir("/etc/ssl/certs")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pem"))
            .find_map(|p| std::fs::read(p).ok())
        else {
            eprintln!("skipped: no PEM certificate under /etc/ssl/certs");
            return;
        };
        assert_eq!(root_store(Some(&pem)).unwrap().len(), 1);
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        // 0001–00xx: the load schema; 0100+: analytics views built on it.
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert!(i == 0 || m.version > MIGRATIONS[i - 1].version);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
