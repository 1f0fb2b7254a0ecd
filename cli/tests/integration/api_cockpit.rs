//! The cockpit's endpoints (issue #21) equal the independent reference
//! (`shared::analytics::reference::cockpit`) on the simulator's default world, which is as dirty
//! as real CVDW data, under each filter they take; and refuse the filters they do not take.

use crate::api_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use api_support::{
    assert_same_lines, filters_of, get, most_common_id, refresh_cache, serve, Dataset, KEY,
};
use chrono::NaiveDate;
use serde_json::Value;
use shared::analytics::reference::cockpit::{self, People};
use shared::analytics::reference::own_parse::{datetime_of, int_of};
use shared::api::ApiConfig;

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap_or(0.0) * 100.0).round() as i64
}

async fn rows(c: &reqwest::Client, addr: SocketAddr, path: &str) -> Vec<Value> {
    let resp = get(c, addr, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let body: Value = resp.json().await.unwrap();
    body["rows"].as_array().cloned().unwrap_or_default()
}

async fn status(c: &reqwest::Client, addr: SocketAddr, path: &str) -> u16 {
    get(c, addr, path).await.status().as_u16()
}

/// The day the world's last reservation was made: ages are counted to it.
fn last_reservation_day(data: &Dataset) -> NaiveDate {
    data.rows("/reservas")
        .iter()
        .filter_map(|r| r.get("data_cad").and_then(datetime_of))
        .map(|d| d.date())
        .max()
        .unwrap()
}

/// A value of `field` that some open reservation has (for a filter that selects something).
fn some_id(data: &Dataset, field: &str) -> i64 {
    let open: Vec<Value> = data
        .rows("/reservas")
        .iter()
        .filter(|r| r.get("data_venda").and_then(datetime_of).is_none())
        .cloned()
        .collect();
    most_common_id(&open, field).unwrap_or_else(|| panic!("no {field} in the world's reservations"))
}

async fn check_estoque(
    c: &reqwest::Client,
    addr: SocketAddr,
    data: &Dataset,
    empreendimento: Option<i64>,
    ate: Option<NaiveDate>,
) {
    let mut query = "tenant=sim".to_string();
    if let Some(e) = empreendimento {
        query += &format!("&empreendimento={e}");
    }
    if let Some(a) = ate {
        query += &format!("&ate={a}");
    }
    let expected = cockpit::estoque(&data.source(), empreendimento, ate);
    let got: BTreeMap<(i64, String), (cockpit::Estoque, Option<f64>)> =
        rows(c, addr, &format!("/api/estoque?{query}"))
            .await
            .iter()
            .map(|r| {
                let line = cockpit::Estoque {
                    unidades: r["unidades"].as_i64().unwrap(),
                    disponiveis: r["disponiveis"].as_i64().unwrap(),
                    reservadas: r["reservadas"].as_i64().unwrap(),
                    vendidas: r["vendidas"].as_i64().unwrap(),
                    bloqueadas: r["bloqueadas"].as_i64().unwrap(),
                    outras: r["outras"].as_i64().unwrap(),
                    vgv_estoque: cents(&r["vgv_estoque"]),
                    liquidas_12m: r["liquidas_12m"].as_i64().unwrap(),
                };
                let key = (
                    r["idempreendimento"].as_i64().unwrap(),
                    r["tipologia"].as_str().unwrap().to_string(),
                );
                (key, (line, r["meses_de_estoque"].as_f64()))
            })
            .collect();
    assert_same_lines(&got, &expected, &format!("estoque lines ({query})"));
    for (key, want) in &expected {
        let (line, months) = &got[key];
        assert_eq!(line, want, "estoque {key:?} ({query})");
        assert_eq!(*months, want.meses_de_estoque(), "months {key:?} ({query})");
    }
}

async fn check_reservas(
    c: &reqwest::Client,
    addr: SocketAddr,
    data: &Dataset,
    ate: NaiveDate,
    people: People,
) -> usize {
    let mut query = format!("tenant=sim&ate={ate}");
    for (name, value) in [
        ("empreendimento", people.empreendimento),
        ("corretor", people.corretor),
        ("time", people.time),
        ("imobiliaria", people.imobiliaria),
    ] {
        if let Some(v) = value {
            query += &format!("&{name}={v}");
        }
    }
    let expected = cockpit::reservas_em_andamento(&data.source(), ate, people);
    let got: BTreeMap<(String, String), (i64, i64, i64)> =
        rows(c, addr, &format!("/api/reservas-em-andamento?{query}"))
            .await
            .iter()
            .map(|r| {
                let key = (
                    r["situacao"].as_str().unwrap().to_string(),
                    r["faixa_idade"].as_str().unwrap().to_string(),
                );
                let n = r["reservas"].as_i64().unwrap();
                let mean = r["idade_media_dias"].as_f64().unwrap();
                // The mean is rounded to a tenth: compare the sum it came from.
                let sum = (mean * n as f64).round() as i64;
                (key, (n, cents(&r["valor"]), sum))
            })
            .collect();
    let want: BTreeMap<(String, String), (i64, i64, i64)> = expected
        .iter()
        .map(|((s, f), l)| {
            (
                (s.clone(), f.to_string()),
                (l.reservas, l.valor, l.idade_soma),
            )
        })
        .collect();
    assert_same_lines(&got, &want, &query);
    for (key, (n, valor, sum)) in &want {
        let (got_n, got_valor, got_sum) = got[key];
        assert_eq!(
            (got_n, got_valor),
            (*n, *valor),
            "reservas {key:?} ({query})"
        );
        assert!(
            (got_sum - sum).abs() <= (*n + 9) / 10,
            "mean age {key:?} ({query}): {got_sum} vs {sum}"
        );
    }
    want.values().map(|v| v.0 as usize).sum()
}

#[tokio::test]
async fn cockpit_endpoints_match_the_reference_on_the_default_world() {
    let (db, data) = api_support::sim::loaded_world("api_cockpit").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = reqwest::Client::new();

    // Estoque: the whole world, one development, another end of the trailing year.
    let reference = cockpit::estoque(&data.source(), None, None);
    let total = |f: fn(&cockpit::Estoque) -> i64| reference.values().map(f).sum::<i64>();
    assert!(
        total(|l| l.disponiveis) > 0 && total(|l| l.reservadas) > 0 && total(|l| l.bloqueadas) > 0,
        "the default world has available, reserved and blocked units"
    );
    assert!(total(|l| l.liquidas_12m) > 0, "and sales in its last year");
    check_estoque(&c, addr, &data, None, None).await;
    let first_emp = reference.keys().next().map(|k| k.0);
    check_estoque(&c, addr, &data, first_emp, None).await;
    check_estoque(&c, addr, &data, None, NaiveDate::from_ymd_opt(2025, 3, 31)).await;

    // Reservas em andamento, to the world's last reservation day, under each filter.
    let ate = last_reservation_day(&data);
    let all = check_reservas(&c, addr, &data, ate, People::default()).await;
    assert!(all > 0, "the default world has open reservations");
    for people in [
        People {
            empreendimento: Some(some_id(&data, "idempreendimento")),
            ..People::default()
        },
        People {
            corretor: Some(some_id(&data, "idcorretor")),
            ..People::default()
        },
        People {
            time: Some(some_id(&data, "idtime")),
            ..People::default()
        },
        People {
            imobiliaria: Some(some_id(&data, "idimobiliaria")),
            ..People::default()
        },
    ] {
        let some = check_reservas(&c, addr, &data, ate, people).await;
        assert!(some <= all, "{people:?}");
    }

    // Filters an endpoint does not take are refused, as are bad ids.
    for path in [
        "/api/estoque?corretor=1",
        "/api/estoque?de=2025-01-01",
        "/api/reservas-em-andamento?de=2025-01-01",
        "/api/reservas-em-andamento?corretor=0",
        "/api/reservas-em-andamento?time=abc",
        "/api/reservas-em-andamento?imobiliaria=-3",
        "/api/kpis?dias=30",
    ] {
        assert_eq!(status(&c, addr, path).await, 400, "{path}");
    }
    db.drop().await;
}

async fn check_distratos(
    c: &reqwest::Client,
    addr: SocketAddr,
    reference: &shared::analytics::reference::Reference,
    query: &str,
) -> i64 {
    let expected = cockpit::distratos(reference, &filters_of(query));
    let got: BTreeMap<cockpit::DistratoKey, Value> =
        rows(c, addr, &format!("/api/distratos?tenant=sim{query}"))
            .await
            .into_iter()
            .map(|r| {
                let dimensao = match r["dimensao"].as_str().unwrap() {
                    "motivo" => "motivo",
                    "empreendimento" => "empreendimento",
                    "corretor" => "corretor",
                    other => panic!("dimensao {other}"),
                };
                let motive = if dimensao == "motivo" {
                    r["nome"].as_str().unwrap().to_string()
                } else {
                    String::new()
                };
                ((dimensao, r["id"].as_i64(), motive), r)
            })
            .collect();
    assert_same_lines(&got, &expected, &format!("distratos lines ({query})"));
    let near = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 0.051,
        (None, None) => true,
        _ => false,
    };
    for (key, want) in &expected {
        let r = &got[key];
        assert_eq!(r["vendas"].as_i64(), Some(want.vendas), "{key:?} ({query})");
        assert_eq!(
            r["distratos"].as_i64(),
            Some(want.distratos),
            "{key:?} ({query})"
        );
        assert!(
            near(r["dias_medio"].as_f64(), want.dias_medio()),
            "{key:?} mean ({query})"
        );
        assert!(
            near(r["dias_mediana"].as_f64(), want.dias_mediana()),
            "{key:?} median ({query}): {r} vs {:?}",
            want.dias_mediana()
        );
        let rate = (want.vendas > 0).then(|| want.distratos as f64 / want.vendas as f64);
        let got_rate = r["taxa"].as_f64();
        assert!(
            match (got_rate, rate) {
                (Some(x), Some(y)) => (x - y).abs() <= 0.00005,
                (None, None) => true,
                _ => false,
            },
            "{key:?} rate ({query})"
        );
    }
    expected
        .iter()
        .filter(|(k, _)| k.0 == "motivo")
        .map(|(_, l)| l.distratos)
        .sum()
}

