//! Helpers shared by the `load*` integration tests: a fresh database per test on the local
//! PostgreSQL (or `DATABASE_URL`'s server), CVDW-shaped pages, and a dump of the `cvdw`
//! tables to compare database states.

mod bucket;
pub mod malformed;
mod page_budget;
mod pipeline;
mod queries;
pub mod round_trips;
mod sim_pages;
// Not every test binary that includes these helpers drives the simulator.
pub use bucket::{put_object, put_page, LocalBucket};
pub use page_budget::PageBudget;
#[allow(unused_imports)]
pub use pipeline::{replay_all, SimPipeline};
pub use queries::{column, column_where, rows, scalar};
pub use sim_pages::{crawl, fetch_page, first_page, serve_world, Fetched};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use shared::db::{self, Db, DbConfig};
use shared::landing::{manifest_key, Manifest, ManifestPage, Mode, PageKey, PageMeta, RunId};
use shared::load::{LoadError, LoadOptions, PageOutcome};
use std::collections::BTreeMap;
use tokio_postgres::Client;

pub fn admin_config() -> DbConfig {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into());
    DbConfig::from_url(&url).expect("DATABASE_URL")
}

pub struct TestDb {
    pub admin: DbConfig,
    pub config: DbConfig,
    pub db: Db,
}

impl TestDb {
    /// A new empty database (not migrated).
    pub async fn empty(prefix: &str) -> TestDb {
        let admin = admin_config();
        let config = db::create_fresh_database(&admin, prefix)
            .await
            .expect("create db");
        let db = Db::connect(&config).await.expect("connect");
        TestDb { admin, config, db }
    }
    /// A new database with the migrations applied.
    pub async fn migrated(prefix: &str) -> TestDb {
        let mut t = Self::empty(prefix).await;
        db::migrate(t.db.client()).await.expect("migrate");
        t
    }
    pub fn client(&mut self) -> &mut Client {
        self.db.client()
    }
    /// Raise the share of live rows a full run may delete (migration 0010's sanity limit,
    /// 20 %): for tests whose small worlds delete more than that on purpose.
    pub async fn allow_deletions(&mut self, max_share: f64) {
        self.client()
            .execute(
                "UPDATE etl.deletion_policy SET max_share = $1::float8::numeric",
                &[&max_share],
            )
            .await
            .expect("deletion policy");
    }
    pub async fn drop(self) {
        let name = self.config.dbname().unwrap_or_default().to_string();
        drop(self.db);
        let _ = db::drop_database(&self.admin, &name).await;
    }
}

/// Every base table of schema `cvdw`, each as its rows' JSON text, sorted; plus the
/// order-independent parts of `etl` (ledger content and quarantine, without wall clocks).
pub async fn dump(c: &Client) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = column(
        c,
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'cvdw' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .await;
    let mut out = BTreeMap::new();
    for t in tables {
        // Test code: the table name comes from the catalog, not from input.
        let rows = c
            .query(
                &format!("SELECT to_jsonb(x)::text FROM cvdw.\"{t}\" x"),
                &[],
            )
            .await
            .unwrap();
        let mut v: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        v.sort();
        out.insert(format!("cvdw.{t}"), v);
    }
    for (name, q) in [
        ("etl.pages", "SELECT jsonb_build_array(source_key, sha256, rows, loaded_rows, duplicates, rejected)::text FROM etl.pages"),
        ("etl.rejected_rows", "SELECT jsonb_build_array(source_key, row_index, natural_key, reason, raw)::text FROM etl.rejected_rows"),
        ("etl.manifests", "SELECT jsonb_build_array(tenant, object, run_id, applied_at IS NOT NULL)::text FROM etl.manifests"),
    ] {
        let mut v: Vec<String> = column(c, q).await;
        v.sort();
        out.insert(name.to_string(), v);
    }
    out
}

/// Empty every loader table (cheaper than a new database between property-test cases).
pub async fn truncate_all(c: &Client) {
    let tables: Vec<String> = column(c, "SELECT table_schema || '.\"' || table_name || '\"' FROM information_schema.tables \
             WHERE table_schema IN ('cvdw', 'etl') AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'").await;
    c.batch_execute(&format!("TRUNCATE {}", tables.join(", ")))
        .await
        .unwrap();
}

