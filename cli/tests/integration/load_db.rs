//! Loader integration tests against the real local PostgreSQL (a fresh database per test):
//! migrations, idempotence, quarantine, failed pages, manifests and deletions, views, and the
//! order-proof property (random permutations + duplications converge to in-order delivery).

use crate::load_support;
use crate::pg_cluster;

use load_support::round_trips::RoundTrips;
use load_support::*;
use pg_cluster::PgCluster as TlsServer;
use serde_json::{json, Value};
use shared::db;
use shared::landing::Mode;
use shared::load::queue::{Ledger, BARRIER_EVERY};
use shared::load::tables::{all_cols, Kind, TYPED};
use shared::load::{load_manifest, LoadError, LoadOptions, ManifestOutcome, PageOutcome};
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::Client;

const T: &str = "acme";

/// One page holding one sale: the smallest page the loader takes.
fn one_sale_page(run: &shared::landing::RunId, mode: Mode) -> Page {
    page(T, "/vendas", run, 1, mode, envelope(&[venda(1, 1)], 1))
}

/// A full run of `/vendas` holding `rows`, in pages of 5: its pages delivered, then its
/// manifest; what applying the manifest did, and the manifest (key, body).
async fn full_run_of_vendas(
    c: &mut Client,
    run: &shared::landing::RunId,
    rows: &[Value],
) -> (ManifestOutcome, (String, Vec<u8>)) {
    let pages = run_pages(T, "/vendas", run, Mode::Full, rows, 5);
    for p in &pages {
        deliver(c, p).await;
    }
    let (key, body) = manifest(&pages, Mode::Full);
    let applied = load_manifest(c, &key, &body).await.unwrap();
    (applied, (key, body))
}

fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "bigint",
        Kind::Num => "numeric",
        Kind::Bool => "boolean",
        Kind::Ts => "timestamp without time zone",
        Kind::Date => "date",
    }
}

#[tokio::test]
async fn migrations_from_empty_and_reapplied_as_noop() {
    let mut t = TestDb::empty("load_mig").await;
    let first = db::migrate(t.client()).await.unwrap();
    assert_eq!(first.applied.len(), db::MIGRATIONS.len());
    let again = db::migrate(t.client()).await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.already.len(), db::MIGRATIONS.len());

    // The typed tables have exactly the columns and types of `load::tables`.
    let cols: HashMap<(String, String), String> = t
        .client()
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'cvdw'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let assert_column = |table: &str, column: &str, kind: Kind| {
        let found = cols.get(&(table.to_string(), column.to_string()));
        let expected = sql_type(kind);
        assert_eq!(
            found.map(String::as_str),
            Some(expected),
            "cvdw.{table}.{column}"
        );
    };
    for table in TYPED {
        for c in all_cols(table) {
            assert_column(table.table, c.name, c.kind);
        }
        if let Some(ch) = table.child {
            for c in ch.cols {
                assert_column(ch.table, c.name, c.kind);
            }
        }
    }
    t.drop().await;

    // Two cold starts migrating at once: the advisory lock serialises them; both succeed.
    let mut t2 = TestDb::empty("load_mig2").await;
    let mut other = db::Db::connect(&t2.config).await.unwrap();
    let (a, b) = tokio::join!(db::migrate(t2.db.client()), db::migrate(other.client()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.applied.len() + b.applied.len(), db::MIGRATIONS.len());
    drop(other);
    t2.drop().await;
}

#[tokio::test]
async fn same_page_twice_gives_an_identical_db() {
    let mut t = TestDb::migrated("load_twice").await;
    let run = run_id(0, 1);
    let rows: Vec<Value> = (1..=12).map(|i| venda(i, 1)).collect();
    let p = &run_pages(T, "/vendas", &run, Mode::Incremental, &rows, 500)[0];
    let PageOutcome::Loaded(r) = deliver(t.client(), p).await else {
        panic!("first delivery must load")
    };
    assert_eq!((r.rows, r.loaded, r.rejected), (12, 12, 0));
    let before = dump(t.client()).await;
    assert_eq!(before["cvdw.vendas"].len(), 12);
    assert!(!before["cvdw.vendas_associados"].is_empty());
    assert!(matches!(
        deliver(t.client(), p).await,
        PageOutcome::Duplicate { .. }
    ));
    assert_eq!(dump(t.client()).await, before);
    // A forced reload re-applies the same observation: same tables.
    let forced = load_with(t.client(), p, LoadOptions { force: true })
        .await
        .unwrap();
    assert!(matches!(forced, PageOutcome::Loaded(_)));
    assert_eq!(dump(t.client()).await, before);
    let loads: i32 = scalar(
        t.client(),
        "SELECT loads FROM etl.pages WHERE source_key = $1",
        &[&p.key],
    )
    .await;
    assert_eq!(loads, 2);
    t.drop().await;
}

/// A test database whose loader connection goes through a [`RoundTrips`] proxy.
struct Counted {
    test: TestDb,
    wire: RoundTrips,
    db: db::Db,
}

impl Counted {
    async fn migrated(prefix: &str) -> Counted {
        let test = TestDb::migrated(prefix).await;
        let target = test.config.tcp_address().expect("a TCP server");
        let wire = RoundTrips::start(target).await;
        let db = db::Db::connect(&test.config.via("127.0.0.1", wire.port))
            .await
            .expect("connect through the proxy");
        Counted { test, wire, db }
    }

    /// Deliver a page expected to load in one round trip (`one`) or step by step, and check
    /// it on the wire: in one round trip, the client sent its whole transaction without
    /// waiting for an answer (the proxy held every answer back until `COMMIT`); step by step,
    /// it waited, making more than one flight. The loader's own report must agree.
    async fn deliver(&mut self, p: &Page, one: bool) -> PageOutcome {
        self.wire.hold_transactions(one);
        let before = self.wire.flights();
        let out = deliver(self.db.client(), p).await;
        let flights = self.wire.flights() - before;
        let waited = self.wire.waited();
        self.wire.hold_transactions(false);
        if one {
            assert!(
                !waited,
                "{}: the client waited inside its transaction",
                p.key
            );
        } else {
            assert!(flights > 1, "{}: step by step in {flights} flight", p.key);
        }
        let reported = match &out {
            PageOutcome::Loaded(r) => r.one_round_trip,
            PageOutcome::Duplicate { key } => panic!("{key}: expected a load, got a duplicate"),
        };
        assert_eq!(reported, one, "{}: the loader's own report", p.key);
        out
    }