#[tokio::test]
async fn distratos_match_the_reference_on_the_default_world() {
    let (mut db, data) = api_support::sim::loaded_world("api_cockpit_distratos").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = reqwest::Client::new();
    let reference = shared::analytics::reference::compute(&data.source());
    let all = check_distratos(&c, addr, &reference, "").await;
    assert!(all > 0, "the default world has distratos");
    let emp = reference
        .distratos_detalhe
        .iter()
        .find_map(|d| d.empreendimento);
    let corretor = reference.distratos_detalhe.iter().find_map(|d| d.corretor);
    let time = reference.distratos_detalhe.iter().find_map(|d| d.time);
    let imobiliaria = reference
        .distratos_detalhe
        .iter()
        .find_map(|d| d.imobiliaria);
    for query in [
        "&de=2025-01-01&ate=2025-06-30".to_string(),
        format!("&empreendimento={}", emp.unwrap()),
        format!("&corretor={}", corretor.unwrap()),
        format!("&time={}", time.unwrap()),
        format!("&imobiliaria={}", imobiliaria.unwrap()),
        format!("&imobiliaria={}&de=2025-01-01", imobiliaria.unwrap()),
    ] {
        let some = check_distratos(&c, addr, &reference, &query).await;
        assert!(some <= all, "{query}");
    }
    assert_eq!(
        status(&c, addr, "/api/distratos?imobiliaria=0").await,
        400,
        "an agency is a positive id"
    );
    // The refreshed cache gives the same answers as the live definitions.
    refresh_cache(&mut db).await;
    check_distratos(&c, addr, &reference, "").await;
    db.drop().await;
}