pub fn sha(body: &[u8]) -> String {
    shared::load::sha256_hex(body)
}

pub fn envelope(rows: &[Value], pagina: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "pagina": pagina,
        "registros": 500,
        "total_de_registros": rows.len(),
        "total_de_paginas": 1,
        "dados": rows,
    }))
    .unwrap()
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap()
}

pub fn run_id(day: i64, suffix: u32) -> RunId {
    RunId::new(t0() + Duration::days(day), suffix)
}

/// A page as the landing zone holds it.
#[derive(Debug, Clone)]
pub struct Page {
    pub key: String,
    pub body: Vec<u8>,
    pub meta: PageMeta,
}

pub fn page(
    tenant: &str,
    object_path: &str,
    run: &RunId,
    page_no: u32,
    mode: Mode,
    body: Vec<u8>,
) -> Page {
    let spec = shared::catalogue::find(object_path).unwrap();
    let started = chrono::NaiveDateTime::parse_from_str(&run.as_str()[..16], "%Y%m%dT%H%M%SZ")
        .unwrap()
        .and_utc();
    let meta = PageMeta {
        tenant: tenant.into(),
        run_id: run.clone(),
        object_path: spec.path.into(),
        page: page_no,
        params: format!("pagina={page_no}&registros_por_pagina=500"),
        http_status: 200,
        fetched_at: started + Duration::seconds(3 * page_no as i64),
        mode,
        rows: serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["dados"].as_array().map(|a| a.len() as u32))
            .unwrap_or(0),
        sha256: sha(&body),
    };
    let key = PageKey {
        tenant: tenant.into(),
        object: spec.name.into(),
        run_id: run.clone(),
        page: page_no,
    }
    .to_key();
    Page { key, body, meta }
}

/// Load one page as the load function does (no ETag), with `options`.
pub async fn load_with(
    c: &mut Client,
    p: &Page,
    options: LoadOptions,
) -> Result<PageOutcome, LoadError> {
    shared::load::load_page(c, &p.key, &p.body, &p.meta, None, options).await
}

/// Load one page with the default options; a page that fails to load fails the test.
pub async fn deliver(c: &mut Client, p: &Page) -> PageOutcome {
    let loaded = load_with(c, p, LoadOptions::default()).await;
    loaded.unwrap_or_else(|e| panic!("loading {}: {e}", p.key))
}

