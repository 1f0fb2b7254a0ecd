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

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "cvdw-etl";

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
            line(
                timestamp_ms,
                &["Tenant"],
                &[
                    ("PagesLoaded", "Count", t.pages.into()),
                    ("RowsLoaded", "Count", t.rows.into()),
                    ("RowsRejected", "Count", t.rejected.into()),
                    ("PagesRedelivered", "Count", t.redelivered.into()),
                    ("ManifestsApplied", "Count", t.manifests.into()),
                    ("DeletionsSkipped", "Count", t.deletions_skipped.into()),
                    ("FailedRecords", "Count", t.failed.into()),
                ],
                props,
            )
        })
        .collect()
}

#[cfg(all(test, feature = "runtime"))]
mod tests {
    use super::*;
    use crate::load::event::{EventReport, KeyOutcome};
    use crate::load::{PageOutcome, PageReport};

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
        assert!(cw["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Name"] == "PagesLoaded"));
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
    }
}
