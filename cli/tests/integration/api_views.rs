//! Every analytics view equals the same metric computed independently in Rust
//! (`shared::analytics::reference`) from the CVDW rows that were loaded through the real loader
//! into a fresh PostgreSQL database — on the live definitions (cache stale) and on the cache
//! (`analytics.atualizar()`), and the cache goes stale whenever a delivery changes the data,
//! in whatever order deliveries arrive and commit.

use crate::api_support;

use std::collections::BTreeMap;

use crate::load_support::scalar;
use api_support::{loaded_db, Dataset};
use chrono::{Datelike, NaiveDate};
use serde_json::Value;
use shared::analytics::reference::{compute, Reference, Sales};
use tokio_postgres::Client;

fn cents(v: &Value) -> i64 {
    match v {
        Value::Null => 0,
        v => (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 100.0).round() as i64,
    }
}
fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}
fn date(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

/// The rows of view `analytics.<name>` for `tenant`, each as its JSON object.
async fn view(c: &Client, name: &str, tenant: &str) -> Vec<serde_json::Map<String, Value>> {
    let sql = format!("SELECT to_jsonb(v) FROM analytics.{name} v WHERE tenant = $1");
    view_rows(c, &sql, tenant).await
}

/// The JSON objects `sql` (one `to_jsonb` column, the tenant as `$1`) selects.
async fn view_rows(c: &Client, sql: &str, tenant: &str) -> Vec<serde_json::Map<String, Value>> {
    view_with(c, sql, &[&tenant]).await
}

fn sales_of(r: &serde_json::Map<String, Value>) -> Sales {
    Sales {
        vendas_unidades: r["vendas_unidades"].as_i64().unwrap(),
        vendas_valor: cents(&r["vendas_valor"]),
        distratos_unidades: r["distratos_unidades"].as_i64().unwrap(),
        distratos_valor: cents(&r["distratos_valor"]),
    }
}

/// The sales of each row, keyed as `key` says.
fn sales_by<K: Ord>(
    rows: &[serde_json::Map<String, Value>],
    key: impl Fn(&serde_json::Map<String, Value>) -> K,
) -> BTreeMap<K, Sales> {
    rows.iter().map(|r| (key(r), sales_of(r))).collect()
}

fn check_derived(r: &serde_json::Map<String, Value>, s: &Sales, what: &str) {
    assert_eq!(
        r["liquidas_unidades"].as_i64().unwrap(),
        s.liquidas_unidades(),
        "{what}"
    );
    assert_eq!(cents(&r["liquidas_valor"]), s.liquidas_valor(), "{what}");
    assert_eq!(cents(&r["vgv"]), s.vendas_valor, "{what}");
    let tm = match &r["ticket_medio"] {
        Value::Null => None,
        v => Some(cents(v)),
    };
    assert_eq!(tm, s.ticket_medio(), "{what} ticket médio");
}

/// The data behind `reference` has what the distrato rules are about: a month with both
/// sales and distratos, and a VSO month with units returned to stock.
fn assert_distratos_exercised(reference: &Reference, data: &str) {
    assert!(
        reference
            .mensal
            .values()
            .any(|s| s.vendas_unidades > 0 && s.distratos_unidades > 0),
        "{data}: a month with both sales and distratos"
    );
    assert!(
        reference.vso.values().any(|v| v.distratos_unidades > 0),
        "{data}: a VSO month with units returned to stock"
    );
}

async fn check_tenant(c: &Client, data: &Dataset) -> Reference {
    let t = data.tenant.as_str();
    let reference = compute(&data.source());
    assert!(!reference.mensal.is_empty());

    // vw_vendas_mensais
    let rows = view(c, "vw_vendas_mensais", t).await;
    let got = sales_by(&rows, |r| date(&r["mes"]));
    assert_eq!(got, reference.mensal, "vw_vendas_mensais ({t})");
    for r in &rows {
        check_derived(r, &sales_of(r), "vw_vendas_mensais");
    }

    // vw_vendas_por_empreendimento
    let rows = view(c, "vw_vendas_por_empreendimento", t).await;
    let got = sales_by(&rows, |r| int(&r["idempreendimento"]));
    assert_eq!(
        got, reference.por_empreendimento,
        "vw_vendas_por_empreendimento ({t})"
    );
    for r in &rows {
        check_derived(r, &sales_of(r), "vw_vendas_por_empreendimento");
        assert!(
            r["empreendimento"].as_str().is_some_and(|n| !n.is_empty())
                || r["idempreendimento"].is_null()
        );
    }

    // vw_vendas_por_corretor (+ commissions) and vw_comissoes_por_corretor
    let rows = view(c, "vw_vendas_por_corretor", t).await;
    let got: BTreeMap<Option<i64>, Sales> = rows
        .iter()
        .filter(|r| sales_of(r) != Sales::default())
        .map(|r| (int(&r["idcorretor"]), sales_of(r)))
        .collect();
    assert_eq!(got, reference.por_corretor, "vw_vendas_por_corretor ({t})");
    let got: BTreeMap<Option<i64>, (i64, i64)> = rows
        .iter()
        .filter(|r| cents(&r["comissao_valor"]) != 0)
        .map(|r| {
            (
                int(&r["idcorretor"]),
                (cents(&r["comissao_valor"]), cents(&r["comissao_paga"])),
            )
        })
        .collect();
    let want: BTreeMap<Option<i64>, (i64, i64)> = reference
        .comissoes_por_corretor
        .iter()
        .filter(|(_, c)| c.valor != 0)
        .map(|(k, c)| (*k, (c.valor, c.pago)))
        .collect();
    assert_eq!(got, want, "commissions in vw_vendas_por_corretor ({t})");
    let rows = view(c, "vw_comissoes_por_corretor", t).await;
    let got: BTreeMap<Option<i64>, (i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                int(&r["idcorretor"]),
                (
                    r["comissoes"].as_i64().unwrap(),
                    cents(&r["comissao_valor"]),
                    cents(&r["comissao_paga"]),
                ),
            )
        })
        .collect();
    let want: BTreeMap<Option<i64>, (i64, i64, i64)> = reference
        .comissoes_por_corretor
        .iter()
        .map(|(k, c)| (*k, (c.comissoes, c.valor, c.pago)))
        .collect();
    assert_eq!(got, want, "vw_comissoes_por_corretor ({t})");

    // vw_vendas_por_time
    let rows = view(c, "vw_vendas_por_time", t).await;
    let got = sales_by(&rows, |r| int(&r["idtime"]));
    assert_eq!(got, reference.por_time, "vw_vendas_por_time ({t})");
    let por_reserva: i64 = rows
        .iter()
        .map(|r| r["vendas_time_da_reserva"].as_i64().unwrap())
        .sum();
    let por_integrantes: i64 = rows
        .iter()
        .map(|r| r["vendas_time_dos_integrantes"].as_i64().unwrap())
        .sum();
    assert_eq!(
        (por_reserva, por_integrantes),
        (reference.time_da_reserva, reference.time_dos_integrantes)
    );
    for r in rows.iter().filter(|r| !r["idtime"].is_null()) {
        assert!(
            r["nome_time"].as_str().is_some_and(|n| !n.is_empty()),
            "{r:?}"
        );
    }

    // vw_vso_mensal
    let rows = view(c, "vw_vso_mensal", t).await;
    assert_eq!(rows.len(), reference.vso.len(), "vw_vso_mensal rows ({t})");
    for r in &rows {
        let k = (r["idempreendimento"].as_i64().unwrap(), date(&r["mes"]));
        let want = reference
            .vso
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected VSO row {k:?}"));
        let got = (
            r["estoque_inicial"].as_i64().unwrap(),
            r["entradas"].as_i64().unwrap(),
            r["vendas_unidades"].as_i64().unwrap(),
            r["distratos_unidades"].as_i64().unwrap(),
            r["oferta"].as_i64().unwrap(),
        );
        assert_eq!(
            got,
            (
                want.estoque_inicial,
                want.entradas,
                want.vendas_unidades,
                want.distratos_unidades,
                want.oferta()
            ),
            "VSO {k:?}"
        );
        match (want.vso(), r["vso"].as_f64()) {
            (None, None) => {}
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "VSO {k:?}: {a} vs {b}"),
            other => panic!("VSO {k:?}: {other:?}"),
        }
    }

    // vw_prosoluto_analise
    let rows = view(c, "vw_prosoluto_analise", t).await;
    let got: BTreeMap<(Option<i64>, NaiveDate), (i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                (int(&r["idempreendimento"]), date(&r["mes"])),
                (
                    r["vendas_unidades"].as_i64().unwrap(),
                    cents(&r["vgv"]),
                    cents(&r["prosoluto_valor"]),
                ),
            )
        })
        .collect();
    let want: BTreeMap<(Option<i64>, NaiveDate), (i64, i64, i64)> = reference
        .prosoluto
        .iter()
        .map(|(k, p)| (*k, (p.vendas_unidades, p.vgv, p.prosoluto)))
        .collect();
    assert_eq!(got, want, "vw_prosoluto_analise ({t})");
    for r in &rows {
        let pct = r["prosoluto_pct"].as_f64().unwrap();
        let expect = 100.0 * cents(&r["prosoluto_valor"]) as f64 / cents(&r["vgv"]) as f64;
        assert!((pct - expect).abs() < 1e-3, "{pct} vs {expect}");
    }

    // vw_tabela_geral_vendas: one line per counted venda; distratadas flagged.
    let rows = view(c, "vw_tabela_geral_vendas", t).await;
    let total: i64 = reference.mensal.values().map(|s| s.vendas_unidades).sum();
    assert_eq!(rows.len() as i64, total);
    let distratadas = rows
        .iter()
        .filter(|r| r["situacao"] == "Distratada")
        .count() as i64;
    assert_eq!(distratadas, reference.vendas_distratadas);

    // vw_kpis: the period totals.
    let rows = view(c, "vw_kpis", t).await;
    assert_eq!(rows.len(), 1);
    let sum = reference
        .mensal
        .values()
        .fold(Sales::default(), |a, s| Sales {
            vendas_unidades: a.vendas_unidades + s.vendas_unidades,
            vendas_valor: a.vendas_valor + s.vendas_valor,
            distratos_unidades: a.distratos_unidades + s.distratos_unidades,
            distratos_valor: a.distratos_valor + s.distratos_valor,
        });
    assert_eq!(sales_of(&rows[0]), sum);
    check_derived(&rows[0], &sum, "vw_kpis");
    let com: i64 = reference
        .comissoes_por_corretor
        .values()
        .map(|c| c.valor)
        .sum();
    assert_eq!(cents(&rows[0]["comissao_valor"]), com);

    // ano atual × passado, with the year fixed by `ate`.
    let ano = reference.mensal.keys().last().unwrap().year();
    let ate = NaiveDate::from_ymd_opt(ano, 12, 31).unwrap();
    let rows: Vec<serde_json::Map<String, Value>> = c
        .query(
            "SELECT to_jsonb(v) FROM analytics.vendas_ano_atual_vs_passado($1, NULL, $2, NULL) v",
            &[&t, &ate],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, Value>(0).as_object().unwrap().clone())
        .collect();
    assert_eq!(rows.len(), 12);
    for r in &rows {
        let m = r["mes"].as_i64().unwrap() as u32;
        for (y, suffix) in [(ano, "atual"), (ano - 1, "passado")] {
            let s = reference
                .mensal
                .get(&NaiveDate::from_ymd_opt(y, m, 1).unwrap())
                .copied()
                .unwrap_or_default();
            assert_eq!(
                r[&format!("liquidas_unidades_{suffix}")].as_i64().unwrap(),
                s.liquidas_unidades()
            );
            assert_eq!(
                cents(&r[&format!("liquidas_valor_{suffix}")]),
                s.liquidas_valor()
            );
            assert_eq!(cents(&r[&format!("vgv_{suffix}")]), s.vendas_valor);
        }
    }
    // Without `ate`, "ano atual" is the year of the newest sale, not today's.
    let newest_sale = reference
        .mensal
        .iter()
        .filter(|(_, s)| s.vendas_unidades > 0)
        .map(|(m, _)| m.year())
        .max()
        .unwrap();
    let rows = c
        .query(
            "SELECT ano_atual, ano_passado FROM analytics.vendas_ano_atual_vs_passado($1, NULL, NULL, NULL)",
            &[&t],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    for r in &rows {
        assert_eq!(
            (r.get::<_, i32>(0), r.get::<_, i32>(1)),
            (newest_sale, newest_sale - 1)
        );
    }
    reference
}

