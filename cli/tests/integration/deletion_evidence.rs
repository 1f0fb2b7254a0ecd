//! A full run deletes only on complete evidence (shared/src/load/evidence.rs), end to end: the
//! simulator over HTTP lies about its listings (an empty page mid-run, a truncated listing, a
//! lying `total_de_registros`), the real extractor stores what it gets in the in-process S3
//! server, `replay` loads it into PostgreSQL, and no live row is falsely deleted: each lying
//! run is recorded as `deletion_skipped` with its reason. And, on hand-made pages: the share
//! limit, and a quarantined row that still counts as seen.

use crate::load_support;

use load_support::*;
use serde_json::json;
use shared::extract::{FullEvery, RunSettings};
use shared::landing::Mode;
use shared::load::{load_manifest, ManifestOutcome};
use simulator::{ListingFault, SimConfig};
use std::time::Duration;

const TENANT: &str = "demo";
/// Small pages, so a small world still spans several.
const PAGE_SIZE: u32 = 10;

struct Env {
    pipeline: SimPipeline,
    db: TestDb,
}

async fn env(prefix: &str) -> Env {
    Env {
        pipeline: SimPipeline::start(SimConfig::for_tests(), TENANT, "vendas", PAGE_SIZE).await,
        db: TestDb::migrated(prefix).await,
    }
}

impl Env {
    /// One full run of /vendas, stored in S3, then everything new replayed into the database.
    async fn full_run(&mut self) {
        self.pipeline
            .extract(&RunSettings {
                full_every: FullEvery::Always,
                deadline_margin: Duration::from_secs(1),
                ..RunSettings::default()
            })
            .await;
        self.pipeline.replay_into(&self.db.config).await;
    }

    async fn live_sales(&mut self) -> i64 {
        scalar(
            self.db.client(),
            "SELECT count(*) FROM cvdw.vendas WHERE deleted_at IS NULL",
            &[],
        )
        .await
    }

