//! CloudWatch Embedded Metric Format (EMF): metrics as JSON log lines, namespace `cvdw-etl`.
//!
//! A Lambda prints these lines to stdout as they are (not through `tracing`, whose JSON
//! layer would wrap them), and CloudWatch Logs turns them into metrics with no API call and
//! no extra latency. The alarms of `infra/template.yaml` are built on them:
//! - extract: `Throttled`, `Pages`, `Rows`… per tenant ([`crate::extract::metrics`]);
//! - load: `PagesLoaded` per tenant ([`load_lines`]), which a metric filter re-publishes
//!   tenant-less for the freshness alarm ("no page loaded for N hours"), and
//!   `DeletionsSkipped` (a full run that saw too little to delete, `load::evidence`), which
//!   the deletion alarm watches.
//!
//! Every distinct metric (name × dimension values) costs a monthly fee, so what becomes a
//! CloudWatch metric is a small fixed set: [`PUBLISHED`] names, on the [`DIMENSION`] `Tenant`
//! only, at most `PUBLISHED.len()` metrics per tenant whatever the number of objects.
//! [`bounded`] applies that to a line; the other fields (per-object counts, durations, retries)
//! stay in the JSON log line, where Logs Insights queries them at no per-metric cost
//! (docs/cost.md).

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "cvdw-etl";

/// The only dimension custom metrics are published on.
pub const DIMENSION: &str = "Tenant";

/// The only metric names published: what an alarm or an operator's graph needs. `Throttled`
/// backs the throttling alarm; `Pages` (extract) and `PagesLoaded` (load) show the flow;
/// `RowsRejected` shows data that did not coerce; `DeletionsSkipped` backs the deletion alarm
/// and is sent only when a deletion was skipped, so it costs nothing in the usual hour;
/// `FailedRecords` backs the load-failure alarm the same way (a page that failed for good is
/// recorded and not retried, so Lambda's own error count never sees it). (The
/// freshness alarm reads `PagesLoaded` from the log line through a metric filter, which works
/// whether or not it is published.)
pub const PUBLISHED: [&str; 6] = [
    "Throttled",
    "Pages",
    "PagesLoaded",
    "RowsRejected",
    "DeletionsSkipped",
    "FailedRecords",
];

/// `line` with its CloudWatch metric directive cut down to the published set: dimension
/// sets other than `[Tenant]` and metric names outside [`PUBLISHED`] are dropped from the
/// directive (their values stay as log fields); a line left with no metric keeps no
/// directive at all. A line that is not an EMF JSON object is returned unchanged.
pub fn bounded(line: &str) -> String {
    let Ok(Value::Object(mut out)) = serde_json::from_str::<Value>(line) else {
        return line.to_string();
    };
    let Some(Value::Object(aws)) = out.get_mut("_aws") else {
        return line.to_string();
    };
    let directives = match aws.get_mut("CloudWatchMetrics") {
        Some(Value::Array(d)) => d,
        _ => return line.to_string(),
    };
    directives.retain_mut(|d| {
        let dims_ok = d["Dimensions"].as_array().is_some_and(|sets| {
            sets.iter().all(|set| {
                set.as_array()
                    .is_some_and(|names| names.iter().all(|n| n.as_str() == Some(DIMENSION)))
            })
        });
        if !dims_ok {
            return false;
        }
        if let Some(Value::Array(metrics)) = d.get_mut("Metrics") {
            metrics.retain(|m| m["Name"].as_str().is_some_and(|n| PUBLISHED.contains(&n)));
            !metrics.is_empty()
        } else {
            false
        }
    });
    if directives.is_empty() {
        out.remove("_aws");
    }
    Value::Object(out).to_string()
}

/// One EMF line: `metrics` are `(name, unit, value)` published with the dimension set `dims`
/// (whose values must be among `props`); `props` also carries context (run_id…) that stays
/// searchable in the logs without becoming a metric.
pub fn line(
    timestamp_ms: i64,
    dims: &[&str],
    metrics: &[(&str, &str, Value)],
    props: Map<String, Value>,
) -> String {
    let mut out = props;
    out.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dims],
                "Metrics": metrics.iter().map(|(n, u, _)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }]
        }),
    );
    for (name, _, value) in metrics {
        out.insert((*name).to_string(), value.clone());
    }
    Value::Object(out).to_string()
}

