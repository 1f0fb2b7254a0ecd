//! The simulator over real HTTP: reqwest against `serve(127.0.0.1:0)`. One or more tests per
//! numbered point of issue 2. Small scales keep them fast; seeds keep them deterministic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::catalogue::OBJECTS;
use simulator::fields::FieldKind;
use simulator::{Fault, Quirks, RateLimit, RunningSimulator, SimConfig, Simulator};

const EMAIL: &str = "demo@cvdw.local";
const TOKEN: &str = "demo-token";

/// The key a row is stored under: its ids, or one derived from its content when they are
/// missing or name a group (`shared::identity`, docs/row-identity.md).
fn key(o: &shared::catalogue::ObjectSpec, r: &Value) -> String {
    shared::identity::row_key(o, r, || r.clone())
}

fn client_with_timeout(t: Duration) -> reqwest::Client {
    shared::store::install_crypto_provider();
    reqwest::Client::builder().timeout(t).build().unwrap()
}

fn client() -> reqwest::Client {
    client_with_timeout(Duration::from_secs(30))
}

fn small() -> SimConfig {
    SimConfig::for_tests()
}

async fn start(cfg: SimConfig) -> (Simulator, RunningSimulator) {
    let sim = Simulator::new(cfg);
    let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (sim, running)
}