    /// The latest full run's manifest: (deleted rows, deletion_skipped).
    async fn last_manifest(&mut self) -> (i32, Option<String>) {
        let r = self
            .db
            .client()
            .query_one(
                "SELECT deleted_rows, deletion_skipped FROM etl.manifests \
                 WHERE object = 'vendas' AND applied_at IS NOT NULL ORDER BY run_id DESC LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    }
}

#[tokio::test]
async fn lying_listings_delete_nothing_and_say_why() {
    let mut e = env("evidence_sim").await;
    let truth = e.pipeline.sim.ground_truth("/vendas").len() as i64;
    assert!(
        truth > 3 * PAGE_SIZE as i64,
        "the world spans several pages"
    );
    e.full_run().await;
    assert_eq!(e.live_sales().await, truth);
    assert_eq!(e.last_manifest().await, (0, None));

    // A glitch the extractor rides out: page 2 empty once, then whole again. The run is
    // complete and deletes what it should (nothing).
    e.pipeline
        .sim
        .script_listing_fault("/vendas", ListingFault::EmptyPage { page: 2, times: 1 });
    e.full_run().await;
    assert_eq!(e.last_manifest().await, (0, None));
    e.pipeline.sim.clear_listing_faults();

    let lies = [
        (
            ListingFault::EmptyPage {
                page: 2,
                times: u32::MAX,
            },
            "the run ended at page 2 of the",
        ),
        (
            ListingFault::Truncated { pages: 2 },
            "rows seen, but page 1 says",
        ),
        (
            ListingFault::LyingTotal { total: 0 },
            "says total_de_registros = 0",
        ),
        (
            ListingFault::LyingTotal {
                total: 10 * truth as u64,
            },
            "rows seen, but page 1 says",
        ),
    ];
    for (lie, why) in lies {
        e.pipeline.sim.script_listing_fault("/vendas", lie);
        e.full_run().await;
        e.pipeline.sim.clear_listing_faults();
        let (deleted, skipped) = e.last_manifest().await;
        assert_eq!(deleted, 0, "{lie:?}");
        let skipped = skipped.unwrap_or_else(|| panic!("{lie:?}: no deletion_skipped"));
        assert!(skipped.contains(why), "{lie:?}: {skipped}");
        assert_eq!(e.live_sales().await, truth, "{lie:?}: false deletions");
    }
    let states: Vec<String> = column(
        e.db.client(),
        "SELECT DISTINCT manifest_state FROM etl.runs WHERE object = 'vendas' ORDER BY 1",
    )
    .await;
    assert_eq!(states, ["applied", "deletion skipped"]);
    e.db.drop().await;
}

#[tokio::test]
async fn the_share_limit_stops_a_mass_deletion_and_an_operator_can_lift_it() {
    let mut t = TestDb::migrated("evidence_share").await;
    let c = t.client();
    let r1 = run_id(0, 1);
    let all: Vec<_> = (1..=20).map(|i| venda(i, 1)).collect();
    let p1 = run_pages(T, "/vendas", &r1, Mode::Full, &all, 8);
    for p in &p1 {
        deliver_item(c, &Item::Page(p.clone())).await;
    }
    let (k1, b1) = manifest(&p1, Mode::Full);
    assert_eq!(
        load_manifest(c, &k1, &b1).await.unwrap(),
        ManifestOutcome::Applied { deleted: 0 }
    );
    // An honest-looking run that sees 15 of 20: deleting 5 is 25 %, above the 20 % default.
    let r2 = run_id(1, 2);
    let p2 = run_pages(T, "/vendas", &r2, Mode::Full, &all[..15], 8);
    for p in &p2 {
        deliver_item(c, &Item::Page(p.clone())).await;
    }
    let (k2, b2) = manifest(&p2, Mode::Full);
    let ManifestOutcome::DeletionSkipped { reason } = load_manifest(c, &k2, &b2).await.unwrap()
    else {
        panic!("deleted a quarter of the sales");
    };
    assert!(
        reason.contains("would delete 5 of 20 live rows"),
        "{reason}"
    );
    let live: Vec<String> = column(
        c,
        "SELECT natural_key FROM cvdw.vendas WHERE deleted_at IS NULL",
    )
    .await;
    assert_eq!(live.len(), 20);
    // A page of an earlier run arriving late is not marked deleted by the skipped run either
    // (it is no deleting run for anyone).
    let late = run_pages(
        T,
        "/vendas",
        &run_id(0, 5),
        Mode::Incremental,
        &[venda(20, 1)],
        8,
    );
    deliver_item(c, &Item::Page(late[0].clone())).await;
    let twenty: Vec<Option<String>> = column(
        c,
        "SELECT deleted_by_run FROM cvdw.vendas WHERE natural_key = '20'",
    )
    .await;
    assert_eq!(twenty, [None]);
    // The operator knows it is real: a limit for this tenant and object, and the next full
    // run that sees the same applies it.
    c.execute(
        "INSERT INTO etl.deletion_policy (tenant, object, max_share) VALUES ($1, 'vendas', 0.5)",
        &[&T],
    )
    .await
    .unwrap();
    let r3 = run_id(2, 3);
    let p3 = run_pages(T, "/vendas", &r3, Mode::Full, &all[..15], 8);
    for p in &p3 {
        deliver_item(c, &Item::Page(p.clone())).await;
    }
    let (k3, b3) = manifest(&p3, Mode::Full);
    assert_eq!(
        load_manifest(c, &k3, &b3).await.unwrap(),
        ManifestOutcome::Applied { deleted: 5 }
    );
    t.drop().await;
}

#[tokio::test]
async fn a_quarantined_row_still_counts_as_seen() {
    let mut t = TestDb::migrated("evidence_seen").await;
    let c = t.client();
    let r1 = run_id(0, 1);
    let all: Vec<_> = (1..=10).map(|i| venda(i, 1)).collect();
    let p1 = run_pages(T, "/vendas", &r1, Mode::Full, &all, 500);
    deliver_item(c, &Item::Page(p1[0].clone())).await;
    let (k1, b1) = manifest(&p1, Mode::Full);
    load_manifest(c, &k1, &b1).await.unwrap();
    // The next full run sees sale 5 with a value PostgreSQL cannot take: it is quarantined,
    // and its stored twin (yesterday's values) stays live.
    let mut seen = all.clone();
    seen[4] = venda(5, 2);
    seen[4]["valor_contrato"] = json!("cento e cinquenta mil");
    let r2 = run_id(1, 2);
    let p2 = run_pages(T, "/vendas", &r2, Mode::Full, &seen, 500);
    deliver_item(c, &Item::Page(p2[0].clone())).await;
    let (k2, b2) = manifest(&p2, Mode::Full);
    assert_eq!(
        load_manifest(c, &k2, &b2).await.unwrap(),
        ManifestOutcome::Applied { deleted: 0 }
    );
    let five: Vec<(Option<String>, String)> = rows(
        c,
        "SELECT deleted_by_run, last_seen_run FROM cvdw.vendas WHERE natural_key = '5'",
        &[],
    )
    .await;
    assert_eq!(five, [(None, r2.as_str().to_string())]);
    let rejected: i64 = scalar(c, "SELECT count(*) FROM etl.rejected_rows", &[]).await;
    assert_eq!(rejected, 1);
    t.drop().await;
}

const T: &str = "acme";