async fn cache_valid(c: &Client) -> bool {
    scalar(c, "SELECT analytics.cache_valida()", &[]).await
}

/// `vendas_valor` of tenant acme from `vw_kpis`, as PostgreSQL prints it.
async fn acme_vendas_valor(c: &Client) -> String {
    scalar(
        c,
        "SELECT vendas_valor::text FROM analytics.vw_kpis WHERE tenant = 'acme'",
        &[],
    )
    .await
}

async fn refresh(c: &Client) -> bool {
    scalar(c, "SELECT analytics.atualizar()", &[]).await
}

fn day(s: &str) -> Option<NaiveDate> {
    Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

/// The KPI card row has one period: its net units are the exact-date ones, and its period VSO
/// is those same net units over the stock on the day `de` plus the period's entries.
async fn check_kpi_periods(
    c: &Client,
    t: &str,
    r: &Reference,
    periods: &[(Option<NaiveDate>, Option<NaiveDate>)],
) {
    for (de, ate) in periods {
        let rows = c
            .query(
                "SELECT to_jsonb(k) FROM analytics.kpis($1, $2, $3, NULL) k",
                &[&t, de, ate],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "kpis {t} {de:?}..{ate:?}");
        let k: Value = rows[0].get(0);
        let what = format!("kpis {t} de={de:?} ate={ate:?}");
        assert_eq!(
            k["liquidas_unidades"].as_i64(),
            Some(r.liquidas(*de, *ate)),
            "{what}"
        );
        match (r.periodo_vso(*de, *ate), k["vso"].as_f64()) {
            (Some(want), Some(got)) => {
                assert!((want - got).abs() < 1e-6, "{what}: {want} vs {got}")
            }
            (None, None) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
}

/// `vendas_time_da_reserva` / `vendas_time_dos_integrantes` are counts: never NULL, with a
/// development filter or a period inside one month, and 0 on the "Sem time" row.
async fn check_team_counts(c: &Client, t: &str, r: &Reference) {
    // A period inside the busiest month (no whole month: only the facts are read).
    let (busiest, _) = r
        .mensal
        .iter()
        .max_by_key(|(_, s)| s.vendas_unidades)
        .expect("sales");
    let one_month = (
        *busiest + chrono::Days::new(1),
        *busiest + chrono::Days::new(26),
    );
    let mut filters: Vec<(Option<NaiveDate>, Option<NaiveDate>, Option<i64>)> = r
        .por_empreendimento
        .keys()
        .flatten()
        .map(|e| (None, None, Some(*e)))
        .collect();
    filters.push((Some(one_month.0), Some(one_month.1), None));
    let (mut sem_time, mut fallback) = (0, 0);
    for (de, ate, emp) in &filters {
        let rows = view_with(
            c,
            "SELECT to_jsonb(v) FROM analytics.vendas_por_time($1, $2, $3, $4) v",
            &[&t, de, ate, emp],
        )
        .await;
        assert!(!rows.is_empty(), "{t} {de:?} {ate:?} {emp:?}");
        for row in &rows {
            let (Some(da_reserva), Some(dos_integrantes)) = (
                row["vendas_time_da_reserva"].as_i64(),
                row["vendas_time_dos_integrantes"].as_i64(),
            ) else {
                panic!("NULL team counts for {de:?} {ate:?} {emp:?}: {row:?}");
            };
            let vendas = row["vendas_unidades"].as_i64().unwrap();
            if row["idtime"].is_null() {
                sem_time += 1;
                assert_eq!((da_reserva, dos_integrantes), (0, 0), "{row:?}");
            } else {
                assert_eq!(da_reserva + dos_integrantes, vendas, "{row:?}");
            }
            fallback += dos_integrantes;
        }
    }
    assert!(sem_time > 0 && fallback > 0, "the filters met both cases");
}

/// The JSON objects `sql` (one `to_jsonb` column) selects.
async fn view_with(
    c: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<serde_json::Map<String, Value>> {
    c.query(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| match r.get::<_, Value>(0) {
            Value::Object(m) => m,
            other => panic!("{other}"),
        })
        .collect()
}

#[tokio::test]
async fn every_view_matches_the_independent_computation() {
    let (mut db, acme, beta) = loaded_db("api_views").await;
    let c = db.client();
    // Just loaded: the cache is stale and the views read the live definitions.
    assert!(!cache_valid(c).await);
    check_tenant(c, &acme).await;
    check_tenant(c, &beta).await;
    // Built: the same numbers, from the cache.
    assert!(refresh(c).await);
    assert!(cache_valid(c).await);
    assert!(!refresh(c).await, "a valid cache is not rebuilt");
    let r = check_tenant(c, &acme).await;
    check_tenant(c, &beta).await;

    // The dataset exercises what the definitions are about.
    assert_distratos_exercised(&r, "the generated dataset");
    assert!(
        r.vso.values().any(|v| v.entradas > 0),
        "a month with units entering the offer"
    );
    assert!(
        r.time_dos_integrantes > 0 && r.time_da_reserva > 0,
        "both team sources"
    );
    assert!(
        r.por_time.contains_key(&None),
        "sales of a broker without a team"
    );
    // Rows that must not count were in the data.
    let vendas = acme.rows("/vendas");
    let counted: i64 = r.mensal.values().map(|s| s.vendas_unidades).sum();
    assert!((counted as usize) < vendas.len());
    check_kpi_periods(
        c,
        "acme",
        &r,
        &[
            (None, None),
            (day("2024-03-15"), day("2024-08-10")),
            (day("2024-09-01"), day("2024-12-31")),
            (day("2024-09-20"), None),
            (None, day("2024-02-07")),
        ],
    )
    .await;
    check_team_counts(c, "acme", &r).await;
    // The same over HTTP, as the dashboard asks for it.
    let (addr, server) =
        api_support::serve(&db, shared::api::ApiConfig::from_keys(&[api_support::KEY])).await;
    shared::store::install_crypto_provider();
    for emp in r.por_empreendimento.keys().flatten() {
        let path = format!("/api/vendas-times?tenant=acme&empreendimento={emp}");
        let http = reqwest::Client::new();
        let body = api_support::get_json_as(&http, addr, &path, api_support::KEY).await;
        let rows = body["rows"].as_array().expect("rows");
        assert!(!rows.is_empty());
        for row in rows {
            for f in ["vendas_time_da_reserva", "vendas_time_dos_integrantes"] {
                assert!(
                    row[f].is_i64(),
                    "/api/vendas-times empreendimento={emp}: {row}"
                );
            }
        }
    }
    server.abort();
    if std::env::var("CVDW_KEEP_DB").is_ok() {
        eprintln!("kept database {:?}", db.config.dbname());
        return;
    }
    db.drop().await;
}

#[tokio::test]
async fn views_match_the_simulator_ground_truth() {
    // Every object the analytics read but `/repasses`.
    let paths = &api_support::sim::PATHS[..9];
    assert!(!paths.contains(&"/repasses"));
    let (mut db, data) = api_support::sim::loaded_world_of("api_sim", paths).await;
    // The default world is as dirty as real CVDW data where the metrics read.
    let census = simulator::dirt::census(&|p| data.rows(p).to_vec());
    assert!(
        simulator::dirt::missing(&census).is_empty(),
        "every quirk in the loaded rows: {census:?}"
    );
    let r = check_tenant(db.client(), &data).await;
    check_team_counts(db.client(), "sim", &r).await;
    assert!(refresh(db.client()).await);
    let r = check_tenant(db.client(), &data).await;
    // The KPI card row of issue 19 (de=2025-03-15&ate=2025-08-10), and other periods.
    check_kpi_periods(
        db.client(),
        "sim",
        &r,
        &[
            (None, None),
            (day("2025-03-15"), day("2025-08-10")),
            (day("2025-03-01"), day("2025-08-31")),
            (day("2024-11-30"), day("2024-12-01")),
            (None, day("2024-05-17")),
        ],
    )
    .await;
    check_team_counts(db.client(), "sim", &r).await;
    assert!(
        r.time_dos_integrantes > 0 && r.time_da_reserva > 0,
        "both team sources in the default world"
    );
    assert!(
        r.prosoluto.values().any(|p| p.prosoluto > 0),
        "pró-soluto in the default world"
    );
    assert_distratos_exercised(&r, "the simulator's history");
    db.drop().await;
}

async fn deliver(c: &mut Client, p: &crate::load_support::Page, force: bool) {
    let options = shared::load::LoadOptions { force };
    let loaded = crate::load_support::load_with(c, p, options).await;
    loaded.unwrap_or_else(|e| panic!("{}: {e}", p.key));
}

/// The cache never serves numbers the data no longer supports: pages delivered in any order,
/// duplicated, re-loaded, and a load transaction that started before a refresh but committed
/// after it (its `loaded_at`, the transaction's start, is older than the newest the refresh
/// saw — the case a "max(loaded_at) grew" check would miss).
#[tokio::test]
async fn the_cache_goes_stale_on_every_change_in_any_order() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use shared::landing::Mode;

    let mut db = api_support::TestDb::migrated("api_cache").await;
    let data = api_support::generate("acme", 21, 160);
    let run = crate::load_support::run_id(0, 1);
    let mut pages: Vec<crate::load_support::Page> = data
        .objects
        .iter()
        .flat_map(|(path, rows)| {
            crate::load_support::run_pages("acme", path, &run, Mode::Incremental, rows, 40)
        })
        .collect();
    pages.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(5));
    let (first, rest) = pages.split_at(pages.len() / 2);
    for p in first {
        deliver(db.client(), p, false).await;
    }
    let c = db.client();
    assert!(refresh(c).await);
    assert!(cache_valid(c).await);
    // The other half, in shuffled order (and one page twice): stale after the first one.
    for (i, p) in rest.iter().enumerate() {
        deliver(db.client(), p, false).await;
        assert!(!cache_valid(db.client()).await, "stale after page {i}");
    }
    deliver(db.client(), &rest[0], false).await;
    let c = db.client();
    c.batch_execute("ANALYZE").await.unwrap();
    // Stale: the views read the live definitions, which already hold everything.
    check_tenant(c, &data).await;
    assert!(refresh(c).await);
    check_tenant(c, &data).await;
    // A re-delivery of identical bytes is a no-op for the loader, and for the cache.
    deliver(db.client(), &first[0], false).await;
    assert!(cache_valid(db.client()).await);
    // A forced re-load (`cvdw replay --force`) counts as a change.
    deliver(db.client(), &first[0], true).await;
    assert!(!cache_valid(db.client()).await);
    assert!(refresh(db.client()).await);

    // A load transaction B starts, a later one commits, the cache is rebuilt, then B commits.
    let (late, conn) = tokio_postgres::connect(
        &format!(
            "postgres://postgres@127.0.0.1:5432/{}?sslmode=disable",
            db.config.dbname().unwrap()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    late.batch_execute(
        "BEGIN;
         UPDATE cvdw.vendas SET valor_contrato = valor_contrato + 1000
          WHERE tenant = 'acme' AND idreserva = (SELECT min(idreserva) FROM analytics.cache_vendas);
         INSERT INTO etl.pages (source_key, tenant, object, run_id, page, mode, fetched_at, sha256,
                                rows, loaded_rows, duplicates, rejected)
         VALUES ('late/vendas/1', 'acme', 'vendas', 'late', 1, 'incremental', now(), 'x', 1, 1, 0, 0);",
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // (a page of another object: B holds a row lock on a sale)
    let later = pages
        .iter()
        .find(|p| p.meta.object_path == "/comissoes")
        .unwrap()
        .clone();
    deliver(db.client(), &later, true).await;
    let c = db.client();
    assert!(refresh(c).await);
    assert!(cache_valid(c).await);
    let before = acme_vendas_valor(c).await;
    late.batch_execute("COMMIT").await.unwrap();
    assert!(
        !cache_valid(c).await,
        "a commit of a transaction older than the refresh stales the cache"
    );
    let after = acme_vendas_valor(c).await;
    let diff: f64 = after.parse::<f64>().unwrap() - before.parse::<f64>().unwrap();
    assert_eq!(diff, 1000.0, "the live path shows the late change");
    drop(late);
    db.drop().await;
}

/// Period filters: every metric reads whole months from the monthly rollups and the partial
/// first/last months from the facts. Whatever the period (whole months, partial months, one
/// partial month, with a development filter), each metric equals the plain aggregation of the
/// facts filtered by date — on the cache and on the live path.
#[tokio::test]
async fn period_filters_equal_the_facts_filtered_by_date() {
    let mut db = api_support::TestDb::migrated("api_periods").await;
    let data = api_support::generate("acme", 9, 300);
    api_support::load(&mut db, &data, 0).await;
    let c = db.client();
    let d = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    let periods: Vec<(Option<NaiveDate>, Option<NaiveDate>, Option<i64>)> = vec![
        (None, None, None),
        (d("2024-02-01"), d("2024-11-30"), None),
        (d("2024-01-15"), d("2024-03-10"), None),
        (d("2024-06-10"), d("2024-06-20"), None),
        (d("2024-05-01"), d("2024-05-31"), None),
        (d("2024-07-31"), d("2024-08-01"), None),
        (None, d("2024-09-17"), None),
        (d("2024-04-02"), None, None),
        (d("2024-03-05"), d("2025-02-20"), Some(2)),
        (None, None, Some(4)),
    ];
    // (what, the metric's numbers, the same aggregated straight from the facts)
    let fv = "FROM analytics.fato_vendas f WHERE f.tenant = $1 AND ($2::date IS NULL OR f.data_venda >= $2) \
              AND ($3::date IS NULL OR f.data_venda <= $3) AND ($4::bigint IS NULL OR f.idempreendimento = $4)";
    let fd = "FROM analytics.fato_distratos f WHERE f.tenant = $1 AND ($2::date IS NULL OR f.data >= $2) \
              AND ($3::date IS NULL OR f.data <= $3) AND ($4::bigint IS NULL OR f.idempreendimento = $4)";
    let fc = "FROM analytics.fato_comissoes f WHERE f.tenant = $1 AND ($2::date IS NULL OR f.data >= $2) \
              AND ($3::date IS NULL OR f.data <= $3) AND ($4::bigint IS NULL OR f.idempreendimento = $4)";
    let checks: Vec<(&str, String, String)> = vec![
        (
            "vendas_mensais",
            "SELECT mes, vendas_unidades, vendas_valor, distratos_unidades, distratos_valor \
             FROM analytics.vendas_mensais($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT mes, sum(vu)::bigint, sum(vs), sum(du)::bigint, sum(ds) FROM ( \
                 SELECT f.mes, 1 AS vu, f.valor_contrato AS vs, 0 AS du, 0 AS ds {fv} \
                 UNION ALL SELECT f.mes, 0, 0, 1, f.valor {fd}) x GROUP BY mes"
            ),
        ),
        (
            "vendas_por_empreendimento",
            "SELECT idempreendimento, vendas_unidades, vendas_valor, distratos_unidades, distratos_valor \
             FROM analytics.vendas_por_empreendimento($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT idempreendimento, sum(vu)::bigint, sum(vs), sum(du)::bigint, sum(ds) FROM ( \
                 SELECT f.idempreendimento, 1 AS vu, f.valor_contrato AS vs, 0 AS du, 0 AS ds {fv} \
                 UNION ALL SELECT f.idempreendimento, 0, 0, 1, f.valor {fd}) x GROUP BY 1"
            ),
        ),
        (
            "vendas_por_corretor",
            "SELECT idcorretor, corretor, vendas_unidades, vendas_valor, distratos_unidades, \
             distratos_valor, comissao_valor, comissao_paga FROM analytics.vendas_por_corretor($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT idcorretor, coalesce(max(nv), max(nd), max(nc)), sum(vu)::bigint, sum(vs), \
                 sum(du)::bigint, sum(ds), sum(cv), sum(cp) FROM ( \
                 SELECT f.idcorretor, f.corretor AS nv, NULL AS nd, NULL AS nc, 1 AS vu, \
                        f.valor_contrato AS vs, 0 AS du, 0 AS ds, 0 AS cv, 0 AS cp {fv} \
                 UNION ALL SELECT f.idcorretor, NULL, f.corretor, NULL, 0, 0, 1, f.valor, 0, 0 {fd} \
                 UNION ALL SELECT f.idcorretor, NULL, NULL, f.corretor, 0, 0, 0, 0, f.valor_comissao, \
                        f.valor_pago {fc}) x GROUP BY 1"
            ),
        ),
        (
            "comissoes_por_corretor",
            "SELECT idcorretor, corretor, comissoes, comissao_valor, comissao_paga \
             FROM analytics.comissoes_por_corretor($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT f.idcorretor, max(f.corretor), count(*), sum(f.valor_comissao), \
                 sum(f.valor_pago) {fc} GROUP BY 1"
            ),
        ),
        (
            "vendas_por_time",
            "SELECT idtime, nome_time, vendas_unidades, vendas_valor, distratos_unidades, \
             distratos_valor, vendas_time_da_reserva, vendas_time_dos_integrantes \
             FROM analytics.vendas_por_time($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT idtime, coalesce(max(nv), max(nd), 'Sem time'), sum(vu)::bigint, sum(vs), \
                 sum(du)::bigint, sum(ds), sum(r)::bigint, sum(i)::bigint FROM ( \
                 SELECT f.idtime, f.nome_time AS nv, NULL AS nd, 1 AS vu, f.valor_contrato AS vs, \
                        0 AS du, 0 AS ds, (f.origem_time IS NOT DISTINCT FROM 'reserva')::int AS r, \
                        (f.origem_time IS NOT DISTINCT FROM 'integrantes')::int AS i {fv} \
                 UNION ALL SELECT f.idtime, NULL, f.nome_time, 0, 0, 1, f.valor, 0, 0 {fd}) x GROUP BY 1"
            ),
        ),
        (
            "prosoluto_analise",
            "SELECT idempreendimento, mes, vendas_unidades, vgv, prosoluto_valor, vendas_com_prosoluto \
             FROM analytics.prosoluto_analise($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT f.idempreendimento, f.mes, count(*), sum(f.valor_contrato), \
                 coalesce(sum(f.valor_prosoluto), 0), count(*) FILTER (WHERE f.valor_prosoluto > 0) \
                 {fv} GROUP BY 1, 2"
            ),
        ),
        (
            "kpis",
            "SELECT vendas_unidades, vendas_valor, distratos_unidades, distratos_valor, comissao_valor, \
             comissao_paga, prosoluto_valor FROM analytics.kpis($1, $2, $3, $4)"
                .into(),
            format!(
                "SELECT (SELECT count(*) {fv}), (SELECT coalesce(sum(f.valor_contrato), 0) {fv}), \
                 (SELECT count(*) {fd}), (SELECT coalesce(sum(f.valor), 0) {fd}), \
                 (SELECT coalesce(sum(f.valor_comissao), 0) {fc}), (SELECT coalesce(sum(f.valor_pago), 0) {fc}), \
                 (SELECT coalesce(sum(f.valor_prosoluto), 0) {fv})"
            ),
        ),
    ];
    for cached in [true, false] {
        if cached {
            assert!(refresh(c).await);
        } else {
            c.batch_execute("DELETE FROM analytics.cache_estado")
                .await
                .unwrap();
            assert!(!cache_valid(c).await);
        }
        for (de, ate, emp) in &periods {
            for (what, got, want) in &checks {
                let sql = format!(
                    "SELECT count(*) FROM ((({got}) EXCEPT ({want})) UNION ALL (({want}) EXCEPT ({got}))) d"
                );
                let n: i64 = c
                    .query_one(&sql, &[&"acme", de, ate, emp])
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"))
                    .get(0);
                assert_eq!(
                    n, 0,
                    "{what} for de={de:?} ate={ate:?} emp={emp:?} (cache: {cached}) differs from the facts"
                );
            }
        }
    }
    db.drop().await;
}

