//! The load Lambda: S3 `ObjectCreated` events on the raw bucket → PostgreSQL.
//!
//! Thin on purpose: everything it does is `shared::load` (the same code `cvdw load` and
//! `cvdw replay` run). At init (once per container) it reads its configuration and builds the
//! S3 client, nothing that waits on the database: Lambda gives init 10 s, and a Neon compute
//! waking up plus a first migration can take longer. The first invocation of each container
//! connects and applies the migrations (idempotent, one transaction under an advisory lock,
//! bounded by [`MIGRATION_TIMEOUT`]); later invocations reuse the connection, reconnecting only
//! if it was closed. A failed or timed-out migration fails that invocation (Lambda retries the
//! event) and the next invocation tries again. The api function never migrates.
//!
//! Errors: every record of the event is attempted. A record that fails permanently (a bad
//! page or manifest, per `LoadError::is_retryable`) is recorded in `etl.failed_pages` and let
//! go: a redelivery would fail the same way. If any record failed in a way a retry can fix
//! (a dropped connection, a serialization failure), the invocation fails with the error type
//! `Retryable`, so Lambda's async retries re-deliver the event (records that did load are
//! no-ops the second time, thanks to the ledger) and, after the retries, the on-failure
//! destination / DLQ keeps it. Failing before any record is handled (no database) fails the
//! invocation too, so the event is never dropped unrecorded.
//!
//! Environment: `DATABASE_URL_SECRET_ARN` (AWS) or `DATABASE_URL` (TLS with `sslmode=require`),
//! the standard AWS variables.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, LambdaEvent};
use shared::db::{self, Db, DbConfig};
use shared::lambda_failure::Failure;
use shared::load::event::{handle_s3_event, EventReport};
use shared::load::LoadOptions;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long the first invocation may spend connecting and migrating before it gives up (and
/// Lambda retries the event). Well inside the function's 120 s timeout, so a slow migration
/// ends as a clear error rather than a killed invocation.
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(60);

struct State {
    /// `None` until the first invocation has connected and migrated.
    db: Mutex<Option<Db>>,
    config: DbConfig,
    /// Built once at init; each record is read from its own bucket with it.
    s3: aws_sdk_s3::Client,
}

/// The container's database connection, opened and migrated on first use.
async fn ready<'a>(
    slot: &'a mut Option<Db>,
    config: &DbConfig,
    timeout: Duration,
) -> Result<&'a mut Db, Failure> {
    if let Some(db) = slot {
        return Ok(db);
    }
    let db = tokio::time::timeout(timeout, async {
        let mut db = Db::connect(config).await?;
        let report = db::migrate(db.client()).await?;
        tracing::info!(applied = ?report.applied, "migrations checked");
        Ok::<_, db::DbError>(db)
    })
    .await
    .map_err(|_| {
        Failure::retryable(format!(
            "connecting and migrating took longer than {}s; the next invocation tries again",
            timeout.as_secs()
        ))
    })??;
    Ok(slot.insert(db))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::store::install_crypto_provider();
    shared::telemetry::init_for_lambda();
    // DATABASE_URL comes from Secrets Manager (DATABASE_URL_SECRET_ARN) in AWS, or from the
    // environment locally; read once, here.
    let url = shared::secrets::require("DATABASE_URL", "DATABASE_URL_SECRET_ARN").await?;
    let config = DbConfig::from_url(url.expose())?;
    let state = Arc::new(State {
        db: Mutex::new(None),
        config,
        s3: shared::store::s3_client_from_env().await,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let state = state.clone();
        async move { handle(&state, event.payload).await }
    }))
    .await
}

async fn handle(state: &State, event: S3Event) -> Result<serde_json::Value, Failure> {
    let mut slot = state.db.lock().await;
    let db = ready(&mut slot, &state.config, MIGRATION_TIMEOUT).await?;
    let report = handle_s3_event(db, &state.s3, event, LoadOptions::default()).await?;
    // EMF metrics (stdout, raw): the freshness alarm counts `PagesLoaded`.
    for line in shared::emf::load_lines(&report, shared::clock::now_ms()) {
        println!("{line}");
    }
    response(&report)
}

