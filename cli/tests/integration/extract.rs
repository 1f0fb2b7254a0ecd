//! Extract acceptance tests: the simulator over real HTTP, the in-process S3 server over the
//! real S3 protocol, the same `shared::extract` code the Lambda runs. Time is compressed
//! (rate windows of 1–2 s, small scales) so the file runs in well under a minute.

use crate::load_support::{put_object, LocalBucket, PageBudget};
use bytes::Bytes;
use serde_json::Value;
use shared::catalogue::{self, ObjectSpec};
use shared::cvdw::{ClientConfig, CvdwClient, Pacer, PacerConfig, RetryPolicy};
use shared::extract::{
    drive, lock_key, Continuation, Continuer, Deadline, ExtractError, Extractor, FullEvery,
    LockRecord, ObjectStatus, Outcome, Quiet, RunSettings, TenantJob, TenantReport, Trigger,
};
use shared::landing::{Manifest, Mode, ObjectState, PageKey, PageMeta};
use shared::store::{Hooked, ListedObject, ObjectStore, S3Store, StoreCall, StoreError, StoreHook};
use simulator::{Fault, RateLimit, SimConfig, Simulator};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TENANT: &str = "demo";

struct Env {
    sim: Simulator,
    _running: simulator::RunningSimulator,
    base_url: String,
    store: S3Store,
    _bucket: LocalBucket,
}

async fn env(cfg: SimConfig) -> Env {
    let bucket = LocalBucket::start("cvdw-raw-test").await;
    let sim = Simulator::new(cfg);
    let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    Env {
        base_url: running.base_url(),
        sim,
        _running: running,
        store: bucket.store.clone(),
        _bucket: bucket,
    }
}

impl Env {
    /// Every row of `spec` the simulator holds now landed exactly once (in run `run`, or in
    /// any run).
    async fn assert_landed_once(&self, spec: &ObjectSpec, run: Option<&str>) {
        let truth = self.sim.ground_truth(spec.path);
        assert_exactly_once(spec, &truth, &landed(&self.store, spec, run).await);
    }

    /// Every object of `objects` landed whole in run `run_id`: its pages contiguous, each of
    /// its rows exactly once.
    async fn assert_run_landed(&self, objects: &str, run_id: &str) {
        for spec in catalogue::select(objects).unwrap() {
            assert_contiguous(&self.store, spec, run_id).await;
            self.assert_landed_once(spec, None).await;
        }
    }
}

fn sim_cfg(scale: f64, limit: RateLimit) -> SimConfig {
    SimConfig {
        scale,
        rate_limit: limit,
        slow_delay: Duration::from_secs(3),
        ..Default::default()
    }
}

fn pacer_for(limit: RateLimit) -> PacerConfig {
    let mut p = PacerConfig::new(limit.requests, limit.window);
    p.throttle_pause = limit.window;
    p.throttle_pause_max = limit.window * 4;
    p
}

fn job(e: &Env, objects: &str, page_size: u32, pacer: PacerConfig) -> TenantJob {
    job_with(e, objects, page_size, pacer, 5)
}

fn job_with(
    e: &Env,
    objects: &str,
    page_size: u32,
    pacer: PacerConfig,
    max_attempts: u32,
) -> TenantJob {
    // Short, so the simulator's slow faults (3 s) cost a timeout and a retry.
    job_timing_out(
        e,
        objects,
        page_size,
        pacer,
        max_attempts,
        Duration::from_secs(1),
    )
}

/// A job whose requests time out after `timeout`: a test that counts requests gives one no
/// stall of a busy machine reaches, so a retry it sees is one the client chose.
fn job_timing_out(
    e: &Env,
    objects: &str,
    page_size: u32,
    pacer: PacerConfig,
    max_attempts: u32,
    timeout: Duration,
) -> TenantJob {
    let mut c = ClientConfig::new(
        e.base_url.clone(),
        "demo@cvdw.local",
        shared::secret::Secret::new("demo-token"),
    );
    c.page_size = page_size;
    c.timeout = timeout;
    c.connect_timeout = timeout;
    c.retry = RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_throttles: 5,
    };
    TenantJob {
        tenant: TENANT.into(),
        objects: catalogue::select(objects).unwrap(),
        client: CvdwClient::new(c, Arc::new(Pacer::new(pacer))).unwrap(),
    }
}

