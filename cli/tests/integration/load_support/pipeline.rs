//! The whole way in, for tests: the simulator over HTTP, the real extractor, the in-process
//! S3 server, and `replay` into a database.

use shared::cvdw::{ClientConfig, CvdwClient, Pacer, PacerConfig, RetryPolicy};
use shared::db::DbConfig;
use shared::extract::{drive, Quiet, RunSettings, TenantJob};
use shared::load::replay::{replay, ReplayFilter, ReplayOptions, ReplaySummary};
use shared::local_s3::LocalS3;
use shared::store::S3Store;
use simulator::{RateLimit, SimConfig, Simulator};
use std::sync::Arc;
use std::time::Duration;

/// A simulator, a bucket, and one tenant's job over `objects`.
pub struct SimPipeline {
    pub sim: Simulator,
    pub store: S3Store,
    pub job: TenantJob,
    _running: simulator::RunningSimulator,
    _s3: LocalS3,
    _dir: tempfile::TempDir,
}

impl SimPipeline {
    /// `cfg`'s world served without a rate limit; pages of `page_size` rows.
    pub async fn start(cfg: SimConfig, tenant: &str, objects: &str, page_size: u32) -> Self {
        shared::store::install_crypto_provider();
        let sim = Simulator::new(SimConfig {
            rate_limit: RateLimit::disabled(),
            ..cfg
        });
        let running = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let s3 = LocalS3::start(dir.path()).await.unwrap();
        let store = s3.store("cvdw-raw-pipeline").await.unwrap();
        let mut client = ClientConfig::new(
            running.base_url(),
            "demo@cvdw.local",
            shared::secret::Secret::new("demo-token"),
        );
        client.page_size = page_size;
        client.retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_throttles: 3,
        };
        let limit = RateLimit::disabled();
        let pacer = PacerConfig::new(limit.requests, limit.window);
        let job = TenantJob {
            tenant: tenant.into(),
            objects: shared::catalogue::select(objects).unwrap(),
            client: CvdwClient::new(client, Arc::new(Pacer::new(pacer))).unwrap(),
        };
        SimPipeline {
            sim,
            store,
            job,
            _running: running,
            _s3: s3,
            _dir: dir,
        }
    }

    /// One scheduled run (and its continuations) into the bucket; every invocation must
    /// succeed.
    pub async fn extract(&self, settings: &RunSettings) {
        for (tenant, report) in drive(
            &self.store,
            settings,
            std::slice::from_ref(&self.job),
            &Quiet,
            &|| Box::new(shared::extract::NoDeadline),
            false,
            10,
        )
        .await
        .into_iter()
        .flatten()
        {
            report.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        }
    }

    /// Everything in the bucket the database's ledger does not have yet.
    pub async fn replay_into(&self, db: &DbConfig) {
        replay_all(&self.store, db).await;
    }
}

/// Replay everything in `store` that `db`'s ledger does not have yet, with the default
/// options; a replay that fails fails the test.
pub async fn replay_all(store: &S3Store, db: &DbConfig) -> ReplaySummary {
    let options = ReplayOptions::default();
    let replayed = replay(store, db, &ReplayFilter::default(), options, None).await;
    replayed.unwrap_or_else(|e| panic!("replay: {e}"))
}