/// A unit enters the offer at the earliest `data_vigencia_de` of all its `/unidades/precos`
/// rows, inactive ones included (a withdrawn price table does not undo the offer made under
/// it); a unit with no price row is in the offer before the first month.
#[tokio::test]
async fn inactive_price_rows_still_date_the_entry_into_the_offer() {
    use serde_json::json;
    let mut db = api_support::TestDb::migrated("api_entry").await;
    let unidade = |id: i64| {
        json!({"referencia": id, "referencia_data": "2023-12-01 10:00:00",
               "idunidade": id.to_string(), "idempreendimento": 1,
               "nome_empreendimento": "Residencial Aurora", "nome": format!("APTO {id}"),
               "situacao_bloqueada": "N"})
    };
    let preco = |id: i64, tab: i64, ativo: &str, de: &str| {
        json!({"referencia": format!("{id}_{tab}"), "referencia_data": "2023-12-01 10:00:00",
               "ativo": ativo, "idunidade": id, "idtabela": tab, "idempreendimento": 1,
               "data_vigencia_de": de, "valor": 300000})
    };
    let venda = json!({"referencia": "501", "referencia_data": "2024-06-10 10:00:00",
        "ativo": "S", "idreserva": 501, "data_venda": "2024-06-10 10:00:00",
        "valor_contrato": "300000.00", "idempreendimento": 1, "idunidade": 1, "idcorretor": 1});
    let reserva = json!({"referencia": "501", "referencia_data": "2024-06-10 10:00:00",
        "ativo": "S", "idreserva": 501, "idempreendimento": 1, "idunidade": 1, "idcorretor": 1,
        "valor_contrato": 300000});
    let data = Dataset {
        tenant: "acme".into(),
        objects: [
            ("/unidades", (1..=4).map(unidade).collect()),
            (
                "/unidades/precos",
                vec![
                    // unit 1: one active row, January
                    preco(1, 1, "S", "2024-01-10"),
                    // unit 2: an inactive February table, then an active May one
                    preco(2, 1, "N", "2024-02-05"),
                    preco(2, 2, "S", "2024-05-01"),
                    // unit 3: only an inactive March table
                    preco(3, 1, "N", "2024-03-01"),
                    // unit 4: no price row
                ],
            ),
            ("/vendas", vec![venda]),
            ("/reservas", vec![reserva]),
        ]
        .into_iter()
        .collect(),
    };
    api_support::load(&mut db, &data, 0).await;
    let c = db.client();
    let got = |rows: Vec<serde_json::Map<String, Value>>| -> Vec<(NaiveDate, i64, i64)> {
        rows.iter()
            .map(|r| {
                (
                    date(&r["mes"]),
                    r["estoque_inicial"].as_i64().unwrap(),
                    r["entradas"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let m = |s: &str| day(&format!("{s}-01")).unwrap();
    let want = vec![
        (m("2024-01"), 1, 1),
        (m("2024-02"), 2, 1),
        (m("2024-03"), 3, 1),
        (m("2024-04"), 4, 0),
        (m("2024-05"), 4, 0),
        (m("2024-06"), 4, 0),
    ];
    for cached in [false, true] {
        if cached {
            assert!(refresh(c).await);
        }
        let rows = view_rows(
            c,
            "SELECT to_jsonb(v) FROM analytics.vw_vso_mensal v WHERE tenant = $1 ORDER BY mes",
            "acme",
        )
        .await;
        assert_eq!(got(rows), want, "cache: {cached}");
    }
    // The reference follows the same rule.
    let r = compute(&data.source());
    let reference: Vec<(NaiveDate, i64, i64)> = r
        .vso
        .iter()
        .map(|((_, mes), v)| (*mes, v.estoque_inicial, v.entradas))
        .collect();
    assert_eq!(reference, want);
    // The June sale over the whole offer of the month: 1 ÷ 4.
    assert_eq!(r.vso[&(1, m("2024-06"))].vso(), Some(0.25));
    db.drop().await;
}