fn settings() -> RunSettings {
    RunSettings {
        overlap: Duration::from_secs(600),
        full_every: FullEvery::Never,
        deadline_margin: Duration::from_secs(1),
        lock_ttl: Duration::from_secs(60),
        store_attempts: 2,
        ..RunSettings::default()
    }
}

fn unlimited() -> Box<dyn Deadline> {
    Box::new(shared::extract::NoDeadline)
}

/// Run one full chain (scheduled invocation + local continuations) and return the reports.
async fn run_chain<S: ObjectStore>(
    store: &S,
    jobs: &[TenantJob],
    settings: &RunSettings,
    deadline: &(dyn Fn() -> Box<dyn Deadline> + Send + Sync),
) -> Vec<TenantReport> {
    drive(store, settings, jobs, &Quiet, deadline, false, 1000)
        .await
        .into_iter()
        .flatten()
        .map(|(t, r)| r.unwrap_or_else(|e| panic!("tenant {t} failed: {e}")))
        .collect()
}

/// Every raw page stored for an object: (key, parsed key, metadata, body).
async fn pages<S: ObjectStore>(store: &S, object: &str) -> Vec<(String, PageKey, PageMeta, Bytes)> {
    let listed: Vec<ListedObject> = store
        .list(&format!("raw/{TENANT}/{object}/"))
        .await
        .unwrap();
    let mut out = Vec::new();
    for l in listed {
        let key = PageKey::parse(&l.key).unwrap_or_else(|| panic!("bad key {}", l.key));
        let o = store.get(&l.key).await.unwrap();
        let meta = PageMeta::from_metadata(&o.metadata).unwrap();
        // Stored as the gzip of CVDW's exact bytes (shared::landing::encode_page).
        assert_eq!(
            o.metadata
                .get(shared::landing::ENCODING_KEY)
                .map(String::as_str),
            Some(shared::landing::GZIP)
        );
        let body = shared::landing::decode_page(&o.metadata, o.body).unwrap();
        out.push((l.key, key, meta, body));
    }
    out
}

fn rows_of(body: &[u8]) -> Vec<Value> {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["dados"].as_array().cloned().unwrap_or_default()
}

fn key_of(spec: &ObjectSpec, row: &Value) -> String {
    shared::identity::row_key(spec, row, || row.clone())
}

/// Landed rows of an object (optionally only from one run), by natural key, with counts.
async fn landed<S: ObjectStore>(
    store: &S,
    spec: &ObjectSpec,
    run: Option<&str>,
) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for (_, key, meta, body) in pages(store, spec.name).await {
        if run.is_some_and(|r| key.run_id.as_str() != r) {
            continue;
        }
        // The metadata describes the body exactly.
        let rows = rows_of(&body);
        assert_eq!(meta.rows as usize, rows.len());
        assert_eq!(meta.page, key.page);
        assert_eq!(meta.object_path, spec.path);
        assert_eq!(
            meta.sha256,
            hex_sha256(&body),
            "sha256 metadata of {}",
            key.to_key()
        );
        for r in rows {
            out.entry(key_of(spec, &r)).or_default().push(r);
        }
    }
    out
}

fn hex_sha256(b: &[u8]) -> String {
    shared::extract::sha256_hex(b)
}

fn assert_exactly_once(spec: &ObjectSpec, truth: &[Value], got: &HashMap<String, Vec<Value>>) {
    let mut want: HashMap<String, &Value> = HashMap::new();
    for r in truth {
        let k = key_of(spec, r);
        assert!(
            want.insert(k.clone(), r).is_none(),
            "{}: ground truth repeats key {k}",
            spec.path
        );
    }
    for (k, r) in &want {
        let seen = got
            .get(k)
            .unwrap_or_else(|| panic!("{}: row {k} never landed", spec.path));
        assert_eq!(
            seen.len(),
            1,
            "{}: row {k} landed {} times",
            spec.path,
            seen.len()
        );
        assert_eq!(&seen[0], *r, "{}: row {k} differs", spec.path);
    }
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "{}: rows not in the source: {extra:?}",
        spec.path
    );
}

