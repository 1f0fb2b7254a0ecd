//! A real browser: headless Chromium loads the dashboard from a local server with demo data,
//! logs in through the page, and must find every chart drawn with no console error; then the
//! cockpit: a period whose KPI cards show their deltas, the goals, stock, open reservations,
//! repasses, distratos and funnel sections, the broker/team/agency filters, and every period preset (each request
//! sends only the filters its endpoint takes: a 400 would be a console error). Screenshots
//! (desktop, the funnel section, after a preset, and phone at 390 px, which must not overflow) land in
//! `<target>/browser/`.
//!
//! Driven by `scripts/browser-dashboard.mjs` over the DevTools protocol (Node's built-in
//! WebSocket, no npm packages). Skipped with a message when Chromium or Node is missing — except
//! under CI (`CI` set), where a missing browser is a failure.

use crate::api_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use api_support::{leads_of, load, loaded_db, serve, KEY};
use shared::api::ApiConfig;

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

#[tokio::test]
async fn dashboard_renders_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM")
        .ok()
        .map(PathBuf::from)
        .or_else(|| {
            find(&[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ])
        });
    let node = find(&["/usr/bin/node", "/usr/local/bin/node"]);
    let (Some(chromium), Some(node)) = (chromium, node) else {
        if std::env::var("CI").is_ok() {
            panic!("CI must have chromium and node (apt-get install -y chromium nodejs)");
        }
        eprintln!(
            "SKIPPED: headless Chromium or Node not found (apt-get install -y chromium nodejs)"
        );
        return;
    };
    let (mut db, acme, _b) = loaded_db("api_browser").await;
    // The funnel's leads and visits, so that its section shows every stage.
    load(&mut db, &leads_of(&acme), 2).await;
    let (addr, _h) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/browser-dashboard.mjs");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("browser/dashboard.png");
    let base = format!("http://{addr}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(node)
            .arg("--experimental-websocket")
            .arg(script)
            .arg(base)
            .arg(KEY)
            .arg(&shot)
            .arg(chromium)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("browser: {stdout}");
    assert!(
        out.status.success(),
        "dashboard check failed: {stdout}\n{stderr}"
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert!(seen["charts"].as_u64().unwrap() >= 9);
    assert_eq!(seen["presets_ok"], true, "{}", seen["presets"]);
    assert!(seen["cockpit"]["estoque_rows"].as_u64().unwrap() > 0);
    assert!(seen["cockpit"]["metas_rows"].as_u64().unwrap() > 0);
    assert_eq!(
        seen["cockpit"]["funil_rows"].as_u64(),
        Some(4),
        "the funnel's four stages"
    );
    assert!(seen["cockpit"]["funil_midia_rows"].as_u64().unwrap() > 1);
    assert_eq!(seen["problems"].as_array().unwrap().len(), 0);
    db.drop().await;
}