/// The invocation's answer: the records loaded and the ones recorded as failed for good, or,
/// when a retry can do more, a `Retryable` error naming every failed record.
fn response(report: &EventReport) -> Result<serde_json::Value, Failure> {
    if report.wants_retry() {
        return Err(Failure::retryable(format!(
            "{} record(s) failed: {}",
            report.failures.len(),
            report.failures.join("; ")
        )));
    }
    let loaded: Vec<_> = report
        .done
        .iter()
        .map(|(key, outcome)| serde_json::json!({"key": key, "outcome": format!("{outcome:?}")}))
        .collect();
    Ok(serde_json::json!({ "loaded": loaded, "failed_permanently": report.failures }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::load::event::decode_s3_key;

    /// The samples in `events/` are what S3 sends: they parse as `S3Event`, and their keys
    /// decode to landing-zone keys.
    #[test]
    fn sample_events_parse_and_decode() {
        for (file, prefix) in [
            (
                include_str!("../../../events/s3-object-created.json"),
                "raw/",
            ),
            (
                include_str!("../../../events/s3-manifest-created.json"),
                "manifests/",
            ),
        ] {
            let ev: S3Event = serde_json::from_str(file).unwrap();
            let r = &ev.records[0];
            assert_eq!(r.event_name.as_deref(), Some("ObjectCreated:Put"));
            let key = decode_s3_key(r.s3.object.key.as_deref().unwrap());
            assert!(
                key.starts_with(prefix) && key.contains("construtora-sao-jose"),
                "{key}"
            );
        }
        let page = decode_s3_key(
            "raw/construtora+s%C3%A3o+jos%C3%A9/vendas/2026/11/29/20261129T043512Z-a1b2c3/00001.json",
        );
        assert!(shared::landing::PageKey::parse(&page).is_some());
    }

    /// Permanent failures alone (recorded by `handle_s3_event`) end the invocation well, so
    /// Lambda does not re-deliver what would fail the same way; one retryable failure among
    /// them fails it as `Retryable`. `cli/tests/integration/load_event.rs` shows the report's side.
    #[test]
    fn permanent_failures_answer_retryable_ones_fail() {
        let mut report = EventReport {
            failures: vec!["raw/a/bad.json: page raw/a/bad.json: not JSON".into()],
            permanent_failures: 1,
            ..EventReport::default()
        };
        let answer = response(&report).expect("permanent failures alone are an answer");
        assert_eq!(answer["failed_permanently"][0], report.failures[0].as_str());
        report
            .failures
            .push("raw/a/next.json: S3 get failed (retryable)".into());
        let failure = response(&report).expect_err("a retryable failure fails the invocation");
        assert!(failure.message.contains("2 record(s) failed"), "{failure}");
        assert_eq!(
            lambda_runtime::Diagnostic::from(failure).error_type,
            "Retryable"
        );
        assert!(response(&EventReport::default()).is_ok());
    }

    /// The first invocation migrates, later ones of the same container do not (the migration
    /// bookkeeping table dropped in between stays dropped); a database that cannot be reached
    /// in time is an error, and the slot stays empty so the next invocation tries again.
    /// Needs the local PostgreSQL (127.0.0.1:5432, trust), like the workspace's other tests.
    #[tokio::test]
    async fn first_invocation_migrates_once_per_container() {
        shared::store::install_crypto_provider();
        let admin_cfg =
            DbConfig::from_url("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
                .unwrap();
        let mut admin = Db::connect(&admin_cfg).await.expect("local PostgreSQL");
        let name = format!("load_fn_init_{}", std::process::id());
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.client().batch_execute(&sql).await.unwrap();
        }
        let config = DbConfig::from_url(&format!(
            "postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"
        ))
        .unwrap();

        let mut slot = None;
        async fn migrated(db: &mut Db) -> bool {
            db.client()
                .query_one(
                    "SELECT to_regclass('etl.schema_migrations') IS NOT NULL",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, bool>(0)
        }
        let db = ready(&mut slot, &config, MIGRATION_TIMEOUT).await.unwrap();
        assert!(
            migrated(db).await,
            "the first invocation applies the migrations"
        );
        db.client()
            .batch_execute("DROP TABLE etl.schema_migrations")
            .await
            .unwrap();
        let db = ready(&mut slot, &config, MIGRATION_TIMEOUT).await.unwrap();
        assert!(
            !migrated(db).await,
            "a later invocation does not migrate again"
        );
        drop(slot);

        // Bounded: a server that accepts the connection and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = silent.accept().await {
                held.push(conn);
            }
        });
        let unreachable = DbConfig::from_url(&format!(
            "postgres://postgres@127.0.0.1:{port}/x?sslmode=disable"
        ))
        .unwrap();
        let mut slot = None;
        let err = ready(&mut slot, &unreachable, Duration::from_millis(300))
            .await
            .err()
            .expect("a silent server is an error");
        assert!(
            err.to_string().contains("next invocation tries again"),
            "{err}"
        );
        assert!(slot.is_none());
        hold.abort();

        admin
            .client()
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
}
