//! Security (issue #8): secrets never printed, every API filter safe against SQL injection, and
//! the PostgreSQL connector refusing to talk without TLS when TLS is asked for.
//!
//! - **Secrets**: the `cvdw` binary runs extract, load and the API with known secret values
//!   (CVDW token, database password over real SCRAM authentication, API key, session secret) at
//!   `RUST_LOG=trace`, including the failure paths (a wrong token answered 401 by the simulator,
//!   a wrong password, an unreachable server); its stdout and stderr, the landed S3 objects and
//!   the HTTP answers must not hold any of them, and neither must the `Debug` of the
//!   configuration structs nor the errors, checked in process.
//! - **SQL injection**: classic payloads through every parameter of every endpoint: a 400
//!   naming the parameter or a normal (filtered) answer, never a 5xx, and the tables unchanged.
//! - **TLS**: `sslmode=require` (and `verify-full`/`verify-ca`) against a server without TLS is
//!   a clear error and never a plaintext session; a TLS server with a certificate from a private
//!   CA works once that CA is trusted explicitly (`sslrootcert`), and not otherwise.

use crate::api_support;
use crate::pg_cluster;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::load_support::{envelope, first_page, page, rows, run_id, scalar, venda};
use api_support::{loaded_db, serve, TestDb, KEY};
use pg_cluster::PgCluster;
use serde_json::Value;
use shared::api::ApiConfig;
use shared::cvdw::{ClientConfig, CvdwClient, Pacer, PacerConfig};
use shared::db::{Db, DbConfig};
use shared::extract::ExtractConfig;
use shared::landing::Mode;
use shared::secret::Secret;

const TOKEN: &str = "tok-9f2c71e0d4-SEGREDO";
const WRONG_TOKEN: &str = "tok-0bad7c3e11-SEGREDO";
const DB_PASSWORD: &str = "pw-7d1e55c3a0-SEGREDO";
const WRONG_PASSWORD: &str = "pw-0bad9e4f12-SEGREDO";
const API_KEY: &str = "key-4b8a2f9e61-SEGREDO-0123456789abcdef";
const WRONG_KEY: &str = "key-0bad5d7c13-SEGREDO-0123456789abcdef";
const SESSION_SECRET: &str = "sess-2c9e8a7b14-SEGREDO-0123456789abcdef";
const SECRETS: [&str; 7] = [
    TOKEN,
    WRONG_TOKEN,
    DB_PASSWORD,
    WRONG_PASSWORD,
    API_KEY,
    WRONG_KEY,
    SESSION_SECRET,
];

/// Fail, quoting the offending line, if `text` holds any secret.
fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        if let Some(line) = text.lines().find(|l| l.contains(s)) {
            panic!("{what} leaks a secret: {line}");
        }
    }
}

/// Every file under `dir`, read as text (S3 objects and their metadata as s3s-fs keeps them).
fn assert_dir_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            assert_dir_clean(&p);
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            assert_clean(&p.display().to_string(), &text);
        }
    }
}

/// Run `cvdw` with a clean configuration environment plus `env`, at trace level.
/// `cvdw load <pages>` into the database at `url`: whether it succeeded, and its output.
async fn cvdw_load(pages: &str, url: &str, dir: &Path) -> (bool, String) {
    cvdw(&["load", pages], &[("DATABASE_URL", url)], dir).await
}

