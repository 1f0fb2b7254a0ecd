//! The simulator's default world (dirty, as real CVDW data) crawled over HTTP and loaded
//! through the real loader, with its ground truth as a [`Dataset`] for the reference.

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

/// A migrated database holding the default world (seed 11, scale 0.3) as tenant `sim`, and
/// that world's ground truth.
pub async fn loaded_world(prefix: &str) -> (TestDb, Dataset) {
    loaded_world_of(prefix, &PATHS).await
}

/// [`loaded_world`] with these objects loaded too (e.g. [`FUNNEL_PATHS`]).
pub async fn loaded_world_with(prefix: &str, extra: &[&'static str]) -> (TestDb, Dataset) {
    let paths: Vec<&'static str> = PATHS.iter().chain(extra).copied().collect();
    loaded_world_of(prefix, &paths).await
}

/// [`loaded_world`] with only the objects of `paths`.
pub async fn loaded_world_of(prefix: &str, paths: &[&'static str]) -> (TestDb, Dataset) {
    let (sim, running) = load_support::serve_world(11, 0.3).await;
    let base = running.base_url();
    let http = reqwest::Client::new();
    let mut db = TestDb::migrated(prefix).await;
    let run = load_support::run_id(0, 1);
    let mut data = Dataset {
        tenant: "sim".into(),
        objects: Default::default(),
    };
    for &path in paths {
        for p in load_support::crawl(&http, &base, path, &run).await {
            load_support::deliver(db.client(), &p).await;
        }
        data.objects.insert(path, sim.ground_truth(path));
    }
    db.client().batch_execute("ANALYZE").await.unwrap();
    (db, data)
}
