//! Monthly goals (metas, issue #21 item 8): `cvdw metas import` reads our pt-BR CSV into
//! `etl.metas` in one transaction. Each class of bad line is reported with its line number
//! and leaves the table exactly as it was; a good file inserts and then replaces goals.

use crate::api_support;

use crate::load_support::{column, url_for};
use api_support::TestDb;
use shared::analytics::metas::{self, ImportError};

const GOOD: &str = "\u{feff}tenant;mes;escopo;id;unidades;valor\r\n\
    acme;03/2025;empreendimento;1;10;3500000,00\r\n\
    acme;01/04/2025;time;2;4;1200000,5\r\n\
    acme;04/2025;corretor;7;2;650000\r\n";

async fn table(db: &mut TestDb) -> Vec<String> {
    column(
        db.client(),
        "SELECT concat_ws('|', tenant, mes, escopo, id, unidades, valor) FROM etl.metas \
             ORDER BY tenant, mes, escopo, id",
    )
    .await
}

#[tokio::test]
async fn metas_import_is_all_or_nothing_with_line_numbered_errors() {
    let mut db = TestDb::migrated("api_metas").await;
    assert_eq!(
        metas::import(db.client(), GOOD.as_bytes()).await.unwrap(),
        3
    );
    let before = table(&mut db).await;
    assert_eq!(
        before,
        [
            "acme|2025-03-01|empreendimento|1|10|3500000.00",
            "acme|2025-04-01|corretor|7|2|650000.00",
            "acme|2025-04-01|time|2|4|1200000.50",
        ]
    );

    // Each class of bad line, after a good line that must not land either.
    let header = "tenant;mes;escopo;id;unidades;valor\n";
    let good = "acme;05/2025;empreendimento;1;99;1,00\n";
    for (bad, line, says) in [
        ("acme;05/2025;empreendimento;1;10\n", 3, "5 campos"),
        ("acme,05/2025,empreendimento,1,10,1\n", 3, "1 campos"),
        ("ac me;05/2025;empreendimento;1;10;1\n", 3, "tenant"),
        ("acme;2025-05;empreendimento;1;10;1\n", 3, "mes"),
        ("acme;13/2025;empreendimento;1;10;1\n", 3, "mes"),
        ("acme;15/05/2025;empreendimento;1;10;1\n", 3, "mes"),
        ("acme;05/2025;imobiliaria;1;10;1\n", 3, "escopo"),
        ("acme;05/2025;empreendimento;0;10;1\n", 3, "id"),
        ("acme;05/2025;empreendimento;x;10;1\n", 3, "id"),
        ("acme;05/2025;empreendimento;1;-1;1\n", 3, "unidades"),
        ("acme;05/2025;empreendimento;1;2,5;1\n", 3, "unidades"),
        ("acme;05/2025;empreendimento;1;10;1.500,00\n", 3, "valor"),
        ("acme;05/2025;empreendimento;1;10;1,234\n", 3, "valor"),
        ("acme;05/2025;empreendimento;1;10;\n", 3, "valor"),
        ("acme;05/2025;empreendimento;1;10;2,00\n", 3, "linha 2"),
    ] {
        let file = format!("{header}{good}{bad}");
        match metas::import(db.client(), file.as_bytes()).await {
            Err(ImportError::BadLines(errors)) => {
                assert_eq!(errors.len(), 1, "{bad:?}: {errors:?}");
                assert_eq!(errors[0].line, line, "{bad:?}");
                assert!(errors[0].reason.contains(says), "{bad:?}: {}", errors[0]);
            }
            other => panic!("{bad:?} was accepted: {other:?}"),
        }
        assert_eq!(table(&mut db).await, before, "{bad:?} changed the table");
    }
    let bad = metas::import(
        db.client(),
        b"tenant;mes;escopo;id;unidades;valor\nx;1;2;3;4;5\n",
    )
    .await;
    assert!(
        bad.is_err_and(|e| !e.is_retryable()),
        "a bad file stays bad"
    );
    // A wrong header, an empty file, and every bad line of a file at once.
    for (file, first_line) in [
        ("tenant;mes;valor\nacme;05/2025;1\n", 1),
        ("", 1),
        (
            "tenant;mes;escopo;id;unidades;valor\nx y;1;2;3;4;5\nacme;05/2025;time;0;1;1\n",
            2,
        ),
    ] {
        match metas::import(db.client(), file.as_bytes()).await {
            Err(ImportError::BadLines(errors)) => {
                assert_eq!(errors[0].line, first_line, "{file:?}");
                if file.contains("x y") {
                    assert_eq!(errors.len(), 2, "every bad line is reported");
                }
            }
            other => panic!("{file:?} was accepted: {other:?}"),
        }
        assert_eq!(table(&mut db).await, before);
    }

    // The command: a good file replaces goals with the same key, a bad one fails with the
    // line numbers on stderr and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metas.csv");
    std::fs::write(
        &path,
        "tenant;mes;escopo;id;unidades;valor\nacme;03/2025;empreendimento;1;12;3600000,00\n",
    )
    .unwrap();
    let url = url_for(db.config.dbname().unwrap());
    let run = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cvdw"))
            .args(["metas", "import"])
            .arg(file)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };
    let out = run(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        table(&mut db).await[0],
        "acme|2025-03-01|empreendimento|1|12|3600000.00"
    );
    std::fs::write(&path, "tenant;mes;escopo;id;unidades;valor\nacme;03/2025;empreendimento;1;1;1\nacme;03/2025;grupo;1;1;1\n").unwrap();
    let out = run(&path);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("linha 3"));
    assert_eq!(
        table(&mut db).await[0],
        "acme|2025-03-01|empreendimento|1|12|3600000.00"
    );
    db.drop().await;
}