    async fn drop(self) {
        drop(self.db);
        self.test.drop().await;
    }
}

/// The usual page goes to the server in one round trip; a late page, a page that completes a
/// pending manifest and a stale cached row layout each take their detour, and the tables are
/// those of in-order delivery. Round trips are counted on the wire, by a proxy.
#[tokio::test]
async fn usual_pages_load_in_one_round_trip_and_the_unusual_ones_step_by_step() {
    let mut t = Counted::migrated("load_paths").await;
    let (r1, r2) = (run_id(0, 0x10), run_id(1, 0x20));
    let rows1: Vec<Value> = (1..=10).map(|i| venda(i, 1)).collect();
    let rows2: Vec<Value> = (1..=10).map(|i| venda(i, 2)).collect();
    let p1 = run_pages(T, "/vendas", &r1, Mode::Full, &rows1, 5);
    let p2 = run_pages(T, "/vendas", &r2, Mode::Full, &rows2, 5);
    let (mk2, mb2) = manifest(&p2, Mode::Full);

    // Run 2's first page, then run 2's manifest (pending: its last page is missing).
    t.deliver(&p2[0], true).await;
    assert!(matches!(
        load_manifest(t.db.client(), &mk2, &mb2).await.unwrap(),
        ManifestOutcome::Pending { missing: 1 }
    ));
    // The page that completes it applies it, under the exclusive lock: step by step.
    let last = t.deliver(&p2[1], false).await;
    assert!(matches!(&last, PageOutcome::Loaded(r) if r.manifests_applied == 1));
    // Run 1 arrives late: older than every stored row, so step by step.
    let late = t.deliver(&p1[0], false).await;
    assert!(matches!(&late, PageOutcome::Loaded(r) if r.newest == 0 && r.loaded == 5));
    t.deliver(&p1[1], false).await;
    let (mk1, mb1) = manifest(&p1, Mode::Full);
    load_manifest(t.db.client(), &mk1, &mb1).await.unwrap();
    let got = dump(t.db.client()).await;

    // In order, in another database: every page in one round trip, though the row layout
    // cached from the first database is not this one's (the guard says so; it is re-read).
    let mut u = Counted::migrated("load_paths_in_order").await;
    for p in p1.iter().chain(&p2) {
        u.deliver(p, true).await;
    }
    load_manifest(u.db.client(), &mk1, &mb1).await.unwrap();
    load_manifest(u.db.client(), &mk2, &mb2).await.unwrap();
    assert_eq!(dump(u.db.client()).await, got);
    // And back to the first database: its layout is read again, one round trip still.
    let r3 = run_id(2, 0x30);
    let p3 = run_pages(T, "/vendas", &r3, Mode::Incremental, &rows2[..3], 5);
    t.deliver(&p3[0], true).await;
    t.drop().await;
    u.drop().await;
}

