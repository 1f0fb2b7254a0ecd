//! Pages fetched from CVDW (the simulator) without the extractor: over plain HTTP, as the
//! extractor would store them, for the tests of the loader and of the views that need the
//! simulator's data but not the extractor's scheduling, pacing and retries; and the request
//! for a first page, for the tests of what the CVDW client does with one answer.

use serde_json::Value;
use shared::cvdw::PageRequest;
use shared::landing::{Mode, RunId};
use simulator::{RateLimit, RunningSimulator, SimConfig, Simulator};

use super::{page, Page};

/// One page as the simulator served it.
pub struct Fetched {
    /// The exact bytes of the answer.
    pub body: Vec<u8>,
    /// How many rows its `dados` holds.
    pub rows: usize,
    /// The `total_de_paginas` it announces.
    pub total_pages: u32,
}

/// The default world of `seed` at `scale`, served on a local port without a rate limit.
pub async fn serve_world(seed: u64, scale: f64) -> (Simulator, RunningSimulator) {
    shared::store::install_crypto_provider();
    let sim = Simulator::new(SimConfig {
        seed,
        scale,
        rate_limit: RateLimit::disabled(),
        ..Default::default()
    });
    let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (sim, running)
}

/// The CVDW client's request for the first page of `object` (a name or a path), with no
/// date window.
pub fn first_page(object: &str) -> PageRequest<'static> {
    PageRequest {
        object: shared::catalogue::find(object).unwrap(),
        page: 1,
        from: None,
        until: None,
    }
}

/// Page `page_no` of `path`, asked with `query`; anything but a 200 fails the test.
pub async fn fetch_page(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    page_no: u32,
    query: &[(&str, String)],
) -> Fetched {
    let resp = http
        .get(format!("{base}{path}"))
        .header("email", "demo@cvdw.local")
        .header("token", "demo-token")
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path} page {page_no}");
    let body = resp.bytes().await.unwrap().to_vec();
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    Fetched {
        rows: envelope["dados"].as_array().map(Vec::len).unwrap_or(0),
        total_pages: envelope["total_de_paginas"].as_u64().unwrap_or(0) as u32,
        body,
    }
}

/// Every page of one object (500 rows a page), as one full run of tenant `sim` stores them.
pub async fn crawl(http: &reqwest::Client, base: &str, path: &str, run: &RunId) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut page_no = 1u32;
    loop {
        let query = [
            ("pagina", page_no.to_string()),
            ("registros_por_pagina", "500".to_string()),
        ];
        let fetched = fetch_page(http, base, path, page_no, &query).await;
        let (rows, total_pages) = (fetched.rows, fetched.total_pages);
        pages.push(page("sim", path, run, page_no, Mode::Full, fetched.body));
        if rows == 0 || page_no >= total_pages {
            break;
        }
        page_no += 1;
    }
    pages
}