#[tokio::test]
async fn repasses_match_the_reference_on_the_default_world() {
    let (db, data) = api_support::sim::loaded_world("api_cockpit_repasses").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = reqwest::Client::new();
    let rows_of = data.rows("/repasses");
    assert!(!rows_of.is_empty(), "the default world has repasses");
    let ate = last_reservation_day(&data);
    let emp = rows_of
        .iter()
        .find_map(|r| r.get("idempreendimento").and_then(int_of));
    let near = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 0.051,
        (None, None) => true,
        _ => false,
    };
    let mut stuck_somewhere = false;
    for (query, empreendimento, dias) in [
        (format!("ate={ate}"), None, 30),
        (format!("ate={ate}&dias=90"), None, 90),
        (
            format!("ate={ate}&empreendimento={}", emp.unwrap()),
            emp,
            30,
        ),
    ] {
        let expected = cockpit::repasses(rows_of, ate, empreendimento, dias);
        let got: BTreeMap<String, Value> =
            rows(&c, addr, &format!("/api/repasses?tenant=sim&{query}"))
                .await
                .into_iter()
                .map(|r| (r["situacao"].as_str().unwrap().to_string(), r))
                .collect();
        assert_same_lines(&got, &expected, &query);
        for (stage, want) in &expected {
            let r = &got[stage];
            assert_eq!(r["itens"].as_i64(), Some(want.itens), "{stage} ({query})");
            assert_eq!(cents(&r["valor"]), want.valor, "{stage} ({query})");
            assert_eq!(
                r["parados"].as_i64(),
                Some(want.parados),
                "{stage} ({query})"
            );
            assert_eq!(
                cents(&r["valor_parado"]),
                want.valor_parado,
                "{stage} ({query})"
            );
            assert!(
                near(
                    r["dias_mediana_na_etapa"].as_f64(),
                    cockpit::median(&want.idades)
                ),
                "{stage} days in stage ({query})"
            );
            assert!(
                near(
                    r["dias_mediana_venda_repasse"].as_f64(),
                    cockpit::median(&want.venda_repasse)
                ),
                "{stage} sale to repasse ({query})"
            );
            stuck_somewhere |= want.parados > 0;
        }
    }
    assert!(stuck_somewhere, "some stage has stuck items");
    for path in [
        "/api/repasses?dias=0",
        "/api/repasses?dias=3651",
        "/api/repasses?dias=x",
        "/api/repasses?corretor=1",
        "/api/estoque?dias=30",
    ] {
        assert_eq!(status(&c, addr, path).await, 400, "{path}");
    }
    db.drop().await;
}