/// Numerics travel in `numeric`'s binary form, encoded by the loader from the digits as sent
/// (`shared::load::wire`): every one must read back as PostgreSQL's own parse of that text.
#[tokio::test]
async fn numerics_keep_the_digits_they_were_sent_with() {
    let mut t = TestDb::migrated("load_numeric").await;
    let numbers = [
        "0",
        "-0",
        "0.00",
        "150000.50",
        "-62.35",
        "0.0001",
        "0.00012",
        "10000",
        "99999999",
        "9999.9999",
        "1e21",
        "1E+3",
        "1.5e-7",
        "123.456e2",
        "-1.25E-2",
        "1e400",
        "12345678901234567890.123456789",
        "0.1",
        "100000000.00000001",
    ];
    let rows: Vec<String> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| format!(r#"{{"idreserva":{},"valor_contrato":{n}}}"#, i + 1))
        .chain([
            // Strings take the numeric-string rules (§5), then the same encoding.
            r#"{"idreserva":100,"valor_contrato":"1.234,56"}"#.to_string(),
            r#"{"idreserva":101,"valor_contrato":" 9999.99 "}"#.to_string(),
        ])
        .collect();
    let body = format!(r#"{{"pagina":1,"dados":[{}]}}"#, rows.join(","));
    let p = page(
        T,
        "/vendas",
        &run_id(0, 1),
        1,
        Mode::Incremental,
        body.into_bytes(),
    );
    match deliver(t.client(), &p).await {
        PageOutcome::Loaded(r) => assert_eq!((r.loaded, r.rejected), (21, 0), "{r:?}"),
        other => panic!("{other:?}"),
    }
    let c = t.client();
    let got = c
        .query(
            "SELECT idreserva, valor_contrato::text, (payload->>'valor_contrato') \
             FROM cvdw.vendas WHERE tenant = $1 AND idreserva < 100 ORDER BY idreserva",
            &[&T],
        )
        .await
        .unwrap();
    assert_eq!(got.len(), numbers.len());
    for (r, sent) in got.iter().zip(numbers) {
        let expected: String = scalar(c, "SELECT $1::text::numeric::text", &[&sent]).await;
        assert_eq!(r.get::<_, String>(1), expected, "sent {sent}");
    }
    let strings: Vec<String> = column(
        c,
        "SELECT valor_contrato::text FROM cvdw.vendas WHERE idreserva >= 100 ORDER BY idreserva",
    )
    .await;
    assert_eq!(strings, ["1234.56", "9999.99"]);
    t.drop().await;
}

#[tokio::test]
async fn bad_rows_are_quarantined_and_the_rest_loads() {
    let mut t = TestDb::migrated("load_bad").await;
    let run = run_id(0, 2);
    let mut text_in_number = venda(2, 1);
    text_in_number["valor_contrato"] = json!("cento e cinquenta mil");
    let mut bad_date = venda(3, 1);
    bad_date["data_venda"] = json!("2026-02-31 25:00:00");
    let mut no_key = venda(4, 1);
    no_key.as_object_mut().unwrap().remove("idreserva");
    let mut inactive = venda(5, 1);
    inactive["ativo"] = json!("N");
    let rows = vec![venda(1, 1), text_in_number, bad_date, no_key, inactive];
    let p = &run_pages(T, "/vendas", &run, Mode::Incremental, &rows, 500)[0];
    let PageOutcome::Loaded(r) = deliver(t.client(), p).await else {
        panic!()
    };
    // The row without an id is not quarantined: it lands under a derived key.
    assert_eq!((r.rows, r.loaded, r.rejected), (5, 3, 2));
    let c = t.client();
    let rej = c
        .query(
            "SELECT row_index, natural_key, reason, raw FROM etl.rejected_rows WHERE source_key = $1 ORDER BY row_index",
            &[&p.key],
        )
        .await
        .unwrap();
    let got: Vec<(i32, Option<String>, String)> =
        rej.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].0, got[0].1.as_deref()), (1, Some("2")));
    assert!(
        got[0].2.contains("valor_contrato") && got[0].2.contains("a number"),
        "{}",
        got[0].2
    );
    // The reason (which is also logged) names the field and the problem, not the value.
    assert!(!got[0].2.contains("cento"), "{}", got[0].2);
    assert_eq!((got[1].0, got[1].1.as_deref()), (2, Some("3")));
    assert!(got[1].2.contains("data_venda"), "{}", got[1].2);
    let derived: Vec<String> = column(
        t.client(),
        "SELECT key_source FROM cvdw.vendas WHERE natural_key LIKE 'derived:%'",
    )
    .await;
    assert_eq!(derived, ["derived"]);
    let c = t.client();
    // The raw row is kept as sent.
    let raw: Value = rej[0].get(3);
    assert_eq!(raw["valor_contrato"], json!("cento e cinquenta mil"));
    // Loaded rows: inactive kept with ativo = false; typed values; zero date → NULL.
    let rows = c
        .query(
            "SELECT natural_key, ativo, valor_contrato::text, data_venda IS NULL, aprovada, payload->>'cliente' FROM cvdw.vendas WHERE key_source = 'natural' ORDER BY natural_key",
            &[],
        )
        .await
        .unwrap();
    type Loaded = (String, Option<bool>, String, bool, Option<bool>, String);
    let v: Vec<Loaded> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    assert_eq!(
        v,
        vec![
            (
                "1".into(),
                Some(true),
                "151001.5".into(),
                false,
                Some(false),
                "Cliente 1".into()
            ),
            (
                "5".into(),
                Some(false),
                "155001.5".into(),
                true,
                Some(false),
                "Cliente 5".into()
            ),
        ]
    );
    t.drop().await;
}

#[tokio::test]
async fn a_page_that_is_not_json_is_recorded_as_failed_and_errors() {
    let mut t = TestDb::migrated("load_fail").await;
    let run = run_id(0, 3);
    for (n, body) in [
        (
            1,
            b"<html>Ocorreu um erro ao tentar executar essa a\xc3\xa7\xc3\xa3o.</html>".to_vec(),
        ),
        (2, b"{\n    \"Response\": \"Too many requests\"\n}".to_vec()),
        (3, b"{\"pagina\":1,\"dados\":{\"a\":1}}".to_vec()),
    ] {
        let p = page(T, "/vendas", &run, n, Mode::Incremental, body);
        let err = load_with(t.client(), &p, LoadOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, LoadError::BadPage { .. }), "{err}");
        assert!(!err.is_retryable());
    }
    // Metadata that disagrees with the body is a failed page too.
    let mut p = page(
        T,
        "/vendas",
        &run,
        4,
        Mode::Incremental,
        envelope(&[venda(1, 1)], 4),
    );
    p.meta.sha256 = "00".repeat(32);
    assert!(load_with(t.client(), &p, LoadOptions::default())
        .await
        .is_err());
    let c = t.client();
    let reasons: Vec<String> = column(c, "SELECT reason FROM etl.failed_pages ORDER BY id").await;
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons[0].starts_with("not JSON"), "{}", reasons[0]);
    assert!(reasons[1].contains("no `dados`"), "{}", reasons[1]);
    assert!(reasons[2].contains("not an array"), "{}", reasons[2]);
    assert!(reasons[3].contains("sha256"), "{}", reasons[3]);
    let ledger: i64 = scalar(c, "SELECT count(*) FROM etl.pages", &[]).await;
    assert_eq!(ledger, 0);
    t.drop().await;
}

async fn live_keys(c: &Client, table: &str) -> Vec<String> {
    let q = match table {
        "vendas" => "SELECT natural_key FROM cvdw.vendas WHERE deleted_at IS NULL",
        _ => "SELECT natural_key FROM cvdw.objects WHERE object = 'pessoas' AND deleted_at IS NULL",
    };
    let mut v: Vec<String> = column(c, q).await;
    v.sort_by_key(|k| k.parse::<i64>().unwrap_or_default());
    v
}