/// What one load invocation did, per tenant: pages newly loaded, rows upserted and
/// quarantined, redelivered pages (no-ops), manifests applied, and records that failed.
#[cfg(feature = "runtime")]
pub fn load_lines(report: &crate::load::event::EventReport, timestamp_ms: i64) -> Vec<String> {
    use crate::load::event::KeyOutcome;
    use crate::load::{ManifestOutcome, PageOutcome};
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Tally {
        pages: u64,
        rows: u64,
        rejected: u64,
        redelivered: u64,
        manifests: u64,
        deletions_skipped: u64,
        failed: u64,
    }
    // The tenant is the key's second segment (`raw/{tenant}/…`, `manifests/{tenant}/…`).
    let tenant_of = |key: &str| key.split('/').nth(1).unwrap_or_default().to_string();
    let mut by_tenant: BTreeMap<String, Tally> = BTreeMap::new();
    for (key, outcome) in &report.done {
        let t = by_tenant.entry(tenant_of(key)).or_default();
        match outcome {
            KeyOutcome::Page(PageOutcome::Loaded(r)) => {
                t.pages += 1;
                t.rows += u64::from(r.loaded);
                t.rejected += u64::from(r.rejected);
                t.manifests += u64::from(r.manifests_applied);
                t.deletions_skipped += u64::from(r.deletions_skipped);
            }
            KeyOutcome::Page(PageOutcome::Duplicate { .. }) => t.redelivered += 1,
            KeyOutcome::Manifest(ManifestOutcome::Applied { .. }) => t.manifests += 1,
            KeyOutcome::Manifest(ManifestOutcome::DeletionSkipped { .. }) => {
                t.manifests += 1;
                t.deletions_skipped += 1;
            }
            KeyOutcome::Manifest(_) | KeyOutcome::Ignored => {}
        }
    }
    for failure in &report.failures {
        // `failures` are `key: error`.
        let key = failure.split(": ").next().unwrap_or_default();
        by_tenant.entry(tenant_of(key)).or_default().failed += 1;
    }
    by_tenant
        .into_iter()
        .map(|(tenant, t)| {
            let mut props = Map::new();
            props.insert("Tenant".into(), Value::String(tenant));
            let mut metrics = vec![
                ("PagesLoaded", "Count", t.pages.into()),
                ("RowsLoaded", "Count", t.rows.into()),
                ("RowsRejected", "Count", t.rejected.into()),
                ("PagesRedelivered", "Count", t.redelivered.into()),
                ("ManifestsApplied", "Count", t.manifests.into()),
            ];
            // Only when it happened: a metric is billed for the hours it receives data.
            if t.deletions_skipped > 0 {
                metrics.push(("DeletionsSkipped", "Count", t.deletions_skipped.into()));
            }
            if t.failed > 0 {
                metrics.push(("FailedRecords", "Count", t.failed.into()));
            }
            let full = line(timestamp_ms, &["Tenant"], &metrics, props);
            bounded(&full)
        })
        .collect()
}

#[cfg(all(test, feature = "runtime"))]
mod tests {
    use super::*;
    use crate::load::event::{EventReport, KeyOutcome};
    use crate::load::{PageOutcome, PageReport};

