//! A bucket on the in-process S3 server, for the tests that write or read the landing zone
//! over the real S3 protocol: the server, its files and the store, kept alive together.

use shared::local_s3::LocalS3;
use shared::store::{ObjectStore, S3Store};

use super::Page;

/// A fresh bucket on a fresh in-process S3 server; everything goes when it is dropped.
pub struct LocalBucket {
    pub store: S3Store,
    pub s3: LocalS3,
    /// Where the server keeps its objects; dropped last.
    _dir: tempfile::TempDir,
}

impl LocalBucket {
    pub async fn start(name: &str) -> LocalBucket {
        shared::store::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let s3 = LocalS3::start(dir.path()).await.unwrap();
        let store = s3.store(name).await.unwrap();
        LocalBucket {
            store,
            s3,
            _dir: dir,
        }
    }
}

/// Store a page as the extractor does: its body, and its metadata as user metadata.
pub async fn put_page(store: &S3Store, p: &Page) {
    let metadata = p.meta.to_metadata();
    put_object(store, &p.key, p.body.clone(), &metadata).await;
}

/// Store `body` under `key` with only the given user metadata (a malformed or bare object).
pub async fn put_object(
    store: &S3Store,
    key: &str,
    body: Vec<u8>,
    metadata: &std::collections::HashMap<String, String>,
) {
    let put = store.put(key, body.into(), "application/json", metadata);
    put.await.unwrap_or_else(|e| panic!("putting {key}: {e}"));
}