/// The manifest of a run of one object, over its pages.
pub fn manifest(pages: &[Page], mode: Mode) -> (String, Vec<u8>) {
    let m0 = &pages[0].meta;
    let spec = shared::catalogue::find(&m0.object_path).unwrap();
    let started =
        chrono::NaiveDateTime::parse_from_str(&m0.run_id.as_str()[..16], "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc();
    // The totals an honest CVDW announces for the whole run (the bodies built here give
    // per-page totals); evidence tests build lying manifests themselves.
    let total: u64 = pages.iter().map(|p| p.meta.rows as u64).sum();
    let m = Manifest {
        tenant: m0.tenant.clone(),
        run_id: m0.run_id.clone(),
        object: spec.name.into(),
        object_path: spec.path.into(),
        mode,
        pages: pages
            .iter()
            .map(|p| ManifestPage {
                page: p.meta.page,
                key: p.key.clone(),
                rows: p.meta.rows,
                sha256: p.meta.sha256.clone(),
                total_de_registros: Some(total),
                total_de_paginas: Some(pages.len() as u64),
                registros: None,
            })
            .collect(),
        rows: pages.iter().map(|p| p.meta.rows as u64).sum(),
        cursor_before: None,
        cursor_after: None,
        started_at: started,
        finished_at: started + Duration::minutes(5),
    };
    (
        manifest_key(&m.tenant, &m.run_id, &m.object),
        serde_json::to_vec(&m).unwrap(),
    )
}

/// Split rows into pages of `size` for one run of one object.
pub fn run_pages(
    tenant: &str,
    object_path: &str,
    run: &RunId,
    mode: Mode,
    rows: &[Value],
    size: usize,
) -> Vec<Page> {
    if rows.is_empty() {
        return vec![page(tenant, object_path, run, 1, mode, envelope(&[], 1))];
    }
    rows.chunks(size)
        .enumerate()
        .map(|(i, chunk)| {
            page(
                tenant,
                object_path,
                run,
                i as u32 + 1,
                mode,
                envelope(chunk, i as u32 + 1),
            )
        })
        .collect()
}

/// A CVDW-shaped `/vendas` row.
pub fn venda(id: i64, version: i64) -> Value {
    json!({
        "referencia": id.to_string(),
        "referencia_data": format!("2026-10-{:02} 10:00:00", 1 + (version % 27)),
        "ativo": if id % 11 == 0 { "N" } else { "S" },
        "idreserva": id,
        "data_reserva": "2026-09-01 09:00:00",
        "data_venda": if id % 5 == 0 { json!("0000-00-00 00:00:00") } else { json!(format!("2026-10-{:02} 10:00:00", 1 + (id % 27))) },
        "idhistorico": id * 10 + version,
        "aprovada": if id % 2 == 0 { "Sim" } else { "Não" },
        "valor_contrato": 150000.5 + (id * 1000 + version) as f64,
        "contrato_interno": "",
        "idcliente": 30000 + id,
        "cliente": format!("Cliente {id}"),
        "documento_cliente": null,
        "renda": 10000,
        "idade": 30 + id % 20,
        "idcorretor": 274,
        "corretor": "Corretor",
        "idimobiliaria": 7,
        "imobiliaria": "IMOBILIÁRIA QC",
        "idempreendimento": 1 + id % 3,
        "empreendimento": format!("Residencial {}", 1 + id % 3),
        "etapa": "Etapa A",
        "bloco": "Bloco 1",
        "idunidade": 1000 + id,
        "unidade": format!("APTO {id}"),
        "area_privativa": 62.35,
        "idtabela": 5,
        "idtipovenda": 2,
        "tipovenda": "Financiamento",
        "idlead": "8757, 211964",
        "associados": (0..(id + version) % 3).map(|k| json!({"idpessoa_cv": 500 + k, "idtipo_associacao": 1, "tipo_associacao": "Cônjuge", "percentagem_participacao": 50})).collect::<Vec<_>>(),
        "data": null,
    })
}

/// A row of an object without a typed table (`/pessoas`, key `idpessoa`).
pub fn pessoa(id: i64, version: i64) -> Value {
    json!({"referencia": id, "referencia_data": "0000-00-00 00:00:00", "ativo": "S", "idpessoa": id, "nome": format!("Pessoa {id} v{version}")})
}

/// A connection URL for database `name` on the test server (`DATABASE_URL`'s or the local one).
pub fn url_for(name: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into());
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h.to_string(), format!("?{q}")),
        None => (base.clone(), String::new()),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => &head[..],
    };
    format!("{host_part}/{name}{query}")
}

/// One S3 delivery: a raw page or a manifest.
#[derive(Clone, Debug)]
pub enum Item {
    Page(Page),
    Manifest(String, Vec<u8>),
}

/// Deliver one item to the loader, as the load function would.
pub async fn deliver_item(c: &mut Client, it: &Item) {
    match it {
        Item::Page(p) => {
            deliver(c, p).await;
        }
        Item::Manifest(k, b) => {
            shared::load::load_manifest(c, k, b).await.unwrap();
        }
    }
}

/// For each seed: empty the tables, deliver `items` shuffled, each duplicated with
/// probability `dup_rate`, and assert the database equals `expected` (the dump of in-order,
/// once-only delivery). Seeded, so a failure names a reproducible case.
pub async fn assert_any_order_converges(
    c: &mut Client,
    items: &[Item],
    expected: &BTreeMap<String, Vec<String>>,
    seeds: std::ops::Range<u64>,
    dup_rate: f64,
) {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    for seed in seeds {
        truncate_all(c).await;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let mut order: Vec<&Item> = items.iter().collect();
        for it in items {
            if rng.random_bool(dup_rate) {
                order.push(it);
            }
        }
        order.shuffle(&mut rng);
        for it in order {
            deliver_item(c, it).await;
        }
        let got = dump(c).await;
        for (table, rows) in expected {
            assert_eq!(&got[table], rows, "seed {seed}: {table} differs");
        }
    }
}