fn keys(r: std::ops::RangeInclusive<i64>) -> Vec<String> {
    r.map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn full_run_manifest_deletes_missing_rows_and_a_later_sighting_undeletes() {
    let mut t = TestDb::migrated("load_del").await;
    // These runs delete up to 3 of 8 rows: above the default sanity limit (20 %), which the
    // evidence tests cover. Here the deletions themselves are under test.
    t.allow_deletions(0.5).await;
    let c = t.client();
    // Run 1, full: 1..=10 in two pages.
    let r1 = run_id(0, 0x10);
    let rows1: Vec<Value> = (1..=10).map(|i| venda(i, 1)).collect();
    let (applied, (mk, mb)) = full_run_of_vendas(c, &r1, &rows1).await;
    assert_eq!(applied, ManifestOutcome::Applied { deleted: 0 });
    assert_eq!(
        load_manifest(c, &mk, &mb).await.unwrap(),
        ManifestOutcome::AlreadyApplied
    );

    // Run 2, full: 8, 9, 10 are gone.
    let r2 = run_id(1, 0x20);
    let rows2: Vec<Value> = (1..=7).map(|i| venda(i, 2)).collect();
    let (applied, _) = full_run_of_vendas(c, &r2, &rows2).await;
    assert_eq!(applied, ManifestOutcome::Applied { deleted: 3 });
    assert_eq!(live_keys(c, "vendas").await, keys(1..=7));
    let by: Vec<Option<String>> = column(
        c,
        "SELECT deleted_by_run FROM cvdw.vendas WHERE natural_key IN ('8','9','10')",
    )
    .await;
    assert!(by.iter().all(|b| b.as_deref() == Some(r2.as_str())));
    // The derived views exclude deleted rows (8, 9, 10 were in developments 3, 1, 2).
    let units: i64 = scalar(c, "SELECT count(*) FROM cvdw.vendas v JOIN cvdw.empreendimentos e USING (tenant, idempreendimento) WHERE v.deleted_at IS NULL", &[]).await;
    assert_eq!(units, 7);

    // Run 3, incremental: 9 is seen again → no longer deleted.
    let r3 = run_id(2, 0x30);
    let p3 = run_pages(T, "/vendas", &r3, Mode::Incremental, &[venda(9, 3)], 5);
    deliver(c, &p3[0]).await;
    let mut want = keys(1..=7);
    want.push("9".into());
    assert_eq!(live_keys(c, "vendas").await, want);

    // Run 4, full, manifest BEFORE its pages: pending until the last page arrives, which
    // applies it.
    let r4 = run_id(3, 0x40);
    let rows4: Vec<Value> = (1..=5).map(|i| venda(i, 4)).collect();
    let p4 = run_pages(T, "/vendas", &r4, Mode::Full, &rows4, 2);
    let (mk4, mb4) = manifest(&p4, Mode::Full);
    assert_eq!(
        load_manifest(c, &mk4, &mb4).await.unwrap(),
        ManifestOutcome::Pending { missing: 3 }
    );
    let mut applied = 0;
    for p in p4.iter().rev() {
        assert_eq!(
            live_keys(c, "vendas").await.len(),
            8,
            "nothing deleted while pending"
        );
        if let PageOutcome::Loaded(r) = deliver(c, p).await {
            applied += r.manifests_applied;
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(live_keys(c, "vendas").await, keys(1..=5));

    // A late page of the older run 3 (6 seen then) arrives after run 4 was applied: it stays
    // deleted (run 4 is newer than that sighting).
    let late = run_pages(T, "/vendas", &r3, Mode::Incremental, &[venda(6, 3)], 5);
    let mut late = late[0].clone();
    late.meta.page = 2;
    late.key = shared::load::canonical_key(shared::catalogue::find("vendas").unwrap(), &late.meta);
    deliver(c, &late).await;
    assert_eq!(live_keys(c, "vendas").await, keys(1..=5));
    let (by, payload_v): (Option<String>, i64) = {
        let r = c
            .query_one("SELECT deleted_by_run, (payload->>'idhistorico')::bigint FROM cvdw.vendas WHERE natural_key = '6'", &[])
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(by.as_deref(), Some(r4.as_str()));
    assert_eq!(
        payload_v, 63,
        "the late page is newer data for row 6 than run 2's"
    );

    // Generic objects reconcile the same way.
    // A full run of `/pessoas` holding the people of `ids`, at `version`.
    let people = |run, ids: std::ops::RangeInclusive<i64>, version| {
        let rows: Vec<Value> = ids.map(|i| pessoa(i, version)).collect();
        run_pages(T, "/pessoas", run, Mode::Full, &rows, 10)
    };
    let g1 = people(&r1, 1..=4, 1);
    let g2 = people(&r2, 2..=4, 2);
    for p in g1.iter().chain(&g2) {
        deliver(c, p).await;
    }
    let (gk, gb) = manifest(&g2, Mode::Full);
    assert_eq!(
        load_manifest(c, &gk, &gb).await.unwrap(),
        ManifestOutcome::Applied { deleted: 1 }
    );
    assert_eq!(live_keys(c, "pessoas").await, keys(2..=4));
    t.drop().await;
}

/// What arrives at the loader, in extraction order.
/// Four runs of two objects (typed `/vendas` with nested `associados`, generic `/pessoas`):
/// full, incremental (with an in-page duplicate and a bad row), full with deletions,
/// incremental with an un-deletion.
fn scenario() -> Vec<Item> {
    let mut items = Vec::new();
    let mut run = |day: i64, suffix: u32, mode: Mode, vendas: Vec<Value>, pessoas: Vec<Value>| {
        let r = run_id(day, suffix);
        for (path, rows, size) in [("/vendas", vendas, 6), ("/pessoas", pessoas, 5)] {
            let pages = run_pages(T, path, &r, mode, &rows, size);
            let (mk, mb) = manifest(&pages, mode);
            items.extend(pages.into_iter().map(Item::Page));
            items.push(Item::Manifest(mk, mb));
        }
    };
    run(
        0,
        1,
        Mode::Full,
        (1..=20).map(|i| venda(i, 1)).collect(),
        (1..=8).map(|i| pessoa(i, 1)).collect(),
    );
    let mut bad = venda(4, 2);
    bad["valor_contrato"] = json!("n/a");
    run(
        1,
        2,
        Mode::Incremental,
        vec![venda(3, 2), bad, venda(21, 2), venda(3, 3), venda(22, 2)],
        vec![pessoa(2, 2)],
    );
    run(
        2,
        3,
        Mode::Full,
        (1..=22)
            .filter(|i| ![5, 6, 7].contains(i))
            .map(|i| venda(i, if i % 2 == 0 { 4 } else { 1 }))
            .collect(),
        (1..=7).map(|i| pessoa(i, 3)).collect(),
    );
    run(
        3,
        4,
        Mode::Incremental,
        vec![venda(6, 5), venda(10, 5)],
        vec![pessoa(8, 5)],
    );
    items
}

/// A fresh database, the [`scenario`], and the dump of delivering it in order, once.
async fn in_order_scenario(prefix: &str) -> (TestDb, Vec<Item>, BTreeMap<String, Vec<String>>) {
    let mut t = TestDb::migrated(prefix).await;
    let items = scenario();
    for it in &items {
        deliver_item(t.client(), it).await;
    }
    let expected = dump(t.client()).await;
    (t, items, expected)
}

#[tokio::test]
async fn any_order_and_duplication_gives_the_in_order_db() {
    let (mut t, items, expected) = in_order_scenario("load_prop").await;
    // Sanity: the scenario exercises what it claims.
    assert_eq!(expected["cvdw.vendas"].len(), 22);
    assert!(
        expected["cvdw.vendas"]
            .iter()
            .filter(|r| r.contains("\"deleted_at\": null"))
            .count()
            == 20
    );
    assert_eq!(expected["etl.rejected_rows"].len(), 1);
    assert!(expected["cvdw.objects"]
        .iter()
        .all(|r| r.contains("\"deleted_at\": null")));

    assert_any_order_converges(t.client(), &items, &expected, 0..12u64, 0.3).await;
    t.drop().await;
}

/// The same property with four loaders delivering at once (the load Lambda's concurrency):
/// pages of one object load in parallel under the shared object lock, so this is what shows
/// that neither row locks nor the ledger let concurrent deliveries deadlock, fail or diverge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_loaders_give_the_in_order_db() {
    let (t, items, expected) = in_order_scenario("load_conc").await;
    assert_concurrent_delivery_converges(&t.config, &items, &expected, 0..16u64, 0.5, 4).await;
    t.drop().await;
}

/// The order-proof property through the loader with a queue (`cvdw replay`, `cvdw load`):
/// the shuffled, duplicated deliveries go through queues, a run of pages per queue, manifests
/// in between. Pipelined batches, deferred commits, and pages that leave the pipeline (late
/// pages, the page that completes a manifest) must still give the in-order database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_pages_in_any_order_give_the_in_order_db() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let (mut t, items, expected) = in_order_scenario("load_queue").await;
    let none = Ledger::default();
    let (mut pipelined, mut step_by_step) = (0, 0);
    for seed in 0..12u64 {
        let c = t.client();
        truncate_all(c).await;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let mut order: Vec<&Item> = items.iter().collect();
        for it in &items {
            if rng.random_bool(0.3) {
                order.push(it);
            }
        }
        order.shuffle(&mut rng);
        let mut run: Vec<Page> = Vec::new();
        for it in order.into_iter().map(Some).chain([None]) {
            match it {
                Some(Item::Page(p)) => {
                    run.push(p.clone());
                    continue;
                }
                Some(Item::Manifest(..)) | None => {}
            }
            let (reported, interrupted) = queue_pages(c, &run, &none).await;
            assert!(interrupted.is_empty(), "seed {seed}: {interrupted:?}");
            assert_eq!(
                reported.len(),
                run.len(),
                "seed {seed}: one outcome per page"
            );
            for (key, out) in reported {
                match out {
                    Ok(PageOutcome::Loaded(r)) if r.one_round_trip => pipelined += 1,
                    Ok(PageOutcome::Loaded(_)) => step_by_step += 1,
                    Ok(PageOutcome::Duplicate { .. }) => {}
                    Err(e) => panic!("seed {seed}: {key}: {e}"),
                }
            }
            run.clear();
            if let Some(Item::Manifest(k, b)) = it {
                load_manifest(c, k, b).await.unwrap();
            }
        }
        let got = dump(c).await;
        for (table, rows) in &expected {
            assert_eq!(&got[table], rows, "seed {seed}: {table} differs");
        }
    }
    // The property covered both ways out of a queue.
    assert!(
        pipelined > 20 && step_by_step > 20,
        "{pipelined} {step_by_step}"
    );
    t.drop().await;
}

/// Vendas pages of three runs, in order: for the queue tests.
fn three_runs() -> Vec<Page> {
    (0..3i64)
        .flat_map(|day| {
            let rows: Vec<Value> = (1..=50).map(|i| venda(i, day + 1)).collect();
            run_pages(
                T,
                "/vendas",
                &run_id(day, 0x40 + day as u32),
                Mode::Incremental,
                &rows,
                5,
            )
        })
        .collect()
}

/// A queue run again over pages the ledger has sends none of them: every page is a duplicate
/// found in the ledger read before, and nothing is written.
#[tokio::test]
async fn a_queue_skips_what_the_ledger_has() {
    let mut t = TestDb::migrated("load_queue_ledger").await;
    let pages = three_runs();
    let (first, interrupted) = queue_pages(t.client(), &pages, &Ledger::default()).await;
    assert!(interrupted.is_empty());
    assert!(first
        .iter()
        .all(|(_, o)| matches!(o, Ok(PageOutcome::Loaded(_)))));
    let before = dump(t.client()).await;
    let keys: Vec<String> = pages.iter().map(|p| p.key.clone()).collect();
    let ledger = Ledger::read(t.client(), &keys).await.unwrap();
    let (again, interrupted) = queue_pages(t.client(), &pages, &ledger).await;
    assert!(interrupted.is_empty());
    assert_eq!(again.len(), pages.len());
    assert!(again
        .iter()
        .all(|(_, o)| matches!(o, Ok(PageOutcome::Duplicate { .. }))));
    assert_eq!(dump(t.client()).await, before);
    let loads: Vec<i64> = column(t.client(), "SELECT sum(loads)::int8 FROM etl.pages").await;
    assert_eq!(loads, vec![pages.len() as i64], "no page was loaded twice");
    t.drop().await;
}

/// The queue's connection is killed mid-stream. Pages whose commits were not yet made durable
/// by a barrier are not reported as loaded but handed back, with the pages in flight; loading
/// them again on a fresh connection and going on with the same stream gives the database of
/// in-order delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_hands_back_every_page_not_known_durable() {
    use futures::StreamExt;
    let mut t = TestDb::migrated("load_queue_kill").await;
    let pages = three_runs();
    for p in &pages {
        deliver(t.client(), p).await;
    }
    let expected = dump(t.client()).await;
    truncate_all(t.client()).await;

    let mut killer = shared::db::Db::connect(&t.config).await.unwrap();
    let pid = backend_pid(t.client()).await;
    let kill_at = pages[12].key.clone();
    let killer: &Client = killer.client();
    let stream = futures::stream::iter(pages.iter()).then(|p| {
        let kill = p.key == kill_at;
        async move {
            if kill {
                killer
                    .execute("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .unwrap();
            }
            queued(p)
        }
    });
    let mut stream = std::pin::pin!(stream);
    let (reported, interrupted) = run_queue(t.client(), &mut stream, &Ledger::default()).await;
    // Fewer pages than a barrier's worth came before the kill: none was confirmed.
    const { assert!(12 < BARRIER_EVERY) };
    assert!(reported.is_empty(), "{reported:?}");
    let handed_back: Vec<&str> = interrupted.iter().map(|(k, _)| k.as_str()).collect();
    let upto: Vec<&str> = pages[..=12].iter().map(|p| p.key.as_str()).collect();
    for k in &upto {
        assert!(
            handed_back.contains(k),
            "{k} was neither reported nor handed back"
        );
    }
    assert!(interrupted.iter().all(|(_, e)| e.is_retryable()));

    t.db.reconnect().await.unwrap();
    for (key, _) in &interrupted {
        let p = pages.iter().find(|p| &p.key == key).unwrap();
        deliver(t.client(), p).await;
    }
    let (reported, rest) = run_queue(t.client(), &mut stream, &Ledger::default()).await;
    assert!(rest.is_empty());
    assert_eq!(reported.len() + interrupted.len(), pages.len());
    assert_eq!(dump(t.client()).await, expected);
    t.drop().await;
}

/// A batch whose statement cannot be encoded stops there, and its ROLLBACK is queued in the
/// same poll: a batch pipelined right behind it runs in its own transaction, not inside the
/// one the first batch left open (whose COMMIT would then have committed both).
#[tokio::test]
async fn a_batch_that_cannot_be_sent_whole_rolls_back_before_the_next() {
    use shared::load::pipeline::{command, run, statement};
    use tokio_postgres::types::{IsNull, ToSql, Type};
    #[derive(Debug)]
    struct Unencodable;
    impl ToSql for Unencodable {
        fn to_sql(
            &self,
            _: &Type,
            _: &mut bytes::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            Err("cannot encode".into())
        }
        fn accepts(_: &Type) -> bool {
            true
        }
        tokio_postgres::types::to_sql_checked!();
    }
    let mut t = TestDb::migrated("load_pipeline").await;
    let c: &Client = t.client();
    c.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    let bad = Unencodable;
    let first = run(
        vec![
            command(c, "BEGIN"),
            statement(c, "INSERT INTO t VALUES (1)", vec![]),
            statement(c, "INSERT INTO t VALUES ($1)", vec![(&bad, Type::INT4)]),
            command(c, "COMMIT"),
        ],
        Some(command(c, "ROLLBACK")),
    );
    let mut first = Box::pin(first);
    // One poll puts the batch on the wire, as the queue does before sending the next one.
    assert!(futures::poll!(first.as_mut()).is_pending());
    let second = run(
        vec![
            command(c, "BEGIN"),
            statement(c, "INSERT INTO t VALUES (2)", vec![]),
            command(c, "COMMIT"),
        ],
        None,
    );
    let (first, second) = futures::join!(first, second);
    let failed = first.expect_err("the first batch cannot be sent");
    assert!(failed.rest_unsent);
    assert!(second.is_ok());
    assert_eq!(
        column::<i32, Vec<i32>>(c, "SELECT x FROM t ORDER BY x").await,
        vec![2]
    );
    t.drop().await;
}

/// The statements that take a page's keys as an array (children replaced, the keys a page
/// won, the bookkeeping of a late page) must find them by index or hash under the generic plan
/// every one-round-trip transaction forces, on a table that has grown without statistics (a
/// first load, a replay into a fresh database). Written as `natural_key = ANY(…)`, the planner
/// assumed 10 keys and tested each of the tenant's rows against all 500: 18–28 ms per
/// statement at 3 000 rows, growing with the table.
#[tokio::test]
async fn key_lists_are_joined_not_tested_against_every_row() {
    let mut t = TestDb::migrated("load_plans").await;
    let c = t.client();
    c.batch_execute(
        "INSERT INTO cvdw.vendas (tenant, natural_key, payload, first_seen_run, last_seen_run, \
           fetched_at, run_id, page, source_key) \
         SELECT 'acme', i::text, '{}', 'r', 'r', now(), 'r', 1, 'k' FROM generate_series(1, 3000) i; \
         INSERT INTO cvdw.vendas_associados (tenant, natural_key, ordinal, payload) \
         SELECT 'acme', i::text, 0, '{}' FROM generate_series(1, 3000) i; \
         SET plan_cache_mode = force_generic_plan",
    )
    .await
    .unwrap();
    let stmts = shared::load::sql::for_object(shared::load::tables::typed("vendas"));
    let keys = "'{2,3,5,7,11,13,17,19,23,29,31,37,41,43,47,53,59,61,67,71}'";
    let cases = [
        (
            stmts.child_delete.clone().unwrap(),
            format!("'acme', {keys}"),
        ),
        (stmts.took.clone(), format!("'acme', 'r', now(), 1, {keys}")),
        (stmts.seen.clone(), format!("'acme', 'r', {keys}, 'vendas'")),
    ];
    for (i, (sql, args)) in cases.iter().enumerate() {
        // Test code: the statements are the loader's own text, the arguments constants.
        c.batch_execute(&format!("PREPARE s{i} AS {sql}"))
            .await
            .unwrap();
        let plan: Vec<String> = column(c, &format!("EXPLAIN EXECUTE s{i}({args})")).await;
        assert!(
            !plan.iter().any(|l| l.contains("ANY")),
            "{sql}\n{}",
            plan.join("\n")
        );
    }
    t.drop().await;
}

#[tokio::test]
async fn derived_views() {
    let mut t = TestDb::migrated("load_views").await;
    let c = t.client();
    let r = run_id(0, 0x77);
    let unidades = vec![
        json!({"referencia": 1, "referencia_data": "2026-10-01 10:00:00", "idunidade": "1", "idempreendimento": 9, "nome_empreendimento": "Varandas", "etapa": "A", "bloco": "B1", "tipologia": "2 quartos", "area_privativa": "55.20", "valor": "300000.00", "data_entrega": "01/01/2027", "plantas": [{"idplanta": 1, "nome": "Planta A"}]}),
        json!({"referencia": 2, "referencia_data": "2026-10-01 10:00:00", "idunidade": "2", "idempreendimento": 9, "nome_empreendimento": "Varandas", "etapa": "A", "bloco": "B2", "tipologia": "3 quartos", "area_privativa": 80, "valor": 450000, "plantas": []}),
    ];
    let reservas = vec![
        json!({"referencia": "100", "idreserva": 100, "ativo": "S", "valor_contrato": 300000, "valor_financiamento": 200000, "valor_fgts": 20000, "valor_subsidio": 0, "idempreendimento": 9, "empreendimento": "Varandas", "venda": "Sim"}),
        json!({"referencia": "101", "idreserva": 101, "ativo": "S", "valor_contrato": 450000, "valor_financiamento": 300000, "valor_fgts": null, "valor_subsidio": "", "venda": "Não"}),
    ];
    let condicoes = vec![
        json!({"referencia": "1", "idreservascondicoes": 1, "idreserva": 100, "serie": "Ato", "valor": 10000, "ativo": "S", "vencimento": "2026-11-01"}),
        json!({"referencia": "2", "idreservascondicoes": 2, "idreserva": 100, "serie": "Mensais", "valor": 60000, "ativo": "S"}),
        json!({"referencia": "3", "idreservascondicoes": 3, "idreserva": 100, "serie": "Financiamento", "valor": 200000, "ativo": "S"}),
        json!({"referencia": "4", "idreservascondicoes": 4, "idreserva": 100, "serie": "FGTS", "valor": 20000, "ativo": "S"}),
        json!({"referencia": "5", "idreservascondicoes": 5, "idreserva": 100, "serie": "Subsídio", "valor": 10000, "ativo": "S"}),
    ];
    for (path, rows) in [
        ("/unidades", unidades),
        ("/reservas", reservas),
        ("/reservas/condicoes", condicoes),
    ] {
        for p in run_pages(T, path, &r, Mode::Full, &rows, 500) {
            let PageOutcome::Loaded(rep) = deliver(c, &p).await else {
                panic!()
            };
            assert_eq!(rep.rejected, 0, "{path}");
        }
    }
    let e = c
        .query_one(
            "SELECT nome, unidades, blocos FROM cvdw.empreendimentos WHERE idempreendimento = 9",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            e.get::<_, String>(0),
            e.get::<_, i64>(1),
            e.get::<_, i64>(2)
        ),
        ("Varandas".into(), 2, 2)
    );
    let tip: i64 = scalar(c, "SELECT count(*) FROM cvdw.tipologia_unidades", &[]).await;
    assert_eq!(tip, 2);
    let plantas: i64 = scalar(c, "SELECT count(*) FROM cvdw.unidades_plantas", &[]).await;
    assert_eq!(plantas, 1);
    let vr: i64 = scalar(c, "SELECT count(*) FROM cvdw.valores_reservas", &[]).await;
    assert_eq!(vr, 5);
    let ps: Vec<(i64, String, String)> = rows(
        c,
        "SELECT idreserva, valor_prosoluto::text, origem FROM cvdw.prosoluto ORDER BY idreserva",
        &[],
    )
    .await;
    assert_eq!(
        ps,
        vec![
            (100, "70000".into(), "condicoes".into()),
            (101, "150000".into(), "reserva".into())
        ]
    );
    t.drop().await;
}

#[tokio::test]
async fn a_closed_connection_is_reestablished() {
    let mut t = TestDb::migrated("load_reconnect").await;
    let pid = backend_pid(t.client()).await;
    // The server ends the session (idle purge, failover): the next use notices and reconnects.
    let mut admin = db::Db::connect(&t.admin).await.unwrap();
    admin
        .client()
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    for _ in 0..50 {
        if t.client().is_closed() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(t.client().is_closed());
    t.db.ensure_connected().await.unwrap();
    let p = one_sale_page(&run_id(0, 9), Mode::Incremental);
    let loaded = deliver(t.client(), &p).await;
    assert!(matches!(loaded, PageOutcome::Loaded(_)), "{loaded:?}");
    drop(admin);
    t.drop().await;
}

#[tokio::test]
async fn tls_with_channel_binding_as_neon_urls_ask() {
    let server = match TlsServer::start() {
        Ok(server) => server,
        Err(why) => return pg_cluster::missing("tls_with_channel_binding_as_neon_urls_ask", &why),
    };
    let ca = server.dir.path().join("ca.crt");
    let url = format!(
        "postgresql://postgres:s3cr3t-pw@127.0.0.1:{}/postgres?sslmode=require&channel_binding=require&sslrootcert={}",
        server.port,
        ca.display()
    );
    let cfg = db::DbConfig::from_url(&url).unwrap();
    assert!(cfg.uses_tls());
    assert!(!format!("{cfg:?}").contains("s3cr3t-pw"));
    let mut conn = db::Db::connect(&cfg).await.unwrap();
    let row = conn
        .client()
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the session is encrypted");
    // Channel binding was used, as the server saw it: through a TLS man in the middle (its
    // own certificate, from the same CA) the server refuses the login bound to the certificate
    // the client saw; the same relay passes a login without binding, so the refusal is the
    // binding's.
    let mitm = pg_cluster::mitm::Mitm::start(&server).await;
    let relayed = |binding: &str| {
        format!(
            "postgresql://postgres:s3cr3t-pw@127.0.0.1:{}/postgres?sslmode=require&channel_binding={binding}&sslrootcert={}",
            mitm.port,
            ca.display()
        )
    };
    let mut unbound = db::Db::connect(&db::DbConfig::from_url(&relayed("disable")).unwrap())
        .await
        .expect("the relay passes a login without channel binding");
    unbound.client().query_one("SELECT 1", &[]).await.unwrap();
    let refused = db::Db::connect(&db::DbConfig::from_url(&relayed("require")).unwrap())
        .await
        .err()
        .expect("a bound login through the relay is refused");
    assert!(!format!("{refused} {refused:?}").contains("s3cr3t-pw"));
    assert!(
        server.log().contains("SCRAM channel binding check failed"),
        "the server checked the binding:\n{}",
        server.log()
    );
    // The whole loader path works over it.
    db::migrate(conn.client()).await.unwrap();
    let p = one_sale_page(&run_id(0, 0x71), Mode::Full);
    let loaded = deliver(conn.client(), &p).await;
    assert!(matches!(loaded, PageOutcome::Loaded(_)), "{loaded:?}");
    // Without the private CA the certificate is refused; the error does not leak the password.
    let no_ca = format!(
        "postgresql://postgres:s3cr3t-pw@127.0.0.1:{}/postgres?sslmode=verify-full&channel_binding=require",
        server.port
    );
    let err = db::Db::connect(&db::DbConfig::from_url(&no_ca).unwrap())
        .await
        .err()
        .expect("untrusted certificate");
    let msg = format!("{err} {err:?}");
    assert!(!msg.contains("s3cr3t-pw"), "{msg}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");
}

#[tokio::test]
async fn cvdw_load_reads_pages_and_manifests_from_disk() {
    use cvdw_cli::load::{load_files, DbArgs, LoadArgs};
    let mut t = TestDb::migrated("load_cli").await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_id(0, 0xd15c);
    let pages = run_pages(
        T,
        "/vendas",
        &run,
        Mode::Full,
        &(1..=6).map(|i| venda(i, 1)).collect::<Vec<_>>(),
        4,
    );
    // Page 1 in the landing-zone layout (metadata from the path), page 2 anywhere with a
    // sidecar, and the manifest under manifests/.
    let p1 = dir.path().join(&pages[0].key);
    std::fs::create_dir_all(p1.parent().unwrap()).unwrap();
    std::fs::write(&p1, &pages[0].body).unwrap();
    let p2 = dir.path().join("elsewhere/page-two.json");
    std::fs::create_dir_all(p2.parent().unwrap()).unwrap();
    std::fs::write(&p2, &pages[1].body).unwrap();
    std::fs::write(
        dir.path().join("elsewhere/page-two.json.meta.json"),
        serde_json::to_vec(&pages[1].meta).unwrap(),
    )
    .unwrap();
    let (mk, mb) = manifest(&pages, Mode::Full);
    let mp = dir.path().join(&mk);
    std::fs::create_dir_all(mp.parent().unwrap()).unwrap();
    std::fs::write(&mp, mb).unwrap();
    let url = url_for(t.config.dbname().unwrap());
    let args = || LoadArgs {
        db: DbArgs {
            database_url: Some(url.clone()),
        },
        paths: vec![dir.path().to_path_buf()],
        tenant: None,
        object: None,
        run_id: None,
        page: None,
        fetched_at: None,
        mode: "full".into(),
        force: false,
    };
    load_files(args()).await.unwrap();
    // Both pages land under their canonical keys; the manifest was applied.
    let (n, keys, applied): (i64, i64, i64) = {
        let r = t
            .client()
            .query_one(
                "SELECT (SELECT count(*) FROM cvdw.vendas), (SELECT count(*) FROM etl.pages WHERE source_key = ANY($1)), \
                 (SELECT count(*) FROM etl.manifests WHERE applied_at IS NOT NULL)",
                &[&vec![pages[0].key.clone(), pages[1].key.clone()]],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((n, keys, applied), (6, 2, 1));
    let before = dump(t.client()).await;
    load_files(args()).await.unwrap();
    assert_eq!(dump(t.client()).await, before);
    t.drop().await;
}

/// The typed tables of `shared/src/load/tables.rs` and the migrations describe the same
/// columns: every column the loader writes exists in the database with the type its kind
/// means (migration 0002 and the loader's module docs cite this test by name).
#[tokio::test]
async fn load_schema() {
    let mut t = TestDb::migrated("load_schema").await;
    let c = t.client();
    let mut checked = 0;
    for table in TYPED {
        let mut tables = vec![(table.table, all_cols(table).collect::<Vec<_>>())];
        if let Some(ch) = &table.child {
            tables.push((ch.table, ch.cols.iter().collect()));
        }
        for (name, cols) in tables {
            let got: std::collections::HashMap<String, String> = rows(
                c,
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = 'cvdw' AND table_name = $1",
                &[&name],
            )
            .await;
            assert!(got.contains_key("natural_key"), "cvdw.{name} is missing");
            for col in cols {
                assert_eq!(
                    got.get(col.name).map(String::as_str),
                    Some(sql_type(col.kind)),
                    "cvdw.{name}.{}",
                    col.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "{checked} columns");
    t.drop().await;
}
