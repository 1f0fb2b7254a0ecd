//! Every file in `events/` (the payloads for `cargo lambda invoke --data-file` and
//! `scripts/lambda-local-e2e.sh`) is something that really arrives, in the shape it arrives in,
//! and parses as the type its function reads:
//! - `extract-*.json`: an `ExtractEvent`, parsed as the extract function parses it: the
//!   schedule's exact `Input` from `infra/template.yaml`, the manual backfill payload
//!   docs/deploy.md sends, or a continuation;
//! - `s3-*.json`: an S3 `ObjectCreated` notification (`S3Event`) from the versioned raw bucket,
//!   with a `versionId`, a real eTag, the bucket name the template computes, and a key whose
//!   tenant the extract configuration accepts;
//! - `api-*.json`: function URL requests (checked in detail by `infra_template.rs`);
//! - `manifest-*.json`: a manifest object's body (`Manifest`), stored by the e2e script.
//!
//! A file that matches none of these fails the test, so a new sample gets a check.

use std::path::PathBuf;

use aws_lambda_events::event::s3::S3Event;
use serde_json::Value;
use shared::extract::{ExtractConfig, ExtractEvent};
use shared::landing::{parse_manifest_key, Manifest, PageKey};
use shared::load::event::decode_s3_key;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

fn event_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The `Input` of the template's schedule: what EventBridge Scheduler sends to extract.
fn schedule_input() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let input = t["Resources"]["ExtractFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
        ["Input"]
        .as_str()
        .expect("the schedule has a literal Input");
    serde_json::from_str(input).expect("the schedule Input is JSON")
}

/// The tenant must be one `CVDW_TENANTS` accepts (the same validation the extract function
/// runs at init).
fn assert_tenant_accepted(tenant: &str, file: &str) {
    let vars = [
        ("RAW_BUCKET", "b"),
        ("CVDW_TENANT", tenant),
        ("CVDW_SUBDOMAIN", "x"),
        ("CVDW_EMAIL", "a@b.c"),
        ("CVDW_TOKEN", "t"),
    ];
    ExtractConfig::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap_or_else(|e| panic!("{file}: tenant {tenant:?} is rejected: {e}"));
}

fn check_extract(file: &str, text: &str) {
    let payload: Value = serde_json::from_str(text).unwrap();
    let event = ExtractEvent::from_json(payload.clone())
        .unwrap_or_else(|e| panic!("{file} is not an ExtractEvent: {e}"));
    match event {
        ExtractEvent::Continuation(target) => assert_tenant_accepted(&target.tenant, file),
        ExtractEvent::Scheduled => {
            assert_eq!(
                payload,
                schedule_input(),
                "{file}: the schedule's exact Input"
            )
        }
        ExtractEvent::Manual { full } => {
            assert!(full, "{file}: a manual sample is the backfill");
            let deploy = std::fs::read_to_string(root().join("docs/deploy.md")).unwrap();
            assert!(
                deploy.contains(&format!("--payload '{}'", text.trim())),
                "{file}: the backfill payload is the one docs/deploy.md sends"
            );
        }
    }
}

fn check_s3(file: &str, text: &str) {
    let ev: S3Event =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not an S3Event: {e}"));
    assert!(!ev.records.is_empty(), "{file}");
    for r in &ev.records {
        assert_eq!(r.event_source.as_deref(), Some("aws:s3"));
        assert!(
            r.event_name
                .as_deref()
                .is_some_and(|n| n.starts_with("ObjectCreated:")),
            "{file}"
        );
        let object = &r.s3.object;
        // The raw bucket is versioned, so every notification carries the version.
        assert!(
            object.version_id.as_deref().is_some_and(|v| !v.is_empty()),
            "{file}: versionId"
        );
        let etag = object.e_tag.as_deref().unwrap_or_default();
        assert!(
            etag.len() == 32 && etag.chars().all(|c| c.is_ascii_hexdigit()),
            "{file}: eTag {etag:?}"
        );
        assert_ne!(
            etag, "d41d8cd98f00b204e9800998ecf8427e",
            "{file}: MD5 of nothing"
        );
        assert!(object.size.unwrap_or(0) > 0, "{file}: size");
        // The bucket name the template computes for the default stack in that region.
        let region = r.aws_region.as_deref().unwrap();
        let bucket = r.s3.bucket.name.as_deref().unwrap();
        assert_eq!(
            bucket,
            format!("cvdw-etl-raw-123456789012-{region}"),
            "{file}"
        );
        let key = decode_s3_key(object.key.as_deref().unwrap());
        let tenant = if let Some(page) = PageKey::parse(&key) {
            page.tenant
        } else if let Some((tenant, _, _)) = parse_manifest_key(&key) {
            tenant
        } else {
            panic!("{file}: {key} is neither a raw page nor a manifest key")
        };
        assert_tenant_accepted(&tenant, file);
    }
}

fn check_manifest(file: &str, text: &str) {
    let m: Manifest =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{file} is not a Manifest: {e}"));
    assert_tenant_accepted(&m.tenant, file);
    for page in &m.pages {
        assert!(PageKey::parse(&page.key).is_some(), "{file}: {}", page.key);
    }
}

#[test]
fn every_sample_event_is_real_shaped_and_parses_as_its_functions_type() {
    let files = event_files();
    let mut kinds = std::collections::BTreeSet::new();
    for (name, text) in &files {
        let kind = name.split('-').next().unwrap_or_default();
        match kind {
            "extract" => check_extract(name, text),
            "s3" => check_s3(name, text),
            "manifest" => check_manifest(name, text),
            "api" => {
                lambda_http::request::from_str(text)
                    .unwrap_or_else(|e| panic!("{name} is not a function URL request: {e}"));
            }
            other => panic!("{name}: unknown sample kind {other:?}; add a check for it here"),
        }
        kinds.insert(kind.to_string());
    }
    // What arrives: the schedule, a continuation, S3 notifications, function URL requests.
    assert!(files
        .iter()
        .any(|(_, t)| serde_json::from_str::<Value>(t).is_ok_and(|v| v == schedule_input())));
    assert!(files.iter().any(|(n, _)| n == "extract-continuation.json"));
    for kind in ["extract", "s3", "api"] {
        assert!(kinds.contains(kind), "a sample of kind {kind}");
    }
}

/// The schedule sends `{"trigger":"schedule"}`, not the EventBridge rule envelope
/// (`detail-type`, `source`, `detail`): no sample pretends otherwise.
#[test]
fn no_rule_style_scheduler_envelopes() {
    assert_eq!(schedule_input(), serde_json::json!({"trigger": "schedule"}));
    for (name, text) in event_files() {
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v.get("detail-type").is_none() && v.get("detail").is_none(),
            "{name} is a rule-style envelope that never arrives"
        );
    }
}
