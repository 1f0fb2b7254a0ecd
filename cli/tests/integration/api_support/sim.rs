//! The simulator's default world (dirty, as real CVDW data) crawled over HTTP and loaded
//! through the real loader, with its ground truth as a [`Dataset`] for the reference.

use serde_json::Value;

use super::{load_support, Dataset, TestDb};

/// The objects the analytics read.
pub const PATHS: [&str; 10] = [
    "/unidades",
    "/unidades/precos",
    "/atendimentos/times",
    "/atendimentos/times/integrantes",
    "/reservas",
    "/reservas/condicoes",
    "/vendas",
    "/distratos",
    "/comissoes",
    "/repasses",
];

/// The lead objects only the funnel reads (loaded on request: they are the world's largest).
pub const FUNNEL_PATHS: [&str; 2] = ["/leads", "/leads/visitas"];

/// Every page of one object, as the extractor would store them.
pub async fn crawl(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    run: &shared::landing::RunId,
) -> Vec<load_support::Page> {
    let mut pages = Vec::new();
    let mut n = 1u32;
    loop {
        let resp = http
            .get(format!("{base}{path}"))
            .header("email", "demo@cvdw.local")
            .header("token", "demo-token")
            .query(&[
                ("pagina", n.to_string()),
                ("registros_por_pagina", "500".to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path} page {n}");
        let body = resp.bytes().await.unwrap().to_vec();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let rows = v["dados"].as_array().map(Vec::len).unwrap_or(0);
        let total = v["total_de_paginas"].as_u64().unwrap_or(0) as u32;
        pages.push(load_support::page(
            "sim",
            path,
            run,
            n,
            shared::landing::Mode::Full,
            body,
        ));
        if rows == 0 || n >= total {
            break;
        }
        n += 1;
    }
    pages
}

/// A migrated database holding the default world (seed 11, scale 0.3) as tenant `sim`, and
/// that world's ground truth.
pub async fn loaded_world(prefix: &str) -> (TestDb, Dataset) {
    loaded_world_with(prefix, &[]).await
}

/// [`loaded_world`] with these objects loaded too (e.g. [`FUNNEL_PATHS`]).
pub async fn loaded_world_with(prefix: &str, extra: &[&'static str]) -> (TestDb, Dataset) {
    use simulator::{RateLimit, SimConfig, Simulator};
    shared::store::install_crypto_provider();
    let sim = Simulator::new(SimConfig {
        seed: 11,
        scale: 0.3,
        rate_limit: RateLimit::disabled(),
        ..Default::default()
    });
    let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = running.base_url();
    let http = reqwest::Client::new();
    let mut db = TestDb::migrated(prefix).await;
    let run = load_support::run_id(0, 1);
    let mut data = Dataset {
        tenant: "sim".into(),
        objects: Default::default(),
    };
    for path in PATHS.iter().chain(extra).copied() {
        for p in crawl(&http, &base, path, &run).await {
            shared::load::load_page(
                db.client(),
                &p.key,
                &p.body,
                &p.meta,
                None,
                Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("loading {}: {e}", p.key));
        }
        data.objects.insert(path, sim.ground_truth(path));
    }
    db.client().batch_execute("ANALYZE").await.unwrap();
    (db, data)
}
