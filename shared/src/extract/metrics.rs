//! The extract function's EMF lines ([`crate::emf`]): one per tenant run (dimension `Tenant`)
//! and one per object it touched (dimensions `Tenant`, `Object`).

use super::report::TenantReport;
use crate::emf::line;
use serde_json::{Map, Value};

pub use crate::emf::NAMESPACE;

/// The EMF lines for one tenant's invocation.
pub fn emf_lines(r: &TenantReport, timestamp_ms: i64) -> Vec<String> {
    let run_id = r.run_id.as_ref().map(|r| r.to_string()).unwrap_or_default();
    let props = |extra: &[(&str, Value)]| -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("Tenant".into(), Value::String(r.tenant.clone()));
        m.insert("run_id".into(), Value::String(run_id.clone()));
        for (k, v) in extra {
            m.insert((*k).to_string(), v.clone());
        }
        m
    };
    let failed = r
        .objects
        .iter()
        .filter(|o| o.status != super::report::ObjectStatus::Done)
        .count();
    let mut out = vec![line(
        timestamp_ms,
        &["Tenant"],
        &[
            ("Pages", "Count", r.pages.into()),
            ("Rows", "Count", r.rows.into()),
            ("Throttled", "Count", r.throttled.into()),
            ("Retries", "Count", r.retries.into()),
            ("DurationMs", "Milliseconds", r.duration_ms.into()),
            ("FailedObjects", "Count", failed.into()),
        ],
        props(&[(
            "outcome",
            serde_json::to_value(&r.outcome).unwrap_or(Value::Null),
        )]),
    )];
    for o in &r.objects {
        out.push(line(
            timestamp_ms,
            &["Tenant", "Object"],
            &[
                ("Pages", "Count", o.pages.into()),
                ("Rows", "Count", o.rows.into()),
            ],
            props(&[
                ("Object", Value::String(o.object.clone())),
                ("mode", Value::String(o.mode.as_str().into())),
            ]),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::report::{ObjectReport, ObjectStatus, Outcome};
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
            deferred: Vec::new(),
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
