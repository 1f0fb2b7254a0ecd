//! Full exports: a CSV without `page`/`per_page` carries every row of the metric, streamed
//! (no 500-row cap, no first page only), for one tenant and across a key's tenants.

use crate::api_support;

use api_support::{generate, load, serve, TestDb, KEY};
use shared::analytics::reference::compute;
use shared::api::{hash_key, ApiConfig};

/// A key of two tenants (read one after the other) besides the all-tenants test key.
const BOTH: &str = "viewer-both-export-key-00000000000000000";

/// Data lines of a CSV document (after the BOM and the header, before the final CRLF).
fn data_lines(text: &str) -> Vec<String> {
    let body = text.strip_prefix('\u{feff}').expect("UTF-8 BOM");
    let mut lines: Vec<String> = body.split("\r\n").map(str::to_string).collect();
    assert_eq!(lines.pop().as_deref(), Some(""), "ends with CRLF");
    lines.remove(0);
    lines
}

#[tokio::test]
async fn the_full_export_has_every_sale() {
    shared::store::install_crypto_provider();
    let mut db = TestDb::migrated("api_export").await;
    let acme = generate("acme", 11, 1400);
    let beta = generate("beta", 12, 80);
    load(&mut db, &acme, 0).await;
    load(&mut db, &beta, 1).await;
    let keys = serde_json::json!([
        {"sha256": hash_key(KEY), "tenants": "*", "role": "admin", "name": "ops"},
        {"sha256": hash_key(BOTH), "tenants": ["beta", "acme"], "role": "viewer", "name": "bi"},
    ])
    .to_string();
    let config = ApiConfig::from_key_list(&keys).unwrap();
    let (addr, _h) = serve(&db, config).await;
    let c = reqwest::Client::new();
    let get_as = |key: &'static str, path: &str| {
        c.get(format!("http://{addr}{path}"))
            .bearer_auth(key)
            .send()
    };
    let get = |path: &str| get_as(KEY, path);

    let sales = |data: &api_support::Dataset| -> i64 {
        let reference = compute(&data.source());
        reference.mensal.values().map(|s| s.vendas_unidades).sum()
    };
    let (acme_sales, beta_sales) = (sales(&acme), sales(&beta));
    assert!(
        acme_sales > 500,
        "the export must pass one page: {acme_sales}"
    );

    // What the dashboard's "Baixar tabela completa" link asks for.
    let resp = get("/api/tabela-geral?tenant=acme&format=csv")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let lines = data_lines(&resp.text().await.unwrap());
    assert_eq!(lines.len() as i64, acme_sales);
    assert!(lines.iter().all(|l| l.starts_with("acme;")));
    let mut ids: Vec<&str> = lines.iter().filter_map(|l| l.split(';').nth(1)).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, acme_sales, "each sale once");

    // Compressed, as browsers and BI tools ask for it: the compression layer reads the
    // streamed body to its end and past it.
    let path = "/api/tabela-geral?tenant=acme&format=csv";
    let gzip = [("accept-encoding", "gzip")];
    let resp = api_support::get_with(&c, addr, path, Some(KEY), &gzip).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let gzip = std::collections::HashMap::from([(
        shared::landing::ENCODING_KEY.to_string(),
        shared::landing::GZIP.to_string(),
    )]);
    let text = shared::landing::decode_page(&gzip, resp.bytes().await.unwrap()).unwrap();
    let lines = data_lines(std::str::from_utf8(&text).unwrap());
    assert_eq!(lines.len() as i64, acme_sales);

    // A key of every tenant: all their sales.
    let resp = get("/api/tabela-geral?format=csv").await.unwrap();
    let lines = data_lines(&resp.text().await.unwrap());
    assert_eq!(lines.len() as i64, acme_sales + beta_sales);
    let beta_lines = lines.iter().filter(|l| l.starts_with("beta;")).count();
    assert_eq!(beta_lines as i64, beta_sales);
    // A key of a list of tenants: each tenant's rows in turn, in the key's order.
    let resp = get_as(BOTH, "/api/tabela-geral?format=csv").await.unwrap();
    assert_eq!(resp.status(), 200);
    let lines = data_lines(&resp.text().await.unwrap());
    assert_eq!(lines.len() as i64, acme_sales + beta_sales);
    let tenants: Vec<&str> = lines.iter().filter_map(|l| l.split(';').next()).collect();
    let switches = tenants.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switches, 1, "one tenant after the other");

    // Filters still apply to the export; explicit paging still pages.
    let json: serde_json::Value = get("/api/tabela-geral?tenant=acme&de=2025-01-01&per_page=1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = get("/api/tabela-geral?tenant=acme&de=2025-01-01&format=csv")
        .await
        .unwrap();
    let lines = data_lines(&resp.text().await.unwrap());
    assert_eq!(Some(lines.len() as i64), json["total"].as_i64());
    let resp = get("/api/tabela-geral?tenant=acme&format=csv&per_page=7&page=2")
        .await
        .unwrap();
    assert_eq!(data_lines(&resp.text().await.unwrap()).len(), 7);
}
