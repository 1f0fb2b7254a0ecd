//! The load Lambda: S3 `ObjectCreated` events on the raw bucket → PostgreSQL.
//!
//! Thin on purpose: everything it does is `shared::load` (the same code `cvdw load` and
//! `cvdw replay` run). At init (once per container) it reads its configuration, builds the S3
//! client, connects to PostgreSQL and applies the migrations; each invocation reuses them,
//! reconnecting only if the connection was closed.
//!
//! Errors: every record of the event is attempted; if any failed, the invocation fails, so
//! Lambda's async retries re-deliver it (records that did load are no-ops the second time,
//! thanks to the ledger) and, after the retries, the on-failure destination / DLQ keeps the
//! event of a poison page. Bad pages are also in `etl.failed_pages` with the reason.
//!
//! Environment: `DATABASE_URL` (TLS with `sslmode=require`), the standard AWS variables.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{service_fn, LambdaEvent};
use shared::db::{self, Db, DbConfig};
use shared::load::event::handle_s3_event;
use shared::load::LoadOptions;
use std::sync::Arc;
use tokio::sync::Mutex;

struct State {
    db: Mutex<Db>,
    /// Built once at init; each record is read from its own bucket with it.
    s3: aws_sdk_s3::Client,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::store::install_crypto_provider();
    shared::telemetry::init_for_lambda();
    let config = DbConfig::from_env()?;
    let mut db = Db::connect(&config).await?;
    let report = db::migrate(db.client()).await?;
    tracing::info!(applied = ?report.applied, "migrations checked");
    let state = Arc::new(State {
        db: Mutex::new(db),
        s3: shared::store::s3_client_from_env().await,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let state = state.clone();
        async move { handle(&state, event.payload).await }
    }))
    .await
}

async fn handle(state: &State, event: S3Event) -> Result<serde_json::Value, lambda_runtime::Error> {
    let mut db = state.db.lock().await;
    let report = handle_s3_event(&mut db, &state.s3, event, LoadOptions::default()).await?;
    if report.failures.is_empty() {
        let loaded: Vec<_> = report
            .done
            .iter()
            .map(
                |(key, outcome)| serde_json::json!({"key": key, "outcome": format!("{outcome:?}")}),
            )
            .collect();
        Ok(serde_json::json!({ "loaded": loaded }))
    } else {
        Err(format!(
            "{} record(s) failed: {}",
            report.failures.len(),
            report.failures.join("; ")
        )
        .into())
    }
}
