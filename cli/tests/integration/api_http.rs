//! The API over real HTTP: the router served on a local port against a fresh PostgreSQL database
//! loaded through the real loader. Each endpoint, its filters, CSV, 400s, 401s, sessions,
//! `/health` leaking nothing, headers, and the OpenAPI document covering every route.

use crate::api_support;

use std::net::SocketAddr;

use crate::load_support::scalar;
use api_support::{generate, get, get_json_as, get_with, load, loaded_db, serve, TestDb, KEY};
use chrono::NaiveDate;
use serde_json::Value;
use shared::analytics::reference::compute;
use shared::analytics::METRICS;
use shared::api::ApiConfig;

fn client() -> reqwest::Client {
    shared::store::install_crypto_provider();
    reqwest::Client::new()
}

async fn get_json(c: &reqwest::Client, addr: SocketAddr, path: &str) -> Value {
    get_json_as(c, addr, path, KEY).await
}

/// The text `field` of every row of an answer.
fn texts<'a>(body: &'a Value, field: &str) -> Vec<&'a str> {
    let rows = body["rows"].as_array().unwrap();
    rows.iter().map(|x| x[field].as_str().unwrap()).collect()
}

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap_or(0.0) * 100.0).round() as i64
}

#[tokio::test]
async fn endpoints_filters_and_csv() {
    let (mut db, acme, _beta) = loaded_db("api_http").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = client();
    let r = compute(&acme.source());

    // The load left the analytics cache stale; the first metric request rebuilds it.
    let valid = "SELECT analytics.cache_valida()";
    assert!(!scalar::<bool>(db.client(), valid, &[]).await);
    get_json(&c, addr, "/api/kpis?tenant=acme").await;
    assert!(scalar::<bool>(db.client(), valid, &[]).await);

    // Every metric answers JSON with rows.
    for m in METRICS {
        let body = get_json(&c, addr, &format!("/api/{}?tenant=acme", m.path)).await;
        let rows = body["rows"].as_array().unwrap();
        assert!(!rows.is_empty(), "{} has rows", m.path);
        for col in m.columns {
            assert!(
                rows[0].get(col.name).is_some(),
                "{} has column {}",
                m.path,
                col.name
            );
        }
        assert!(
            rows.iter().all(|x| x["tenant"] == "acme"),
            "{} tenant filter",
            m.path
        );
    }

    // Monthly figures equal the reference; a period keeps only its months.
    let body = get_json(&c, addr, "/api/vendas-mensais?tenant=acme").await;
    let months = body["rows"].as_array().unwrap();
    assert_eq!(months.len(), r.mensal.len());
    for row in months {
        let mes = NaiveDate::parse_from_str(row["mes"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let s = r.mensal[&mes];
        assert_eq!(row["vendas_unidades"].as_i64().unwrap(), s.vendas_unidades);
        assert_eq!(cents(&row["liquidas_valor"]), s.liquidas_valor());
    }
    let body = get_json(
        &c,
        addr,
        "/api/vendas-mensais?tenant=acme&de=2024-03-01&ate=2024-05",
    )
    .await;
    let got = texts(&body, "mes");
    assert_eq!(got, ["2024-03-01", "2024-04-01", "2024-05-01"]);
    assert_eq!(body["filters"]["ate"], "2024-05-31");
    for row in body["rows"].as_array().unwrap() {
        let mes = NaiveDate::parse_from_str(row["mes"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        assert_eq!(
            row["vendas_unidades"].as_i64().unwrap(),
            r.mensal[&mes].vendas_unidades
        );
    }

    // Development filter.
    let body = get_json(
        &c,
        addr,
        "/api/vendas-empreendimentos?tenant=acme&empreendimento=2",
    )
    .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["vendas_unidades"].as_i64().unwrap(),
        r.por_empreendimento[&Some(2)].vendas_unidades
    );
    let body = get_json(&c, addr, "/api/vso-mensal?tenant=acme&empreendimento=4").await;
    assert!(body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["idempreendimento"] == 4));

    // Without a tenant filter both tenants appear; KPIs have one row per tenant.
    let body = get_json(&c, addr, "/api/kpis").await;
    let tenants = texts(&body, "tenant");
    assert_eq!(tenants, ["acme", "beta"]);
    let k = &body["rows"][0];
    let total: i64 = r.mensal.values().map(|s| s.liquidas_unidades()).sum();
    assert_eq!(k["liquidas_unidades"].as_i64().unwrap(), total);

    // Paging.
    let body = get_json(&c, addr, "/api/tabela-geral?tenant=acme&per_page=7&page=2").await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 7);
    let counted: i64 = r.mensal.values().map(|s| s.vendas_unidades).sum();
    assert_eq!(body["total"].as_i64().unwrap(), counted);
    assert_eq!(body["page"], 2);

    // ETL status lists the loaded objects.
    let body = get_json(&c, addr, "/api/etl/status?tenant=acme").await;
    let objs = texts(&body, "object");
    assert!(
        objs.contains(&"vendas") && objs.contains(&"distratos"),
        "{objs:?}"
    );

    // CSV by parameter and by Accept.
    let resp = get(&c, addr, "/api/vendas-mensais?tenant=acme&format=csv").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("vendas-mensais.csv"));
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "tenant;mes;vendas_unidades;vendas_valor;distratos_unidades;distratos_valor;liquidas_unidades;liquidas_valor;vgv;ticket_medio");
    assert_eq!(
        lines.len(),
        r.mensal.len() + 2,
        "header + rows + final CRLF"
    );
    assert!(lines[1].starts_with("acme;01/"), "{}", lines[1]);
    assert!(
        lines[1].split(';').nth(3).unwrap().contains(','),
        "decimal comma: {}",
        lines[1]
    );
    let path = "/api/tabela-geral?tenant=acme";
    let resp = get_with(&c, addr, path, Some(KEY), &[("accept", "text/csv")]).await;
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("& Cia") || text.contains("&amp; Cia"),
        "text columns present"
    );

    // Compression and caching.
    let path = "/api/tabela-geral?tenant=acme&per_page=500";
    let resp = get_with(&c, addr, path, Some(KEY), &[("accept-encoding", "gzip")]).await;
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert_eq!(resp.headers()["cache-control"], "private, max-age=60");
    let path = "/assets/chart.umd.min.js";
    let resp = get_with(&c, addr, path, None, &[("accept-encoding", "br")]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "br");
    db.drop().await;
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let db = TestDb::migrated("api_400").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = client();
    for (path, param) in [
        ("/api/vendas-mensais?de=2024-13-01", "de"),
        ("/api/vendas-mensais?de=ontem", "de"),
        ("/api/vendas-mensais?ate=2024-02-30", "ate"),
        ("/api/vendas-mensais?de=2024-05-01&ate=2024-04-01", "ate"),
        ("/api/kpis?empreendimento=abc", "empreendimento"),
        ("/api/kpis?empreendimento=-3", "empreendimento"),
        ("/api/kpis?tenant=a%27%3B%20drop", "tenant"),
        ("/api/kpis?format=xml", "format"),
        ("/api/kpis?foo=1", "foo"),
        ("/api/kpis?tenant=a&tenant=b", "tenant"),
        ("/api/tabela-geral?per_page=501", "per_page"),
        ("/api/tabela-geral?page=0", "page"),
        ("/api/vendas-mensais?page=2", "page"),
        ("/api/etl/status?de=2024-01-01", "de"),
    ] {
        let resp = get(&c, addr, path).await;
        assert_eq!(resp.status(), 400, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["parameter"], param, "{path}: {body}");
        assert!(
            body["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{path}"
        );
    }
    // An empty database answers with empty rows, not an error.
    let body = get_json(&c, addr, "/api/kpis").await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 0);
    let resp = get(&c, addr, "/api/nao-existe").await;
    assert_eq!(resp.status(), 404);
    db.drop().await;
}

