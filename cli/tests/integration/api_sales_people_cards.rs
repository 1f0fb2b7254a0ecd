//! `/api/kpis`, `/api/vendas-corretores`, `/api/tabela-geral`, `/api/comissoes-corretores`,
//! `/api/prosoluto` and `/api/ano-atual-vs-passado` under the filters by broker, team and agency
//! (issue #21, item 7) equal the independent reference (`shared::analytics::reference::pessoas`)
//! on the simulator's default world.

use crate::api_sales_people::{reference_and_busiest_people, rows, sales_of};
use crate::api_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use api_support::{filters_of, get, serve, KEY};
use chrono::NaiveDate;
use serde_json::Value;
use shared::analytics::reference::{pessoas, Comissoes, ProSoluto, Reference};
use shared::api::ApiConfig;

/// Money in a row, in centavos (as the reference keeps it).
fn cents(row: &Value, column: &str) -> i64 {
    (row[column].as_f64().unwrap_or(0.0) * 100.0).round() as i64
}

fn units(row: &Value, column: &str) -> i64 {
    row[column].as_i64().unwrap_or(0)
}

/// The KPI row of tenant `sim` for `query` against the reference; the filtered sales (units).
async fn check_kpis(
    c: &reqwest::Client,
    addr: SocketAddr,
    reference: &Reference,
    query: &str,
) -> i64 {
    let filters = filters_of(query);
    let expected = pessoas::kpis(reference, &filters);
    let got = rows(c, addr, &format!("/api/kpis?tenant=sim{query}")).await;
    assert_eq!(got.len(), 1, "kpis ({query})");
    let row = &got[0];
    assert_eq!(sales_of(row), expected.sales, "kpis ({query})");
    let money = [
        cents(row, "comissao_valor"),
        cents(row, "comissao_paga"),
        cents(row, "prosoluto_valor"),
    ];
    let want = [
        expected.comissao_valor,
        expected.comissao_paga,
        expected.prosoluto,
    ];
    assert_eq!(money, want, "kpis commissions, pró-soluto ({query})");
    let vso = (expected.oferta != 0)
        .then(|| expected.sales.liquidas_unidades() as f64 / expected.oferta as f64);
    match (vso, row["vso"].as_f64()) {
        (Some(want), Some(got)) => assert!((want - got).abs() < 1e-6, "{query}: {want} vs {got}"),
        (None, None) => {}
        other => panic!("kpis vso ({query}): {other:?}"),
    }
    expected.sales.vendas_unidades
}

/// The lines of `path` (for tenant `sim` and `query`), keyed and read as the reference keeps them.
async fn lines<K: Ord, V>(
    c: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    query: &str,
    line: impl Fn(&Value) -> (K, V),
) -> BTreeMap<K, V> {
    let answer = rows(c, addr, &format!("{path}?tenant=sim{query}")).await;
    answer.iter().map(line).collect()
}

async fn check_corretores(
    c: &reqwest::Client,
    addr: SocketAddr,
    reference: &Reference,
    query: &str,
) {
    let filters = filters_of(query);
    let broker = |row: &Value| row["idcorretor"].as_i64();
    let got = lines(c, addr, "/api/vendas-corretores", query, |row| {
        let commissions = (cents(row, "comissao_valor"), cents(row, "comissao_paga"));
        (broker(row), (sales_of(row), commissions.0, commissions.1))
    })
    .await;
    assert_eq!(
        got,
        pessoas::vendas_por_corretor(reference, &filters),
        "vendas-corretores ({query})"
    );
    let got = lines(c, addr, "/api/comissoes-corretores", query, |row| {
        let commissions = Comissoes {
            comissoes: units(row, "comissoes"),
            valor: cents(row, "comissao_valor"),
            pago: cents(row, "comissao_paga"),
        };
        (broker(row), commissions)
    })
    .await;
    assert_eq!(
        got,
        pessoas::comissoes_por_corretor(reference, &filters),
        "comissoes-corretores ({query})"
    );
}

/// Two pages and the total of the general table, in the reference's order.
async fn check_tabela(c: &reqwest::Client, addr: SocketAddr, reference: &Reference, query: &str) {
    let expected = pessoas::tabela_geral(reference, &filters_of(query));
    for page in [1usize, 2] {
        let path = format!("/api/tabela-geral?tenant=sim&per_page=7&page={page}{query}");
        let resp = get(c, addr, &path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["total"].as_i64(),
            Some(expected.len() as i64),
            "{path}"
        );
        let ids: Vec<i64> = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|row| row["idreserva"].as_i64())
            .collect();
        let window: Vec<i64> = expected
            .iter()
            .skip((page - 1) * 7)
            .take(7)
            .copied()
            .collect();
        assert_eq!(ids, window, "{path}");
    }
}

async fn check_prosoluto(
    c: &reqwest::Client,
    addr: SocketAddr,
    reference: &Reference,
    query: &str,
) {
    let date = |v: &Value| NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap();
    let got = lines(c, addr, "/api/prosoluto", query, |row| {
        let figures = ProSoluto {
            vendas_unidades: units(row, "vendas_unidades"),
            vgv: cents(row, "vgv"),
            prosoluto: cents(row, "prosoluto_valor"),
        };
        (
            (row["idempreendimento"].as_i64(), date(&row["mes"])),
            figures,
        )
    })
    .await;
    assert_eq!(
        got,
        pessoas::prosoluto(reference, &filters_of(query)),
        "prosoluto ({query})"
    );
}

async fn check_anos(c: &reqwest::Client, addr: SocketAddr, reference: &Reference, query: &str) {
    let in_2025 = format!("&ate=2025-12-31{query}");
    let got = lines(c, addr, "/api/ano-atual-vs-passado", &in_2025, |row| {
        let columns = [
            "liquidas_unidades_atual",
            "liquidas_unidades_passado",
            "liquidas_valor_atual",
            "liquidas_valor_passado",
            "vgv_atual",
            "vgv_passado",
        ];
        // units, then money in centavos
        let figures = columns.map(|column| {
            if column.starts_with("liquidas_unidades") {
                units(row, column)
            } else {
                cents(row, column)
            }
        });
        (units(row, "mes") as u32, figures)
    })
    .await;
    let expected = pessoas::ano_atual_vs_passado(reference, &filters_of(query), 2025);
    assert!(
        !expected.is_empty(),
        "ano-atual-vs-passado ({query}) has lines"
    );
    assert_eq!(got, expected, "ano-atual-vs-passado ({query})");
}

#[tokio::test]
async fn kpis_brokers_table_commissions_prosoluto_and_years_take_the_people_filters() {
    let (db, data) = api_support::sim::loaded_world("api_sales_people_cards").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let (reference, [corretor, time, imobiliaria]) = reference_and_busiest_people(&data);
    let all = reference.vendas_detalhe.len() as i64;
    let queries = [
        format!("&corretor={corretor}"),
        format!("&time={time}"),
        format!("&imobiliaria={imobiliaria}"),
        format!("&corretor={corretor}&de=2025-01-10&ate=2025-06-30"),
        format!("&time={time}&empreendimento=1&de=2024-11&ate=2025-09-20"),
    ];
    let c = reqwest::Client::new();
    for query in &queries {
        let some = check_kpis(&c, addr, &reference, query).await;
        assert!(some > 0 && some < all, "{query} selects some sales: {some}");
        check_corretores(&c, addr, &reference, query).await;
        check_tabela(&c, addr, &reference, query).await;
        check_prosoluto(&c, addr, &reference, query).await;
    }
    for query in &queries[..3] {
        check_anos(&c, addr, &reference, query).await;
    }
    db.drop().await;
}
