//! The object-store seam.
//!
//! Extract writes the landing zone and load reads it through [`ObjectStore`], so that the
//! domain code never names the AWS SDK. [`S3Store`] is the one production implementation: it
//! speaks the real S3 protocol to AWS or to any S3-compatible endpoint (the in-process
//! [`crate::local_s3`] server in tests and in `cvdw demo`).
//!
//! Conditional writes ([`Condition`]) are what make the extract lock and "write state last"
//! safe without a database: `If-None-Match: *` creates only, `If-Match: <etag>` is a
//! compare-and-swap.
//!
//! What must stand between the pipeline and its bucket (announcing writes, injecting faults)
//! wraps any store as a [`Hooked`] one.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};

mod hooked;

pub use hooked::{Announcer, Announcing, Hooked, StoreCall, StoreHook};

/// An object read back from the store.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub body: Bytes,
    /// User metadata, keys without the `x-amz-meta-` prefix.
    pub metadata: HashMap<String, String>,
    pub etag: Option<String>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A precondition on a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Create only: fail if the key exists.
    IfNoneMatch,
    /// Replace only the version with this ETag.
    IfMatch(String),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object `{key}` does not exist")]
    NotFound { key: String },
    #[error("precondition failed writing `{key}`")]
    PreconditionFailed { key: String },
    #[error("S3 {op} of `{key}` failed (retryable): {message}")]
    Transient {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("S3 {op} of `{key}` failed: {message}")]
    Permanent {
        op: &'static str,
        key: String,
        message: String,
    },
}

impl StoreError {
    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }
}

/// One write: the object, and the precondition it is written under, if any.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    pub key: &'a str,
    pub body: Bytes,
    pub content_type: &'a str,
    /// User metadata, keys without the `x-amz-meta-` prefix.
    pub metadata: &'a HashMap<String, String>,
    pub condition: Option<Condition>,
}

impl<'a> Write<'a> {
    pub fn new(
        key: &'a str,
        body: Bytes,
        content_type: &'a str,
        metadata: &'a HashMap<String, String>,
        condition: Option<Condition>,
    ) -> Self {
        Write {
            key,
            body,
            content_type,
            metadata,
            condition,
        }
    }
}

/// The operations the pipeline needs from an object store. An implementation writes through
/// [`ObjectStore::write`]; the pipeline calls `put` and `put_if`, which say the same thing
/// in its own terms.
pub trait ObjectStore: Send + Sync + Clone + 'static {
    /// Write one object; its ETag, when the store gives one.
    fn write(
        &self,
        write: Write<'_>,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        metadata: &HashMap<String, String>,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        async move {
            self.write(Write::new(key, body, content_type, metadata, None))
                .await
        }
    }

    fn put_if(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        metadata: &HashMap<String, String>,
        condition: Condition,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        let condition = Some(condition);
        async move {
            self.write(Write::new(key, body, content_type, metadata, condition))
                .await
        }
    }

    fn get(&self, key: &str) -> impl Future<Output = Result<StoredObject, StoreError>> + Send;

    /// Every key under `prefix`, in key order (all listing pages).
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ListedObject>, StoreError>> + Send;

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// [`ObjectStore`] over the AWS SDK.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Create the bucket unless it exists (local servers and tests; production buckets come
    /// from the SAM template).
    pub async fn ensure_bucket(&self) -> Result<(), StoreError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.code() {
                Some("BucketAlreadyOwnedByYou") | Some("BucketAlreadyExists") => Ok(()),
                _ => Err(classify("create_bucket", &self.bucket, e)),
            },
        }
    }

    async fn put_object(&self, write: Write<'_>) -> Result<Option<String>, StoreError> {
        let Write {
            key,
            body,
            content_type,
            metadata,
            condition,
        } = write;
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .set_metadata((!metadata.is_empty()).then(|| metadata.clone()))
            .body(ByteStream::from(body));
        match condition {
            Some(Condition::IfNoneMatch) => req = req.if_none_match("*"),
            Some(Condition::IfMatch(etag)) => req = req.if_match(etag),
            None => {}
        }
        match req.send().await {
            Ok(out) => Ok(out.e_tag().map(str::to_string)),
            Err(e) if status_of(&e) == Some(412) || e.code() == Some("PreconditionFailed") => {
                Err(StoreError::PreconditionFailed {
                    key: key.to_string(),
                })
            }
            // A concurrent conditional write on the same key (AWS answers 409).
            Err(e)
                if status_of(&e) == Some(409) && e.code() == Some("ConditionalRequestConflict") =>
            {
                Err(StoreError::PreconditionFailed {
                    key: key.to_string(),
                })
            }
            Err(e) => Err(classify("put", key, e)),
        }
    }
}