async fn cvdw(args: &[&str], env: &[(&str, &str)], dir: &Path) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cvdw"));
    cmd.args(args).current_dir(dir).env("RUST_LOG", "trace");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_")
            || k.starts_with("CVDW_")
            || k == "DATABASE_URL"
            || k == "API_KEY_HASHES"
            || k == "API_KEYS"
            || k.starts_with("SESSION_")
        {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("cvdw runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A database that checks its password: a private cluster with SCRAM when this machine has the
/// server binaries, else a role with a password on the local server (whose trust rule does not
/// check it, but the value still flows through the configuration).
struct PasswordDb {
    url: String,
    /// Same server, wrong password; `None` when the server would not check it.
    wrong: Option<String>,
    _cluster: Option<PgCluster>,
}

async fn password_db(test: &str) -> PasswordDb {
    let cluster = PgCluster::start_with(false, DB_PASSWORD);
    if let Ok(c) = cluster {
        let wrong = c
            .url("sslmode=disable")
            .replace(DB_PASSWORD, WRONG_PASSWORD);
        return PasswordDb {
            url: c.url("sslmode=disable"),
            wrong: Some(wrong),
            _cluster: Some(c),
        };
    }
    if let Err(why) = cluster {
        pg_cluster::missing(
            test,
            &format!("{why}: the database password is not checked by a server"),
        );
    }
    let t = TestDb::empty("secrets").await;
    let name = t.config.dbname().unwrap().to_string();
    let mut admin = Db::connect(&t.admin).await.unwrap();
    admin
        .client()
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS cvdw_secret_test; CREATE ROLE cvdw_secret_test LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'"
        ))
        .await
        .unwrap();
    PasswordDb {
        url: format!(
            "postgresql://cvdw_secret_test:{DB_PASSWORD}@127.0.0.1:5432/{name}?sslmode=disable"
        ),
        wrong: None,
        _cluster: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_errors_or_storage() {
    shared::store::install_crypto_provider();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();

    // --- extract: the CVDW token, right and wrong ---
    let sim_cfg = simulator::SimConfig {
        scale: 0.02,
        email: "seguranca@cvdw.local".into(),
        token: TOKEN.into(),
        rate_limit: simulator::RateLimit::new(1000, Duration::from_secs(1)),
        ..Default::default()
    };
    let sim = simulator::Simulator::new(sim_cfg);
    let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = running.base_url();
    let s3_dir = dir.join("s3");
    let s3 = s3_dir.to_str().unwrap();
    let extract_env = |token: &'static str| {
        vec![
            ("CVDW_BASE_URL", base.clone()),
            ("CVDW_TENANT", "seguranca".to_string()),
            ("CVDW_EMAIL", "seguranca@cvdw.local".to_string()),
            ("CVDW_TOKEN", token.to_string()),
            ("CVDW_RATE_LIMIT", "1000/1s".to_string()),
        ]
    };
    let env: Vec<(&str, String)> = extract_env(TOKEN);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = [
        "extract",
        "--once",
        "--objects",
        "vendas,distratos",
        "--json",
        "--s3-dir",
        s3,
    ];
    let (ok, out) = cvdw(&args, &env, dir).await;
    assert!(ok, "extract failed:\n{out}");
    assert!(out.contains("\"pages\":"), "the run reported:\n{out}");
    assert_clean("cvdw extract", &out);
    assert_dir_clean(&s3_dir);

    let env: Vec<(&str, String)> = extract_env(WRONG_TOKEN);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, out) = cvdw(&args, &env, dir).await;
    assert!(out.contains("401"), "the refusal is reported:\n{out}");
    assert_clean("cvdw extract with a wrong token", &out);

    // In process: the configuration and the client print no token, nor does a 401.
    let lookup: HashMap<&str, String> = HashMap::from([
        ("RAW_BUCKET", "b".to_string()),
        ("CVDW_BASE_URL", base.clone()),
        (
            "CVDW_TENANTS",
            format!(
                r#"[{{"tenant":"a","email":"e@x","token":"{TOKEN}"}},{{"tenant":"b","email":"e@y","token":"{WRONG_TOKEN}"}}]"#
            ),
        ),
    ]);
    let config = ExtractConfig::from_lookup(|k| lookup.get(k).cloned()).unwrap();
    assert_clean("ExtractConfig Debug", &format!("{config:?}"));
    for bad in [
        format!(r#"[{{"tenant":"a","email":"e","token":"{TOKEN}","objects":5}}]"#),
        format!(r#"[{{"tenant":"a","email":"e","token":"{TOKEN}""#),
        format!(r#"[{{"tenant":"a","email":"e","token":"{TOKEN}","extra":1}}]"#),
    ] {
        let e = ExtractConfig::from_lookup(|k| match k {
            "RAW_BUCKET" => Some("b".into()),
            "CVDW_TENANTS" => Some(bad.clone()),
            _ => None,
        })
        .unwrap_err();
        assert_clean("CVDW_TENANTS error", &format!("{e} {e:?}"));
    }
    let client_cfg = ClientConfig::new(
        base.clone(),
        "seguranca@cvdw.local",
        Secret::new(WRONG_TOKEN),
    );
    assert_clean("ClientConfig Debug", &format!("{client_cfg:?}"));
    let pacer = std::sync::Arc::new(Pacer::new(PacerConfig::new(1000, Duration::from_secs(1))));
    let client = CvdwClient::new(client_cfg, pacer).unwrap();
    assert_clean("CvdwClient Debug", &format!("{client:?}"));
    let e = client.fetch_page(first_page("vendas")).await.unwrap_err();
    assert!(e.to_string().contains("401"), "{e}");
    assert_clean("CvdwError", &format!("{e} {e:?}"));
    running.shutdown().await;

    // --- load: the database password, right and wrong ---
    let db = password_db("secrets_never_reach_logs_errors_or_storage").await;
    let pages = dir.join("pages");
    for p in [
        page(
            "seguranca",
            "/vendas",
            &run_id(0, 0x5e),
            1,
            Mode::Full,
            envelope(&[venda(1, 1), venda(2, 1)], 1),
        ),
        page(
            "seguranca",
            "/vendas",
            &run_id(0, 0x5e),
            2,
            Mode::Full,
            envelope(&[venda(3, 1)], 2),
        ),
    ] {
        let file = pages.join(&p.key);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &p.body).unwrap();
    }
    let pages_arg = pages.to_str().unwrap();
    let (ok, out) = cvdw_load(pages_arg, &db.url, dir).await;
    assert!(ok, "load failed:\n{out}");
    assert!(out.contains("rows=3"), "{out}");
    assert_clean("cvdw load", &out);
    if let Some(wrong) = &db.wrong {
        let (ok, out) = cvdw_load(pages_arg, wrong, dir).await;
        assert!(!ok);
        assert!(
            out.contains("password authentication failed"),
            "a clear error:\n{out}"
        );
        assert_clean("cvdw load with a wrong password", &out);
        let e = Db::connect(&DbConfig::from_url(wrong).unwrap())
            .await
            .err()
            .unwrap();
        assert_clean("DbError (wrong password)", &format!("{e} {e:?}"));
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable =
        format!("postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{closed}/x?sslmode=disable");
    let (ok, out) = cvdw_load(pages_arg, &unreachable, dir).await;
    assert!(!ok);
    assert_clean("cvdw load on an unreachable server", &out);
    let cfg = DbConfig::from_url(&db.url).unwrap();
    assert_clean("DbConfig Debug", &format!("{cfg:?}"));
    let e = Db::connect(&DbConfig::from_url(&unreachable).unwrap())
        .await
        .err()
        .unwrap();
    assert_clean("DbError (unreachable)", &format!("{e} {e:?}"));
    for bad in [
        format!("postgresql://u:{DB_PASSWORD}@h/db?sslmode=bogus"),
        format!("postgresql://u:{DB_PASSWORD}@h:notaport/db"),
        format!("postgresql://u:{DB_PASSWORD}@h/db?sslrootcert=/nao/existe.pem"),
    ] {
        let e = DbConfig::from_url(&bad).unwrap_err();
        assert_clean("DbConfig error", &format!("{e} {e:?}"));
    }

    // --- api: the API key, a wrong key, the session secret, the database password ---
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut serve_cmd = Command::new(env!("CARGO_BIN_EXE_cvdw"));
    serve_cmd
        .args(["serve", "--port", &port.to_string()])
        .env("RUST_LOG", "trace")
        .env("DATABASE_URL", &db.url)
        .env("CVDW_API_KEY", API_KEY)
        .env("SESSION_SECRET", SESSION_SECRET)
        .env_remove("API_KEY_HASHES")
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let mut server = serve_cmd.spawn().unwrap();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let mut up = false;
    for _ in 0..200 {
        if http
            .get(url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        up,
        "cvdw serve did not come up:\n{}",
        std::fs::read_to_string(&log_path).unwrap()
    );
    let mut answers = String::new();
    let record = |r: reqwest::Response| async move {
        let head = format!("{} {:?}", r.status(), r.headers());
        let body = r.text().await.unwrap_or_default();
        (head, body)
    };
    let checks: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (http.get(url("/api/kpis")).bearer_auth(API_KEY), 200),
        (
            http.get(url("/api/kpis?tenant=seguranca"))
                .bearer_auth(API_KEY),
            200,
        ),
        (http.get(url("/api/kpis")).bearer_auth(WRONG_KEY), 401),
        (http.get(url("/openapi.json")).bearer_auth(WRONG_KEY), 401),
        (
            http.post(url("/login"))
                .json(&serde_json::json!({"key": API_KEY})),
            204,
        ),
        (
            http.post(url("/login"))
                .json(&serde_json::json!({"key": WRONG_KEY})),
            401,
        ),
        (http.get(url("/health")), 200),
    ];
    let mut cookie = None;
    for (req, want) in checks {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), want);
        if let Some(c) = r.headers().get("set-cookie") {
            cookie = Some(c.to_str().unwrap().split(';').next().unwrap().to_string());
        }
        let (head, body) = record(r).await;
        answers.push_str(&head);
        answers.push_str(&body);
    }
    let cookie = cookie.expect("a session cookie");
    let r = http
        .get(url("/api/vendas-mensais"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (head, body) = record(r).await;
    answers.push_str(&head);
    answers.push_str(&body);
    assert_clean("API answers", &answers);
    server.kill().unwrap();
    server.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("cvdw serve: dashboard at"), "{log}");
    assert_clean("cvdw serve", &log);
    let api = ApiConfig::from_lookup(|k| match k {
        "API_KEY_HASHES" => Some(shared::api::hash_key(API_KEY)),
        "SESSION_SECRET" => Some(SESSION_SECRET.into()),
        _ => None,
    })
    .unwrap();
    assert_clean("ApiConfig Debug", &format!("{api:?}"));
}

/// Row counts of every table the loader and the views use, by name (and the list of views:
/// a dropped one would vanish from it).
/// Rows per table and view, except the analytics cache, which the API legitimately (re)builds
/// from the other tables on a read (migrations/0102).
async fn table_counts(c: &tokio_postgres::Client) -> BTreeMap<String, i64> {
    let names: Vec<(String, String)> = rows(
        c,
        "SELECT table_schema::text, table_name::text FROM information_schema.tables \
             WHERE table_schema IN ('cvdw', 'etl', 'analytics') \
             AND NOT (table_schema = 'analytics' AND table_name LIKE 'cache\\_%') ORDER BY 1, 2",
        &[],
    )
    .await;
    let mut out = BTreeMap::new();
    for (schema, table) in names {
        // Test code: names from the catalog, not from input.
        let n: i64 = scalar(
            c,
            &format!("SELECT count(*) FROM \"{schema}\".\"{table}\""),
            &[],
        )
        .await;
        out.insert(format!("{schema}.{table}"), n);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_injection_payloads_through_every_filter_are_refused_or_harmless() {
    let (mut db, _acme, _beta) = loaded_db("security_sqli").await;
    let before = table_counts(db.client()).await;
    assert!(before["cvdw.vendas"] > 0);
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    shared::store::install_crypto_provider();
    let http = reqwest::Client::new();

    let long = format!("{}{}", "'".repeat(3000), "A".repeat(7000));
    let payloads: Vec<&str> = vec![
        "' OR 1=1 --",
        "' OR '1'='1",
        "1 OR 1=1",
        "1; DROP TABLE cvdw.vendas; --",
        "'; DROP TABLE cvdw.vendas; --",
        "acme'; DROP TABLE etl.pages; --",
        "acme' --",
        "acme'/*",
        "%27",
        "%27%20OR%201%3D1--",
        "\u{2019} OR \u{2019}1\u{2019}=\u{2019}1",
        "\u{02bc}; DROP TABLE cvdw.vendas; --",
        "\u{ff07} OR 1=1 --",
        "\"; DROP TABLE cvdw.vendas; --",
        "\\'; SELECT pg_sleep(1); --",
        "$1",
        "$$; DROP TABLE cvdw.vendas; $$",
        "1 UNION SELECT usename, passwd FROM pg_shadow --",
        "acme\0",
        "\0' OR 1=1 --",
        "2024-01-01' OR '1'='1",
        "2024-01'; DROP TABLE cvdw.vendas; --",
        "1e9999",
        "-1",
        "0",
        "99999999999999999999999",
        "0x10",
        "dem_",
        "_",
        "%",
        "*",
        "csv' OR 1=1 --",
        "json\r\nX-Injected: 1",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        &long,
    ];
    let params = api_support::paged_metric_params();
    let mut paths: Vec<String> = shared::analytics::METRICS
        .iter()
        .map(|m| format!("/api/{}", m.path))
        .collect();
    paths.push("/api/empreendimentos".into());
    let mut problems = Vec::new();
    let mut sent = 0;
    for path in &paths {
        for &param in &params {
            for payload in &payloads {
                let u = reqwest::Url::parse_with_params(
                    &format!("http://{addr}{path}"),
                    [(param, *payload)],
                )
                .unwrap();
                let r = http.get(u).bearer_auth(KEY).send().await.unwrap();
                sent += 1;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let shown: String = payload.chars().take(40).collect();
                match status {
                    400 if body["parameter"] == param => {}
                    200 => {
                        // Only a value that is a real filter value passes, and it filters.
                        let rows = body["rows"].as_array().cloned().unwrap_or_default();
                        if param != "tenant" || rows.iter().any(|x| x["tenant"] != *payload) {
                            problems.push(format!(
                                "{path}?{param}={shown:?}: 200 with {} rows",
                                rows.len()
                            ));
                        }
                    }
                    _ => problems.push(format!("{path}?{param}={shown:?}: HTTP {status} {body}")),
                }
            }
        }
    }
    // Parameter names, headers, credentials and the login body carry payloads too.
    let hostile = "' OR 1=1 --";
    for (req, want) in [
        (
            http.get(format!("http://{addr}/api/kpis?tenant%27%20OR%201=1--=1"))
                .bearer_auth(KEY),
            400,
        ),
        (
            http.get(format!("http://{addr}/api/kpis"))
                .bearer_auth(KEY)
                .header("accept", "text/csv'; DROP TABLE cvdw.vendas; --"),
            200,
        ),
        (
            http.get(format!("http://{addr}/api/kpis"))
                .bearer_auth(hostile),
            401,
        ),
        (
            http.get(format!("http://{addr}/api/kpis"))
                .header("cookie", format!("cvdw_session={hostile}")),
            401,
        ),
        (
            http.get(format!("http://{addr}/api/kpis"))
                .header("cookie", "cvdw_session=v1.' OR 1=1 --.00"),
            401,
        ),
        (
            http.post(format!("http://{addr}/login"))
                .json(&serde_json::json!({"key": hostile})),
            401,
        ),
        (
            http.get(format!("http://{addr}/api/kpis%27%20OR%201=1--"))
                .bearer_auth(KEY),
            404,
        ),
    ] {
        let r = req.send().await.unwrap();
        sent += 1;
        if r.status().as_u16() != want {
            problems.push(format!(
                "{:?}: HTTP {} (expected {want})",
                r.url().as_str(),
                r.status()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {sent} requests:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let after = table_counts(db.client()).await;
    assert_eq!(
        before, after,
        "every table is still there with the same rows"
    );
    eprintln!(
        "sql injection: {sent} requests, {} payloads × {} parameters × {} endpoints",
        payloads.len(),
        params.len(),
        paths.len()
    );
    db.drop().await;
}

#[tokio::test]
async fn tls_required_is_never_plaintext_and_a_private_ca_must_be_trusted_explicitly() {
    const TEST: &str =
        "tls_required_is_never_plaintext_and_a_private_ca_must_be_trusted_explicitly";
    let plain = match PgCluster::start_with(false, DB_PASSWORD) {
        Ok(cluster) => cluster,
        Err(why) => return pg_cluster::missing(TEST, &why),
    };
    // A server without TLS: every mode that asks for TLS refuses, with a clear error, and never
    // opens a session in plaintext (the server saw the attempts, and authorized none).
    for mode in ["require", "verify-full", "verify-ca"] {
        let cfg = DbConfig::from_url(&plain.url(&format!("sslmode={mode}"))).unwrap();
        assert!(cfg.uses_tls(), "{mode}");
        let err = Db::connect(&cfg).await.err().expect("refused");
        let msg = format!("{err}");
        assert!(msg.contains("server does not support TLS"), "{mode}: {msg}");
        assert_clean("TLS refusal", &format!("{err} {err:?}"));
        // The api's connection path is the same connector.
        let api = shared::api::connect_with(cfg);
        assert!(
            (*api)().await.is_err(),
            "{mode}: the api connects only with TLS too"
        );
    }
    let url = plain.url("sslmode=require");
    let work = tempfile::tempdir().unwrap();
    let (ok, out) = cvdw(&["migrate"], &[("DATABASE_URL", url.as_str())], work.path()).await;
    assert!(!ok, "cvdw migrate must fail:\n{out}");
    assert!(out.contains("server does not support TLS"), "{out}");
    assert_clean("cvdw migrate", &out);
    let log = plain.log();
    assert!(
        log.contains("connection received"),
        "the attempts reached the server:\n{log}"
    );
    assert!(
        !log.contains("connection authorized"),
        "no session was opened:\n{log}"
    );
    // The same server without TLS asked for: it works (the refusal was the client's).
    let mut db = Db::connect(&DbConfig::from_url(&plain.url("sslmode=disable")).unwrap())
        .await
        .unwrap();
    db.client().query_one("SELECT 1", &[]).await.unwrap();
    assert!(plain.log().contains("connection authorized"));

    // A TLS server whose certificate comes from a private CA: refused until that CA is trusted
    // with sslrootcert (rustls verifies the chain and the host name in every mode).
    let tls = match PgCluster::start() {
        Ok(cluster) => cluster,
        Err(why) => return pg_cluster::missing(TEST, &format!("the TLS half: {why}")),
    };
    for mode in ["require", "verify-full"] {
        let err = Db::connect(&DbConfig::from_url(&tls.url(&format!("sslmode={mode}"))).unwrap())
            .await
            .err()
            .expect("an unknown CA is refused");
        assert!(
            format!("{err:?}").contains("UnknownIssuer"),
            "{mode}: {err:?}"
        );
    }
    let mut db = tls.connect_verified().await;
    assert!(pg_cluster::ssl_in_use(&mut db).await);
}
