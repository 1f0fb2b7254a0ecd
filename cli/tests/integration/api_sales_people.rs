//! `/api/vendas-mensais`, `/api/vendas-empreendimentos` and `/api/vendas-times` under the filters
//! by broker, team and agency (issue #21, item 7) equal the independent reference
//! (`shared::analytics::reference::pessoas`) on the simulator's default world.

use crate::api_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use api_support::{assert_same_lines, filters_of, get, most_common_id, serve, Dataset, KEY};
use chrono::NaiveDate;
use serde_json::Value;
use shared::analytics::reference::{pessoas, Reference, Sales};
use shared::analytics::Filters;
use shared::api::ApiConfig;

pub(crate) async fn rows(c: &reqwest::Client, addr: SocketAddr, path: &str) -> Vec<Value> {
    let resp = get(c, addr, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let body: Value = resp.json().await.unwrap();
    body["rows"].as_array().cloned().unwrap_or_default()
}

/// A line's figures as the reference keeps them (money in centavos).
pub(crate) fn sales_of(row: &Value) -> Sales {
    let cents = |column: &str| (row[column].as_f64().unwrap_or(0.0) * 100.0).round() as i64;
    let units = |column: &str| row[column].as_i64().unwrap_or(0);
    Sales {
        vendas_unidades: units("vendas_unidades"),
        vendas_valor: cents("vendas_valor"),
        distratos_unidades: units("distratos_unidades"),
        distratos_valor: cents("distratos_valor"),
    }
}

/// The three endpoints for `query` against the reference; the filtered sales (units).
async fn check(
    c: &reqwest::Client,
    addr: SocketAddr,
    reference: &Reference,
    query: &str,
    filters: &Filters,
) -> i64 {
    let (by_month, by_development) = pessoas::vendas_por_mes_e_empreendimento(reference, filters);
    let month_of =
        |row: &Value| NaiveDate::parse_from_str(row["mes"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let got: BTreeMap<NaiveDate, Sales> =
        rows(c, addr, &format!("/api/vendas-mensais?tenant=sim{query}"))
            .await
            .iter()
            .map(|row| (month_of(row), sales_of(row)))
            .collect();
    assert_same_lines(&got, &by_month, &format!("months ({query})"));
    assert_eq!(got, by_month, "vendas-mensais ({query})");
    let got: BTreeMap<Option<i64>, Sales> = rows(
        c,
        addr,
        &format!("/api/vendas-empreendimentos?tenant=sim{query}"),
    )
    .await
    .iter()
    .map(|row| (row["idempreendimento"].as_i64(), sales_of(row)))
    .collect();
    assert_eq!(got, by_development, "vendas-empreendimentos ({query})");
    let got: BTreeMap<Option<i64>, (Sales, i64, i64)> =
        rows(c, addr, &format!("/api/vendas-times?tenant=sim{query}"))
            .await
            .iter()
            .map(|row| {
                let from = |column: &str| row[column].as_i64().unwrap_or(0);
                let line = (
                    sales_of(row),
                    from("vendas_time_da_reserva"),
                    from("vendas_time_dos_integrantes"),
                );
                (row["idtime"].as_i64(), line)
            })
            .collect();
    assert_eq!(
        got,
        pessoas::vendas_por_time(reference, filters),
        "vendas-times ({query})"
    );
    by_month.values().map(|s| s.vendas_unidades).sum()
}

/// The reference of the world, and the broker, team and agency with the most sales (each
/// filter then selects some sales).
pub(crate) fn reference_and_busiest_people(data: &Dataset) -> (Reference, [i64; 3]) {
    let reference = shared::analytics::reference::compute(&data.source());
    let corretor = most_common_id(data.rows("/vendas"), "idcorretor").unwrap();
    let imobiliaria = most_common_id(data.rows("/vendas"), "idimobiliaria").unwrap();
    let mut teams: BTreeMap<i64, usize> = BTreeMap::new();
    for team in reference.vendas_detalhe.iter().filter_map(|v| v.time) {
        *teams.entry(team).or_default() += 1;
    }
    let time = teams.into_iter().max_by_key(|(_, n)| *n).unwrap().0;
    (reference, [corretor, time, imobiliaria])
}

#[tokio::test]
async fn sales_by_month_development_and_team_take_the_people_filters() {
    let (db, data) = api_support::sim::loaded_world("api_sales_people").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = reqwest::Client::new();
    let (reference, [corretor, time, imobiliaria]) = reference_and_busiest_people(&data);
    let all: i64 = reference.vendas_detalhe.len() as i64;
    for query in [
        format!("&corretor={corretor}"),
        format!("&time={time}"),
        format!("&imobiliaria={imobiliaria}"),
        format!("&corretor={corretor}&de=2025-01-01&ate=2025-06-30"),
        format!("&time={time}&empreendimento=1&ate=2025-09"),
    ] {
        let some = check(&c, addr, &reference, &query, &filters_of(&query)).await;
        assert!(some > 0 && some < all, "{query} selects some sales: {some}");
    }
    db.drop().await;
}
