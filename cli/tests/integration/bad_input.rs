//! Bad input, one table: every malformed input class the pipeline can meet, driven through the
//! real paths (`shared::load::load_page` on real PostgreSQL, the S3 event handler over the real
//! S3 protocol, the CVDW client over real HTTP), each giving a clear error — what and where —
//! and losing nothing else: the other rows of the page and the other pages load, a good page
//! loaded first stays intact, and every failure is recorded (`etl.failed_pages` for pages,
//! `etl.rejected_rows` for rows).

use crate::load_support;

use load_support::*;
use serde_json::{json, Value};
use shared::catalogue;
use shared::cvdw::{ClientConfig, CvdwClient, CvdwError, Pacer, PacerConfig, PageRequest};
use shared::extract::{drive, NoDeadline, Quiet, RunSettings, TenantJob};
use shared::landing::{Mode, RunId};
use shared::load::event::{handle_key, handle_s3_event, object_created_event, KeyOutcome};
use shared::load::{LoadError, LoadOptions, PageOutcome};
use shared::store::ObjectStore;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;

const TENANT: &str = "bad-input";

/// What a case must do.
#[derive(Debug)]
enum Expect {
    /// The page is refused as a whole: `LoadError::BadPage` (permanent), one `etl.failed_pages`
    /// row, and the error and the recorded reason contain every one of these.
    PageFails(&'static [&'static str]),
    /// The page loads; the row at this index of `dados` is quarantined with a reason containing
    /// the text; the good rows around it load.
    RowRejected(&'static str),
    /// The page loads whole, the odd row included (checked by the case's own assertion).
    Loads,
}

/// One bad input. Row-level cases put `row` between two good rows; page-level cases give the
/// whole body.
struct Case {
    name: &'static str,
    object: &'static str,
    input: Input,
    expect: Expect,
}

enum Input {
    /// The whole page body.
    Body(Vec<u8>),
    /// One row (raw JSON bytes, so that invalid UTF-8 can be sent), `{id}` replaced by the
    /// case's id, placed between two good rows.
    Row(Vec<u8>),
    /// A good page whose metadata is then altered.
    Meta(fn(&mut Page)),
}

fn row(s: &str) -> Input {
    Input::Row(s.as_bytes().to_vec())
}

fn body(s: &str) -> Input {
    Input::Body(s.as_bytes().to_vec())
}

/// Ten megabytes of `dados`: 500 rows of ~20 KB each.
fn ten_mb_page() -> Vec<u8> {
    let rows: Vec<Value> = (0..500)
        .map(|i| {
            let mut v = venda(900_000 + i, 1);
            v["observacoes"] = json!("x".repeat(20 * 1024));
            v
        })
        .collect();
    envelope(&rows, 1)
}