/// The goals over HTTP: admins of the tenant replace them (viewers and other tenants' admins
/// get 403, a bad body a 400 with the line numbers and no change), and `GET /api/metas` sets
/// each goal against the month's net sales, equal to the reference's.
#[tokio::test]
async fn metas_over_http_against_the_reference() {
    use shared::api::hash_key;
    shared::store::install_crypto_provider();
    const ADMIN: &str = "admin-metas-key-000000000000000000000000";
    const VIEWER: &str = "viewer-metas-key-00000000000000000000000";
    const ADMIN_BETA: &str = "admin-beta-metas-key-00000000000000000000";
    let (db, acme, _beta) = api_support::loaded_db("api_metas_http").await;
    let keys = serde_json::json!([
        {"sha256": hash_key(ADMIN), "tenants": "*", "role": "admin", "name": "ops"},
        {"sha256": hash_key(VIEWER), "tenants": ["acme"], "role": "viewer", "name": "bi"},
        {"sha256": hash_key(ADMIN_BETA), "tenants": ["beta"], "role": "admin", "name": "ops-beta"},
    ])
    .to_string();
    let config = shared::api::ApiConfig::from_key_list(&keys).unwrap();
    let (addr, _h) = api_support::serve(&db, config).await;
    let c = reqwest::Client::new();
    let put = |key: &'static str, body: &'static str| {
        c.put(format!("http://{addr}/api/metas"))
            .bearer_auth(key)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    const GOALS: &str = "tenant;mes;escopo;id;unidades;valor\n\
        acme;03/2025;empreendimento;1;10;3000000,00\n\
        acme;03/2025;corretor;3;2;0\n\
        acme;04/2025;time;2;5;1500000,00\n";
    assert_eq!(put(VIEWER, GOALS).await.unwrap().status(), 403, "viewer");
    assert_eq!(
        put(ADMIN_BETA, GOALS).await.unwrap().status(),
        403,
        "another tenant"
    );
    let r = put(ADMIN, GOALS).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["written"], 3);
    let r = put(ADMIN, "tenant;mes;escopo;id;unidades;valor\nacme;03/2025;empreendimento;1;1;1\nacme;3/2025;time;1;1;1\n")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["lines"][0]["line"], 3, "{body}");

    let got = api_support::get_json_as(&c, addr, "/api/metas?tenant=acme", VIEWER).await;
    let rows = got["rows"].as_array().unwrap();
    // The three goals put above, and the two acme goals every api test database has.
    assert_eq!(rows.len(), 5, "{got}");
    let reference = shared::analytics::reference::compute(&acme.source());
    let month = |d: chrono::NaiveDate| shared::analytics::reference::month(d);
    for row in rows {
        let mes =
            chrono::NaiveDate::parse_from_str(row["mes"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let id = row["id"].as_i64();
        let of = |emp: Option<i64>, time: Option<i64>, corretor: Option<i64>| match row["escopo"]
            .as_str()
            .unwrap()
        {
            "empreendimento" => emp == id,
            "time" => time == id,
            _ => corretor == id,
        };
        let vendas = reference
            .vendas_detalhe
            .iter()
            .filter(|v| month(v.data) == mes && of(v.empreendimento, v.time, v.corretor))
            .count() as i64;
        let distratos = reference
            .distratos_detalhe
            .iter()
            .filter(|d| month(d.data) == mes && of(d.empreendimento, d.time, d.corretor))
            .count() as i64;
        assert_eq!(
            row["realizado_unidades"].as_i64(),
            Some(vendas - distratos),
            "{row}"
        );
        let meta = row["meta_unidades"].as_i64().unwrap();
        let progress = row["progresso_unidades"].as_f64().unwrap();
        assert!(
            (progress - (vendas - distratos) as f64 / meta as f64).abs() < 0.0001,
            "{row}"
        );
    }
    // The value side against the development metric of the same month.
    let emp_row = rows
        .iter()
        .find(|r| r["escopo"] == "empreendimento" && r["mes"] == "2025-03-01")
        .unwrap();
    let path =
        "/api/vendas-empreendimentos?tenant=acme&de=2025-03-01&ate=2025-03-31&empreendimento=1";
    let emp = api_support::get_json_as(&c, addr, path, VIEWER).await;
    assert_eq!(
        emp_row["realizado_valor"].as_f64(),
        emp["rows"][0]["liquidas_valor"].as_f64(),
        "{emp_row}"
    );
    assert!(emp_row["progresso_valor"].as_f64().is_some());
    let zero_goal = rows
        .iter()
        .find(|r| r["escopo"] == "corretor" && r["mes"] == "2025-03-01")
        .unwrap();
    assert!(
        zero_goal["progresso_valor"].is_null(),
        "a zero goal has no progress"
    );
    db.drop().await;
}
