//! The loader over the real S3 protocol (in-process s3s-fs) and real PostgreSQL: the
//! Lambda's event path with URL-encoded keys, and `replay` rebuilding the same database as the
//! incremental path.

use crate::load_support;

use load_support::*;
use serde_json::Value;
use shared::landing::{Mode, RunId};
use shared::load::event::{decode_s3_key, handle_key, KeyOutcome};
use shared::load::replay::{replay, ReplayFilter, ReplayOptions};
use shared::load::{LoadError, LoadOptions, ManifestOutcome, PageOutcome};
use shared::store::ObjectStore;

fn sample_event_key(file: &str) -> String {
    let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
    let ev: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    ev["Records"][0]["s3"]["object"]["key"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn s3_event_with_url_encoded_key_loads_end_to_end() {
    let bucket = LocalBucket::start("cvdw-raw-landing").await;
    let store = bucket.store.clone();
    let mut t = TestDb::migrated("load_s3evt").await;

    let raw = sample_event_key("s3-object-created.json");
    let key = decode_s3_key(&raw);
    assert_eq!(
        key,
        "raw/construtora-sao-jose/vendas/2026/11/29/20261129T043512Z-a1b2c3/00001.json"
    );
    // S3 URL-encodes keys in events (space as `+`); the decoding is exercised on an encoded
    // spelling of the same key.
    assert_eq!(
        decode_s3_key(
            "raw/construtora%2Dsao%2Djose/vendas/2026/11/29/20261129T043512Z-a1b2c3/00001.json"
        ),
        key
    );
    let run = RunId::parse("20261129T043512Z-a1b2c3").unwrap();
    let tenant = "construtora-sao-jose";
    let p = page(
        tenant,
        "/vendas",
        &run,
        1,
        Mode::Full,
        envelope(&[venda(7, 1), venda(8, 1)], 1),
    );
    assert_eq!(p.key, key);
    put_page(&store, &p).await;

    let out = handle_key(t.client(), &store, &key, LoadOptions::default())
        .await
        .unwrap();
    let KeyOutcome::Page(PageOutcome::Loaded(r)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.loaded, 2);
    let n: i64 = scalar(
        t.client(),
        "SELECT count(*) FROM cvdw.vendas WHERE tenant = $1",
        &[&tenant],
    )
    .await;
    assert_eq!(n, 2);
    // Re-delivery of the same event: a no-op.
    let again = handle_key(t.client(), &store, &key, LoadOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        again,
        KeyOutcome::Page(PageOutcome::Duplicate { .. })
    ));

    // The manifest event of the same run.
    let mkey = decode_s3_key(&sample_event_key("s3-manifest-created.json"));
    let (k, body) = manifest(std::slice::from_ref(&p), Mode::Full);
    assert_eq!(k, mkey);
    store
        .put(&k, body.into(), "application/json", &Default::default())
        .await
        .unwrap();
    let out = handle_key(t.client(), &store, &mkey, LoadOptions::default())
        .await
        .unwrap();
    assert_eq!(
        out,
        KeyOutcome::Manifest(ManifestOutcome::Applied { deleted: 0 })
    );

    // The sample manifest body in events/ is a valid manifest for the same key.
    let sample = std::fs::read(format!(
        "{}/../events/manifest-vendas-full.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let parsed: shared::landing::Manifest = serde_json::from_slice(&sample).unwrap();
    assert_eq!(
        shared::landing::manifest_key(&parsed.tenant, &parsed.run_id, &parsed.object),
        mkey
    );

    // Anything else under the bucket is ignored; a poison page errors (Lambda retries, DLQ).
    let out = handle_key(
        t.client(),
        &store,
        "state/acme/vendas.json",
        LoadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(out, KeyOutcome::Ignored);
    let mut poison = page(
        tenant,
        "/vendas",
        &run,
        2,
        Mode::Full,
        b"<html>erro</html>".to_vec(),
    );
    poison.meta.sha256 = shared::load::sha256_hex(&poison.body);
    put_page(&store, &poison).await;
    let err = handle_key(t.client(), &store, &poison.key, LoadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::BadPage { .. }), "{err}");
    // A page without its metadata is a failed page too, not a guess.
    let bare = "raw/acme/vendas/2026/11/29/20261129T043512Z-a1b2c3/00003.json";
    store
        .put(
            bare,
            envelope(&[venda(1, 1)], 3).into(),
            "application/json",
            &Default::default(),
        )
        .await
        .unwrap();
    let err = handle_key(t.client(), &store, bare, LoadOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("metadata"), "{err}");
    let failed: i64 = scalar(t.client(), "SELECT count(*) FROM etl.failed_pages", &[]).await;
    assert_eq!(failed, 2);
    t.drop().await;
}

#[tokio::test]
async fn replay_rebuilds_the_same_database_as_the_incremental_path() {
    let bucket = LocalBucket::start("cvdw-raw-replay").await;
    let store = bucket.store.clone();
    let mut inc = TestDb::migrated("load_inc").await;
    // Run 2 deletes 3 of 12 sales and 1 of 5 people, above the default limit on purpose.
    inc.allow_deletions(0.5).await;

    // Three runs of two objects, archived, and loaded as events arrive (manifest of run 2
    // before its pages; run 3's pages in reverse).
    let mut events: Vec<String> = Vec::new();
    let runs = [
        (
            run_id(0, 1),
            Mode::Full,
            (1..=12).map(|i| venda(i, 1)).collect::<Vec<_>>(),
            (1..=5).map(|i| pessoa(i, 1)).collect::<Vec<_>>(),
        ),
        (
            run_id(1, 2),
            Mode::Full,
            (1..=9).map(|i| venda(i, 2)).collect(),
            (2..=5).map(|i| pessoa(i, 2)).collect(),
        ),
        (
            run_id(2, 3),
            Mode::Incremental,
            vec![venda(11, 3), venda(2, 3)],
            vec![pessoa(1, 3)],
        ),
    ];
    for (ix, (run, mode, vendas, pessoas)) in runs.iter().enumerate() {
        for (path, rows) in [("/vendas", vendas), ("/pessoas", pessoas)] {
            let pages = run_pages("acme", path, run, *mode, rows, 4);
            for p in &pages {
                put_page(&store, p).await;
            }
            let (mk, mb) = manifest(&pages, *mode);
            store
                .put(&mk, mb.into(), "application/json", &Default::default())
                .await
                .unwrap();
            let mut keys: Vec<String> = pages.iter().map(|p| p.key.clone()).collect();
            if ix == 2 {
                keys.reverse();
            }
            if ix == 1 {
                events.push(mk);
                events.extend(keys);
            } else {
                events.extend(keys);
                events.push(mk);
            }
        }
    }
    // One archived page is garbage: both paths record it and carry on.
    let run_bad = run_id(2, 3);
    let mut bad = page(
        "acme",
        "/vendas",
        &run_bad,
        9,
        Mode::Incremental,
        b"not json".to_vec(),
    );
    bad.meta.sha256 = shared::load::sha256_hex(&bad.body);
    put_page(&store, &bad).await;
    events.push(bad.key.clone());

    for k in &events {
        let r = handle_key(inc.client(), &store, k, LoadOptions::default()).await;
        if k != &bad.key {
            r.unwrap();
        }
    }
    let expected = dump(inc.client()).await;
    // 10 and 12 deleted by run 2; 11 deleted by run 2 and seen again in run 3.
    assert_eq!(
        expected["cvdw.vendas"]
            .iter()
            .filter(|r| !r.contains("\"deleted_at\": null"))
            .count(),
        2
    );

    let mut fresh = TestDb::migrated("load_replay").await;
    fresh.allow_deletions(0.5).await;
    let sum = replay(
        &store,
        &fresh.config,
        &ReplayFilter::default(),
        ReplayOptions {
            force: false,
            parallelism: 3,
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(sum.failed, 1);
    assert_eq!(sum.manifests, 6);
    assert_eq!(sum.manifests_pending, 0);
    assert_eq!(sum.pages_total, events.len() as u64 - 6);
    let got = dump(fresh.client()).await;
    for (table, rows) in &expected {
        assert_eq!(&got[table], rows, "{table} differs after replay");
    }
    // A second replay finds everything in the ledger; a filtered forced one reloads a slice.
    let again = replay_all(&store, &fresh.config).await;
    assert_eq!((again.pages, again.duplicates), (0, sum.pages));
    let slice = ReplayFilter {
        tenant: Some("acme".into()),
        object: Some("pessoas".into()),
        since: Some(run_id(1, 0).date()),
        until: None,
    };
    let forced = replay(
        &store,
        &fresh.config,
        &slice,
        ReplayOptions {
            force: true,
            parallelism: 1,
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(forced.pages, 2);
    let after = dump(fresh.client()).await;
    for (table, rows) in &expected {
        assert_eq!(
            &after[table], rows,
            "{table} differs after a forced partial replay"
        );
    }
    inc.drop().await;
    fresh.drop().await;
}

/// The whole path with the real parts: simulator → the extractor (`shared::extract`) → S3
/// (s3s-fs) → `replay` → PostgreSQL; after a first full run and again after the clock moved
/// (updates, inactivations, hard deletes) and a second full run, the live typed rows are the
/// simulator's ground truth.
#[tokio::test]
async fn extract_then_load_matches_the_simulator_ground_truth() {
    use shared::extract::config::ExtractConfig;
    use shared::extract::{drive, jobs_from_config};
    use shared::extract::{NoDeadline, Quiet};
    use std::collections::HashMap;

    let (sim, running) = serve_world(11, 0.03).await;
    let bucket = LocalBucket::start("cvdw-raw-e2e").await;
    let store = bucket.store.clone();
    let objects = [
        "vendas",
        "reservas",
        "reservas_condicoes",
        "comissoes_pagamentos",
        "leads_tarefas",
    ];
    let env: HashMap<&str, String> = HashMap::from([
        ("RAW_BUCKET", "cvdw-raw-e2e".to_string()),
        ("CVDW_BASE_URL", running.base_url()),
        ("CVDW_EMAIL", "demo@cvdw.local".into()),
        ("CVDW_TOKEN", "demo-token".into()),
        ("CVDW_TENANT", "sim".into()),
        ("CVDW_OBJECTS", objects.join(",")),
        ("CVDW_RATE_LIMIT", "100000/1s".into()),
        ("CVDW_PAGE_SIZE", "100".into()),
    ]);
    let cfg = ExtractConfig::from_lookup(|k| env.get(k).cloned()).unwrap();
    let jobs = jobs_from_config(&cfg, None).unwrap();
    let mut t = TestDb::migrated("load_e2e").await;

    for round in 0..2 {
        if round == 1 {
            let ch = sim.advance(6);
            assert!(
                objects.iter().any(|o| ch.counts(find_path(o)).deleted > 0),
                "the clock deleted rows"
            );
        }
        let reports = drive(
            &store,
            &cfg.run,
            &jobs,
            &Quiet,
            &|| Box::new(NoDeadline),
            true,
            20,
        )
        .await;
        for inv in &reports {
            for (tenant, r) in inv {
                assert!(r.is_ok(), "{tenant}: {:?}", r.as_ref().err());
            }
        }
        let sum = replay_all(&store, &t.config).await;
        assert_eq!(
            (sum.failed, sum.rejected, sum.manifests_pending),
            (0, 0, 0),
            "round {round}: {sum:?}"
        );
        for name in objects {
            let spec = shared::catalogue::find(name).unwrap();
            let truth: HashMap<String, Value> = sim
                .ground_truth(spec.path)
                .into_iter()
                .map(|r| (spec.natural_key(&r).unwrap(), r))
                .collect();
            let (sql, filter) = match shared::load::tables::typed(name) {
                Some(tt) => (format!("SELECT natural_key, payload FROM cvdw.{} WHERE tenant = 'sim' AND deleted_at IS NULL", tt.table), None),
                None => ("SELECT natural_key, payload FROM cvdw.objects WHERE tenant = 'sim' AND object = $1 AND deleted_at IS NULL".to_string(), Some(name)),
            };
            let rows = match filter {
                Some(o) => t.client().query(&sql, &[&o]).await.unwrap(),
                None => t.client().query(&sql, &[]).await.unwrap(),
            };
            let db: HashMap<String, Value> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(db.len(), truth.len(), "round {round} {name}: live rows");
            for (k, v) in &truth {
                assert_eq!(db.get(k), Some(v), "round {round} {name} {k}");
            }
        }
    }
    t.drop().await;
}

fn find_path(name: &str) -> &'static str {
    shared::catalogue::find(name).unwrap().path
}
