//! The extract Lambda: CVDW → the S3 landing zone.
//!
//! Thin on purpose: everything lives in `shared::extract`. Cold start builds the config, the
//! S3 client, one CVDW client and pacer per credential, and the continuer, once, shared by
//! every invocation through an `Arc`. Each invocation's payload is a
//! `shared::extract::ExtractEvent`:
//! - the schedule's payload, `{"trigger":"schedule"}` (the template's EventBridge Scheduler
//!   `Input`, `events/extract-schedule.json`);
//! - a manual run, `{}` or `{"full": true}` to force a full run (a backfill,
//!   `events/extract-backfill.json`); or
//! - a continuation `{"cvdw_continuation": {"tenant", "run_id"}}` that this function sent to
//!   itself before its deadline (`events/extract-continuation.json`).
//!
//! Any other payload fails the invocation with a `Permanent` error naming what is wrong.
//!
//! The response is the per-tenant reports; the invocation fails (so Lambda's async retry and
//! alarms see it) when any tenant failed, as `Retryable` if any of those failures is. One JSON
//! line per tenant and object goes to stdout; only the per-tenant line carries CloudWatch
//! metrics, the fixed set `shared::emf::bounded` keeps.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use shared::extract::{
    emf_lines, jobs_from_config, DeadlineAt, ExtractConfig, ExtractEvent, Extractor,
    LambdaContinuer, Quiet, TenantJob,
};
use shared::lambda_failure::Failure;
use shared::store::{s3_client_from_env, S3Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the container builds once at init and every invocation shares.
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
    let app = Arc::new(App {
        config,
        store,
        jobs,
        continuer,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { handle(&app, event).await }
    }))
    .await
}

async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Failure> {
    let (payload, ctx) = event.into_parts();
    let event = ExtractEvent::from_json(payload).map_err(|e| {
        tracing::error!(error = %e, "invocation refused");
        Failure {
            retryable: e.is_retryable(),
            message: e.to_string(),
        }
    })?;
    let deadline = DeadlineAt(deadline_instant(ctx.deadline));
    let extractor = Extractor {
        store: &app.store,
        settings: &app.config.run,
        deadline: &deadline,
        continuer: &app.continuer,
        progress: &Quiet,
    };
    let results = extractor
        .run_invocation(&app.jobs, event.continuation().as_ref(), event.force_full())
        .await;
    let now_ms = shared::clock::now_ms();
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    let mut retryable = false;
    for (tenant, result) in results {
        match result {
            Ok(report) => {
                // Only the fixed set of tenant metrics is published (shared::emf::bounded);
                // the per-object counts stay in the log line.
                for line in emf_lines(&report, now_ms) {
                    println!("{}", shared::emf::bounded(&line));
                }
                reports.push(serde_json::to_value(&report).map_err(|e| {
                    Failure::permanent(format!("the report of tenant {tenant}: {e}"))
                })?);
            }
            Err(e) => {
                tracing::error!(tenant = %tenant, retryable = e.is_retryable(), error = %e, "tenant run failed");
                retryable |= e.is_retryable();
                failures.push(format!("{tenant}: {e}"));
            }
        }
    }
    if !failures.is_empty() {
        return Err(Failure {
            retryable,
            message: format!("extract failed for {}", failures.join("; ")),
        });
    }
    Ok(json!({ "reports": reports }))
}

/// The context deadline is wall-clock milliseconds since the epoch. cargo-lambda's local
/// emulator (1.9) sends the remaining time instead (e.g. `600000`); no real epoch deadline is
/// below 10^12 ms (2001), so such a value is read as "milliseconds from now", which keeps
/// `cargo lambda watch` runs from handing over immediately.
fn deadline_instant(deadline_ms: u64) -> Instant {
    Instant::now() + remaining(deadline_ms, shared::clock::now_ms().max(0).unsigned_abs())
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

    /// The samples in `events/` are the three shapes the function accepts.
    #[test]
    fn sample_events_parse() {
        let parse =
            |text: &str| ExtractEvent::from_json(serde_json::from_str(text).unwrap()).unwrap();
        let sched = parse(include_str!("../../../events/extract-schedule.json"));
        assert_eq!(sched, ExtractEvent::Scheduled);
        assert!(sched.continuation().is_none() && !sched.force_full());
        let full = parse(include_str!("../../../events/extract-backfill.json"));
        assert!(full.continuation().is_none() && full.force_full());
        let cont = parse(include_str!("../../../events/extract-continuation.json"));
        let ev = cont.continuation().unwrap();
        assert_eq!(ev.cvdw_continuation.tenant, "construtora-sao-jose");
        let refused = lambda_runtime::Diagnostic::from(Failure::permanent("x"));
        assert_eq!(refused.error_type, "Permanent");
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
