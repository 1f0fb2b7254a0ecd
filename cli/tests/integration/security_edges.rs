//! The edges of issue #20 and #19's sslmode, against real servers:
//! - **Read-only role**: a login in `cvdw_reader` (migrations/0008_roles.sql) serves the API
//!   (the analytics cache refreshed through the SECURITY DEFINER wrapper) and cannot write, read
//!   page payloads or create objects.
//! - **sslmode prefer**: with no `sslmode` (libpq's default) a TLS server with a certificate
//!   nobody trusts is reached encrypted, a server without TLS in plain; `require` still verifies;
//!   `cvdw migrate` works against this machine's stock server with a plain URL.
//! - **Redirects**: a CVDW base URL answering 302 to another port: the client refuses, and the
//!   listener on that port never sees the token.
//! - **Key refusals**: `cvdw serve` refuses a short or empty plain key and the empty string's
//!   hash at start-up, naming the key by position and never printing it.

use crate::api_support;
use crate::pg_cluster;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::load_support::{first_page, scalar};
use api_support::{loaded_db, serve};
use pg_cluster::{ssl_in_use, PgCluster};
use shared::api::ApiConfig;
use shared::cvdw::{ClientConfig, CvdwClient, Pacer, PacerConfig};
use shared::db::{Db, DbConfig};
use shared::secret::Secret;

const KEY: &str = "edge-key-0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn the_read_only_role_serves_the_api_and_cannot_write() {
    let (mut db, _a, _b) = loaded_db("ro_role").await;
    let login = format!("cvdw_api_test_{}", std::process::id());
    db.client()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {login}; CREATE ROLE {login} LOGIN IN ROLE cvdw_reader"
        ))
        .await
        .unwrap();
    let name = db.config.dbname().unwrap().to_string();
    let url = format!("postgres://{login}@127.0.0.1:5432/{name}?sslmode=disable");
    let reader_cfg = DbConfig::from_url(&url).unwrap();

    // The API, connected as the reader: metrics (refreshing the stale cache), the
    // developments list and /health with per-tenant freshness.
    let mut ro = api_support::TestDb {
        admin: db.admin.clone(),
        config: reader_cfg.clone(),
        db: Db::connect(&reader_cfg).await.unwrap(),
    };
    let (addr, _h) = serve(&ro, ApiConfig::from_keys(&[KEY])).await;
    shared::store::install_crypto_provider();
    let http = reqwest::Client::new();
    for path in [
        "/api/kpis",
        "/api/vendas-mensais",
        "/api/empreendimentos",
        "/api/tabela-geral",
        "/api/etl/status",
        "/health",
    ] {
        let r = api_support::get_with(&http, addr, path, Some(KEY), &[]).await;
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }
    let refreshed: bool = scalar(ro.client(), "SELECT analytics.cache_valida()", &[]).await;
    assert!(
        refreshed,
        "the reader refreshed the cache through the wrapper"
    );
    let n: i64 = scalar(
        ro.client(),
        "SELECT count(*) FROM analytics.vw_vendas_mensais",
        &[],
    )
    .await;
    assert!(n > 0);

    // Writes, payloads and DDL: permission denied (42501), and nothing changed.
    for sql in [
        "INSERT INTO etl.manifests (tenant) VALUES ('x')",
        "UPDATE etl.pages SET loads = loads + 1",
        "DELETE FROM analytics.cache_vendas",
        "TRUNCATE analytics.cache_vendas",
        "SELECT source_key FROM etl.pages LIMIT 1",
        "SELECT * FROM etl.rejected_rows LIMIT 1",
        "SELECT * FROM cvdw.vendas LIMIT 1",
        "CREATE TABLE analytics.intruso (x int)",
        "CREATE TABLE public.intruso (x int)",
    ] {
        let e = ro.client().batch_execute(sql).await.unwrap_err();
        let code = e.code().map(|c| c.code().to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {e:?}");
    }
    let vendas: i64 = scalar(
        db.client(),
        "SELECT count(*) FROM analytics.cache_vendas",
        &[],
    )
    .await;
    assert!(vendas > 0, "the reader's DELETE did nothing");
    drop(ro);
    db.drop().await;
    let mut admin = Db::connect(
        &DbConfig::from_url("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable").unwrap(),
    )
    .await
    .unwrap();
    admin
        .client()
        .batch_execute(&format!("DROP ROLE IF EXISTS {login}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn sslmode_prefer_encrypts_without_verifying_and_falls_back_to_plain() {
    // This machine's stock server (ssl=on, a self-signed "snakeoil" certificate on Debian):
    // a URL without sslmode connects, encrypted, as psql would.
    let stock = DbConfig::from_url("postgres://postgres@127.0.0.1:5432/postgres").unwrap();
    let mut db = Db::connect(&stock)
        .await
        .expect("libpq's default reaches the stock server");
    let stock_tls = ssl_in_use(&mut db).await;
    eprintln!("stock server session encrypted: {stock_tls}");
    // `cvdw migrate` with a plain URL against the stock server (a fresh database on it).
    let fresh = shared::db::create_fresh_database(
        &DbConfig::from_url("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable").unwrap(),
        "prefer_migrate",
    )
    .await
    .unwrap();
    let name = fresh.dbname().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cvdw"))
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{name}"),
        )
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cvdw migrate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let admin =
        DbConfig::from_url("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable").unwrap();
    shared::db::drop_database(&admin, &name).await.unwrap();

    // A TLS server whose certificate comes from a CA nobody trusts (self-signed as far as the
    // client knows): prefer and no sslmode encrypt; require still verifies and refuses.
    const TEST: &str = "sslmode_prefer_encrypts_without_verifying_and_falls_back_to_plain";
    let tls = match PgCluster::start() {
        Ok(cluster) => cluster,
        Err(why) => return pg_cluster::missing(TEST, &format!("the private-cluster half: {why}")),
    };
    for query in ["", "sslmode=prefer"] {
        let url = tls.url(query);
        let url = url.trim_end_matches('?').to_string();
        let mut db = Db::connect(&DbConfig::from_url(&url).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{query:?}: {e}"));
        assert!(ssl_in_use(&mut db).await, "{query:?}: encrypted");
    }
    let e = Db::connect(&DbConfig::from_url(&tls.url("sslmode=require")).unwrap())
        .await
        .err()
        .expect("require verifies the certificate");
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");
    // sslrootcert: that CA, and only it, is trusted.
    let mut db = tls.connect_verified().await;
    assert!(ssl_in_use(&mut db).await);

    // A server without TLS: prefer falls back to plain.
    let plain = match PgCluster::start_with(false, pg_cluster::PASSWORD) {
        Ok(cluster) => cluster,
        Err(why) => return pg_cluster::missing(TEST, &format!("the plain-server half: {why}")),
    };
    let mut db = Db::connect(&DbConfig::from_url(&plain.url("sslmode=prefer")).unwrap())
        .await
        .unwrap();
    assert!(!ssl_in_use(&mut db).await);
}

/// A tiny HTTP server: the first answers every request with 302 to the second, which records
/// the headers it receives.
async fn redirector() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::http::{HeaderMap, StatusCode};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    let log = seen.clone();
    let record = axum::Router::new().fallback(move |headers: HeaderMap| {
        let log = log.clone();
        async move {
            let h: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
                .collect();
            log.lock().unwrap().push(h.join("\n"));
            (StatusCode::OK, "{\"dados\": []}")
        }
    });
    tokio::spawn(async move { axum::serve(target, record).await });
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = front.local_addr().unwrap();
    let redirect = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
        (
            StatusCode::FOUND,
            [("location", format!("http://{target_addr}{uri}"))],
            "",
        )
    });
    tokio::spawn(async move { axum::serve(front, redirect).await });
    (format!("http://{front_addr}/api/v1/cvdw"), seen)
}

