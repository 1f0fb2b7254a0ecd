//! The load Lambda's edge over real parts (PostgreSQL, the in-process S3 server): an S3
//! notification whose records mix good pages with ones that fail. A permanent failure is
//! recorded in `etl.failed_pages` and does not ask for a redelivery (the function answers);
//! a retryable one does (the function fails, and Lambda re-delivers the event). And the
//! in-process stand-in for those notifications, the announcing store, announces exactly the
//! writes S3 would notify.

use crate::load_support;

use load_support::{
    envelope, page, put_object, put_page, run_id, scalar, venda, LocalBucket, Page, TestDb,
};
use shared::landing::Mode;
use shared::load::event::{handle_s3_event, object_created_event, KeyOutcome};
use shared::load::{LoadOptions, PageOutcome};
use shared::store::{Announcer, Condition, ObjectStore};
use std::collections::HashMap;

fn good_page(page_no: u32, first_id: i64) -> Page {
    let rows = [venda(first_id, 1), venda(first_id + 1, 1)];
    page(
        "acme",
        "vendas",
        &run_id(0, 7),
        page_no,
        Mode::Full,
        envelope(&rows, page_no),
    )
}

/// Good pages around a bad one (stored without the extractor's metadata) and one whose
/// bucket does not exist: both good pages load, both bad records are in `etl.failed_pages`,
/// and the report does not ask for a retry.
#[tokio::test]
async fn permanent_failures_are_recorded_and_the_good_records_load() {
    let bucket = LocalBucket::start("cvdw-raw-edge").await;
    let store = bucket.store.clone();
    let mut test = TestDb::migrated("load_edge_perm").await;

    let first = good_page(1, 100);
    let last = good_page(3, 300);
    put_page(&store, &first).await;
    put_page(&store, &last).await;
    let bad = good_page(2, 200);
    put_object(&store, &bad.key, bad.body.clone(), &Default::default()).await;
    let keys = [first.key.clone(), bad.key.clone(), last.key.clone()];
    let mut event = object_created_event("cvdw-raw-edge", &keys);
    let elsewhere = object_created_event("cvdw-raw-no-such-bucket", &[good_page(4, 400).key]);
    event.records.extend(elsewhere.records);

    let report = handle_s3_event(
        &mut test.db,
        &bucket.s3.client().await,
        event,
        LoadOptions::default(),
    )
    .await
    .unwrap();

    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert_eq!(report.permanent_failures, 2, "{:?}", report.failures);
    assert!(!report.wants_retry(), "permanent failures are not retried");
    let loaded: Vec<&str> = report
        .done
        .iter()
        .filter(|(_, outcome)| matches!(outcome, KeyOutcome::Page(PageOutcome::Loaded(_))))
        .map(|(key, _)| key.as_str())
        .collect();
    assert_eq!(loaded, [first.key.as_str(), last.key.as_str()]);
    let vendas: i64 = scalar(test.client(), "SELECT count(*) FROM cvdw.vendas", &[]).await;
    assert_eq!(vendas, 4, "the two good pages' rows");
    let recorded: Vec<String> = load_support::column(
        test.client(),
        "SELECT source_key FROM etl.failed_pages ORDER BY source_key",
    )
    .await;
    assert_eq!(recorded, [bad.key.clone(), good_page(4, 400).key]);

    // Refused by S3 (a wrong secret: 403, permanent): the loader itself records nothing for
    // that, so the edge records it before letting the event go.
    let refused = shared::store::s3_client_for_endpoint(
        &bucket.s3.endpoint(),
        shared::local_s3::ACCESS_KEY,
        "not-the-secret",
        shared::local_s3::REGION,
    )
    .await;
    let event = object_created_event("cvdw-raw-edge", std::slice::from_ref(&first.key));
    let report = handle_s3_event(&mut test.db, &refused, event, LoadOptions::default())
        .await
        .unwrap();
    assert_eq!(report.permanent_failures, 1, "{:?}", report.failures);
    assert!(!report.wants_retry());
    let reason: String = scalar(
        test.client(),
        "SELECT reason FROM etl.failed_pages WHERE source_key = $1",
        &[&first.key],
    )
    .await;
    assert!(reason.contains("S3 get"), "{reason}");
    test.drop().await;
}

/// A record S3 cannot serve right now (nothing listens where the client points: a transient
/// dispatch failure) is a failure a redelivery can fix: the report asks for a retry, so the
/// load function fails the invocation, and nothing is recorded as failed for good.
#[tokio::test]
async fn a_retryable_failure_asks_for_a_redelivery() {
    shared::store::install_crypto_provider();
    let mut test = TestDb::migrated("load_edge_retry").await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let unreachable = shared::store::s3_client_for_endpoint(
        &format!("http://127.0.0.1:{closed}"),
        shared::local_s3::ACCESS_KEY,
        shared::local_s3::SECRET_KEY,
        shared::local_s3::REGION,
    )
    .await;
    let event = object_created_event("cvdw-raw-edge", &[good_page(1, 100).key]);

    let report = handle_s3_event(&mut test.db, &unreachable, event, LoadOptions::default())
        .await
        .unwrap();

    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.permanent_failures, 0);
    assert!(report.wants_retry());
    let recorded: i64 = scalar(test.client(), "SELECT count(*) FROM etl.failed_pages", &[]).await;
    assert_eq!(recorded, 0, "a retryable failure is not recorded as failed");
    test.drop().await;
}

/// The freshness benchmark loads pages as an announcing store reports them: it must report
/// every accepted write, conditional or not, once, and nothing else (not a refused write,
/// nor a read, a listing or a deletion).
#[tokio::test]
async fn an_announcing_store_announces_each_accepted_write_once() {
    let bucket = LocalBucket::start("cvdw-raw-announce").await;
    let (store, mut created) = Announcer::around(bucket.store.clone());
    let none = HashMap::new();
    let json = "application/json";
    store
        .put("raw/a.json", "{}".into(), json, &none)
        .await
        .unwrap();
    let create = Condition::IfNoneMatch;
    let state = store.put_if("state/b.json", "{}".into(), json, &none, create.clone());
    state.await.unwrap();
    let again = store.put_if("state/b.json", "{}".into(), json, &none, create);
    assert!(
        again.await.is_err(),
        "a second create-only write is refused"
    );
    store.get("raw/a.json").await.unwrap();
    store.list("raw/").await.unwrap();
    store.delete("raw/a.json").await.unwrap();
    // The store holds the only sender: once it is gone, the receiver has seen everything.
    drop(store);
    let mut announced = Vec::new();
    while let Some(key) = created.recv().await {
        announced.push(key);
    }
    assert_eq!(announced, ["raw/a.json", "state/b.json"]);
}
