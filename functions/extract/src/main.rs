//! The extract Lambda: CVDW → the S3 landing zone.
//!
//! Thin on purpose: everything lives in `shared::extract`. Cold start builds the config, the
//! S3 client, one CVDW client and pacer per credential, and the continuer, once. Each
//! invocation is either
//! - the schedule's payload, `{"trigger":"schedule"}` (the template's EventBridge Scheduler
//!   `Input`, `events/extract-schedule.json`), or any other payload without
//!   `cvdw_continuation`; `{"full": true}` forces a full run (a manual backfill,
//!   `events/extract-backfill.json`), or
//! - a continuation `{"cvdw_continuation": {"tenant", "run_id"}}` that this function sent to
//!   itself before its deadline (`events/extract-continuation.json`).
//!
//! The response is the per-tenant reports; the invocation fails (so Lambda's async retry and
//! alarms see it) when any tenant failed. One JSON line per tenant and object goes to stdout;
//! only the per-tenant line carries CloudWatch metrics, the fixed set `shared::emf::bounded`
//! keeps.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use shared::extract::{
    emf_lines, jobs_from_config, ContinuationEvent, DeadlineAt, ExtractConfig, Extractor,
    LambdaContinuer, Quiet, TenantJob,
};
use shared::store::{s3_client_from_env, S3Store};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct App {
    config: ExtractConfig,
    store: S3Store,
    jobs: Vec<TenantJob>,
    continuer: LambdaContinuer,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_for_lambda();
    shared::store::install_crypto_provider();
    // CVDW credentials come from Secrets Manager (CVDW_TENANTS_SECRET_ARN) in AWS, or from
    // CVDW_TENANTS locally; either way they are read once, here.
    let env = shared::secrets::EnvOverlay::resolve(&[("CVDW_TENANTS", "CVDW_TENANTS_SECRET_ARN")])
        .await?;
    let config = ExtractConfig::from_lookup(|k| env.get(k))?;
    let store = S3Store::new(s3_client_from_env().await, config.bucket.clone());
    let jobs = jobs_from_config(&config, None)?;
    let continuer = LambdaContinuer::from_env().await?;
    tracing::info!(
        tenants = config.tenants.len(),
        bucket = %config.bucket,
        "extract function ready"
    );
    let app: &'static App = Box::leak(Box::new(App {
        config,
        store,
        jobs,
        continuer,
    }));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handle(app, event)
    }))
    .await
}

async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, ctx) = event.into_parts();
    let continuation = parse_continuation(&payload)?;
    let force_full = wants_full(&payload);
    let deadline = DeadlineAt(deadline_instant(ctx.deadline));
    let extractor = Extractor {
        store: &app.store,
        settings: &app.config.run,
        deadline: &deadline,
        continuer: &app.continuer,
        progress: &Quiet,
    };
    let results = extractor
        .run_invocation(&app.jobs, continuation.as_ref(), force_full)
        .await;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (tenant, result) in results {
        match result {
            Ok(report) => {
                // Only the fixed set of tenant metrics is published (shared::emf::bounded);
                // the per-object counts stay in the log line.
                for line in emf_lines(&report, now_ms) {
                    println!("{}", shared::emf::bounded(&line));
                }
                reports.push(serde_json::to_value(&report)?);
            }
            Err(e) => {
                tracing::error!(tenant = %tenant, retryable = e.is_retryable(), error = %e, "tenant run failed");
                failures.push(format!("{tenant}: {e}"));
            }
        }
    }
    if !failures.is_empty() {
        return Err(format!("extract failed for {}", failures.join("; ")).into());
    }
    Ok(json!({ "reports": reports }))
}

fn parse_continuation(payload: &Value) -> Result<Option<ContinuationEvent>, Error> {
    if payload.get("cvdw_continuation").is_none() {
        return Ok(None);
    }
    serde_json::from_value(payload.clone())
        .map(Some)
        .map_err(|e| format!("malformed continuation event: {e}").into())
}

fn wants_full(payload: &Value) -> bool {
    payload
        .get("full")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The context deadline is wall-clock milliseconds since the epoch. cargo-lambda's local
/// emulator (1.9) sends the remaining time instead (e.g. `600000`); no real epoch deadline is
/// below 10^12 ms (2001), so such a value is read as "milliseconds from now", which keeps
/// `cargo lambda watch` runs from handing over immediately.
fn deadline_instant(deadline_ms: u64) -> Instant {
    Instant::now() + remaining(deadline_ms, now_epoch_ms())
}

fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn remaining(deadline_ms: u64, now_ms: u64) -> Duration {
    const EPOCH_2001_MS: u64 = 1_000_000_000_000;
    if deadline_ms < EPOCH_2001_MS {
        Duration::from_millis(deadline_ms)
    } else {
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_events_parse() {
        let sched: Value =
            serde_json::from_str(include_str!("../../../events/extract-schedule.json")).unwrap();
        assert_eq!(parse_continuation(&sched).unwrap(), None);
        assert!(!wants_full(&sched));
        let full: Value =
            serde_json::from_str(include_str!("../../../events/extract-backfill.json")).unwrap();
        assert_eq!(parse_continuation(&full).unwrap(), None);
        assert!(wants_full(&full));
        let cont: Value =
            serde_json::from_str(include_str!("../../../events/extract-continuation.json"))
                .unwrap();
        let ev = parse_continuation(&cont).unwrap().unwrap();
        assert_eq!(ev.cvdw_continuation.tenant, "construtora-sao-jose");
        assert!(parse_continuation(&json!({"cvdw_continuation": {"tenant": 1}})).is_err());
    }

    #[test]
    fn deadlines_from_aws_and_from_the_local_emulator() {
        let now = 1_764_400_000_000;
        assert_eq!(remaining(now + 900_000, now), Duration::from_secs(900));
        assert_eq!(remaining(now - 5, now), Duration::ZERO);
        // cargo lambda watch: the remaining time itself.
        assert_eq!(remaining(600_000, now), Duration::from_secs(600));
    }
}