#[tokio::test]
async fn a_redirect_never_carries_the_token_to_another_host() {
    const TOKEN: &str = "tok-redirect-SEGREDO-0123456789";
    let (base, seen) = redirector().await;
    let pacer = Arc::new(Pacer::new(PacerConfig::new(1000, Duration::from_secs(1))));
    let client = CvdwClient::new(
        ClientConfig::new(base, "seguranca@cvdw.local", Secret::new(TOKEN)),
        pacer,
    )
    .unwrap();
    let e = client.fetch_page(first_page("vendas")).await.unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert!(
        e.to_string().contains("302") && e.to_string().contains("redirect"),
        "{e}"
    );
    assert!(!e.to_string().contains(TOKEN));
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|h| !h.contains(TOKEN)),
        "the token reached the redirect target: {seen:?}"
    );
    assert!(
        seen.is_empty(),
        "the redirect was not followed at all: {seen:?}"
    );

    // And plain http is refused for a non-local host before anything is sent.
    let pacer = Arc::new(Pacer::new(PacerConfig::new(1000, Duration::from_secs(1))));
    let e = CvdwClient::new(
        ClientConfig::new(
            "http://acme.cvcrm.com.br/api/v1/cvdw",
            "seguranca@cvdw.local",
            Secret::new(TOKEN),
        ),
        pacer,
    )
    .unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
}

#[tokio::test]
async fn serve_refuses_empty_short_and_empty_hash_keys_naming_them_by_position() {
    const SHORT: &str = "short-SEGREDO-42";
    let empty_hash = shared::api::hash_key("");
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("CVDW_API_KEY", SHORT)], "CVDW_API_KEY: key 1 is shorter"),
        (&[("CVDW_API_KEY", "")], "key 1 is empty"),
        (
            &[("API_KEY_HASHES", empty_hash.as_str())],
            "API_KEY_HASHES: entry 1 is the SHA-256 of the empty string",
        ),
        (&[("API_KEYS", "[]")], "API_KEYS: lists no key"),
    ];
    for (env, expected) in cases {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cvdw"));
        cmd.args(["serve", "--port", "0"]).env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/none?sslmode=disable",
        );
        for k in [
            "CVDW_API_KEY",
            "API_KEYS",
            "API_KEY_HASHES",
            "SESSION_SECRET",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{env:?} must not start: {text}");
        assert!(text.contains(expected), "{env:?}: {text}");
        assert!(
            !text.contains(SHORT) && !text.contains(&empty_hash),
            "{text}"
        );
    }
}
