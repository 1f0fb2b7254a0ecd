//! Secrets never reach the api Lambda's logs, at `RUST_LOG=trace`, on the Lambda runtime path
//! (issue #20): the function's own start-up (`shared::api::lambda::app_from_env`, as
//! functions/api runs it) handed to `lambda_http::run`, against a fake Runtime API on a local
//! port that serves events holding an `Authorization` header, a session cookie and a `/login`
//! body, and collects the responses. Logs are captured with the Lambda filter
//! (`shared::telemetry::lambda_filter`).
//!
//! A control run first uses plain `trace` without the cap and shows that the runtime itself
//! does log the raw event (so the capped run is a real test), then the capped run must leak
//! nothing: not the key, its hash, the session secret, the cookie nor the database password.
//!
//! The check runs in a child process of the test binary: it sets the process environment
//! the runtime reads and installs a global logger, which must not leak into the other tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::pg_cluster::{self, PgCluster};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{json, Value};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const KEY: &str = "lambda-key-SEGREDO-0123456789abcdef0123";
const SESSION_SECRET: &str = "lambda-session-SEGREDO-0123456789abcdef0123";

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

/// The fake Runtime API: events handed out in order, responses collected by request id.
#[derive(Default)]
struct Runtime {
    events: Mutex<VecDeque<(String, Value)>>,
    responses: Mutex<Vec<(String, Value)>>,
    done: tokio::sync::Notify,
}

async fn next(State(rt): State<Arc<Runtime>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ev = rt.events.lock().unwrap().pop_front();
    let Some((id, body)) = ev else {
        // No more events: hold the poll open, as the real Runtime API does.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = (chrono::Utc::now().timestamp_millis() + 60_000).to_string();
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:cvdw-api".to_string(),
            ),
            ("lambda-runtime-trace-id", "Root=1-0-0".to_string()),
            ("content-type", "application/json".to_string()),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn respond(
    State(rt): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: String,
) -> &'static str {
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let mut r = rt.responses.lock().unwrap();
    r.push((id, v));
    if rt.events.lock().unwrap().is_empty() {
        rt.done.notify_one();
    }
    "{}"
}

fn event(
    method: &str,
    path: &str,
    headers: Value,
    cookies: Vec<String>,
    body: Option<String>,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "cookies": cookies,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "fn", "domainName": "fn.lambda-url.us-east-1.on.aws",
            "domainPrefix": "fn",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": "req", "routeKey": "$default", "stage": "$default",
            "time": "07/Dec/2026:20:00:00 +0000", "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Run the function against the fake Runtime API until every event has a response.
async fn invoke_all(events: Vec<Value>) -> Vec<(String, Value)> {
    let rt = Arc::new(Runtime::default());
    {
        let mut q = rt.events.lock().unwrap();
        for (i, e) in events.into_iter().enumerate() {
            q.push_back((format!("req-{i}"), e));
        }
    }
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(respond))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // The process environment is this child's own (see the module docs).
    std::env::set_var("AWS_LAMBDA_RUNTIME_API", addr.to_string());
    let done = rt.done.notified();
    // lambda_http's future is not Send: a local task (the test runs inside a LocalSet).
    let function = tokio::task::spawn_local(async move {
        let app = shared::api::lambda::app_from_env()
            .await
            .expect("the api starts");
        lambda_http::run(app).await
    });
    tokio::time::timeout(std::time::Duration::from_secs(120), done)
        .await
        .expect("every event answered");
    function.abort();
    server.abort();
    let r = rt.responses.lock().unwrap().clone();
    r
}

/// Set in the child process that runs [`in_its_own_process`].
const CHILD: &str = "CVDW_TEST_LAMBDA_LOGS_CHILD";

#[test]
fn no_secret_reaches_the_logs_through_the_lambda_runtime_at_trace() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lambda_logs::in_its_own_process",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The child ran the one test (a filter that matched nothing would pass too).
    assert!(stdout.contains("1 passed"), "{stdout}");
    if let Some(skip) = stdout.lines().find(|l| l.starts_with("SKIP ")) {
        println!("{skip}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a child process by no_secret_reaches_the_logs_through_the_lambda_runtime_at_trace"]
async fn in_its_own_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    tokio::task::LocalSet::new().run_until(run()).await;
}

