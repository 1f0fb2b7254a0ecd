//! The loader against pages crawled from the real simulator over HTTP: the typed tables match
//! the simulator's ground truth, and pages of several runs (clock advancing between them,
//! with a full run reconciling deletions) converge to the in-order database whatever the
//! delivery order and duplication.

use crate::load_support;

use chrono::{Duration, TimeZone, Utc};
use load_support::*;
use serde_json::Value;
use shared::catalogue::find;
use shared::landing::{Mode, PageKey, PageMeta, RunId};
use shared::load::tables::{typed, TYPED};
use shared::load::{load_manifest, PageOutcome};
use shared::values;
use simulator::Simulator;
use std::collections::HashMap;

const TENANT: &str = "sim";

async fn start(scale: f64) -> (Simulator, simulator::RunningSimulator) {
    serve_world(7, scale).await
}

/// A plain page loop, as the extractor does it: every page of one object, each wrapped in
/// the `PageMeta` the extractor would store.
#[allow(clippy::too_many_arguments)]
async fn crawl(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    run: &RunId,
    mode: Mode,
    since: Option<&str>,
    per_page: u32,
    clock: &mut chrono::DateTime<Utc>,
) -> Vec<Page> {
    let spec = find(path).unwrap();
    let mut pages = Vec::new();
    let mut n = 1u32;
    loop {
        let mut q: Vec<(&str, String)> = vec![
            ("pagina", n.to_string()),
            ("registros_por_pagina", per_page.to_string()),
        ];
        if let Some(s) = since {
            q.push(("a_partir_data_referencia", s.to_string()));
        }
        let Fetched {
            body,
            rows,
            total_pages,
        } = fetch_page(http, base, path, n, &q).await;
        if rows == 0 && n > 1 {
            break;
        }
        *clock += Duration::milliseconds(1500);
        let meta = PageMeta {
            tenant: TENANT.into(),
            run_id: run.clone(),
            object_path: spec.path.into(),
            page: n,
            params: String::new(),
            http_status: 200,
            fetched_at: *clock,
            mode,
            rows: rows as u32,
            sha256: shared::load::sha256_hex(&body),
        };
        let key = PageKey {
            tenant: TENANT.into(),
            object: spec.name.into(),
            run_id: run.clone(),
            page: n,
        }
        .to_key();
        pages.push(Page { key, body, meta });
        if rows == 0 || n >= total_pages {
            break;
        }
        n += 1;
    }
    pages
}

fn max_referencia(pages: &[Page]) -> Option<String> {
    pages
        .iter()
        .flat_map(|p| {
            let v: Value = serde_json::from_slice(&p.body).unwrap();
            v["dados"].as_array().cloned().unwrap_or_default()
        })
        .filter_map(|r| values::referencia_data(&r))
        .max()
        .map(|d| values::format_datetime(&(d - Duration::minutes(1))))
}

/// A CVDW flag read here, apart from the loader's parser: `S`/`Sim` and `N`/`Não` (and JSON
/// booleans); `null` and `""` are unknown. Anything else fails the test.
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "" => None,
            "S" | "Sim" => Some(true),
            "N" | "Não" => Some(false),
            other => panic!("a flag the simulator does not send: {other:?}"),
        },
        other => panic!("a flag the simulator does not send: {other}"),
    }
}