fn cases() -> Vec<Case> {
    let v = |name, input, expect| Case {
        name,
        object: "/vendas",
        input,
        expect,
    };
    let mut truncated = envelope(&[venda(1, 1), venda(2, 1)], 1);
    truncated.truncate(truncated.len() / 2);
    let mut binary = vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00];
    binary.extend((0u8..=255).cycle().take(4000));
    let mut ten_mb_garbage = b"<html><body>".to_vec();
    ten_mb_garbage.resize(10 * 1024 * 1024, b'x');
    let deep = format!(
        "{{\"idreserva\":{{id}},\"x\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    vec![
        // --- The envelope ---
        v(
            "an HTML error page",
            body("<html><body>Ocorreu um erro</body></html>"),
            Expect::PageFails(&["not JSON", "line 1 column 1"]),
        ),
        v("an empty body", body(""), Expect::PageFails(&["not JSON", "EOF"])),
        v(
            "binary bytes (a gzip body stored as is)",
            Input::Body(binary),
            Expect::PageFails(&["not JSON"]),
        ),
        v(
            "truncated JSON",
            Input::Body(truncated),
            Expect::PageFails(&["not JSON", "EOF while parsing"]),
        ),
        v(
            "the throttle notice as a 200",
            body(r#"{"Response":"Too many requests"}"#),
            Expect::PageFails(&["not a CVDW envelope", "no `dados`", "Response"]),
        ),
        v(
            "an error object instead of an envelope",
            body(r#"{"mensagem":"Erro inesperado","codigo":422}"#),
            Expect::PageFails(&["no `dados`", "mensagem"]),
        ),
        v(
            "a JSON array instead of an envelope",
            body(r#"[{"idreserva":1}]"#),
            Expect::PageFails(&["not a JSON object"]),
        ),
        v(
            "`dados` is an object",
            body(r#"{"pagina":1,"dados":{"idreserva":1}}"#),
            Expect::PageFails(&["`dados` is not an array"]),
        ),
        v(
            "`dados` is null",
            body(r#"{"pagina":1,"dados":null}"#),
            Expect::PageFails(&["`dados` is not an array"]),
        ),
        // The envelope is split into rows without parsing their values (the loader sends each
        // row's own text as its payload, and reads only the fields it types), so JSON that
        // serde_json would refuse to build a tree of but PostgreSQL stores still loads, whole:
        // a number beyond f64 (the numeric column takes its digits), nesting deeper than
        // serde_json's recursion limit in a field the loader does not type.
        v(
            "a number out of f64's range",
            row(r#"{"idreserva":{id},"valor_contrato":1e400}"#),
            Expect::Loads,
        ),
        v(
            "JSON nested deeper than serde_json's limit",
            row(&deep),
            Expect::Loads,
        ),
        v(
            "a number out of f64's range where an integer belongs",
            row(r#"{"idreserva":{id},"idcorretor":1e400}"#),
            Expect::RowRejected("field `idcorretor`: expected an integer, got a number out of range"),
        ),
        v(
            "ten megabytes of garbage",
            Input::Body(ten_mb_garbage),
            Expect::PageFails(&["not JSON"]),
        ),
        v(
            "a body that does not match its metadata's sha256",
            Input::Meta(|p| p.meta.sha256 = "0".repeat(64)),
            Expect::PageFails(&["sha256", "differs"]),
        ),
        v(
            "a key that does not match its metadata",
            Input::Meta(|p| p.meta.page += 1000),
            Expect::PageFails(&["key does not match its metadata"]),
        ),
        v(
            "an object path CVDW does not have",
            Input::Meta(|p| p.meta.object_path = "/nao-existe".into()),
            Expect::PageFails(&["unknown CVDW object path", "/nao-existe"]),
        ),
        // --- Rows ---
        v(
            "a row that is a string",
            row(r#""nope""#),
            Expect::RowRejected("row is not a JSON object"),
        ),
        v(
            "a row that is a number",
            row("42"),
            Expect::RowRejected("row is not a JSON object"),
        ),
        v(
            "a row that is null",
            row("null"),
            Expect::RowRejected("row is not a JSON object"),
        ),
        v(
            "a row that is an array",
            row("[1,2]"),
            Expect::RowRejected("row is not a JSON object"),
        ),
        v(
            "a row without its key",
            row(r#"{"valor_contrato":1}"#),
            // Stored under a key derived from its content (docs/row-identity.md).
            Expect::Loads,
        ),
        v(
            "a null key",
            row(r#"{"idreserva":null}"#),
            Expect::Loads,
        ),
        v(
            "a blank key",
            row(r#"{"idreserva":"  "}"#),
            Expect::Loads,
        ),
        v(
            "a key that is an object",
            row(r#"{"idreserva":{"id":1}}"#),
            Expect::RowRejected("field `idreserva`: expected an integer, got a JSON object"),
        ),
        v(
            "a key beyond 64 bits",
            row(r#"{"idreserva":99999999999999999999}"#),
            Expect::RowRejected("field `idreserva`: expected an integer, got a number"),
        ),
        v(
            "a key that is not a number",
            row(r#"{"idreserva":"abc"}"#),
            Expect::RowRejected("field `idreserva`: expected an integer, got text of 3 characters (letters)"),
        ),
        v(
            "a number in words",
            row(r#"{"idreserva":{id},"valor_contrato":"cento e vinte"}"#),
            Expect::RowRejected("field `valor_contrato`: expected a number, got text of 13 characters (letters)"),
        ),
        v(
            "an object where an integer goes",
            row(r#"{"idreserva":{id},"idcliente":{"x":1}}"#),
            Expect::RowRejected("field `idcliente`: expected an integer"),
        ),
        v(
            "a number where S/N goes",
            row(r#"{"idreserva":{id},"aprovada":3}"#),
            Expect::RowRejected("field `aprovada`: expected S/N or Sim/Não, got a number"),
        ),
        v(
            "a string where the nested list goes",
            row(r#"{"idreserva":{id},"associados":"x"}"#),
            Expect::RowRejected("field `associados`: expected an array"),
        ),
        v(
            "a nested item that is not an object",
            row(r#"{"idreserva":{id},"associados":[1]}"#),
            Expect::RowRejected("field `associados[0]`: expected an object"),
        ),
        v(
            "the date 9999-99-99",
            row(r#"{"idreserva":{id},"data_venda":"9999-99-99"}"#),
            Expect::RowRejected("field `data_venda`: expected a date-time (YYYY-MM-DD HH:MM:SS), got text of 10 characters (digits, symbols)"),
        ),
        v(
            "the 30th of February",
            row(r#"{"idreserva":{id},"data_venda":"2024-02-30 10:00:00"}"#),
            Expect::RowRejected("field `data_venda`: expected a date-time"),
        ),
        v(
            "year 0",
            row(r#"{"idreserva":{id},"data_reserva":"0000-01-01 00:00:00"}"#),
            Expect::RowRejected("field `data_reserva`: expected a date-time"),
        ),
        v(
            "a five-digit year",
            row(r#"{"idreserva":{id},"data_reserva":"20245-01-01 00:00:00"}"#),
            Expect::RowRejected("field `data_reserva`: expected a date-time"),
        ),
        v(
            "a number where a date goes",
            row(r#"{"idreserva":{id},"data_venda":20240101}"#),
            Expect::RowRejected("field `data_venda`: expected a date-time"),
        ),
        v(
            "1900-01-01 (a real date, kept as sent)",
            row(r#"{"idreserva":{id},"data_venda":"1900-01-01 00:00:00","data_reserva":"9999-12-31 23:59:59"}"#),
            Expect::Loads,
        ),
        v(
            "a one-megabyte string",
            Input::Row(
                format!(r#"{{"idreserva":{{id}},"cliente":"{}"}}"#, "é".repeat(512 * 1024)).into_bytes(),
            ),
            Expect::Loads,
        ),
        v(
            "an empty field name",
            row(r#"{"":"vazio","idreserva":{id}}"#),
            Expect::Loads,
        ),
        v(
            "a NUL character in a text field",
            row(r#"{"idreserva":{id},"cliente":"Jo\u0000ão"}"#),
            Expect::RowRejected("field `cliente`: text contains a NUL character (\\u0000)"),
        ),
        v(
            "a NUL character in a field the table does not have",
            row(r#"{"idreserva":{id},"observacao_livre":"a\u0000b"}"#),
            Expect::RowRejected("field `observacao_livre`: text contains a NUL character"),
        ),
        v(
            "invalid UTF-8 (Latin-1 bytes)",
            Input::Row(b"{\"idreserva\":{id},\"cliente\":\"Jos\xe9\"}".to_vec()),
            Expect::RowRejected("invalid UTF-8"),
        ),
        Case {
            name: "a ten-megabyte page",
            object: "/vendas",
            input: Input::Body(ten_mb_page()),
            expect: Expect::Loads,
        },
        Case {
            name: "a key longer than an index entry can hold",
            object: "/pessoas",
            input: Input::Row(format!(r#"{{"idpessoa":"{}"}}"#, "9".repeat(4000)).into_bytes()),
            expect: Expect::RowRejected("natural key is 4000 bytes long"),
        },
    ]
}

/// The good rows put around a row-level case's bad row.
fn good_rows(object: &str, id: i64) -> (Value, Value) {
    match object {
        "/pessoas" => (pessoa(id, 1), pessoa(id + 1, 1)),
        _ => (venda(id, 1), venda(id + 1, 1)),
    }
}

/// `haystack` with every `needle` replaced (on bytes: the row may not be UTF-8).
fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn build(case: &Case, ix: usize, id: i64) -> Page {
    let run = RunId::new(t0() + chrono::Duration::days(1), ix as u32 + 1);
    let (a, b) = good_rows(case.object, id);
    match &case.input {
        Input::Body(b) => page(TENANT, case.object, &run, 1, Mode::Incremental, b.clone()),
        Input::Row(r) => {
            let bad = replace_bytes(r, b"{id}", (id + 2).to_string().as_bytes());
            let mut body = format!(
                "{{\"pagina\":1,\"registros\":500,\"dados\":[{},",
                serde_json::to_string(&a).unwrap()
            )
            .into_bytes();
            body.extend_from_slice(&bad);
            body.extend_from_slice(
                format!(",{}]}}", serde_json::to_string(&b).unwrap()).as_bytes(),
            );
            page(TENANT, case.object, &run, 1, Mode::Incremental, body)
        }
        Input::Meta(tweak) => {
            let mut p = page(
                TENANT,
                case.object,
                &run,
                1,
                Mode::Incremental,
                envelope(&[a, b], 1),
            );
            tweak(&mut p);
            p
        }
    }
}

async fn count(c: &Client, sql: &str, key: &str) -> i64 {
    scalar(c, sql, &[&key]).await
}

/// The rows a page put in its table, as JSON text (to compare before/after).
async fn rows_of_page(c: &Client, key: &str) -> Vec<String> {
    let mut v: Vec<String> = column_where(
        c,
        "SELECT to_jsonb(v)::text FROM cvdw.vendas v WHERE source_key = $1 \
             UNION ALL SELECT to_jsonb(o)::text FROM cvdw.objects o WHERE source_key = $1",
        &[&key],
    )
    .await;
    v.sort();
    v
}

/// What a case left in the `etl` tables.
enum Counted {
    FailedPage,
    RejectedRow,
    Nothing,
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// Load one case's page and check what the case expects.
async fn run_case(c: &mut Client, case: &Case, ix: usize) -> Result<Counted, String> {
    let id = 1000 * (ix as i64 + 1);
    let p = build(case, ix, id);
    let out = load_with(c, &p, LoadOptions::default()).await;
    match &case.expect {
        Expect::PageFails(needles) => {
            let err = match out {
                Err(e) => e,
                Ok(o) => return Err(format!("loaded: {o:?}")),
            };
            ensure!(
                matches!(err, LoadError::BadPage { .. }),
                "not a BadPage: {err:?}"
            );
            ensure!(!err.is_retryable(), "a bad page must stay bad: {err}");
            let msg = err.to_string();
            ensure!(
                msg.contains(&p.key),
                "the error does not name the page: {msg}"
            );
            let row = c
                .query_opt(
                    "SELECT reason, body_prefix FROM etl.failed_pages WHERE source_key = $1",
                    &[&p.key],
                )
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the failure is not recorded in etl.failed_pages")?;
            let (reason, prefix): (String, Option<String>) = row.get_tuple();
            for n in *needles {
                ensure!(msg.contains(n), "the error lacks {n:?}: {msg}");
                ensure!(
                    reason.contains(n),
                    "the recorded reason lacks {n:?}: {reason}"
                );
            }
            ensure!(
                prefix.unwrap_or_default().chars().count() <= 200,
                "more than a prefix of the body was kept"
            );
            let n = count(
                c,
                "SELECT count(*) FROM etl.pages WHERE source_key = $1",
                &p.key,
            )
            .await;
            ensure!(n == 0, "a failed page is in the ledger");
            Ok(Counted::FailedPage)
        }
        Expect::RowRejected(needle) => {
            let r = match out {
                Ok(PageOutcome::Loaded(r)) => r,
                other => return Err(format!("{other:?}")),
            };
            ensure!((r.rows, r.loaded, r.rejected) == (3, 2, 1), "{r:?}");
            let row = c
                .query_opt(
                    "SELECT row_index, reason FROM etl.rejected_rows WHERE source_key = $1",
                    &[&p.key],
                )
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the rejection is not recorded in etl.rejected_rows")?;
            let (index, reason): (i32, String) = row.get_tuple();
            ensure!(index == 1, "recorded at index {index}, not 1");
            ensure!(reason.contains(needle), "reason: {reason}");
            let n = rows_of_page(c, &p.key).await.len();
            ensure!(n == 2, "{n} good rows loaded, not 2");
            Ok(Counted::RejectedRow)
        }
        Expect::Loads => {
            let r = match out {
                Ok(PageOutcome::Loaded(r)) => r,
                other => return Err(format!("{other:?}")),
            };
            ensure!(r.rejected == 0 && r.loaded == r.rows, "{r:?}");
            let n = rows_of_page(c, &p.key).await.len();
            ensure!(n == r.rows as usize, "{n} rows in the table");
            Ok(Counted::Nothing)
        }
    }
}

#[tokio::test]
async fn every_malformed_page_and_row_fails_alone_with_a_clear_recorded_error() {
    let mut t = TestDb::migrated("bad_input").await;
    // A good page first: it must come out of all this untouched.
    let good = page(
        TENANT,
        "/vendas",
        &run_id(0, 1),
        1,
        Mode::Incremental,
        envelope(&(1..=20).map(|i| venda(i, 1)).collect::<Vec<_>>(), 1),
    );
    deliver_item(t.client(), &Item::Page(good.clone())).await;
    let before = rows_of_page(t.client(), &good.key).await;
    assert_eq!(before.len(), 20);

    let mut failed_pages = 0;
    let mut rejected_rows = 0;
    let mut problems = Vec::new();
    for (ix, case) in cases().iter().enumerate() {
        let what = format!("case {ix} ({}): {:?}", case.name, case.expect);
        match run_case(t.client(), case, ix).await {
            Ok(Counted::FailedPage) => failed_pages += 1,
            Ok(Counted::RejectedRow) => rejected_rows += 1,
            Ok(Counted::Nothing) => {}
            Err(e) => problems.push(format!("{what}\n    {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // What the loaded odd rows hold: the values as sent.
    let c = t.client();
    let (venda, reserva): (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) = c
        .query_one(
            "SELECT data_venda, data_reserva FROM cvdw.vendas WHERE payload->>'data_venda' LIKE '1900%'",
            &[],
        )
        .await
        .unwrap()
        .get_tuple();
    assert_eq!(venda.unwrap().to_string(), "1900-01-01 00:00:00");
    assert_eq!(reserva.unwrap().to_string(), "9999-12-31 23:59:59");
    let long: i32 = scalar(c, "SELECT max(char_length(cliente)) FROM cvdw.vendas", &[]).await;
    assert_eq!(long, 512 * 1024, "the one-megabyte string is stored whole");
    let empty_key: i64 = scalar(
        c,
        "SELECT count(*) FROM cvdw.vendas WHERE payload ? ''",
        &[],
    )
    .await;
    assert_eq!(empty_key, 1, "the empty field name is kept in the payload");
    let big: i64 = scalar(
        c,
        "SELECT count(*) FROM cvdw.vendas WHERE idreserva >= 900000",
        &[],
    )
    .await;
    assert_eq!(big, 500, "every row of the ten-megabyte page loaded");
    // A quarantined row keeps what it was (NULs made visible, so PostgreSQL can hold it).
    let raw: Value = scalar(
        c,
        "SELECT raw FROM etl.rejected_rows WHERE reason LIKE '%`cliente`: text contains a NUL%'",
        &[],
    )
    .await;
    assert_eq!(raw["cliente"], "Jo\u{fffd}ão");

    // Every failure is recorded once, and nothing else changed.
    let (fp, rr): (i64, i64) = c
        .query_one(
            "SELECT (SELECT count(*) FROM etl.failed_pages), (SELECT count(*) FROM etl.rejected_rows)",
            &[],
        )
        .await
        .unwrap()
        .get_tuple();
    assert_eq!((fp, rr), (failed_pages, rejected_rows));
    assert_eq!(
        rows_of_page(c, &good.key).await,
        before,
        "the good page is intact"
    );
    t.drop().await;
}

trait GetTuple {
    fn get_tuple<A, B>(&self) -> (A, B)
    where
        A: for<'a> tokio_postgres::types::FromSql<'a>,
        B: for<'a> tokio_postgres::types::FromSql<'a>;
}

impl GetTuple for tokio_postgres::Row {
    fn get_tuple<A, B>(&self) -> (A, B)
    where
        A: for<'a> tokio_postgres::types::FromSql<'a>,
        B: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        (self.get(0), self.get(1))
    }
}

/// The S3 path: events for keys that are empty, missing, undecodable or hold garbage fail (or
/// are ignored) one by one, are recorded, and never stop the good page in the same event.
#[tokio::test]
async fn s3_events_with_bad_keys_and_objects_fail_alone() {
    let bucket = "cvdw-raw-bad-input";
    let local = LocalBucket::start(bucket).await;
    let store = local.store.clone();
    let client = local.s3.client().await;
    let mut t = TestDb::migrated("bad_input_s3").await;

    let run = run_id(2, 7);
    let good = page(
        TENANT,
        "/vendas",
        &run,
        1,
        Mode::Full,
        envelope(&[venda(1, 1), venda(2, 1)], 1),
    );
    put_page(&store, &good).await;
    let garbage = page(
        TENANT,
        "/vendas",
        &run,
        2,
        Mode::Full,
        b"<html>erro</html>".to_vec(),
    );
    put_page(&store, &garbage).await;
    // A page written without its metadata (not by extract).
    let bare = page(
        TENANT,
        "/vendas",
        &run,
        3,
        Mode::Full,
        envelope(&[venda(3, 1)], 3),
    );
    put_object(&store, &bare.key, bare.body.clone(), &Default::default()).await;
    // A manifest that is not JSON.
    let manifest_key = shared::landing::manifest_key(TENANT, &run, "vendas");
    let not_json = b"{\"tenant\":".to_vec();
    put_object(&store, &manifest_key, not_json, &Default::default()).await;
    let missing = page(TENANT, "/vendas", &run, 9, Mode::Full, envelope(&[], 9)).key;

    // One event with every kind of record: the good page among them.
    let keys: Vec<String> = vec![
        missing.clone(),
        String::new(),
        "raw/".into(),
        "raw/%ZZ%C3.json".into(),
        garbage.key.clone(),
        good.key.clone(),
        bare.key.clone(),
        manifest_key.clone(),
    ];
    let mut event = object_created_event(bucket, &keys);
    // `%ZZ` is not something an encoder produces: put it in the record as S3 would pass it on.
    event.records[3].s3.object.key = Some("raw/%ZZ%C3.json".into());
    // A record without a key, and a deletion: both ignored.
    let mut no_key = event.records[0].clone();
    no_key.s3.object.key = None;
    let mut removed = event.records[5].clone();
    removed.event_name = Some("ObjectRemoved:Delete".into());
    event.records.push(no_key);
    event.records.push(removed);

    let mut db = shared::db::Db::connect(&t.config).await.unwrap();
    let report = handle_s3_event(&mut db, &client, event, LoadOptions::default())
        .await
        .unwrap();
    let done: Vec<(&str, &KeyOutcome)> = report.done.iter().map(|(k, o)| (k.as_str(), o)).collect();
    assert!(
        done.iter().any(|(k, o)| *k == good.key
            && matches!(o, KeyOutcome::Page(PageOutcome::Loaded(r)) if r.loaded == 2)),
        "the good page loaded: {done:?}"
    );
    assert!(
        done.iter()
            .any(|(k, o)| k.is_empty() && matches!(o, KeyOutcome::Ignored)),
        "{done:?}"
    );
    assert!(
        done.iter()
            .any(|(k, o)| *k == "raw/" && matches!(o, KeyOutcome::Ignored)),
        "{done:?}"
    );
    let failures = report.failures.join("\n");
    assert_eq!(report.failures.len(), 5, "{failures}");
    for (key, why) in [
        (missing.as_str(), "does not exist"),
        ("raw/%ZZ\u{fffd}.json", "does not exist"),
        (garbage.key.as_str(), "not JSON"),
        (bare.key.as_str(), "page metadata `tenant` is missing"),
        (manifest_key.as_str(), "not a manifest"),
    ] {
        assert!(
            report
                .failures
                .iter()
                .any(|f| f.starts_with(key) && f.contains(why)),
            "{key}: {why}\n{failures}"
        );
    }

    // The same classes through `handle_key`: a missing object is permanent (the event goes to
    // the DLQ after Lambda's retries, not round and round) and recorded like a bad page.
    let err = handle_key(t.client(), &store, &missing, LoadOptions::default())
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains(&missing), "{err}");
    let recorded: Vec<(String, String)> = rows(
        t.client(),
        "SELECT source_key, reason FROM etl.failed_pages ORDER BY id",
        &[],
    )
    .await;
    for key in [&missing, &garbage.key, &bare.key, &manifest_key] {
        assert!(
            recorded.iter().any(|(k, _)| k == key),
            "{key} recorded in etl.failed_pages: {recorded:?}"
        );
    }
    let n: i64 = scalar(t.client(), "SELECT count(*) FROM cvdw.vendas", &[]).await;
    assert_eq!(n, 2, "only the good page's rows");
    drop(db);
    t.drop().await;
}

/// The extract side: a CVDW answer that is not a page (non-JSON, truncated, another envelope)
/// is retried and then reported, never stored as a page; a page with an odd row is stored as it
/// is (the loader quarantines the row) instead of blocking the object forever.
#[tokio::test]
async fn the_extractor_never_stores_garbage_as_a_page() {
    shared::store::install_crypto_provider();
    let spec = catalogue::find("/vendas").unwrap();
    for (name, body, expect) in [
        ("non-JSON", b"<html><body>Erro</body></html>".to_vec(), Some("non-JSON body")),
        ("empty", Vec::new(), Some("non-JSON body")),
        ("truncated", br#"{"pagina":1,"dados":[{"idreserva":1},{"idres"#.to_vec(), Some("truncated JSON")),
        ("another envelope", br#"{"mensagem":"Erro inesperado"}"#.to_vec(), Some("no `dados`")),
        ("`dados` not an array", br#"{"pagina":1,"dados":{"a":1}}"#.to_vec(), Some("invalid JSON")),
        (
            "rows that are not objects",
            br#"{"pagina":1,"total_de_paginas":1,"dados":["x",7,null,[1],{"referencia_data":"2024-05-01 10:00:00","idreserva":1}]}"#.to_vec(),
            None,
        ),
    ] {
        let server = simulator::server::serve_static_page(body.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut cfg = ClientConfig::new(
            server.base_url(),
            "demo@cvdw.local",
            shared::secret::Secret::new("demo-token"),
        );
        cfg.retry.max_attempts = 2;
        cfg.retry.base_delay = Duration::from_millis(5);
        cfg.retry.max_delay = Duration::from_millis(10);
        let pacer = Arc::new(Pacer::new(PacerConfig::new(1000, Duration::from_secs(1))));
        let client = CvdwClient::new(cfg, pacer).unwrap();
        let got = client
            .fetch_page(PageRequest {
                object: spec,
                page: 1,
                from: None,
                until: None,
            })
            .await;
        match (expect, got) {
            (Some(needle), Err(e)) => {
                assert!(matches!(e, CvdwError::RetriesExhausted { .. }), "{name}: {e}");
                assert!(e.is_retryable(), "{name}: the next run may get a good answer");
                let m = e.to_string();
                assert!(m.contains("/vendas") && m.contains("pagina=1"), "{name}: says where: {m}");
                assert!(m.contains(needle), "{name}: says what: {m}");
            }
            (None, Ok(p)) => {
                assert_eq!(p.summary.rows, 5, "{name}");
                assert_eq!(&p.body[..], &body[..], "{name}: stored byte for byte");
                assert_eq!(
                    p.summary.max_referencia_data.map(|d| d.to_string()).as_deref(),
                    Some("2024-05-01 10:00:00")
                );
            }
            (e, got) => panic!("{name}: expected {e:?}, got {got:?}"),
        }
        if name == "non-JSON" {
            // The whole extractor on it: the object fails, and nothing lands in the bucket —
            // no page, no manifest, no state (the next run starts over from the same cursor).
            let bucket = LocalBucket::start("cvdw-raw-garbage").await;
            let store = bucket.store.clone();
            let jobs = [TenantJob {
                tenant: TENANT.into(),
                objects: vec![spec],
                client,
            }];
            let settings = RunSettings::default();
            let reports = drive(&store, &settings, &jobs, &Quiet, &|| Box::new(NoDeadline), false, 10).await;
            // A transient failure stops the tenant's run (the next run resumes it).
            match &reports[0][0].1 {
                Err(e) => assert!(e.to_string().contains("non-JSON body"), "{e}"),
                Ok(r) => panic!("{r:?}"),
            }
            let landed: Vec<String> = store.list("").await.unwrap().into_iter().map(|o| o.key).collect();
            assert!(
                landed.iter().all(|k| !k.starts_with("raw/") && !k.starts_with("manifests/") && !k.ends_with("vendas.json")),
                "{landed:?}"
            );
        }
        server.shutdown().await;
    }
}
