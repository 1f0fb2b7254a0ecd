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
//! Environment: `DATABASE_URL_SECRET_ARN` (AWS) or `DATABASE_URL` (TLS with `sslmode=require`),
//! the standard AWS variables.

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
    // DATABASE_URL comes from Secrets Manager (DATABASE_URL_SECRET_ARN) in AWS, or from the
    // environment locally; read once, here.
    let url = shared::secrets::require("DATABASE_URL", "DATABASE_URL_SECRET_ARN").await?;
    let config = DbConfig::from_url(url.expose())?;
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
    // EMF metrics (stdout, raw): the freshness alarm counts `PagesLoaded`.
    for line in shared::emf::load_lines(&report, now_ms()) {
        println!("{line}");
    }
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
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
                key.starts_with(prefix) && key.contains("construtora são josé"),
                "{key}"
            );
        }
        let page = decode_s3_key(
            "raw/construtora+s%C3%A3o+jos%C3%A9/vendas/2026/11/29/20261129T043512Z-a1b2c3/00001.json",
        );
        assert!(shared::landing::PageKey::parse(&page).is_some());
    }
}