/// A ground-truth value as the text PostgreSQL is asked to cast: `null` and `""` are unknown.
fn raw_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[tokio::test]
async fn typed_tables_match_the_simulator_ground_truth() {
    let (sim, running) = start(0.05).await;
    let base = running.base_url();
    let http = reqwest::Client::new();
    let mut t = TestDb::migrated("load_simgt").await;
    let run = RunId::new(Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 0).unwrap(), 0x51);
    let mut clock = Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 1).unwrap();
    let objects: Vec<&str> = TYPED
        .iter()
        .map(|t| t.object)
        .chain(["pessoas", "leads_interacoes"])
        .collect();
    let mut problems: Vec<String> = Vec::new();
    for name in &objects {
        let spec = find(name).unwrap();
        let pages = crawl(
            &http,
            &base,
            spec.path,
            &run,
            Mode::Full,
            None,
            500,
            &mut clock,
        )
        .await;
        for p in &pages {
            let PageOutcome::Loaded(r) = deliver(t.client(), p).await else {
                panic!()
            };
            if r.rejected > 0 {
                let reasons = t
                    .client()
                    .query("SELECT split_part(reason, ':', 1) || ' e.g. ' || min(reason) FROM etl.rejected_rows WHERE source_key = $1 GROUP BY split_part(reason, ':', 1)", &[&p.key])
                    .await
                    .unwrap();
                problems.extend(
                    reasons
                        .iter()
                        .map(|r| format!("{name}: {}", r.get::<_, String>(0))),
                );
            }
        }
        let (mk, mb) = manifest(&pages, Mode::Full);
        load_manifest(t.client(), &mk, &mb).await.unwrap();
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "rows rejected:\n{}",
        problems.join("\n")
    );
    for name in &objects {
        let spec = find(name).unwrap();
        let truth = sim.ground_truth(spec.path);
        assert!(!truth.is_empty(), "{name}: the simulator serves rows");
        let (table, filter) = match typed(name) {
            Some(t) => (format!("cvdw.{}", t.table), String::new()),
            None => (
                "cvdw.objects".to_string(),
                format!(" AND object = '{name}'"),
            ),
        };
        // Test code: table names come from the static list, not from input.
        let rows = t
            .client()
            .query(&format!("SELECT natural_key, ativo, payload FROM {table} WHERE tenant = $1 AND deleted_at IS NULL{filter}"), &[&TENANT])
            .await
            .unwrap();
        let db: HashMap<String, (Option<bool>, Value)> = rows
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
        let mut by_key: HashMap<String, &Value> = HashMap::new();
        for row in &truth {
            by_key.insert(
                spec.natural_key(row).expect("ground truth rows have keys"),
                row,
            );
        }
        assert_eq!(db.len(), by_key.len(), "{name}: live rows vs ground truth");
        for (k, row) in &by_key {
            let (ativo, payload) = db.get(k).unwrap_or_else(|| panic!("{name} {k} missing"));
            assert_eq!(&payload, row, "{name} {k}: payload");
            let want = row.get("ativo").and_then(flag);
            assert_eq!(*ativo, want, "{name} {k}: ativo");
        }
    }
    // A few typed values, straight from the ground truth and read by PostgreSQL's own casts
    // (not the loader's parsers, so a parsing bug cannot cancel out).
    let c = t.client();
    for v in sim.ground_truth("/vendas").iter().take(20) {
        let k = find("vendas").unwrap().natural_key(v).unwrap();
        let r = c
            .query_one(
                "SELECT valor_contrato IS NOT DISTINCT FROM (CASE WHEN $3::text LIKE '%,%' \
                     THEN replace(replace($3::text, '.', ''), ',', '.') ELSE $3::text END)::numeric, \
                 data_venda IS NOT DISTINCT FROM \
                     (CASE WHEN $4::text LIKE '0000-00-00%' THEN NULL ELSE $4::text END)::timestamp, \
                 idempreendimento IS NOT DISTINCT FROM $5::text::bigint, \
                 concat_ws(' | ', valor_contrato, data_venda, idempreendimento) \
                 FROM cvdw.vendas WHERE tenant = $1 AND natural_key = $2",
                &[
                    &TENANT,
                    &k,
                    &raw_text(&v["valor_contrato"]),
                    &raw_text(&v["data_venda"]),
                    &raw_text(&v["idempreendimento"]),
                ],
            )
            .await
            .unwrap();
        let stored: String = r.get(3);
        for (column, field) in [
            (0, "valor_contrato"),
            (1, "data_venda"),
            (2, "idempreendimento"),
        ] {
            assert!(
                r.get::<_, bool>(column),
                "vendas {k}: {field} sent as {}, stored: {stored}",
                v[field]
            );
        }
    }
    t.drop().await;
}

#[tokio::test]
async fn simulator_runs_in_any_order_and_duplication_give_the_in_order_db() {
    let (sim, running) = start(0.03).await;
    let base = running.base_url();
    let http = reqwest::Client::new();
    // Objects the simulator's clock updates, inactivates and hard-deletes rows of.
    let objects = [
        "/vendas",
        "/reservas/campos-adicionais",
        "/comissoes/pagamentos",
        "/leads/tarefas",
    ];
    let mut items: Vec<Item> = Vec::new();
    let mut cursors: HashMap<&str, Option<String>> = HashMap::new();
    let mut clock = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap();
    let mut deleted_somewhere = 0;
    // full, incremental, incremental, full (reconciles deletions), incremental
    for (i, (mode, advance)) in [
        (Mode::Full, 0),
        (Mode::Incremental, 3),
        (Mode::Incremental, 4),
        (Mode::Full, 5),
        (Mode::Incremental, 2),
    ]
    .into_iter()
    .enumerate()
    {
        if advance > 0 {
            let changes = sim.advance(advance);
            deleted_somewhere += objects
                .iter()
                .map(|o| changes.counts(o).deleted)
                .sum::<u64>();
            clock += Duration::days(advance as i64);
        }
        let run = RunId::new(clock, 0x100 + i as u32);
        for path in objects {
            let since = match mode {
                Mode::Full => None,
                Mode::Incremental => cursors.get(path).cloned().flatten(),
            };
            let pages = crawl(
                &http,
                &base,
                path,
                &run,
                mode,
                since.as_deref(),
                25,
                &mut clock,
            )
            .await;
            if let Some(c) = max_referencia(&pages) {
                cursors.insert(path, Some(c));
            }
            let (mk, mb) = manifest(&pages, mode);
            items.extend(pages.into_iter().map(Item::Page));
            items.push(Item::Manifest(mk, mb));
        }
    }
    assert!(deleted_somewhere > 0, "the clock hard-deleted some rows");
    let pages = items.iter().filter(|i| matches!(i, Item::Page(_))).count();
    assert!(pages > 20, "{pages} pages");

    let mut t = TestDb::migrated("load_simprop").await;
    for it in &items {
        deliver_item(t.client(), it).await;
    }
    let expected = dump(t.client()).await;
    let deleted = expected
        .iter()
        .filter(|(k, _)| k.starts_with("cvdw."))
        .flat_map(|(_, rows)| rows)
        .filter(|r| r.contains("\"deleted_by_run\": \""))
        .count();
    assert!(deleted > 0, "the full run reconciled deletions");

    // Few cases keep the test quick.
    assert_any_order_converges(t.client(), &items, &expected, 0..8u64, 0.25).await;
    t.drop().await;
}