struct Resp {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn get_with(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut req = c
        .get(format!("{base}{path}"))
        .header("email", EMAIL)
        .header("token", TOKEN)
        .query(query);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    Resp {
        status: r.status(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

async fn get(c: &reqwest::Client, base: &str, path: &str, query: &[(&str, &str)]) -> Resp {
    get_with(c, base, path, query, None).await
}

/// A full paged crawl (500 per page) with optional extra parameters.
async fn crawl(c: &reqwest::Client, base: &str, path: &str, extra: &[(&str, &str)]) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut pagina = 1u64;
    loop {
        let p = pagina.to_string();
        let mut q: Vec<(&str, &str)> = vec![("pagina", &p), ("registros_por_pagina", "500")];
        q.extend_from_slice(extra);
        let r = get(c, base, path, &q).await;
        assert_eq!(r.status, StatusCode::OK, "{path} page {pagina}: {}", r.body);
        let v = r.json();
        let dados = v["dados"].as_array().unwrap().clone();
        let total_pages = v["total_de_paginas"].as_u64().unwrap();
        let n = dados.len();
        rows.extend(dados);
        if n == 0 || pagina >= total_pages {
            break;
        }
        pagina += 1;
    }
    rows
}

/// Money as served: a JSON number or a numeric string (`"350000.00"`); `null`/`""` are none.
fn money(v: &Value) -> Option<i64> {
    let x = match v {
        Value::Null => return None,
        Value::String(s) if s.is_empty() => return None,
        Value::String(s) => s
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("not money: {v}")),
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    };
    Some((x * 100.0).round() as i64)
}

fn cents(v: &Value) -> i64 {
    money(v).unwrap_or_else(|| panic!("no money: {v}"))
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap(),
        Value::String(s) => s.trim().parse().unwrap(),
        _ => panic!("not an int: {v}"),
    }
}

// 1. Routes --------------------------------------------------------------------------------

#[tokio::test]
async fn all_70_paths_serve_and_everything_else_is_405() {
    let (_sim, run) = start(small()).await;
    let c = client();
    let base = run.base_url();
    assert_eq!(OBJECTS.len(), 70);
    for o in OBJECTS {
        let r = get(&c, &base, o.path, &[("pagina", "1")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}: {}", o.path, r.body);
        let v = r.json();
        let dados = v["dados"].as_array().unwrap();
        assert!(!dados.is_empty(), "{} has no rows", o.path);
        for row in dados {
            assert!(
                row.get("referencia").is_some(),
                "{} row without referencia",
                o.path
            );
            assert!(row.get("referencia_data").is_some(), "{}", o.path);
            assert_eq!(
                row.get("ativo").is_some(),
                o.has_ativo,
                "{} ativo presence",
                o.path
            );
            // Real CVDW sends some rows without their ids (docs/cvdw-api.md §4), and so does the
            // dirty default world, on these objects only.
            assert!(
                o.natural_key(row).is_some()
                    || matches!(o.path, "/leads/conversoes" | "/pesquisas"),
                "{} row without its key {:?}: {row}",
                o.path,
                o.key
            );
        }
    }
    let vistorias = crawl(&c, &base, "/agendamentos/vistorias", &[]).await;
    assert!(
        vistorias.iter().all(|r| r["ativo"] == json!("S")),
        "/agendamentos/vistorias serves only ativo='S' rows (§6)"
    );
    for bad in [
        "/empreendimentos",
        "/etapas",
        "/blocos",
        "/vendas/",
        "/vendas/x",
        "/prosoluto",
    ] {
        let r = get(&c, &base, bad, &[]).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{bad}");
    }
    for m in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = c
            .request(m.clone(), format!("{base}/vendas"))
            .header("email", EMAIL)
            .header("token", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
    }
    let r = c
        .get(format!("{}/api/v2/whatever", run.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    run.shutdown().await;
}

// 2. Parameters ----------------------------------------------------------------------------

#[tokio::test]
async fn params_from_query_and_body_query_wins_defaults_and_clamp() {
    let (_sim, run) = start(small()).await;
    let c = client();
    let base = run.base_url();
    // Defaults: pagina 1, 30 per page.
    let v = get(&c, &base, "/leads", &[]).await.json();
    assert_eq!(v["pagina"], json!(1));
    assert_eq!(v["registros"], json!(30));
    assert_eq!(v["dados"].as_array().unwrap().len(), 30);
    // Query string.
    let q = get(
        &c,
        &base,
        "/leads",
        &[("pagina", "2"), ("registros_por_pagina", "5")],
    )
    .await
    .json();
    assert_eq!(q["registros"], json!(5));
    assert_eq!(q["pagina"], json!(2));
    assert_eq!(q["dados"].as_array().unwrap().len(), 5);
    // JSON body on the GET (numbers or strings).
    let b = get_with(
        &c,
        &base,
        "/leads",
        &[],
        Some(json!({"pagina": 2, "registros_por_pagina": "5"})),
    )
    .await
    .json();
    assert_eq!(b, q);
    // Both: the query string wins.
    let both = get_with(
        &c,
        &base,
        "/leads",
        &[("registros_por_pagina", "7")],
        Some(json!({"registros_por_pagina": 3})),
    )
    .await
    .json();
    assert_eq!(both["registros"], json!(7));
    assert_eq!(both["dados"].as_array().unwrap().len(), 7);
    // Clamp to 500.
    let big = get(
        &c,
        &base,
        "/leads/interacoes",
        &[("registros_por_pagina", "1000")],
    )
    .await
    .json();
    assert_eq!(big["registros"], json!(500));
    assert_eq!(big["dados"].as_array().unwrap().len(), 500);
    // Non-integer pagina.
    for bad in ["abc", "1.5", "-"] {
        let r = get(&c, &base, "/leads", &[("pagina", bad)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body,
            r#"{"mensagem":"O campo pagina deve ser um inteiro.","codigo":400}"#
        );
    }
    let r = get_with(&c, &base, "/leads", &[], Some(json!({"pagina": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    run.shutdown().await;
}

#[tokio::test]
async fn date_filters_formats_inclusive_bounds_and_400s() {
    let (sim, run) = start(SimConfig {
        scale: 0.3,
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let all = sim.ground_truth("/vendas");
    let pivot = all[all.len() / 2]["referencia_data"]
        .as_str()
        .unwrap()
        .to_string();
    let from = crawl(
        &c,
        &base,
        "/vendas",
        &[("a_partir_data_referencia", &pivot)],
    )
    .await;
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| r["referencia_data"].as_str().unwrap() >= pivot.as_str())
        .collect();
    assert_eq!(from.len(), expected.len());
    assert!(
        from.iter().any(|r| r["referencia_data"] == json!(pivot)),
        "lower bound is inclusive"
    );
    let to = crawl(&c, &base, "/vendas", &[("ate_data_referencia", &pivot)]).await;
    assert!(
        to.iter().any(|r| r["referencia_data"] == json!(pivot)),
        "upper bound is inclusive"
    );
    assert_eq!(
        to.len() + from.len(),
        all.len()
            + all
                .iter()
                .filter(|r| r["referencia_data"] == json!(pivot))
                .count()
    );
    // Date-only form = midnight.
    let day = &pivot[..10];
    let by_day = crawl(&c, &base, "/vendas", &[("a_partir_data_referencia", day)]).await;
    assert_eq!(
        by_day.len(),
        all.iter()
            .filter(|r| r["referencia_data"].as_str().unwrap()[..10] >= *day)
            .count()
    );
    // Both bounds.
    let one_day = crawl(
        &c,
        &base,
        "/vendas",
        &[
            ("a_partir_data_referencia", day),
            ("ate_data_referencia", &format!("{day} 23:59:59")),
        ],
    )
    .await;
    assert!(one_day
        .iter()
        .all(|r| r["referencia_data"].as_str().unwrap().starts_with(day)));
    // Invalid values name the offending field.
    for (field, bad) in [
        ("a_partir_data_referencia", "0000-00-00 00:00:00"),
        ("a_partir_data_referencia", "2024-13-01"),
        ("a_partir_data_referencia", "ontem"),
        ("ate_data_referencia", "2024-01-01T00:00:00"),
        ("ate_data_referencia", "0000-00-00"),
    ] {
        let r = get(&c, &base, "/vendas", &[(field, bad)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}={bad}");
        assert_eq!(
            r.body,
            format!(r#"{{"error":"O campo {field} não é válido","code":400}}"#)
        );
    }
    // Rows with null/zero referencia_data are never selected by a filter.
    let com = sim.ground_truth("/comissoes");
    let zero = com
        .iter()
        .filter(|r| {
            r["referencia_data"].is_null()
                || r["referencia_data"].as_str().unwrap().starts_with("0000")
        })
        .count();
    assert!(zero > 0, "quirk: some comissoes carry zero referencia_data");
    let filtered = crawl(
        &c,
        &base,
        "/comissoes",
        &[("a_partir_data_referencia", "2000-01-01")],
    )
    .await;
    assert_eq!(filtered.len(), com.len() - zero);
    let filtered = crawl(
        &c,
        &base,
        "/comissoes",
        &[("ate_data_referencia", "2100-01-01")],
    )
    .await;
    assert_eq!(filtered.len(), com.len() - zero);
    run.shutdown().await;
}

// 3. Auth ----------------------------------------------------------------------------------

#[tokio::test]
async fn auth_headers_and_deny_list() {
    let (_sim, run) = start(SimConfig {
        denied_objects: vec!["unidades".into(), "/reservas/condicoes".into()],
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    const BODY: &str = r#"{"codigo":401,"mensagem":"E-mail e/ou token incorreto(s)."}"#;
    let cases: Vec<(Option<&str>, Option<&str>)> = vec![
        (None, None),
        (Some(EMAIL), None),
        (None, Some(TOKEN)),
        (Some(EMAIL), Some("wrong")),
        (Some("other@x"), Some(TOKEN)),
    ];
    for (e, t) in cases {
        let mut req = c.get(format!("{base}/vendas"));
        if let Some(e) = e {
            req = req.header("email", e);
        }
        if let Some(t) = t {
            req = req.header("token", t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.text().await.unwrap(), BODY);
    }
    // Bearer or query credentials do not work.
    let r = c
        .get(format!("{base}/vendas?email={EMAIL}&token={TOKEN}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for denied in ["/unidades", "/reservas/condicoes"] {
        let r = get(&c, &base, denied, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{denied}");
        assert_eq!(r.body, BODY);
    }
    assert_eq!(
        get(&c, &base, "/reservas", &[]).await.status,
        StatusCode::OK
    );
    run.shutdown().await;
}

// 4. Envelope ------------------------------------------------------------------------------

#[tokio::test]
async fn envelope_semantics_empty_and_past_the_end() {
    let (sim, run) = start(small()).await;
    let c = client();
    let base = run.base_url();
    let total = sim.row_count("/leads") as u64;
    let r = get(&c, &base, "/leads", &[("registros_por_pagina", "7")]).await;
    let v = r.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "dados",
            "pagina",
            "registros",
            "total_de_paginas",
            "total_de_registros"
        ]
    );
    assert_eq!(v["total_de_registros"], json!(total));
    assert_eq!(v["total_de_paginas"], json!(total.div_ceil(7)));
    // Last page: fewer rows, `registros` still the page size.
    let last = total.div_ceil(7).to_string();
    let v = get(
        &c,
        &base,
        "/leads",
        &[("registros_por_pagina", "7"), ("pagina", &last)],
    )
    .await
    .json();
    assert_eq!(v["registros"], json!(7));
    let expect_last = if total.is_multiple_of(7) {
        7
    } else {
        total % 7
    };
    assert_eq!(v["dados"].as_array().unwrap().len() as u64, expect_last);
    // Past the end: 200, no rows, totals kept.
    let past = (total.div_ceil(7) + 3).to_string();
    let r = get(
        &c,
        &base,
        "/leads",
        &[("registros_por_pagina", "7"), ("pagina", &past)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["dados"], json!([]));
    assert_eq!(v["total_de_registros"], json!(total));
    // Empty: 200 with zeros.
    let r = get(
        &c,
        &base,
        "/leads",
        &[("a_partir_data_referencia", "2099-01-01")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["dados"], json!([]));
    assert_eq!(v["total_de_registros"], json!(0));
    assert_eq!(v["total_de_paginas"], json!(0));
    assert_eq!(v["registros"], json!(30));
    run.shutdown().await;
}

#[tokio::test]
async fn ordering_and_offset_paging_shift_after_advance() {
    let (sim, run) = start(SimConfig {
        scale: 0.2,
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    for path in [
        "/leads",
        "/comissoes",
        "/atendimentos/times/integrantes",
        "/vendas",
    ] {
        let rows = crawl(&c, &base, path, &[]).await;
        let keys: Vec<String> = rows
            .iter()
            .map(|r| match &r["referencia_data"] {
                Value::String(s) if !s.starts_with("0000") => s.clone(),
                _ => String::new(), // null/zero sort first
            })
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] <= w[1]),
            "{path} not ascending by referencia_data"
        );
        // Ties keep a stable order: two crawls agree.
        assert_eq!(rows, crawl(&c, &base, path, &[]).await, "{path} unstable");
    }
    // Offset paging: a row of page 1 updated by advance moves to the end, shifting the rest.
    let spec = shared::catalogue::find("/leads").unwrap();
    let page = |v: Value| -> Vec<String> {
        v["dados"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| key(spec, r))
            .collect()
    };
    let p1 = page(
        get(&c, &base, "/leads", &[("registros_por_pagina", "100")])
            .await
            .json(),
    );
    let p2 = page(
        get(
            &c,
            &base,
            "/leads",
            &[("registros_por_pagina", "100"), ("pagina", "2")],
        )
        .await
        .json(),
    );
    sim.advance(30);
    let p1_after = page(
        get(&c, &base, "/leads", &[("registros_por_pagina", "100")])
            .await
            .json(),
    );
    let moved: Vec<&String> = p1.iter().filter(|k| !p1_after.contains(k)).collect();
    assert!(!moved.is_empty(), "some page-1 rows were updated and moved");
    // Rows that were on page 2 slid onto page 1.
    assert!(
        p2.iter().any(|k| p1_after.contains(k)),
        "offset paging shifts rows"
    );
    let all = sim.ground_truth("/leads");
    let last_keys: HashSet<String> = all[all.len() - 200..]
        .iter()
        .map(|r| key(spec, r))
        .collect();
    assert!(moved
        .iter()
        .all(|k| last_keys.contains(*k) || !all.iter().any(|r| &key(spec, r) == *k)));
    run.shutdown().await;
}

// 5. Rate limit ----------------------------------------------------------------------------

#[tokio::test]
async fn rate_limit_sliding_window_across_objects() {
    let (sim, run) = start(SimConfig {
        rate_limit: RateLimit::new(5, Duration::from_secs(30)),
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let paths = ["/vendas", "/leads", "/reservas", "/unidades", "/corretores"];
    for p in paths {
        assert_eq!(get(&c, &base, p, &[]).await.status, StatusCode::OK, "{p}");
    }
    let r = get(&c, &base, "/imobiliarias", &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body, "{\n    \"Response\": \"Too many requests\"\n}");
    assert!(r.headers.get("retry-after").is_none());
    assert_eq!(sim.stats().throttled, 1);
    // A short window recovers once it has passed (rejected requests count in the window).
    // The limiter's clock is moved by hand: a stalled machine cannot make this flaky.
    sim.use_manual_rate_clock();
    sim.set_rate_limit(RateLimit::new(2, Duration::from_millis(300)));
    assert_eq!(get(&c, &base, "/vendas", &[]).await.status, StatusCode::OK);
    assert_eq!(get(&c, &base, "/vendas", &[]).await.status, StatusCode::OK);
    assert_eq!(
        get(&c, &base, "/vendas", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    sim.advance_rate_clock(Duration::from_millis(299));
    assert_eq!(
        get(&c, &base, "/vendas", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "still inside the window"
    );
    // The first three leave the window; the rejection at 299 ms alone stays in it.
    sim.advance_rate_clock(Duration::from_millis(1));
    assert_eq!(get(&c, &base, "/vendas", &[]).await.status, StatusCode::OK);
    // Auth failures do not consume the window.
    sim.set_rate_limit(RateLimit::new(2, Duration::from_secs(30)));
    for _ in 0..5 {
        let r = c
            .get(format!("{base}/vendas"))
            .header("email", EMAIL)
            .header("token", "bad")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(get(&c, &base, "/vendas", &[]).await.status, StatusCode::OK);
    assert_eq!(get(&c, &base, "/leads", &[]).await.status, StatusCode::OK);
    assert_eq!(
        get(&c, &base, "/leads", &[]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        RateLimit::parse("20/2s").unwrap(),
        RateLimit::new(20, Duration::from_secs(2))
    );
    assert!(RateLimit::parse("x").is_err());
    run.shutdown().await;
}

// 6. Data consistency ----------------------------------------------------------------------

#[tokio::test]
async fn data_is_consistent_across_objects() {
    let (sim, run) = start(SimConfig {
        scale: 0.3,
        ..small()
    })
    .await;
    sim.advance(20);
    let c = client();
    let base = run.base_url();
    let reservas = crawl(&c, &base, "/reservas", &[]).await;
    let condicoes = crawl(&c, &base, "/reservas/condicoes", &[]).await;
    let vendas = crawl(&c, &base, "/vendas", &[]).await;
    let unidades = crawl(&c, &base, "/unidades", &[]).await;
    let distratos = crawl(&c, &base, "/distratos", &[]).await;
    let comissoes = crawl(&c, &base, "/comissoes", &[]).await;
    let pagamentos = crawl(&c, &base, "/comissoes/pagamentos", &[]).await;
    let integrantes = crawl(&c, &base, "/atendimentos/times/integrantes", &[]).await;
    let leads = crawl(&c, &base, "/leads", &[]).await;
    assert!(vendas.len() > 100 && !distratos.is_empty());

    // Conditions sum exactly to the contract value, per reservation.
    let mut sums: HashMap<i64, i64> = HashMap::new();
    let mut series: HashSet<String> = HashSet::new();
    for cnd in &condicoes {
        *sums.entry(int(&cnd["idreserva"])).or_default() += cents(&cnd["valor"]);
        series.insert(cnd["serie"].as_str().unwrap().to_string());
    }
    for s in ["Ato", "Mensais", "Financiamento", "FGTS"] {
        assert!(series.contains(s), "series {s}");
    }
    let res_by_id: HashMap<i64, &Value> =
        reservas.iter().map(|r| (int(&r["idreserva"]), r)).collect();
    let mut without_conditions = 0;
    for r in &reservas {
        let id = int(&r["idreserva"]);
        match sums.get(&id) {
            Some(sum) => assert_eq!(*sum, cents(&r["valor_contrato"]), "reserva {id}"),
            None => without_conditions += 1,
        }
        let pro_soluto = cents(&r["valor_contrato"])
            - cents(&r["valor_financiamento"])
            - cents(&r["valor_fgts"])
            - cents(&r["valor_subsidio"]);
        assert!(pro_soluto > 0, "pró-soluto computable and positive");
    }
    assert!(
        without_conditions > 0 && without_conditions < reservas.len() / 10,
        "a few reservations without payment conditions: {without_conditions}"
    );
    // Every sale's unit exists; every sale is a reservation with the same value.
    let units: HashMap<i64, &Value> = unidades.iter().map(|u| (int(&u["idunidade"]), u)).collect();
    let lead_ids: HashSet<i64> = leads.iter().map(|l| int(&l["idlead"])).collect();
    for v in &vendas {
        assert!(
            units.contains_key(&int(&v["idunidade"])),
            "venda's unit exists"
        );
        let r = res_by_id[&int(&v["idreserva"])];
        if let Some(valor) = money(&v["valor_contrato"]) {
            assert_eq!(Some(valor), money(&r["valor_contrato"]));
        }
        assert_eq!(v["idcorretor"], r["idcorretor"]);
        assert_eq!(v["idempreendimento"], r["idempreendimento"]);
        assert!(v["data_venda"].is_string() || v["data_venda"].is_null());
        let first_lead: i64 = v["idlead"]
            .as_str()
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(lead_ids.contains(&first_lead));
    }
    // Distratos: the sale existed, the unit went back to stock (not held by that reservation).
    let venda_ids: HashSet<i64> = vendas.iter().map(|v| int(&v["idreserva"])).collect();
    for d in &distratos {
        let id = int(&d["idreserva"]);
        assert!(venda_ids.contains(&id));
        assert_eq!(res_by_id[&id]["situacao"], json!("Distrato"));
        let u = units[&int(&d["idunidade"])];
        assert_ne!(u["situacao_vendida"], json!(id));
        assert_ne!(u["situacao_reservada"], json!(id));
    }
    // Sold units point at their sale.
    for v in &vendas {
        let id = int(&v["idreserva"]);
        if res_by_id[&id]["situacao"] == json!("Vendida") {
            assert_eq!(units[&int(&v["idunidade"])]["situacao_vendida"], json!(id));
        }
    }
    // Commission payments never exceed the commission.
    let mut paid: HashMap<i64, i64> = HashMap::new();
    for p in &pagamentos {
        *paid.entry(int(&p["idcomissao"])).or_default() += cents(&p["valor"]);
    }
    for cm in &comissoes {
        let id = int(&cm["idcomissao"]);
        assert!(paid.get(&id).copied().unwrap_or(0) <= cents(&cm["valor_comissao"]));
        assert!(venda_ids.contains(&int(&cm["idreserva"])));
    }
    // Team fields on reservations follow the broker's team.
    let team_of: HashMap<i64, i64> = integrantes
        .iter()
        .map(|i| (int(&i["idusuario"]), int(&i["idtime"])))
        .collect();
    let (mut with_team, mut without_fields) = (0, 0);
    for r in &reservas {
        match team_of.get(&int(&r["idcorretor"])) {
            // A few reservations leave the team fields out (the membership fallback).
            Some(_) if r["idtime"].is_null() => {
                without_fields += 1;
                assert!(r["nome_time"].is_null() && r["idgestor_time"].is_null());
            }
            Some(t) => {
                with_team += 1;
                assert_eq!(int(&r["idtime"]), *t);
                assert!(r["nome_time"].is_string() && r["idgestor_time"].is_number());
            }
            None => assert!(r["idtime"].is_null()),
        }
    }
    assert!(with_team > 0 && without_fields > 0 && without_fields < with_team / 5);
    run.shutdown().await;
}

// 7. Quirks --------------------------------------------------------------------------------

/// The objects the sales metrics read.
const METRIC_OBJECTS: [&str; 8] = [
    "/vendas",
    "/distratos",
    "/reservas",
    "/reservas/condicoes",
    "/comissoes",
    "/unidades",
    "/unidades/precos",
    "/atendimentos/times/integrantes",
];

#[tokio::test]
async fn quirks_on_by_default() {
    let (sim, run) = start(SimConfig {
        scale: 0.3,
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let v = get(&c, &base, "/pessoas", &[("pagina", "1")]).await.json();
    assert_eq!(v["pagina"], json!("1"), "pagina echoed as string");
    assert!(
        v["dados"][0]["referencia"].is_number(),
        "referencia int on /pessoas"
    );
    assert!(get(&c, &base, "/vendas", &[]).await.json()["dados"][0]["referencia"].is_string());
    assert_eq!(
        get(&c, &base, "/vendas", &[]).await.json()["pagina"],
        json!(1)
    );
    let imobs = crawl(&c, &base, "/imobiliarias", &[]).await;
    assert!(imobs
        .iter()
        .any(|i| i["nome"].as_str().unwrap().contains("&amp;")));
    let reservas = crawl(&c, &base, "/reservas", &[]).await;
    assert!(reservas
        .iter()
        .any(|r| r["idlead"].as_str().unwrap().contains(", ")));
    assert!(reservas
        .iter()
        .any(|r| r["espacos_complementares"] == json!("")));
    let vendas = crawl(&c, &base, "/vendas", &[]).await;
    assert!(vendas.iter().all(|v| v["associados"].is_array()));
    let zero_ref = |rows: &[Value]| {
        rows.iter()
            .filter(|r| {
                r["referencia_data"].is_null()
                    || r["referencia_data"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("0000"))
            })
            .count()
    };
    assert!(zero_ref(&crawl(&c, &base, "/comissoes", &[]).await) > 0);
    assert!(
        crawl(&c, &base, "/atendimentos/times/integrantes", &[])
            .await
            .iter()
            .any(|r| r["referencia_data"].is_null())
            || sim.row_count("/atendimentos/times/integrantes") < 40
    );
    // The dirt the sales metrics must handle, counted in the rows as crawled over HTTP.
    let mut crawled: HashMap<&str, Vec<Value>> = HashMap::new();
    for path in METRIC_OBJECTS {
        crawled.insert(path, crawl(&c, &base, path, &[]).await);
    }
    let census = simulator::dirt::census(&|p| crawled.get(p).cloned().unwrap_or_default());
    assert!(
        simulator::dirt::missing(&census).is_empty(),
        "every quirk present: {census:?}"
    );
    let d = get(&c, &base, "/demandas", &[]).await.json();
    assert_eq!(d["total_de_registros"], json!(0));
    assert!(!d["dados"].as_array().unwrap().is_empty());
    // Key order varies by endpoint.
    let a = get(&c, &base, "/vendas", &[]).await.body;
    let b = get(&c, &base, "/leads", &[]).await.body;
    let order =
        |s: &str| s.find("total_de_paginas").unwrap() < s.find("total_de_registros").unwrap();
    assert_ne!(order(&a), order(&b));
    run.shutdown().await;
}

#[tokio::test]
async fn quirks_switched_off() {
    let (_sim, run) = start(SimConfig {
        scale: 0.3,
        quirks: Quirks::none(),
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let v = get(&c, &base, "/pessoas", &[("pagina", "1")]).await.json();
    assert_eq!(v["pagina"], json!(1));
    assert!(v["dados"][0]["referencia"].is_string());
    for o in OBJECTS {
        let rows = crawl(&c, &base, o.path, &[]).await;
        for r in &rows {
            let rd = &r["referencia_data"];
            assert!(
                rd.as_str().is_some_and(|s| !s.starts_with("0000")),
                "{} {r}",
                o.path
            );
            let text = r.to_string();
            assert!(!text.contains("&amp;"), "{}", o.path);
            assert!(!text.contains("0000-00-00"), "{}", o.path);
            assert!(
                !text.contains(":\"\""),
                "{} has empty strings: {text}",
                o.path
            );
            assert!(
                r.as_object().unwrap().values().all(|v| !v.is_array()),
                "{} nested arrays",
                o.path
            );
        }
        if o.path == "/reservas" {
            assert!(rows
                .iter()
                .all(|r| !r["idlead"].as_str().unwrap().contains(',')));
        }
    }
    let mut crawled: HashMap<&str, Vec<Value>> = HashMap::new();
    for path in METRIC_OBJECTS {
        crawled.insert(path, crawl(&c, &base, path, &[]).await);
    }
    let census = simulator::dirt::census(&|p| crawled.get(p).cloned().unwrap_or_default());
    for quirk in [
        "money as a string",
        "vendas without valor_contrato",
        "vendas without a data_venda",
        "vendas whose reservation has no payment conditions",
    ] {
        assert_eq!(census.get(quirk), Some(&0), "{quirk} with the quirks off");
    }
    let d = get(&c, &base, "/demandas", &[]).await.json();
    assert_eq!(
        d["total_de_registros"].as_u64().unwrap() as usize,
        d["dados"].as_array().unwrap().len()
    );
    let a = get(&c, &base, "/vendas", &[]).await.body;
    let b = get(&c, &base, "/leads", &[]).await.body;
    let order =
        |s: &str| s.find("total_de_paginas").unwrap() < s.find("total_de_registros").unwrap();
    assert_eq!(order(&a), order(&b));
    run.shutdown().await;
}

// 8. Time and change -----------------------------------------------------------------------

#[tokio::test]
async fn advance_creates_updates_and_deletes_in_both_styles() {
    let (sim, run) = start(SimConfig {
        scale: 0.2,
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let before: BTreeMap<&str, Vec<Value>> = OBJECTS
        .iter()
        .map(|o| (o.path, sim.ground_truth(o.path)))
        .collect();
    let now_before = sim.now();
    // Over HTTP (no auth needed for the admin route).
    let r = c
        .post(format!("{}/_sim/advance?days=30", run.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["days"], json!(30));
    assert!(s["now"].as_str().unwrap() > now_before.as_str());
    for p in [
        "/leads",
        "/reservas",
        "/vendas",
        "/comissoes/pagamentos",
        "/reservas/condicoes",
    ] {
        assert!(
            s["objects"][p]["created"].as_u64().unwrap() > 0,
            "{p} created"
        );
    }
    assert!(s["objects"]["/leads"]["updated"].as_u64().unwrap() > 0);
    // And through the library.
    let summary = sim.advance(20);
    assert!(
        summary.counts("/distratos").created
            + s["objects"]["/distratos"]["created"].as_u64().unwrap_or(0)
            > 0
    );
    let new_now = summary.now.clone();
    let mut inactivated_total = 0;
    for (path, keys) in &summary.inactivated_keys {
        let spec = shared::catalogue::find(path).unwrap();
        let rows = crawl(&c, &base, path, &[]).await;
        let by_key: HashMap<String, &Value> = rows.iter().map(|r| (key(spec, r), r)).collect();
        for k in keys {
            // Soft delete: still served, with ativo 'N' and a fresh referencia_data.
            if let Some(r) = by_key.get(k) {
                assert_eq!(r["ativo"], json!("N"), "{path} {k}");
                assert!(r["referencia_data"].as_str().unwrap() > now_before.as_str());
                inactivated_total += 1;
            }
        }
    }
    assert!(inactivated_total > 0, "soft deletes happened");
    let mut deleted_total = 0;
    for (path, keys) in &summary.deleted_keys {
        let spec = shared::catalogue::find(path).unwrap();
        let served: HashSet<String> = crawl(&c, &base, path, &[])
            .await
            .iter()
            .map(|r| key(spec, r))
            .collect();
        let old: HashSet<String> = before[path.as_str()].iter().map(|r| key(spec, r)).collect();
        for k in keys {
            assert!(!served.contains(k), "{path} {k} should be gone");
            deleted_total += usize::from(old.contains(k));
        }
    }
    assert!(
        deleted_total > 0,
        "hard deletes of pre-existing rows happened"
    );
    // Updated rows carry a referencia_data in the advanced period.
    let leads = sim.ground_truth("/leads");
    let moved = leads
        .iter()
        .filter(|r| {
            r["referencia_data"]
                .as_str()
                .is_some_and(|d| d > now_before.as_str() && d <= new_now.as_str())
        })
        .count();
    assert!(moved as u64 >= summary.counts("/leads").created);
    run.shutdown().await;
}

#[tokio::test]
async fn advance_is_deterministic_for_a_seed() {
    let a = Simulator::new(small());
    let b = Simulator::new(small());
    assert_eq!(a.advance(5), b.advance(5));
    assert_eq!(a.ground_truth("/vendas"), b.ground_truth("/vendas"));
    let other = Simulator::new(SimConfig { seed: 7, ..small() });
    assert_ne!(a.ground_truth("/leads"), other.ground_truth("/leads"));
    // Degenerate configurations still give a small, working world.
    for scale in [0.0001, 0.0, -3.0, f64::NAN] {
        let tiny = Simulator::new(SimConfig {
            scale,
            history_years: 0,
            ..small()
        });
        assert!(tiny.row_count("/vendas") > 0, "scale {scale}");
        tiny.advance(0);
        tiny.advance(3);
    }
}

// 9. Faults --------------------------------------------------------------------------------

#[tokio::test]
async fn scripted_faults_each_behave_as_documented() {
    let (sim, run) = start(SimConfig {
        slow_delay: Duration::from_secs(3),
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    sim.script_faults([Fault::TooManyRequests]);
    let r = get(&c, &base, "/vendas", &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body, "{\n    \"Response\": \"Too many requests\"\n}");

    sim.script_faults([Fault::TooManyRequestsBody200]);
    let r = get(&c, &base, "/vendas", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"Response": "Too many requests"}));

    sim.script_faults([Fault::Html500]);
    let r = get(&c, &base, "/vendas", &[]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.body.lines().next().unwrap(),
        "Ocorreu um erro ao tentar executar essa ação. Tente novamente e caso o erro persista entre em contato com o administrador do sistema."
    );
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    sim.script_faults([Fault::Unprocessable422]);
    let r = get(&c, &base, "/vendas", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"mensagem":"Erro inesperado, por favor entre em contato com o suporte técnico.","codigo":422})
    );

    sim.script_faults([Fault::TruncatedBody]);
    let r = get(&c, &base, "/vendas", &[("registros_por_pagina", "50")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with("{\"pagina\""));
    assert!(
        serde_json::from_str::<Value>(&r.body).is_err(),
        "truncated body is not JSON"
    );

    sim.script_faults([Fault::Slow]);
    let quick = client_with_timeout(Duration::from_millis(500));
    let e = quick
        .get(format!("{base}/vendas"))
        .header("email", EMAIL)
        .header("token", TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");

    sim.script_faults([Fault::ConnectionReset]);
    let e = c
        .get(format!("{base}/vendas"))
        .header("email", EMAIL)
        .header("token", TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout() && !e.is_status(), "{e}");

    // The queue is consumed one per request; then service is normal.
    assert_eq!(get(&c, &base, "/vendas", &[]).await.status, StatusCode::OK);
    assert_eq!(sim.stats().faults, 7);
    run.shutdown().await;
}

#[tokio::test]
async fn random_faults_at_a_rate() {
    let (sim, run) = start(SimConfig {
        fault_rate: 0.5,
        slow_delay: Duration::from_millis(10),
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let mut ok = 0;
    for _ in 0..40 {
        let sent = c
            .get(format!("{base}/leads"))
            .header("email", EMAIL)
            .header("token", TOKEN)
            .send()
            .await;
        let Ok(r) = sent else { continue };
        let text = r.text().await.unwrap_or_default();
        if serde_json::from_str::<Value>(&text).is_ok_and(|v| v.get("dados").is_some()) {
            ok += 1;
        }
    }
    let faults = sim.stats().faults;
    assert!(faults > 5 && faults < 35, "{faults}");
    assert!(ok > 5);
    assert_eq!(sim.stats().requests, 40);
    run.shutdown().await;
}

// 10. Ground truth -------------------------------------------------------------------------

#[tokio::test]
async fn ground_truth_equals_a_full_paged_crawl() {
    let (sim, run) = start(small()).await;
    let c = client();
    let base = run.base_url();
    for o in OBJECTS {
        let crawled = crawl(&c, &base, o.path, &[]).await;
        assert_eq!(crawled, sim.ground_truth(o.path), "{}", o.path);
        let keys: HashSet<String> = crawled.iter().map(|r| key(o, r)).collect();
        assert_eq!(
            keys.len(),
            crawled.len(),
            "{}: natural keys are unique",
            o.path
        );
    }
    sim.advance(15);
    for p in [
        "/vendas",
        "/leads",
        "/leads/interacoes",
        "/comissoes/pagamentos",
        "/reservas/associados",
        "/unidades",
    ] {
        let crawled = crawl(&c, &base, p, &[]).await;
        assert_eq!(crawled, sim.ground_truth(p), "{p} after advance");
        assert_eq!(crawled.len(), sim.row_count(p));
    }
    let before = sim.stats();
    assert!(before.requests >= 70 && before.pages >= 70);
    let r = c
        .get(format!("{}/_sim/stats", run.root_url()))
        .send()
        .await
        .unwrap();
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["requests"], json!(before.requests));
    run.shutdown().await;
}

// 6. Field names and JSON types ------------------------------------------------------------

#[tokio::test]
async fn every_object_serves_its_fields_with_documented_types() {
    let sim = Simulator::new(SimConfig {
        quirks: Quirks::none(),
        ..small()
    });
    let mut problems = Vec::new();
    for o in OBJECTS {
        let types = simulator::render::field_types(o.path);
        assert!(types.len() >= 3, "{}", o.path);
        for row in sim.ground_truth(o.path).iter().take(200) {
            let obj = row.as_object().unwrap();
            for field in &types {
                let (name, kind) = (field.name, field.kind);
                let Some(v) = obj.get(name) else {
                    if kind == FieldKind::Array {
                        continue; // nested arrays are a quirk, off here
                    }
                    problems.push(format!("{} lacks {name}", o.path));
                    continue;
                };
                let ok = match (kind, v) {
                    (_, Value::Null) => true,
                    (FieldKind::Text, Value::String(_)) => true,
                    (FieldKind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
                    (FieldKind::Number, Value::Number(_)) => true,
                    (FieldKind::Array, Value::Array(_)) => true,
                    _ => name == "referencia",
                };
                if !ok {
                    problems.push(format!("{} {name}: expected {kind:?} got {v}", o.path));
                }
            }
        }
    }
    problems.sort();
    problems.dedup_by(|a, b| a.split(", e.g.").next() == b.split(", e.g.").next());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn sales_aggregates_are_reproducible_from_a_crawl() {
    let (sim, run) = start(SimConfig {
        scale: 0.3,
        ..small()
    })
    .await;
    sim.advance(40);
    let c = client();
    let base = run.base_url();
    let vendas = crawl(&c, &base, "/vendas", &[]).await;
    let distratos = crawl(&c, &base, "/distratos", &[]).await;
    let reservas = crawl(&c, &base, "/reservas", &[]).await;
    let unidades = crawl(&c, &base, "/unidades", &[]).await;
    let comissoes = crawl(&c, &base, "/comissoes", &[]).await;
    let pagamentos = crawl(&c, &base, "/comissoes/pagamentos", &[]).await;
    let a = sim.sales_aggregates();
    let dist: HashSet<i64> = distratos.iter().map(|d| int(&d["idreserva"])).collect();
    let res: HashMap<i64, &Value> = reservas.iter().map(|r| (int(&r["idreserva"]), r)).collect();
    // A sale without valor_contrato is worth its reservation's.
    let valor = |v: &Value| {
        money(&v["valor_contrato"])
            .unwrap_or_else(|| cents(&res[&int(&v["idreserva"])]["valor_contrato"]))
    };
    assert_eq!(a.vendas.count as usize, vendas.len());
    assert_eq!(a.vendas.valor, vendas.iter().map(valor).sum::<i64>());
    assert_eq!(a.distratos.count as usize, distratos.len());
    let net: Vec<&Value> = vendas
        .iter()
        .filter(|v| !dist.contains(&int(&v["idreserva"])))
        .collect();
    assert_eq!(a.vendas_liquidas.count as usize, net.len());
    assert_eq!(
        a.vendas_liquidas.valor,
        net.iter().map(|v| valor(v)).sum::<i64>()
    );
    let pro_soluto: i64 = net
        .iter()
        .map(|v| {
            let r = res[&int(&v["idreserva"])];
            cents(&r["valor_contrato"])
                - cents(&r["valor_financiamento"])
                - cents(&r["valor_fgts"])
                - cents(&r["valor_subsidio"])
        })
        .sum();
    assert_eq!(a.pro_soluto_liquido, pro_soluto);
    let estoque = unidades
        .iter()
        .filter(|u| u["situacao_para_venda"] == json!(1))
        .count();
    assert_eq!(a.estoque as usize, estoque);
    assert!(a.vso > 0.0 && a.vso < 1.0);
    // The broker's team, from the reservations that carry team fields (a few leave them out).
    let team_of: HashMap<i64, i64> = reservas
        .iter()
        .filter(|r| !r["idtime"].is_null())
        .map(|r| (int(&r["idcorretor"]), int(&r["idtime"])))
        .collect();
    let mut by_broker: BTreeMap<u64, (u64, i64)> = BTreeMap::new();
    let mut by_team: BTreeMap<u64, (u64, i64)> = BTreeMap::new();
    for v in &net {
        let e = by_broker.entry(int(&v["idcorretor"]) as u64).or_default();
        e.0 += 1;
        e.1 += valor(v);
        if let Some(t) = team_of.get(&int(&v["idcorretor"])) {
            let e = by_team.entry(*t as u64).or_default();
            e.0 += 1;
            e.1 += valor(v);
        }
    }
    let lib_broker: BTreeMap<u64, (u64, i64)> = a
        .por_corretor
        .iter()
        .map(|(k, v)| (*k, (v.count, v.valor)))
        .collect();
    let lib_team: BTreeMap<u64, (u64, i64)> = a
        .por_time
        .iter()
        .map(|(k, v)| (*k, (v.count, v.valor)))
        .collect();
    assert_eq!(lib_broker, by_broker);
    assert_eq!(lib_team, by_team);
    let active: i64 = comissoes
        .iter()
        .filter(|c| c["ativo"] == json!("S"))
        .map(|c| cents(&c["valor_comissao"]))
        .sum();
    assert_eq!(a.comissoes_ativas, active);
    assert_eq!(
        a.comissoes_pagas,
        pagamentos.iter().map(|p| cents(&p["valor"])).sum::<i64>()
    );
    run.shutdown().await;
}

/// Every change moves `referencia_data`: an incremental sync (cursor = max real
/// `referencia_data` seen, re-read from there, upsert by key) plus the reported hard deletes
/// reproduces the new state of every object exactly.
#[tokio::test]
async fn incremental_sync_from_the_cursor_reproduces_every_object() {
    let (sim, run) = start(SimConfig {
        scale: 0.1,
        ..small()
    })
    .await;
    let c = client();
    let base = run.base_url();
    let mut snapshot: BTreeMap<&str, BTreeMap<String, Value>> = BTreeMap::new();
    let mut cursors: BTreeMap<&str, String> = BTreeMap::new();
    for o in OBJECTS {
        let rows = crawl(&c, &base, o.path, &[]).await;
        let cursor = rows
            .iter()
            .filter_map(|r| r["referencia_data"].as_str())
            .filter(|s| !s.starts_with("0000"))
            .max()
            .unwrap_or("2000-01-01 00:00:00")
            .to_string();
        cursors.insert(o.path, cursor);
        snapshot.insert(o.path, rows.into_iter().map(|r| (key(o, &r), r)).collect());
    }
    let mut deleted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for days in [3, 11] {
        let s = sim.advance(days);
        for (p, keys) in s.deleted_keys {
            deleted.entry(p).or_default().extend(keys);
        }
    }
    for o in OBJECTS {
        let changed = crawl(
            &c,
            &base,
            o.path,
            &[("a_partir_data_referencia", &cursors[o.path])],
        )
        .await;
        let table = snapshot.get_mut(o.path).unwrap();
        for r in changed {
            table.insert(key(o, &r), r);
        }
        for k in deleted.get(o.path).into_iter().flatten() {
            table.remove(k);
        }
        let truth: BTreeMap<String, Value> = sim
            .ground_truth(o.path)
            .into_iter()
            .map(|r| (key(o, &r), r))
            .collect();
        let differing: Vec<&String> = truth
            .iter()
            .filter(|(k, v)| table.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            differing.is_empty(),
            "{}: {} rows differ, e.g. {:?}",
            o.path,
            differing.len(),
            differing.first()
        );
        assert_eq!(table.len(), truth.len(), "{}", o.path);
    }
    run.shutdown().await;
}

// Opt-in malformed rows (a test aid for the loader's quarantine) ----------------------------

#[tokio::test]
async fn malformed_rows_are_opt_in_served_and_named() {
    use crate::load_support::malformed;
    use simulator::Malformation;
    let plain = Simulator::new(small());
    assert!(plain.malformed_rows().is_empty(), "off by default");
    let cfg = SimConfig {
        malformed: vec![
            malformed::text_in("/vendas", 2, "valor_contrato"),
            malformed::no_key("reservas", 1),
        ],
        ..small()
    };
    let (sim, run) = start(cfg).await;
    let bad = sim.malformed_rows();
    assert_eq!(bad.len(), 3, "{bad:?}");
    let c = client();
    for o in OBJECTS {
        let crawled = crawl(&c, &run.base_url(), o.path, &[]).await;
        assert_eq!(
            crawled,
            sim.ground_truth(o.path),
            "{}: served as ground truth",
            o.path
        );
        let clean = plain.ground_truth(o.path);
        assert_eq!(crawled.len(), clean.len(), "{}", o.path);
        let mine: Vec<_> = bad.iter().filter(|b| b.object_path == o.path).collect();
        // Exactly the named rows differ from the same world without defects.
        let mut differ = 0;
        for (got, want) in crawled.iter().zip(&clean) {
            if got == want {
                continue;
            }
            differ += 1;
            let key = key(o, want);
            let b = mine
                .iter()
                .find(|b| b.key == key)
                .unwrap_or_else(|| panic!("{} {key} differs but is not named", o.path));
            match &b.malformation {
                Malformation::NoKey => {
                    assert_eq!(o.natural_key(got), None);
                    assert_eq!(got["referencia"], want["referencia"], "still named");
                }
                Malformation::TextIn { field } => {
                    assert_eq!(got[field.as_str()], json!("não informado"));
                    assert!(
                        money(&want[field.as_str()]).is_some(),
                        "{}",
                        want[field.as_str()]
                    );
                    assert_eq!(o.natural_key(got).as_deref(), Some(key.as_str()));
                }
            }
        }
        assert_eq!(differ, mine.len(), "{}", o.path);
    }
    // They stay malformed as the clock moves (and the world moves as it would without them).
    let changes = sim.advance(10);
    assert_eq!(changes, plain.advance(10));
    for b in sim.malformed_rows() {
        let truth = sim.ground_truth(&b.object_path);
        let spec = shared::catalogue::find(&b.object_path).unwrap();
        let row = truth.iter().find(|r| {
            spec.natural_key(r).as_deref() == Some(b.key.as_str())
                || (b.malformation == Malformation::NoKey && spec.natural_key(r).is_none())
        });
        if let Some(row) = row {
            assert_ne!(
                plain
                    .ground_truth(&b.object_path)
                    .iter()
                    .find(|r| spec.natural_key(r).as_deref() == Some(b.key.as_str())),
                Some(row)
            );
        }
    }
    run.shutdown().await;
}

#[test]
fn distratos_per_day_is_opt_in() {
    let busy = Simulator::new(SimConfig {
        distratos_per_day: Some(2.0),
        ..small()
    });
    let plain = Simulator::new(small());
    let before = busy.ground_truth("/distratos");
    assert_eq!(
        before,
        plain.ground_truth("/distratos"),
        "the generated world is the same"
    );
    let changes = busy.advance(10);
    assert!(
        changes.counts("/distratos").created >= 5,
        "{:?}",
        changes.counts("/distratos")
    );
    assert!(busy.row_count("/distratos") > before.len());
}

/// `POST /_sim/advance` takes hours and minutes too (a scheduler's 4-hour gap), adding up.
#[tokio::test]
async fn admin_advance_takes_hours_and_minutes() {
    let (sim, run) = start(small()).await;
    let before = sim.now();
    let r = client()
        .post(format!(
            "{}/_sim/advance?hours=4&minutes=30",
            run.root_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["days"], json!(0));
    assert_eq!(s["seconds"], json!(4 * 3600 + 30 * 60));
    let parse = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap();
    let moved = parse(s["now"].as_str().unwrap()) - parse(&before);
    assert_eq!(moved.num_seconds(), 4 * 3600 + 30 * 60);
    run.shutdown().await;
}