/// How one object's rows in the database differ from what the source serves now.
#[derive(Debug, Default)]
pub struct TruthDiff {
    /// Keys the source serves that have no live row.
    pub missing: Vec<String>,
    /// Keys held by more than one row.
    pub duplicated: Vec<String>,
    /// Live rows whose payload or `ativo` differ from the source's row, or that the source no
    /// longer serves (a deletion not reflected), or that it serves malformed.
    pub stale: Vec<String>,
    /// Rows correctly marked deleted (`deleted_at` set) for keys the source no longer serves.
    pub deleted: usize,
}

/// The `cvdw` table holding `object` and the extra filter for `cvdw.objects`. Test code: the
/// table names come from the static list, never from input.
fn table_of(object: &str) -> (String, &'static str) {
    match shared::load::tables::typed(object) {
        Some(t) => (format!("cvdw.{}", t.table), ""),
        None => ("cvdw.objects".to_string(), " AND object = $2"),
    }
}

/// Compare one object's rows with the source's ground truth, row for row, each under the key
/// the loader gives it (its ids, or one derived from its content: `shared::identity`).
/// `malformed` are the keys of rows the source gave a value no column takes: they must not be
/// live.
pub async fn diff_against_truth(
    c: &Client,
    tenant: &str,
    spec: &shared::catalogue::ObjectSpec,
    truth: &[Value],
    malformed: &std::collections::HashSet<String>,
) -> TruthDiff {
    use std::collections::HashMap;
    let (table, filter) = table_of(spec.name);
    let q = format!(
        "SELECT natural_key, ativo, payload, deleted_at IS NULL FROM {table} WHERE tenant = $1{filter}"
    );
    let rows = if filter.is_empty() {
        c.query(&q, &[&tenant]).await
    } else {
        c.query(&q, &[&tenant, &spec.name]).await
    }
    .unwrap();
    let mut by_key: HashMap<String, Vec<(Option<bool>, Value, bool)>> = HashMap::new();
    for r in &rows {
        by_key
            .entry(r.get(0))
            .or_default()
            .push((r.get(1), r.get(2), r.get(3)));
    }
    let mut d = TruthDiff::default();
    let mut want: HashMap<String, &Value> = HashMap::new();
    for row in truth {
        let k = shared::identity::row_key(spec, row, || row.clone());
        if !malformed.contains(&k) {
            want.insert(k, row);
        }
    }
    for (k, seen) in &by_key {
        if seen.len() > 1 {
            d.duplicated.push(format!("{} {k}", spec.name));
        }
        let live: Vec<_> = seen.iter().filter(|s| s.2).collect();
        match (want.get(k), live.first()) {
            (None, Some(_)) => d.stale.push(format!("{} {k}: live, not served", spec.name)),
            (None, None) => d.deleted += 1,
            (Some(row), Some((ativo, payload, _))) => {
                let want_ativo = row
                    .get("ativo")
                    .and_then(|a| shared::values::parse_bool(a).ok())
                    .flatten();
                if payload != *row || *ativo != want_ativo {
                    d.stale
                        .push(format!("{} {k}: payload or ativo differ", spec.name));
                }
            }
            (Some(_), None) => {}
        }
    }
    for k in want.keys() {
        if !by_key.get(k).is_some_and(|s| s.iter().any(|r| r.2)) {
            d.missing.push(format!("{} {k}", spec.name));
        }
    }
    d
}

/// Bookkeeping columns: which observation a row's values came from and when it was deleted.
/// Two databases holding the same data differ only there.
const BOOKKEEPING: &str = "ARRAY['first_seen_run','last_seen_run','fetched_at','run_id','page','source_key','deleted_at','deleted_by_run']";

/// The live content of `objects` (typed columns, payload, and child rows of live parents), as
/// sorted JSON texts per table, without bookkeeping columns.
pub async fn content_dump(
    c: &Client,
    tenant: &str,
    objects: &[&str],
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for &o in objects {
        let (table, filter) = table_of(o);
        let q = format!(
            "SELECT (to_jsonb(x) - {BOOKKEEPING}::text[])::text FROM {table} x \
             WHERE tenant = $1 AND deleted_at IS NULL{filter}"
        );
        let rows = if filter.is_empty() {
            c.query(&q, &[&tenant]).await
        } else {
            c.query(&q, &[&tenant, &o]).await
        }
        .unwrap();
        let mut v: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        v.sort();
        out.insert(format!("{table} {o}"), v);
        if let Some(child) = shared::load::tables::typed(o).and_then(|t| t.child) {
            let q = format!(
                "SELECT to_jsonb(ch)::text FROM cvdw.{} ch JOIN {table} p \
                 ON p.tenant = ch.tenant AND p.natural_key = ch.natural_key \
                 WHERE ch.tenant = $1 AND p.deleted_at IS NULL",
                child.table
            );
            let mut v: Vec<String> = column_where(c, &q, &[&tenant]).await;
            v.sort();
            out.insert(format!("cvdw.{}", child.table), v);
        }
    }
    out
}