/// Pages of one object in one run are exactly 1..=n, and the manifest lists them.
async fn assert_contiguous<S: ObjectStore>(store: &S, spec: &ObjectSpec, run_id: &str) {
    let mut nums: Vec<u32> = pages(store, spec.name)
        .await
        .into_iter()
        .filter(|(_, k, _, _)| k.run_id.as_str() == run_id)
        .map(|(_, k, _, _)| k.page)
        .collect();
    nums.sort();
    let expected: Vec<u32> = (1..=nums.len() as u32).collect();
    assert_eq!(nums, expected, "{}: pages of run {run_id}", spec.path);
    let m = store
        .get(&format!("manifests/{TENANT}/{run_id}/{}.json", spec.name))
        .await
        .unwrap_or_else(|e| panic!("{}: manifest missing: {e}", spec.path));
    let m: Manifest = serde_json::from_slice(&m.body).unwrap();
    assert_eq!(
        m.pages.iter().map(|p| p.page).collect::<Vec<_>>(),
        expected,
        "{}: manifest pages",
        spec.path
    );
}

/// The JSON document stored at `key`, which must exist.
async fn stored<S: ObjectStore, T: serde::de::DeserializeOwned>(store: &S, key: &str) -> T {
    let object = store.get(key).await;
    let object = object.unwrap_or_else(|e| panic!("{key}: {e}"));
    serde_json::from_slice(&object.body).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// Write `record` as the tenant's lock, as another invocation would have.
async fn put_lock(store: &S3Store, record: &LockRecord) {
    let body = serde_json::to_vec(record).unwrap();
    put_object(store, &lock_key(TENANT), body, &HashMap::new()).await;
}

async fn state<S: ObjectStore>(store: &S, object: &str) -> ObjectState {
    stored(store, &format!("state/{TENANT}/{object}.json")).await
}

async fn assert_run_closed<S: ObjectStore>(store: &S) {
    assert!(matches!(
        store
            .get(&format!("state/{TENANT}/_continuation.json"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let lock: LockRecord = stored(store, &lock_key(TENANT)).await;
    assert!(lock.released, "lock left held: {lock:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_run_lands_every_row_exactly_once_without_a_429() {
    // The simulator's real limit, time-compressed: 20 requests per 2 s.
    let limit = RateLimit::new(20, Duration::from_secs(2));
    let e = env(sim_cfg(0.03, limit)).await;
    // No faults are injected here, so a retry would be the client's own doing: the timeout
    // is far beyond any stall, and the test counts requests.
    let patient = Duration::from_secs(300);
    let jobs = [job_timing_out(&e, "all", 500, pacer_for(limit), 5, patient)];
    let reports = run_chain(&e.store, &jobs, &settings(), &unlimited).await;
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.objects.len(), 70);
    let run_id = r.run_id.clone().unwrap();
    let stats = e.sim.stats();
    assert_eq!(
        stats.throttled, 0,
        "the pacer let a request through too early"
    );
    assert_eq!(r.throttled, 0);
    assert_eq!(stats.requests, r.pages, "one request per page, no retries");
    for spec in catalogue::OBJECTS {
        let truth = e.sim.ground_truth(spec.path);
        let got = landed(&e.store, spec, None).await;
        assert_exactly_once(spec, &truth, &got);
        assert_contiguous(&e.store, spec, run_id.as_str()).await;
        let st = state(&e.store, spec.name).await;
        assert_eq!(st.last_mode, Some(Mode::Full));
        assert_eq!(st.last_run_id.as_ref(), Some(&run_id));
        // Cursor = max valid referencia_data − 10 min (null/zero dates never count).
        let max = truth
            .iter()
            .filter_map(shared::values::referencia_data)
            .max();
        assert_eq!(
            st.cursor,
            max.map(|m| shared::values::format_datetime(&(m - chrono::Duration::minutes(10))))
        );
    }
    assert_run_closed(&e.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_run_after_advance_lands_every_changed_row() {
    let limit = RateLimit::new(1000, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    let objects = "vendas,reservas,leads,leads/interacoes,unidades,distratos,comissoes,reservas/historico/situacoes";
    let jobs = [job(&e, objects, 100, pacer_for(limit))];
    let first = run_chain(&e.store, &jobs, &settings(), &unlimited).await;
    let run1 = first[0].run_id.clone().unwrap();
    let changes = e.sim.advance(7);
    let second = run_chain(&e.store, &jobs, &settings(), &unlimited).await;
    let r2 = &second[0];
    let run2 = r2.run_id.clone().unwrap();
    assert_ne!(run1, run2);
    assert!(r2.objects.iter().all(|o| o.mode == Mode::Incremental));
    // "Changed" as the source marks it: a new row, or one whose referencia_data moved. (Rows
    // whose referencia_data is null/zero cannot be selected by a date filter, and denormalised
    // columns can change without moving it; the daily full run covers both.)
    let mut changed_total = 0;
    let mut content_only = 0;
    for spec in catalogue::select(objects).unwrap() {
        let before = landed(&e.store, spec, Some(run1.as_str())).await;
        let after = landed(&e.store, spec, Some(run2.as_str())).await;
        for row in e.sim.ground_truth(spec.path) {
            let k = key_of(spec, &row);
            let Some(when) = shared::values::referencia_data(&row) else {
                continue;
            };
            let moved = before.get(&k).is_none_or(|v| {
                v.iter()
                    .all(|old| shared::values::referencia_data(old) != Some(when))
            });
            if !moved {
                if before.get(&k).is_some_and(|v| !v.contains(&row)) {
                    content_only += 1;
                }
                continue;
            }
            changed_total += 1;
            assert!(
                after.get(&k).is_some_and(|v| v.contains(&row)),
                "{}: changed row {k} (referencia_data {when}) missing from the incremental run",
                spec.path
            );
        }
        assert_contiguous(&e.store, spec, run2.as_str()).await;
        let st = state(&e.store, spec.name).await;
        assert_eq!(st.last_mode, Some(Mode::Incremental));
    }
    eprintln!("{changed_total} changed rows landed; {content_only} rows changed without moving referencia_data");
    assert!(
        changed_total > 0,
        "advance produced no changes to check: {:?}",
        changes.objects.keys().collect::<Vec<_>>()
    );
    // Incremental means fewer rows than the full run.
    assert!(r2.rows < first[0].rows, "{} vs {}", r2.rows, first[0].rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_faults_lose_nothing() {
    let limit = RateLimit::new(20, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    e.sim.script_faults([
        Fault::TooManyRequests,
        Fault::Html500,
        Fault::TooManyRequestsBody200,
        Fault::Unprocessable422,
        Fault::TruncatedBody,
        Fault::Slow,
        Fault::ConnectionReset,
    ]);
    let objects = "vendas,reservas,distratos";
    // All seven hit the first page in a row: 5 transient failures + 2 throttles.
    let jobs = [job_with(&e, objects, 10, pacer_for(limit), 6)];
    let reports = run_chain(&e.store, &jobs, &settings(), &unlimited).await;
    let r = &reports[0];
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(e.sim.stats().faults, 7);
    assert!(r.retries >= 7, "retries {}", r.retries);
    assert!(r.throttled >= 2, "throttled {}", r.throttled);
    assert_eq!(e.sim.stats().throttled, 0);
    e.assert_run_landed(objects, r.run_id.as_ref().unwrap().as_str())
        .await;
    // No stored page is an error body.
    for spec in catalogue::select(objects).unwrap() {
        for (key, _, meta, body) in pages(&e.store, spec.name).await {
            assert_eq!(meta.http_status, 200, "{key}");
            assert!(serde_json::from_slice::<Value>(&body).unwrap()["dados"].is_array());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_refusal_skips_the_object_and_names_it() {
    let limit = RateLimit::new(1000, Duration::from_secs(1));
    let mut cfg = sim_cfg(0.03, limit);
    cfg.denied_objects = vec!["/unidades".into()];
    let e = env(cfg).await;
    let jobs = [job(&e, "vendas,unidades,distratos", 500, pacer_for(limit))];
    let reports = run_chain(&e.store, &jobs, &settings(), &unlimited).await;
    let r = &reports[0];
    assert_eq!(r.outcome, Outcome::Completed);
    let unidades = r.objects.iter().find(|o| o.object == "unidades").unwrap();
    match &unidades.status {
        ObjectStatus::Failed(m) => {
            assert!(
                m.contains("/unidades") && m.contains("401") && m.contains("pagina=1"),
                "{m}"
            );
            assert!(!m.contains("demo-token"));
        }
        s => panic!("unidades should fail: {s:?}"),
    }
    // The refused object has no state; the others completed.
    assert!(e.store.get("state/demo/unidades.json").await.is_err());
    for name in ["vendas", "distratos"] {
        let spec = catalogue::find(name).unwrap();
        e.assert_landed_once(spec, None).await;
    }
}

/// A continuer that drops the hand-over, like an invocation that died at its deadline.
struct Dropped;
impl Continuer for Dropped {
    fn continue_run<'a>(
        &'a self,
        _event: &'a shared::extract::ContinuationEvent,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<(), shared::extract::ContinueError>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_run_resumes_without_gap_or_duplicate() {
    let limit = RateLimit::new(1000, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    let objects = "vendas,reservas";
    let jobs = [job(&e, objects, 10, pacer_for(limit))];
    let s = settings();
    // Interrupted after 3 pages, and the hand-over is lost.
    let budget = PageBudget::new(3);
    let ex = Extractor {
        store: &e.store,
        settings: &s,
        deadline: &budget,
        continuer: &Dropped,
        progress: &Quiet,
    };
    let r1 = ex
        .run_tenant(&jobs[0], Trigger::Scheduled { force_full: false })
        .await
        .unwrap();
    assert_eq!(r1.outcome, Outcome::Continued);
    assert_eq!(r1.pages, 3);
    let cont: Continuation = stored(&e.store, "state/demo/_continuation.json").await;
    assert_eq!(cont.current.as_ref().unwrap().next_page, 4);
    // The data changes meanwhile; the next scheduled run resumes the same run.
    e.sim.advance(1);
    let r2 = run_chain(&e.store, &jobs, &s, &unlimited).await;
    assert_eq!(r2[0].run_id, r1.run_id);
    assert_eq!(r2[0].outcome, Outcome::Completed);
    let run_id = r1.run_id.unwrap();
    for spec in catalogue::select(objects).unwrap() {
        assert_contiguous(&e.store, spec, run_id.as_str()).await;
    }
    // No page number fetched twice: every page key was written by exactly one fetch.
    let metas: Vec<PageMeta> = pages(&e.store, "vendas")
        .await
        .into_iter()
        .map(|(_, _, m, _)| m)
        .collect();
    let distinct: HashSet<u32> = metas.iter().map(|m| m.page).collect();
    assert_eq!(distinct.len(), metas.len());
    assert_run_closed(&e.store).await;
}

/// A hook that fails one `put` of a page object, permanently, once `successes` such puts
/// went through; the puts after it go through again.
struct FailOnce {
    left: AtomicU32,
}

impl FailOnce {
    fn after(store: &S3Store, successes: u32) -> Hooked<S3Store, FailOnce> {
        let hook = FailOnce {
            left: AtomicU32::new(successes + 1),
        };
        Hooked::new(store.clone(), hook)
    }
}

impl StoreHook for FailOnce {
    async fn before(&self, call: StoreCall<'_>) -> Result<(), StoreError> {
        let StoreCall::Put { key } = call else {
            return Ok(());
        };
        if key.starts_with("raw/") && self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            return Err(StoreError::Permanent {
                op: "put",
                key: key.to_string(),
                message: "injected failure".into(),
            });
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failure_midway_then_rerun_leaves_no_gap() {
    let limit = RateLimit::new(1000, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    let objects = "vendas,reservas";
    let jobs = [job(&e, objects, 10, pacer_for(limit))];
    let flaky = FailOnce::after(&e.store, 4);
    let s = settings();
    let first = drive(&flaky, &s, &jobs, &Quiet, &unlimited, false, 10).await;
    let err = first[0][0].1.as_ref().unwrap_err();
    assert!(matches!(err, ExtractError::Store { .. }), "{err}");
    assert!(err.to_string().contains("injected failure"));
    // The rerun (same store, now healthy) finishes the same run.
    let second = run_chain(&flaky, &jobs, &s, &unlimited).await;
    assert_eq!(second[0].outcome, Outcome::Completed);
    let run_id = second[0].run_id.clone().unwrap();
    e.assert_run_landed(objects, run_id.as_str()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_across_deadlines_complete_a_backfill() {
    let limit = RateLimit::new(20, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    let objects = "vendas,reservas,distratos";
    let jobs = [job(&e, objects, 10, pacer_for(limit))];
    // Each invocation has time for 2 pages.
    let per_invocation = || PageBudget::boxed(2);
    let continuer_runs = drive(
        &e.store,
        &settings(),
        &jobs,
        &Quiet,
        &per_invocation,
        false,
        1000,
    )
    .await;
    let reports: Vec<TenantReport> = continuer_runs
        .into_iter()
        .flatten()
        .map(|(_, r)| r.unwrap())
        .collect();
    assert!(
        reports.len() > 3,
        "expected several invocations, got {}",
        reports.len()
    );
    let (last, rest) = reports.split_last().unwrap();
    assert_eq!(last.outcome, Outcome::Completed);
    assert!(rest.iter().all(|r| r.outcome == Outcome::Continued));
    assert!(reports.iter().all(|r| r.pages <= 2));
    let run_id = last.run_id.clone().unwrap();
    assert!(reports.iter().all(|r| r.run_id.as_ref() == Some(&run_id)));
    e.assert_run_landed(objects, run_id.as_str()).await;
    // The hand-overs carried the pacer's history: the server never throttled.
    assert_eq!(e.sim.stats().throttled, 0);
    assert_run_closed(&e.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_per_tenant() {
    let limit = RateLimit::new(20, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    let jobs = [job(&e, "vendas,reservas", 10, pacer_for(limit))];
    let s = settings();
    let store = e.store.clone();
    let jobs_a = jobs.clone();
    let s_a = s.clone();
    let a = tokio::spawn(async move { run_chain(&store, &jobs_a, &s_a, &unlimited).await });
    // Wait until run A holds the lock.
    loop {
        if let Ok(o) = e.store.get(&lock_key(TENANT)).await {
            let l: LockRecord = serde_json::from_slice(&o.body).unwrap();
            if !l.released {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = run_chain(&e.store, &jobs, &s, &unlimited).await;
    assert!(
        matches!(b[0].outcome, Outcome::Skipped(_)),
        "{:?}",
        b[0].outcome
    );
    assert_eq!(b[0].pages, 0);
    let a = a.await.unwrap();
    assert_eq!(a[0].outcome, Outcome::Completed);
    // A did the work. (Not "requests went up after B saw the lock": on a fast machine A can
    // have made its last request by then, with its writes still in flight.)
    assert!(a[0].pages > 0, "{:?}", a[0]);
    assert_eq!(
        e.sim.stats().throttled,
        0,
        "two runs doubled the request rate"
    );

    // An expired lock left by a crashed invocation is taken over.
    let stale = LockRecord {
        owner: "inv-crashed".into(),
        run_id: None,
        acquired_at: chrono::Utc::now() - chrono::Duration::hours(2),
        expires_at: chrono::Utc::now() - chrono::Duration::hours(1),
        released: false,
        recent_requests: vec![],
    };
    put_lock(&e.store, &stale).await;
    let c = run_chain(&e.store, &jobs, &s, &unlimited).await;
    assert_eq!(c[0].outcome, Outcome::Completed);
    // A live lock held by someone else stops the run.
    let live = LockRecord {
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        ..stale
    };
    put_lock(&e.store, &live).await;
    let d = run_chain(&e.store, &jobs, &s, &unlimited).await;
    assert!(matches!(d[0].outcome, Outcome::Skipped(_)));
}

/// Regression (found by the chaos test): a store failure early in a long object used to hang
/// the invocation. The writer stopped, but the page queue stayed open, so the fetcher kept
/// fetching until the queue was full and then waited on it forever. The timeout only guards
/// against that hang; it asserts nothing about speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failure_early_in_a_long_object_stops_the_invocation() {
    let limit = RateLimit::new(1000, Duration::from_secs(1));
    let e = env(sim_cfg(0.05, limit)).await;
    // /leads at scale 0.05 is 400 rows: 80 pages of 5, far more than the fetch-ahead queue.
    let jobs = [job(&e, "leads", 5, pacer_for(limit))];
    let flaky = FailOnce::after(&e.store, 1);
    let s = settings();
    let run = drive(&flaky, &s, &jobs, &Quiet, &unlimited, false, 10);
    let first = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the invocation hung after the store failed");
    let err = first[0][0].1.as_ref().unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    // The fetcher stopped too: at most the queue's worth of pages past the failure.
    assert!(e.sim.stats().pages < 20, "{:?}", e.sim.stats());
    let second = run_chain(&flaky, &jobs, &s, &unlimited).await;
    assert_eq!(second[0].outcome, Outcome::Completed);
    e.assert_landed_once(catalogue::find("leads").unwrap(), None)
        .await;
}

/// A run that steps an object incrementally and then passes it in full (the first run of the
/// day, with a budget) keeps both in the landing zone: the pass under a run id of its own, so
/// neither its pages nor its manifest take the incremental step's keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_step_and_a_full_pass_in_one_run_keep_their_own_keys() {
    let limit = RateLimit::disabled();
    let e = env(sim_cfg(0.05, limit)).await;
    let jobs = [job(&e, "vendas", 10, pacer_for(limit))];
    let budgeted = RunSettings {
        full_every: FullEvery::Always,
        budget: Some(shared::extract::schedule::Budget::Fixed(10_000)),
        ..settings()
    };
    run_chain(&e.store, &jobs, &budgeted, &unlimited).await;
    e.sim.advance(1);
    let second = run_chain(&e.store, &jobs, &budgeted, &unlimited).await;
    let run = second[0].run_id.clone().unwrap();
    let modes: Vec<Mode> = second[0].objects.iter().map(|o| o.mode).collect();
    assert_eq!(modes, [Mode::Incremental, Mode::Full]);
    let manifests: Vec<String> = e
        .store
        .list("manifests/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(manifests.len(), 3, "{manifests:?}");
    let incremental: Manifest =
        stored(&e.store, &format!("manifests/{TENANT}/{run}/vendas.json")).await;
    assert_eq!(incremental.mode, Mode::Incremental);
    let pass = state(&e.store, "vendas").await.last_run_id.unwrap();
    assert_ne!(pass, run, "the pass has a run id of its own");
    assert_contiguous(&e.store, catalogue::find("vendas").unwrap(), pass.as_str()).await;
    let stored_under_run = pages(&e.store, "vendas")
        .await
        .into_iter()
        .filter(|(_, key, _, _)| key.run_id == run)
        .count();
    assert_eq!(stored_under_run, incremental.pages.len());
}

/// A budget holds across the invocations of a run: a pass handed over to a continuation in the
/// middle of an object goes on with what the budget has left, not with a new allowance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_holds_across_hand_overs_in_the_middle_of_an_object() {
    let limit = RateLimit::disabled();
    let e = env(sim_cfg(0.05, limit)).await;
    let jobs = [job(&e, "leads", 10, pacer_for(limit))];
    let budgeted = RunSettings {
        budget: Some(shared::extract::schedule::Budget::Fixed(12)),
        ..settings()
    };
    let lead_pages = (e.sim.ground_truth("/leads").len() as u64).div_ceil(10);
    assert!(lead_pages > 30, "the pass is longer than the budget");
    // Three pages an invocation: the 12 requests span four invocations of one object.
    let per_invocation = || PageBudget::boxed(3);
    let reports = run_chain(&e.store, &jobs, &budgeted, &per_invocation).await;
    assert!(reports.len() >= 4, "{} invocations", reports.len());
    let requests = e.sim.stats().requests;
    assert_eq!(requests, 12, "the run spent its budget, no more");
    let paused = state(&e.store, "leads").await.paused_pass.unwrap();
    assert_eq!(paused.next_page, 13);
    assert_run_closed(&e.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_pauses_a_backfill_and_later_runs_resume_it() {
    let limit = RateLimit::disabled();
    let e = env(sim_cfg(0.05, limit)).await;
    // /leads (not in the sales set) first in the catalogue, /vendas after it: the plan turns
    // that round.
    let jobs = [job(&e, "leads,vendas", 10, pacer_for(limit))];
    let budgeted = RunSettings {
        budget: Some(shared::extract::schedule::Budget::Fixed(15)),
        ..settings()
    };
    let leads = catalogue::find("leads").unwrap();
    let vendas = catalogue::find("vendas").unwrap();
    let lead_pages = (e.sim.ground_truth("/leads").len() as u64).div_ceil(10) as u32;
    assert!(lead_pages > 30, "the backfill needs several runs");

    let first = run_chain(&e.store, &jobs, &budgeted, &unlimited).await;
    let r = &first[0];
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.objects[0].object, "vendas", "the sales set first");
    assert_eq!(r.deferred, ["leads"]);
    let pass_run = r.run_id.clone().unwrap();
    let paused = state(&e.store, "leads").await.paused_pass.unwrap();
    assert_eq!(paused.run_id, pass_run);
    let vendas_pages = state(&e.store, "vendas")
        .await
        .known_rows
        .unwrap()
        .div_ceil(10) as u32;
    assert_eq!(
        paused.next_page,
        15 - vendas_pages + 1,
        "the budget, spent to the request"
    );
    assert!(e
        .store
        .get(&format!("manifests/{TENANT}/{pass_run}/leads.json"))
        .await
        .is_err());
    assert_run_closed(&e.store).await;

    // Later runs: the sales' incremental step first (outside the budget), then the pass goes
    // on from where it stopped, under its own run id, until it is whole.
    let mut runs = 1;
    while state(&e.store, "leads").await.paused_pass.is_some() {
        let r = &run_chain(&e.store, &jobs, &budgeted, &unlimited).await[0];
        assert_eq!(r.objects[0].object, "vendas");
        assert_eq!(r.objects[0].mode, Mode::Incremental);
        runs += 1;
        assert!(runs < 10, "the pass does not progress");
    }
    assert!(runs >= 3, "{runs} runs");
    assert_contiguous(&e.store, leads, pass_run.as_str()).await;
    let m: Manifest = stored(
        &e.store,
        &format!("manifests/{TENANT}/{pass_run}/leads.json"),
    )
    .await;
    assert_eq!(m.pages.len() as u32, lead_pages);
    e.assert_landed_once(leads, Some(pass_run.as_str())).await;
    let st = state(&e.store, "leads").await;
    assert!(st.cursor.is_some() && st.paused_pass.is_none());
    assert_eq!(st.last_run_id.as_ref(), Some(&pass_run));
    let first_run = first[0].run_id.as_ref().unwrap();
    e.assert_landed_once(vendas, Some(first_run.as_str())).await;
}

/// A deadline at a fixed instant.
struct At(std::time::Instant);
impl Deadline for At {
    fn remaining(&self) -> Option<Duration> {
        Some(self.0.saturating_duration_since(std::time::Instant::now()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_slower_than_the_time_left_hands_over_instead_of_dying() {
    // CVDW answers the next 12 requests after 3 s; the client gives up on each after 1 s and
    // may try 6 times. An invocation has 5 s, 1 s of which is its margin: without a bound,
    // the page's 6 attempts would run past the deadline (Lambda kills the invocation and no
    // continuation is sent); with it, each invocation stops its attempts at the margin, hands
    // over, and the next one goes on.
    let limit = RateLimit::disabled();
    let e = env(sim_cfg(0.05, limit)).await;
    let jobs = [job_with(&e, "vendas", 10, pacer_for(limit), 6)];
    e.sim.script_faults(std::iter::repeat_n(Fault::Slow, 12));
    let per_invocation = || -> Box<dyn Deadline> {
        Box::new(At(std::time::Instant::now() + Duration::from_secs(5)))
    };
    let reports: Vec<TenantReport> = drive(
        &e.store,
        &settings(),
        &jobs,
        &Quiet,
        &per_invocation,
        false,
        100,
    )
    .await
    .into_iter()
    .flatten()
    .map(|(t, r)| r.unwrap_or_else(|err| panic!("{t}: the invocation failed: {err}")))
    .collect();
    assert_eq!(reports[0].outcome, Outcome::Continued);
    assert!(reports.len() >= 3, "{} invocations", reports.len());
    assert_eq!(reports.last().unwrap().outcome, Outcome::Completed);
    e.assert_landed_once(catalogue::find("vendas").unwrap(), None)
        .await;
    assert_run_closed(&e.store).await;
}
