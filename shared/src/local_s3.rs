//! An in-process S3-compatible server for `cvdw demo` and the integration tests.
//!
//! It is s3s-fs (objects as plain files under a directory) behind s3s' real S3 protocol
//! implementation, with SigV4 signatures checked, so the code under test talks exactly the
//! protocol it talks to AWS. It supports the conditional writes the extract lock relies on.
//! It does not emit event notifications: callers deliver "S3 events" themselves.

use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::store::{s3_client_for_endpoint, S3Store, StoreError};

/// The credentials the local server accepts. They guard nothing but a loopback port.
pub const ACCESS_KEY: &str = "cvdw-local";
pub const SECRET_KEY: &str = "cvdw-local-secret";
pub const REGION: &str = "us-east-1";

/// A running local S3 server; stops when dropped.
pub struct LocalS3 {
    endpoint: String,
    accept_loop: JoinHandle<()>,
}

impl LocalS3 {
    /// Serve `data_dir` (created if missing) on 127.0.0.1 at a free port.
    pub async fn start(data_dir: &Path) -> std::io::Result<LocalS3> {
        Self::start_on(data_dir, 0).await
    }

    /// Serve `data_dir` on a given port (0 = any free port).
    pub async fn start_on(data_dir: &Path, port: u16) -> std::io::Result<LocalS3> {
        std::fs::create_dir_all(data_dir)?;
        let fs = s3s_fs::FileSystem::new(data_dir)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            b.build()
        };
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let accept_loop = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Ok(LocalS3 {
            endpoint,
            accept_loop,
        })
    }

    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
    pub fn access_key(&self) -> &str {
        ACCESS_KEY
    }
    pub fn secret_key(&self) -> &str {
        SECRET_KEY
    }

    /// An S3 client configured for this server.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        s3_client_for_endpoint(&self.endpoint, ACCESS_KEY, SECRET_KEY, REGION).await
    }

    /// A store on `bucket`, creating the bucket if needed.
    pub async fn store(&self, bucket: &str) -> Result<S3Store, StoreError> {
        let store = S3Store::new(self.client().await, bucket);
        store.ensure_bucket().await?;
        Ok(store)
    }
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Condition, ObjectStore};
    use std::collections::HashMap;

    #[tokio::test]
    async fn round_trip_over_the_s3_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = LocalS3::start(dir.path()).await.unwrap();
        let store = s3.store("cvdw-raw").await.unwrap();
        let meta = HashMap::from([("run-id".to_string(), "r1".to_string())]);
        store
            .put(
                "raw/a b/ç.json",
                "{\"x\":1}".into(),
                "application/json",
                &meta,
            )
            .await
            .unwrap();
        let got = store.get("raw/a b/ç.json").await.unwrap();
        assert_eq!(&got.body[..], b"{\"x\":1}");
        assert_eq!(got.metadata.get("run-id").map(String::as_str), Some("r1"));
        assert!(matches!(
            store.get("raw/missing").await,
            Err(StoreError::NotFound { .. })
        ));

        let etag = store
            .put_if(
                "state/lock",
                "a".into(),
                "text/plain",
                &meta,
                Condition::IfNoneMatch,
            )
            .await
            .unwrap();
        assert!(matches!(
            store
                .put_if(
                    "state/lock",
                    "b".into(),
                    "text/plain",
                    &meta,
                    Condition::IfNoneMatch
                )
                .await,
            Err(StoreError::PreconditionFailed { .. })
        ));
        assert!(matches!(
            store
                .put_if(
                    "state/lock",
                    "c".into(),
                    "text/plain",
                    &meta,
                    Condition::IfMatch("\"nope\"".into())
                )
                .await,
            Err(StoreError::PreconditionFailed { .. })
        ));
        let etag = etag.expect("s3s returns an etag");
        store
            .put_if(
                "state/lock",
                "d".into(),
                "text/plain",
                &meta,
                Condition::IfMatch(etag),
            )
            .await
            .unwrap();
        assert_eq!(&store.get("state/lock").await.unwrap().body[..], b"d");

        let keys: Vec<_> = store
            .list("raw/")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, vec!["raw/a b/ç.json".to_string()]);
        store.delete("raw/a b/ç.json").await.unwrap();
        assert!(store.list("raw/").await.unwrap().is_empty());
    }
}