    /// The names of the metrics an EMF directive publishes, in order.
    fn metric_names(directive: &Value) -> Vec<&str> {
        directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|metric| metric["Name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn load_lines_count_per_tenant_and_feed_the_freshness_filter() {
        let report = EventReport {
            done: vec![
                (
                    "raw/acme/vendas/2026/11/29/r/00001.json".into(),
                    KeyOutcome::Page(PageOutcome::Loaded(PageReport {
                        key: "k".into(),
                        rows: 500,
                        loaded: 498,
                        rejected: 2,
                        ..Default::default()
                    })),
                ),
                (
                    "raw/acme/vendas/2026/11/29/r/00002.json".into(),
                    KeyOutcome::Page(PageOutcome::Duplicate { key: "k2".into() }),
                ),
            ],
            failures: vec!["raw/beta/reservas/2026/11/29/r/00001.json: database: closed".into()],
            permanent_failures: 0,
        };
        let lines: Vec<Value> = load_lines(&report, 1_764_400_000_000)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let acme = &lines[0];
        assert_eq!(acme["Tenant"], "acme");
        // The template's metric filter is `{ $.PagesLoaded > 0 }` on these very lines.
        assert_eq!(acme["PagesLoaded"], 1);
        assert_eq!(acme["RowsLoaded"], 498);
        assert_eq!(acme["RowsRejected"], 2);
        assert_eq!(acme["PagesRedelivered"], 1);
        let cw = &acme["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], NAMESPACE);
        assert_eq!(cw["Dimensions"][0][0], "Tenant");
        let published = metric_names(cw);
        assert_eq!(published, ["PagesLoaded", "RowsRejected"]);
        // The rest stays in the log line, not as metrics.
        assert_eq!(acme["RowsLoaded"], 498);
        assert_eq!(lines[1]["Tenant"], "beta");
        assert_eq!(lines[1]["FailedRecords"], 1);
        assert_eq!(lines[1]["PagesLoaded"], 0);
    }

    #[test]
    fn skipped_deletions_are_counted_for_the_alarm() {
        use crate::load::ManifestOutcome;
        let report = EventReport {
            done: vec![
                (
                    "manifests/acme/r1/vendas.json".into(),
                    KeyOutcome::Manifest(ManifestOutcome::DeletionSkipped {
                        reason: "the run ended at page 2 of the 9 announced".into(),
                    }),
                ),
                (
                    "raw/acme/reservas/2026/11/29/r2/00003.json".into(),
                    KeyOutcome::Page(PageOutcome::Loaded(PageReport {
                        manifests_applied: 1,
                        deletions_skipped: 1,
                        ..Default::default()
                    })),
                ),
            ],
            failures: vec![],
            permanent_failures: 0,
        };
        let line: Value = serde_json::from_str(&load_lines(&report, 0)[0]).unwrap();
        // The template's DeletionSkippedAlarm sums this metric over tenants.
        assert_eq!(line["DeletionsSkipped"], 2);
        assert_eq!(line["ManifestsApplied"], 2);
        let published: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert!(published.contains(&"DeletionsSkipped"), "{published:?}");
        // An hour without a skipped deletion sends no such metric (it would be billed).
        let quiet = EventReport {
            done: vec![],
            failures: vec!["raw/acme/vendas/2026/11/29/r/00001.json: closed".into()],
            permanent_failures: 0,
        };
        let quiet: Value = serde_json::from_str(&load_lines(&quiet, 0)[0]).unwrap();
        assert!(quiet.get("DeletionsSkipped").is_none(), "{quiet}");
    }

    #[test]
    fn only_the_fixed_set_becomes_metrics() {
        // Extract's per-object line (dimensions Tenant, Object): no metric at all, the
        // values stay as log fields.
        let per_object = line(
            1,
            &["Tenant", "Object"],
            &[("Pages", "Count", 2.into()), ("Rows", "Count", 600.into())],
            Map::from_iter([
                ("Tenant".to_string(), Value::from("acme")),
                ("Object".to_string(), Value::from("vendas")),
            ]),
        );
        let v: Value = serde_json::from_str(&bounded(&per_object)).unwrap();
        assert!(v.get("_aws").is_none(), "{v}");
        assert_eq!(v["Rows"], 600);
        assert_eq!(v["Object"], "vendas");

        // The per-tenant line keeps only the published names.
        let per_tenant = line(
            1,
            &["Tenant"],
            &[
                ("Pages", "Count", 2.into()),
                ("Throttled", "Count", 1.into()),
                ("DurationMs", "Milliseconds", 1234.into()),
            ],
            Map::from_iter([("Tenant".to_string(), Value::from("acme"))]),
        );
        let v: Value = serde_json::from_str(&bounded(&per_tenant)).unwrap();
        let names = metric_names(&v["_aws"]["CloudWatchMetrics"][0]);
        assert_eq!(names, ["Pages", "Throttled"]);
        assert_eq!(v["DurationMs"], 1234);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Tenant"
        );

        // Not EMF: unchanged.
        assert_eq!(bounded("not json"), "not json");
        assert_eq!(bounded("{\"a\":1}"), "{\"a\":1}");
    }
}