#[tokio::test]
async fn auth_sessions_health_and_headers() {
    let mut db = TestDb::migrated("api_auth").await;
    let data = generate("acme", 3, 40);
    load(&mut db, &data, 0).await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY, "outra-chave"])).await;
    let c = client();

    // 401 without a key, with a wrong key, with a malformed header; never data.
    for req in [
        c.get(format!("http://{addr}/api/kpis")),
        c.get(format!("http://{addr}/api/kpis"))
            .bearer_auth("errada"),
        c.get(format!("http://{addr}/api/kpis"))
            .header("authorization", KEY),
        c.get(format!("http://{addr}/openapi.json")),
        c.get(format!("http://{addr}/api/empreendimentos"))
            .header("cookie", "cvdw_session=v1.99999999999.00"),
        c.get(format!("http://{addr}/api/kpis"))
            .header("x-api-key", "errada"),
    ] {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"cvdw\"");
        let body: Value = resp.json().await.unwrap();
        assert!(body.get("rows").is_none());
    }
    // The second key works too.
    let resp = get_with(&c, addr, "/api/kpis", Some("outra-chave"), &[]).await;
    assert_eq!(resp.status(), 200);
    // X-Api-Key carries the key when Authorization is SigV4's (function URL with AWS_IAM).
    let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/sa-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
    let headers = [("authorization", sigv4), ("x-api-key", KEY)];
    let resp = get_with(&c, addr, "/api/kpis", None, &headers).await;
    assert_eq!(resp.status(), 200);

    // Login: a wrong key is 401; the right one sets a hardened cookie that authorises.
    let resp = c
        .post(format!("http://{addr}/login"))
        .json(&serde_json::json!({"key": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("set-cookie").is_none());
    let resp = c
        .post(format!("http://{addr}/login"))
        .json(&serde_json::json!({"key": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains(KEY) && !cookie.contains(&shared::api::hash_key(KEY)));
    let pair = cookie.split(';').next().unwrap().to_string();
    let resp = get_with(&c, addr, "/api/kpis", None, &[("cookie", &pair)]).await;
    assert_eq!(resp.status(), 200);
    // A tampered cookie is refused.
    let last = if pair.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &pair[..pair.len() - 1]);
    let resp = get_with(&c, addr, "/api/kpis", None, &[("cookie", &tampered)]).await;
    assert_eq!(resp.status(), 401);
    let resp = c
        .post(format!("http://{addr}/logout"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    // /health without a key: up or down and the version, nothing about tenants.
    let resp = c.get(format!("http://{addr}/health")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["reachable"], true);
    assert_eq!(body["version"], shared::api::VERSION);
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["database", "status", "version"]);
    assert!(!body.to_string().contains(&data.tenant));
    // With a key, the freshness of its tenants; still no data values.
    let resp = get(&c, addr, "/health").await;
    let body: Value = resp.json().await.unwrap();
    let t = &body["tenants"][0];
    let mut tkeys: Vec<&String> = t.as_object().unwrap().keys().collect();
    tkeys.sort();
    assert_eq!(
        tkeys,
        ["age_seconds", "last_fetched_at", "last_loaded_at", "tenant"]
    );
    let text = body.to_string();
    for v in data.rows("/vendas").iter().take(20) {
        let valor = v["valor_contrato"].to_string();
        assert!(!text.contains(&valor), "health leaks {valor}");
        assert!(!text.contains(v["cliente"].as_str().unwrap()));
    }

    // The dashboard page: public HTML with security headers.
    let resp = c.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let html = resp.text().await.unwrap();
    assert!(html.contains("lang=\"pt-BR\"") && html.contains("Vendas líquidas"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );

    // CORS is off by default...
    let evil = [("origin", "https://evil.example")];
    let resp = get_with(&c, addr, "/api/kpis", Some(KEY), &evil).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    db.drop().await;

    // ...and on for an allow-listed origin only.
    let db = TestDb::migrated("api_cors").await;
    let cfg = ApiConfig::from_keys(&[KEY]).with_cors_origins(vec!["https://bi.example.com".into()]);
    let (addr, _h) = serve(&db, cfg).await;
    let pre = c
        .request(reqwest::Method::OPTIONS, format!("http://{addr}/api/kpis"))
        .header("origin", "https://bi.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pre.headers()["access-control-allow-origin"],
        "https://bi.example.com"
    );
    let evil = [("origin", "https://evil.example")];
    let resp = get_with(&c, addr, "/api/kpis", Some(KEY), &evil).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    db.drop().await;
}

#[tokio::test]
async fn health_is_503_when_the_database_is_unreachable() {
    let cfg =
        shared::db::DbConfig::from_url("postgres://postgres@127.0.0.1:1/none?sslmode=disable")
            .unwrap();
    let state = std::sync::Arc::new(shared::api::AppState::new(
        shared::api::Database::new(shared::api::connect_with(cfg)),
        ApiConfig::from_keys(&[KEY]),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(shared::api::serve(listener, shared::api::router(state)));
    let c = client();
    let resp = c.get(format!("http://{addr}/health")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"]["reachable"], false);
    let resp = get(&c, addr, "/api/kpis").await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(
        !body.to_string().contains("127.0.0.1:1"),
        "no connection details: {body}"
    );
}

#[tokio::test]
async fn openapi_documents_every_route_and_every_route_is_documented() {
    let db = TestDb::migrated("api_openapi").await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let c = client();
    let doc = get_json(&c, addr, "/openapi.json").await;
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    // Every router path is in the document...
    let mut expected: Vec<String> = METRICS.iter().map(|m| format!("/api/{}", m.path)).collect();
    expected.extend(shared::api::ROUTES.iter().map(|r| r.0.to_string()));
    for p in &expected {
        assert!(paths.contains_key(p), "{p} documented");
    }
    assert_eq!(paths.len(), expected.len());
    // ...and every documented operation exists on the router (not 404/405) and its $refs resolve.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (p, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["responses"].is_object(), "{p} responses");
            let req = match method.as_str() {
                "get" => c.get(format!("http://{addr}{p}")),
                "post" => c
                    .post(format!("http://{addr}{p}"))
                    .json(&serde_json::json!({"key": KEY})),
                // A metas file with its header only: valid, and writes nothing.
                "put" => c
                    .put(format!("http://{addr}{p}"))
                    .header("content-type", "text/csv")
                    .body("tenant;mes;escopo;id;unidades;valor\n"),
                m => panic!("{p}: unexpected method {m}"),
            };
            let status = req.bearer_auth(KEY).send().await.unwrap().status();
            assert!(status != 404 && status != 405, "{method} {p} → {status}");
            assert!(status.is_success(), "{method} {p} → {status}");
            for param in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert_eq!(param["in"], "query");
                assert!(param["schema"].is_object());
            }
        }
    }
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "$ref {name} resolves");
    }
    // Every metric's parameters are documented: the filters, and paging only where it applies.
    let tabela = &paths["/api/tabela-geral"]["get"]["parameters"];
    let names: Vec<&str> = tabela
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, api_support::paged_metric_params());
    db.drop().await;
}