/// What the API fuzzer (scripts/schemathesis.sh) may send within the documented shapes:
/// extreme dates and ids answer 200 (or 400 for `ate` before `de`), never a 500.
#[tokio::test]
async fn cockpit_endpoints_take_any_documented_value() {
    shared::store::install_crypto_provider();
    let (db, _acme, _beta) = api_support::loaded_db("api_cockpit_edges").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = reqwest::Client::new();
    let big = i64::MAX;
    for path in [
        "/api/estoque?ate=0000-01-01".to_string(),
        "/api/estoque?ate=9999-12-31&empreendimento=1".to_string(),
        format!("/api/estoque?empreendimento={big}"),
        "/api/reservas-em-andamento?ate=0000-02-29".to_string(),
        format!(
            "/api/reservas-em-andamento?ate=9999-12&corretor={big}&time={big}&imobiliaria={big}"
        ),
        "/api/distratos?de=0000-01-01&ate=9999-12-31".to_string(),
        format!("/api/distratos?de=2025-01&corretor={big}&time=1&empreendimento={big}"),
        "/api/repasses?ate=0000-01-01&dias=3650".to_string(),
        "/api/repasses?ate=9999-12-31&dias=1&format=csv".to_string(),
        "/api/estoque?format=csv".to_string(),
    ] {
        assert_eq!(status(&c, addr, &path).await, 200, "{path}");
    }
    assert_eq!(
        status(&c, addr, "/api/distratos?de=2025-02-01&ate=2025-01-31").await,
        400
    );
    db.drop().await;
}