/// Like [`assert_any_order_converges`], but `workers` loaders on their own connections take the
/// shuffled (and duplicated) deliveries from one queue, as concurrent load Lambdas do: pages
/// of one object upsert at the same time, a page and its duplicate race, manifests land in
/// between. The database must still equal `expected`, and no delivery may fail (a deadlock
/// or a unique violation between loaders would).
pub async fn assert_concurrent_delivery_converges(
    config: &DbConfig,
    items: &[Item],
    expected: &BTreeMap<String, Vec<String>>,
    seeds: std::ops::Range<u64>,
    dup_rate: f64,
    workers: usize,
) {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use std::sync::{Arc, Mutex};
    let mut check = Db::connect(config).await.expect("connect");
    let mut loaders = Vec::new();
    for _ in 0..workers {
        loaders.push(Db::connect(config).await.expect("connect"));
    }
    for seed in seeds {
        truncate_all(check.client()).await;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let mut order: Vec<Item> = items.to_vec();
        for it in items {
            if rng.random_bool(dup_rate) {
                order.push(it.clone());
            }
        }
        order.shuffle(&mut rng);
        let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(order)));
        let mut tasks = Vec::new();
        for mut db in loaders.drain(..) {
            let queue = queue.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let next = queue.lock().expect("queue").pop_front();
                    let Some(it) = next else { break };
                    deliver_item(db.client(), &it).await;
                }
                db
            }));
        }
        for t in tasks {
            loaders.push(t.await.unwrap_or_else(|e| panic!("seed {seed}: {e}")));
        }
        let got = dump(check.client()).await;
        for (table, rows) in expected {
            assert_eq!(&got[table], rows, "seed {seed}: {table} differs");
        }
    }
}

/// A page as a queue is fed it, prepared in place.
pub fn queued(p: &Page) -> shared::load::queue::Queued {
    use shared::load::prepare::{PageInput, PreparedPage};
    shared::load::queue::Queued::Page(PreparedPage::new(PageInput {
        key: p.key.clone(),
        body: p.body.clone().into(),
        meta: p.meta.clone(),
        etag: None,
    }))
}

/// What a queue reported for each page, in the order it reported them.
pub type Reported = Vec<(
    String,
    Result<shared::load::PageOutcome, shared::load::LoadError>,
)>;

/// Feed `pages` to one queue on `c` (pipelined, commits deferred to its barriers): what it
/// reported, and what it handed back.
pub async fn queue_pages(
    c: &mut Client,
    pages: &[Page],
    ledger: &shared::load::queue::Ledger,
) -> (Reported, shared::load::queue::Interrupted) {
    let mut stream = futures::stream::iter(pages.iter().map(queued));
    run_queue(c, &mut stream, ledger).await
}

/// Run one queue on `c` over what is left of `stream`: what it reported, and what it handed
/// back.
pub async fn run_queue<S>(
    c: &mut Client,
    stream: &mut S,
    ledger: &shared::load::queue::Ledger,
) -> (Reported, shared::load::queue::Interrupted)
where
    S: futures::Stream<Item = shared::load::queue::Queued> + Unpin + Send,
{
    let mut reported = Vec::new();
    let interrupted = shared::load::queue::load_queue(
        c,
        stream,
        shared::load::LoadOptions::default(),
        ledger,
        &mut |key, out| reported.push((key.to_string(), out)),
    )
    .await;
    (reported, interrupted)
}

/// The server process behind a connection (to terminate it from another one).
pub async fn backend_pid(c: &Client) -> i32 {
    scalar(c, "SELECT pg_backend_pid()", &[]).await
}