fn status_of<E, R>(e: &SdkError<E, R>) -> Option<u16>
where
    R: HttpStatus,
{
    match e {
        SdkError::ServiceError(se) => Some(se.raw().status_code()),
        SdkError::ResponseError(re) => Some(re.raw().status_code()),
        _ => None,
    }
}

/// All we need of a raw response is its status.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn classify<E, R>(op: &'static str, key: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    let status = status_of(&e);
    let message = match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("")),
        None => aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
    };
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(_) => {
            matches!(status, Some(s) if s >= 500 || s == 429 || s == 408)
                || matches!(
                    e.code(),
                    Some("SlowDown") | Some("RequestTimeout") | Some("InternalError")
                )
        }
        _ => false,
    };
    if retryable {
        StoreError::Transient {
            op,
            key: key.to_string(),
            message,
        }
    } else {
        StoreError::Permanent {
            op,
            key: key.to_string(),
            message,
        }
    }
}

impl ObjectStore for S3Store {
    async fn write(&self, write: Write<'_>) -> Result<Option<String>, StoreError> {
        self.put_object(write).await
    }

    async fn get(&self, key: &str) -> Result<StoredObject, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let missing = e
                    .as_service_error()
                    .map(|s| s.is_no_such_key())
                    .unwrap_or(false)
                    || status_of(&e) == Some(404);
                return Err(if missing {
                    StoreError::NotFound {
                        key: key.to_string(),
                    }
                } else {
                    classify("get", key, e)
                });
            }
        };
        let metadata = out.metadata().cloned().unwrap_or_default();
        let etag = out.e_tag().map(str::to_string);
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Transient {
                op: "get",
                key: key.to_string(),
                message: format!("reading the body: {e}"),
            })?;
        Ok(StoredObject {
            body: body.into_bytes(),
            metadata,
            etag,
        })
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let resp = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| classify("list", prefix, e))?;
            for o in resp.contents() {
                let Some(key) = o.key() else { continue };
                out.push(ListedObject {
                    key: key.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().map(str::to_string),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
                });
            }
            match resp.next_continuation_token() {
                Some(t) if resp.is_truncated().unwrap_or(false) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("delete", key, e))
    }
}

/// Install rustls' ring provider as the process default. reqwest, the S3 client and the
/// Postgres TLS connector all need one; calling this more than once is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// An S3 client from the standard AWS environment (`AWS_REGION`, the credentials chain,
/// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` for an S3-compatible server, which also switches
/// to path-style addressing since a loopback endpoint cannot do virtual hosts).
pub async fn s3_client_from_env() -> aws_sdk_s3::Client {
    install_crypto_provider();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await;
    let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"].iter().any(|v| {
        std::env::var(v)
            .map(|s| !s.trim().is_empty())
            .unwrap_or(false)
    });
    let conf = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An S3 client for an explicit S3-compatible endpoint with static credentials.
pub async fn s3_client_for_endpoint(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> aws_sdk_s3::Client {
    install_crypto_provider();
    let creds =
        aws_sdk_s3::config::Credentials::new(access_key, secret_key, None, None, "cvdw-static");
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .http_client(http_client())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
