//! `cvdw demo --once` as a newcomer runs it: a subprocess, against the local PostgreSQL (a fresh
//! database here), with the embedded simulator and the local S3 server. Then the API served over
//! that database must report the simulator's ground truth.

use crate::api_support;

use api_support::{serve, TestDb, KEY};
use serde_json::Value;
use shared::analytics::reference::{compute, Sales, Source};
use shared::api::ApiConfig;

const SEED: u64 = 42;
/// Multiplies the small profile (the demo's default): a world small enough for a test.
const SCALE: f64 = 0.4;

#[tokio::test]
async fn demo_once_lands_every_object_and_the_kpis_match_the_simulator() {
    let db = TestDb::empty("demo").await;
    let name = db.config.dbname().expect("a database name").to_string();
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable");
    let dir = tempfile::tempdir().unwrap();

    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cvdw"));
    cmd.args([
        "demo",
        "--once",
        "--seed",
        &SEED.to_string(),
        "--scale",
        &SCALE.to_string(),
    ])
    .arg("--dir")
    .arg(dir.path())
    .env("DATABASE_URL", &url)
    .env_remove("CVDW_BASE_URL")
    .env_remove("AWS_ENDPOINT_URL_S3")
    .env_remove("AWS_ENDPOINT_URL");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("cvdw demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    // The summary: every object, its manifest, no failure, nothing rejected.
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("cvdw demo:"))
        .expect("a summary line");
    let field = |k: &str| -> String {
        summary
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("`{k}` in {summary}"))
            .to_string()
    };
    assert_eq!(field("objects"), "70", "{summary}");
    assert_eq!(field("manifests"), "70", "{summary}");
    assert_eq!(field("failed"), "0", "{summary}");
    assert_eq!(field("extract_failures"), "0", "{summary}");
    assert_eq!(field("rejected"), "0", "{summary}");
    assert!(field("pages").parse::<u32>().unwrap() >= 70, "{summary}");
    assert!(field("url").starts_with("http://127.0.0.1:"), "{summary}");

    // The API over what the demo loaded agrees with the metrics computed independently, in
    // Rust, from the simulator's ground truth (the same seed and scale give the same world).
    let small = simulator::SimConfig::for_profile(simulator::Profile::Small);
    let sim = simulator::Simulator::new(simulator::SimConfig {
        seed: SEED,
        scale: small.scale * SCALE,
        ..small
    });
    let rows = |path: &str| sim.ground_truth(path);
    let (vendas, distratos, reservas, condicoes, comissoes, unidades, precos, times, integrantes) = (
        rows("/vendas"),
        rows("/distratos"),
        rows("/reservas"),
        rows("/reservas/condicoes"),
        rows("/comissoes"),
        rows("/unidades"),
        rows("/unidades/precos"),
        rows("/atendimentos/times"),
        rows("/atendimentos/times/integrantes"),
    );
    let reference = compute(&Source {
        vendas: &vendas,
        distratos: &distratos,
        reservas: &reservas,
        reservas_condicoes: &condicoes,
        comissoes: &comissoes,
        unidades: &unidades,
        unidades_precos: &precos,
        times: &times,
        times_integrantes: &integrantes,
        ..Default::default()
    });
    let total = reference
        .mensal
        .values()
        .fold(Sales::default(), |mut t, m| {
            t.vendas_unidades += m.vendas_unidades;
            t.vendas_valor += m.vendas_valor;
            t.distratos_unidades += m.distratos_unidades;
            t.distratos_valor += m.distratos_valor;
            t
        });
    assert!(
        total.vendas_unidades > 0 && total.distratos_unidades > 0,
        "a world with sales and distratos"
    );
    // The demo's world is the dirty default one: every quirk the metrics handle is in it.
    let census = simulator::dirt::census(&|p| sim.ground_truth(p));
    assert!(
        simulator::dirt::missing(&census).is_empty(),
        "every quirk in the demo world: {census:?}"
    );
    // The simulator's own count of distratos (every /distratos row) is the same thing, less
    // the inactive and the undated ones, which do not count.
    let uncounted = distratos
        .iter()
        .filter(|d| {
            d["ativo"] == "N"
                || !d["situacao_data"]
                    .as_str()
                    .is_some_and(|s| s.len() >= 10 && !s.starts_with("0000"))
        })
        .count() as u64;
    assert!(
        uncounted > 0,
        "the demo world has distratos that do not count"
    );
    assert_eq!(
        total.distratos_unidades as u64 + uncounted,
        sim.sales_aggregates().distratos.count
    );

    let (addr, server) = serve(&db, ApiConfig::from_keys(&[KEY])).await;
    let kpis: Value = reqwest_get(&format!("http://{addr}/api/kpis?tenant=demo")).await;
    let row = kpis["rows"]
        .as_array()
        .and_then(|r| r.first())
        .cloned()
        .expect("a kpi row");
    let reais = |centavos: i64| centavos as f64 / 100.0;
    let close = |a: &Value, b: f64| (a.as_f64().unwrap_or(f64::NAN) - b).abs() < 0.005;
    assert_eq!(
        row["vendas_unidades"].as_i64(),
        Some(total.vendas_unidades),
        "{row}"
    );
    assert!(
        close(&row["vendas_valor"], reais(total.vendas_valor)),
        "{row}"
    );
    assert_eq!(
        row["distratos_unidades"].as_i64(),
        Some(total.distratos_unidades),
        "{row}"
    );
    assert!(
        close(&row["distratos_valor"], reais(total.distratos_valor)),
        "{row}"
    );
    assert_eq!(
        row["liquidas_unidades"].as_i64(),
        Some(total.liquidas_unidades()),
        "{row}"
    );
    assert!(
        close(&row["liquidas_valor"], reais(total.liquidas_valor())),
        "{row}"
    );
    server.abort();
    db.drop().await;
}

async fn reqwest_get(url: &str) -> Value {
    shared::store::install_crypto_provider();
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(KEY)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    resp.json().await.expect("JSON")
}
