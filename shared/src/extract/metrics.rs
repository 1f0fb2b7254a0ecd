//! CloudWatch Embedded Metric Format: one JSON line per tenant run (dimension `Tenant`) and
//! one per object it touched (dimensions `Tenant`, `Object`), namespace `cvdw-etl`. Printed
//! to stdout as raw lines (not through `tracing`, which would wrap them), CloudWatch turns them
//! into metrics without any API call.

use super::run::TenantReport;
use serde_json::{json, Value};

pub const NAMESPACE: &str = "cvdw-etl";

/// The EMF lines for one tenant's invocation.
pub fn emf_lines(r: &TenantReport, timestamp_ms: i64) -> Vec<String> {
    let metrics = |names: &[(&str, &str)]| -> Vec<Value> {
        names
            .iter()
            .map(|(n, u)| json!({"Name": n, "Unit": u}))
            .collect()
    };
    let run_id = r.run_id.as_ref().map(|r| r.to_string()).unwrap_or_default();
    let outcome = serde_json::to_value(&r.outcome).unwrap_or(Value::Null);
    let mut out = vec![json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Tenant"]],
                "Metrics": metrics(&[("Pages", "Count"), ("Rows", "Count"), ("Throttled", "Count"),
                    ("Retries", "Count"), ("DurationMs", "Milliseconds"), ("FailedObjects", "Count")]),
            }]
        },
        "Tenant": r.tenant,
        "Pages": r.pages,
        "Rows": r.rows,
        "Throttled": r.throttled,
        "Retries": r.retries,
        "DurationMs": r.duration_ms,
        "FailedObjects": r.objects.iter().filter(|o| o.status != super::run::ObjectStatus::Done).count(),
        "run_id": run_id,
        "outcome": outcome,
    })
    .to_string()];
    for o in &r.objects {
        out.push(
            json!({
                "_aws": {
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Tenant", "Object"]],
                        "Metrics": metrics(&[("Pages", "Count"), ("Rows", "Count")]),
                    }]
                },
                "Tenant": r.tenant,
                "Object": o.object,
                "Pages": o.pages,
                "Rows": o.rows,
                "run_id": run_id,
                "mode": o.mode.as_str(),
            })
            .to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::run::{ObjectReport, ObjectStatus, Outcome};
    use crate::landing::Mode;

    #[test]
    fn emf_shape() {
        let r = TenantReport {
            tenant: "acme".into(),
            run_id: None,
            outcome: Outcome::Completed,
            objects: vec![ObjectReport {
                object: "vendas".into(),
                mode: Mode::Full,
                pages: 2,
                rows: 600,
                cursor_before: None,
                cursor_after: None,
                status: ObjectStatus::Done,
            }],
            pages: 2,
            rows: 600,
            throttled: 1,
            retries: 3,
            duration_ms: 1234,
        };
        let lines = emf_lines(&r, 1_700_000_000_000);
        assert_eq!(lines.len(), 2);
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "cvdw-etl");
        assert_eq!(v["Tenant"], "acme");
        assert_eq!(v["Throttled"], 1);
        assert_eq!(v["DurationMs"], 1234);
        let o: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(
            o["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1],
            "Object"
        );
        assert_eq!(o["Rows"], 600);
    }
}