async fn run() {
    shared::store::install_crypto_provider();
    let logs = Buf::default();
    let (filter, reload) =
        tracing_subscriber::reload::Layer::new(tracing_subscriber::EnvFilter::new("trace"));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_span_list(true)
                .with_ansi(false)
                .with_writer(logs.clone()),
        )
        .init();

    // A database the function reaches with TLS verified (Lambda refuses less) and a password,
    // when this machine can start a private cluster; else an unreachable one (503s).
    let cluster = PgCluster::start();
    let (db_url, db_password) = match &cluster {
        Ok(c) => {
            let url = c.url(&format!(
                "sslmode=verify-full&sslrootcert={}",
                c.ca().display()
            ));
            let mut db = shared::db::Db::connect(&shared::db::DbConfig::from_url(&url).unwrap())
                .await
                .unwrap();
            shared::db::migrate(db.client()).await.unwrap();
            (url, Some(c.password.clone()))
        }
        Err(why) => {
            pg_cluster::missing(
                "no_secret_reaches_the_logs_through_the_lambda_runtime_at_trace",
                &format!("{why}: the database half runs against an unreachable server"),
            );
            (
                "postgres://postgres:pw-SEGREDO-unreachable@127.0.0.1:1/none?sslmode=require"
                    .to_string(),
                Some("pw-SEGREDO-unreachable".to_string()),
            )
        }
    };
    let keys = json!([{"sha256": shared::api::hash_key(KEY), "tenants": "*", "role": "admin", "name": "ops"}]).to_string();
    for (k, v) in [
        ("AWS_LAMBDA_FUNCTION_NAME", "cvdw-api"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("API_KEYS", keys.as_str()),
        ("SESSION_SECRET", SESSION_SECRET),
        ("DATABASE_URL", db_url.as_str()),
        ("RUST_LOG", "trace"),
    ] {
        std::env::set_var(k, v);
    }
    for k in [
        "API_KEY_HASHES",
        "API_KEYS_SECRET_ARN",
        "SESSION_SECRET_ARN",
        "DATABASE_URL_SECRET_ARN",
    ] {
        std::env::remove_var(k);
    }
    let config = shared::api::ApiConfig::from_lookup(|k| std::env::var(k).ok()).unwrap();
    let cookie = config.session_value(0, chrono::Utc::now().timestamp());
    let events = || {
        vec![
            event(
                "POST",
                "/login",
                json!({"content-type": "application/json"}),
                vec![],
                Some(json!({"key": KEY}).to_string()),
            ),
            event(
                "GET",
                "/api/kpis",
                json!({"authorization": format!("Bearer {KEY}"), "accept": "application/json"}),
                vec![],
                None,
            ),
            event(
                "GET",
                "/api/empreendimentos",
                json!({"accept": "application/json"}),
                vec![format!("cvdw_session={cookie}")],
                None,
            ),
            event("GET", "/health", json!({"x-api-key": KEY}), vec![], None),
        ]
    };
    let secrets: Vec<String> = [
        Some(KEY.to_string()),
        Some(shared::api::hash_key(KEY)),
        Some(SESSION_SECRET.to_string()),
        Some(cookie.clone()),
        db_password,
    ]
    .into_iter()
    .flatten()
    .collect();
    let leaks = |text: &str| -> Vec<String> {
        secrets
            .iter()
            .filter_map(|s| {
                text.lines()
                    .find(|l| l.contains(s.as_str()))
                    .map(str::to_string)
            })
            .collect()
    };

    // Control: uncapped trace, one login event; the runtime logs the raw event.
    let r = invoke_all(events().into_iter().take(1).collect()).await;
    assert_eq!(r[0].1["statusCode"], 204, "{r:?}");
    let control = String::from_utf8(logs.0.lock().unwrap().split_off(0)).unwrap();
    assert!(
        !leaks(&control).is_empty(),
        "the control run should show the runtime logging the raw event at trace"
    );

    // The function's filter: trace, capped for the runtime crates.
    reload
        .reload(shared::telemetry::lambda_filter(Some("trace")))
        .unwrap();
    let r = invoke_all(events()).await;
    assert_eq!(r.len(), 4, "{r:?}");
    assert_eq!(r[0].1["statusCode"], 204, "login: {r:?}");
    let expected_data = if cluster.is_ok() { 200 } else { 503 };
    assert_eq!(r[1].1["statusCode"], expected_data, "bearer: {:?}", r[1]);
    assert_eq!(r[2].1["statusCode"], expected_data, "cookie: {:?}", r[2]);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("\"target\":\"cvdw::access\"") && text.contains("\"key\":\"ops\""),
        "the access log names the key:\n{text}"
    );
    let found = leaks(&text);
    assert!(
        found.is_empty(),
        "secrets in the logs:\n{}",
        found.join("\n")
    );
    for (_, resp) in &r {
        let s = resp.to_string();
        assert!(!s.contains(KEY) && !s.contains(SESSION_SECRET), "{s}");
    }
}
