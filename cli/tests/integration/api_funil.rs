//! `/api/funil` (issue #21, item 1) equals the independent reference
//! (`shared::analytics::reference::funil`) on the simulator's default world, as dirty as real
//! CVDW data and loaded with its leads and visits, under each filter it takes; it refuses the
//! team filter (a lead has no team) and serves the same lines as CSV.

use crate::api_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use api_support::{
    assert_same_lines, filters_of, get, load, most_common_id, refresh_cache, serve, Dataset, KEY,
};
use chrono::NaiveDate;
use serde_json::{json, Value};
use shared::analytics::reference::cockpit::median;
use shared::analytics::reference::funil::{self, FunilKey, FunilLine, GAPS, STAGES};
use shared::analytics::Filters;
use shared::api::ApiConfig;

/// The key of an answer line, as the reference keys it.
fn key_of(row: &Value) -> FunilKey {
    let dimensao = match row["dimensao"].as_str().unwrap() {
        "total" => "total",
        "mes" => "mes",
        "empreendimento" => "empreendimento",
        "midia" => "midia",
        "corretor" => "corretor",
        "sem_lead" => "sem_lead",
        other => panic!("dimensao {other}"),
    };
    let mes = row["mes"]
        .as_str()
        .and_then(|m| NaiveDate::parse_from_str(m, "%Y-%m-%d").ok());
    let midia = if dimensao == "midia" {
        row["nome"].as_str().unwrap().to_string()
    } else {
        String::new()
    };
    (dimensao, row["id"].as_i64(), mes, midia)
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn near(got: Option<f64>, want: Option<f64>, within: f64) -> bool {
    match (got, want) {
        (Some(x), Some(y)) => (x - y).abs() <= within,
        (None, None) => true,
        _ => false,
    }
}

fn check_line(key: &FunilKey, row: &Value, want: &FunilLine, query: &str) {
    for (column, expected) in STAGES.iter().zip(want.stages) {
        assert_eq!(
            row[*column].as_i64(),
            Some(expected),
            "{column} of {key:?} ({query})"
        );
    }
    let [leads, atendimentos, reservas, vendas] = want.stages;
    let rates = [
        ("taxa_atendimento", ratio(atendimentos, leads)),
        ("taxa_reserva", ratio(reservas, atendimentos)),
        ("taxa_venda", ratio(vendas, reservas)),
        ("taxa_total", ratio(vendas, leads)),
    ];
    for (column, expected) in rates {
        assert!(
            near(row[column].as_f64(), expected, 0.000051),
            "{column} of {key:?} ({query}): {} vs {expected:?}",
            row[column]
        );
    }
    for (column, days) in GAPS.iter().zip(&want.gaps) {
        assert!(
            near(row[*column].as_f64(), median(days), 0.051),
            "{column} of {key:?} ({query}): {} vs {:?}",
            row[*column],
            median(days)
        );
    }
}

/// Compare every line of `/api/funil?tenant=sim{query}` with the reference; the total's leads.
async fn check_funil(c: &reqwest::Client, addr: SocketAddr, data: &Dataset, query: &str) -> i64 {
    let expected = funil::funil(&data.source(), &filters_of(query));
    let resp = get(c, addr, &format!("/api/funil?tenant=sim{query}")).await;
    assert_eq!(resp.status(), 200, "{query}");
    let body: Value = resp.json().await.unwrap();
    let got: BTreeMap<FunilKey, Value> = body["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|row| (key_of(&row), row))
        .collect();
    assert_same_lines(&got, &expected, &format!("funil lines ({query})"));
    for (key, want) in &expected {
        check_line(key, &got[key], want, query);
        if key.0 != "sem_lead" {
            assert!(
                want.stages.windows(2).all(|w| w[1] <= w[0]),
                "every stage is within the one before: {key:?} {:?} ({query})",
                want.stages
            );
        }
    }
    expected
        .get(&("total", None, None, String::new()))
        .map_or(0, |t| t.stages[0])
}

/// The id `field` most common among the world's leads (a filter that selects many).
fn common_lead_id(data: &Dataset, field: &str) -> i64 {
    most_common_id(data.rows("/leads"), field)
        .unwrap_or_else(|| panic!("no {field} on the world's leads"))
}

/// Funnel dirt the default world lacks, loaded through the real loader and added to the ground
/// truth: leads without a date (a zero date, `""`, `null`; one visited, one with a sold
/// reservation), a reservation without `idlead` and one whose lead is unknown.
async fn add_funnel_dirt(db: &mut api_support::TestDb, data: &mut Dataset) {
    let lead = |id: i64, cad: Value| {
        json!({"referencia": id.to_string(), "referencia_data": "2025-03-01 10:00:00", "ativo": "S",
            "idlead": id, "data_cad": cad, "idempreendimento": "1", "idcorretor": 1,
            "midia_original": "Site"})
    };
    let reserva = |id: i64, idlead: &str| {
        json!({"referencia": id.to_string(), "referencia_data": "2025-03-05 10:00:00", "ativo": "S",
            "idreserva": id, "data_cad": "2025-03-05 10:00:00", "idempreendimento": 1,
            "idcorretor": 1, "idlead": idlead, "valor_contrato": 300000})
    };
    let mut dirt = Dataset {
        tenant: data.tenant.clone(),
        objects: Default::default(),
    };
    dirt.objects.insert(
        "/leads",
        vec![
            lead(9_000_001, json!("0000-00-00 00:00:00")),
            lead(9_000_002, json!("")),
            lead(9_000_003, Value::Null),
        ],
    );
    dirt.objects.insert(
        "/leads/visitas",
        vec![
            json!({"referencia": "9000001", "referencia_data": "2025-03-02 10:00:00",
            "ativo": "S", "idtarefa": 9_000_001, "idlead": 9_000_001,
            "data_cad": "2025-03-02 10:00:00"}),
        ],
    );
    dirt.objects.insert(
        "/reservas",
        vec![
            reserva(9_100_001, "9000002"),
            reserva(9_100_002, ""),
            reserva(9_100_003, "8888888, 9000003"),
        ],
    );
    dirt.objects.insert(
        "/vendas",
        vec![
            json!({"referencia": "9100001", "referencia_data": "2025-03-20 10:00:00",
            "ativo": "S", "idreserva": 9_100_001, "data_venda": "2025-03-20 10:00:00",
            "idempreendimento": 1, "idcorretor": 1, "valor_contrato": 300000}),
        ],
    );
    load(db, &dirt, 9).await;
    for (path, rows) in dirt.objects {
        data.objects.entry(path).or_default().extend(rows);
    }
}

#[tokio::test]
async fn funil_matches_the_reference_on_the_default_world() {
    let (mut db, mut data) =
        api_support::sim::loaded_world_with("api_funil", &api_support::sim::FUNNEL_PATHS).await;
    add_funnel_dirt(&mut db, &mut data).await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = reqwest::Client::new();
    let all = check_funil(&c, addr, &data, "").await;
    assert!(all > 0, "the default world has leads");
    let whole = funil::funil(&data.source(), &Filters::default());
    let total = &whole[&("total", None, None, String::new())];
    let [_, atendimentos, reservas, vendas] = total.stages;
    assert!(
        vendas > 0 && reservas > vendas && atendimentos > reservas,
        "the default world fills every stage: {total:?}"
    );
    let undated = &whole[&("mes", None, None, String::new())];
    assert_eq!(
        undated.stages,
        [3, 2, 1, 1],
        "leads without data_cad count, under no month"
    );
    let unknown = &whole[&("sem_lead", None, None, String::new())];
    assert!(
        unknown.stages[0] == 0 && unknown.stages[2] >= 2,
        "reservations whose lead is unknown are counted apart: {unknown:?}"
    );
    let emp = common_lead_id(&data, "idempreendimento");
    let corretor = common_lead_id(&data, "idcorretor");
    let imobiliaria = common_lead_id(&data, "idimobiliaria");
    for query in [
        "&de=2025-01-01&ate=2025-06-30".to_string(),
        format!("&empreendimento={emp}&de=2024-07"),
        format!("&corretor={corretor}"),
        format!("&imobiliaria={imobiliaria}&ate=2025-12"),
    ] {
        let some = check_funil(&c, addr, &data, &query).await;
        assert!(some > 0 && some < all, "{query} selects some leads: {some}");
    }
    assert_eq!(
        get(&c, addr, "/api/funil?time=1").await.status(),
        400,
        "a lead has no team"
    );
    let csv = get(&c, addr, "/api/funil?tenant=sim&format=csv").await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let text = text.trim_start_matches('\u{feff}');
    assert!(
        text.starts_with("tenant;dimensao;mes;id;nome;leads;"),
        "{text:.80}"
    );
    assert_eq!(
        text.lines().count(),
        whole.len() + 1,
        "one CSV line per line"
    );
    // The refreshed cache gives the same answers as the live definitions.
    refresh_cache(&mut db).await;
    check_funil(&c, addr, &data, "").await;
    db.drop().await;
}
