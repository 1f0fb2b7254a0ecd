//! From an object-store key to the loader: S3 event keys, routing, and reading a stored page.
//!
//! S3 event notifications carry the key URL-encoded the way HTML forms are (`+` for a space,
//! `%C3%A7` for `ç`), so [`decode_s3_key`] undoes exactly that before anything looks at it.
//! `raw/…json` is a page, `manifests/…json` a manifest; anything else (state, locks) is
//! logged and ignored.

use super::prepare::PageInput;
use super::{
    load_manifest, load_page, record_failure, LoadError, LoadOptions, ManifestOutcome, PageOutcome,
};
use crate::landing::{PageMeta, MANIFEST_PREFIX, RAW_PREFIX};
use crate::store::ObjectStore;
use tokio_postgres::Client;

/// Decode an S3 event key: `+` → space, then percent-decoding (UTF-8; an invalid sequence is
/// kept as the replacement character rather than failing the event).
pub fn decode_s3_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// S3 returns non-ASCII user metadata as RFC 2047 encoded-words (`=?UTF-8?B?…?=`), so a
/// tenant such as `construtora são josé` comes back encoded; decode the `B` (base64) form,
/// and leave anything else as it is.
pub fn decode_metadata_value(v: &str) -> String {
    let t = v.trim();
    let Some(inner) = t.strip_prefix("=?").and_then(|x| x.strip_suffix("?=")) else {
        return v.to_string();
    };
    let mut parts = inner.splitn(3, '?');
    let (Some(charset), Some(enc), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
        return v.to_string();
    };
    if !charset.eq_ignore_ascii_case("utf-8") || !enc.eq_ignore_ascii_case("b") {
        return v.to_string();
    }
    aws_smithy_types::base64::decode(text)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| v.to_string())
}

/// What a key is to the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Page,
    Manifest,
    Ignore,
}

pub fn route(key: &str) -> Route {
    if key.starts_with(RAW_PREFIX) && key.ends_with(".json") {
        Route::Page
    } else if key.starts_with(MANIFEST_PREFIX) && key.ends_with(".json") {
        Route::Manifest
    } else {
        Route::Ignore
    }
}

/// What handling one key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    Page(PageOutcome),
    Manifest(ManifestOutcome),
    Ignored,
}

/// Get a raw page from the store and load it. Its metadata must be the page's `PageMeta`
/// (user metadata written by extract); without it the page is a failed page.
pub async fn load_stored_page<S: ObjectStore>(
    client: &mut Client,
    store: &S,
    key: &str,
    opts: LoadOptions,
) -> Result<PageOutcome, LoadError> {
    match fetch_page(store, key).await? {
        Fetched::Page(p) => load_page(client, key, &p.body, &p.meta, p.etag.as_deref(), opts).await,
        Fetched::Unreadable(u) => Err(u.record(client).await),
    }
}

/// A stored page, read for loading.
#[derive(Debug)]
pub enum Fetched {
    Page(PageInput),
    /// It cannot be loaded: to record in `etl.failed_pages`.
    Unreadable(Unreadable),
}

/// A stored page that cannot be loaded as it is, and why.
#[derive(Debug)]
pub struct Unreadable {
    pub key: String,
    pub reason: String,
    /// What the store returned (its prefix is recorded).
    pub body: Vec<u8>,
    /// The object does not exist.
    pub missing: Option<crate::store::StoreError>,
}

impl Unreadable {
    /// The object does not exist (deleted after its event, or an event for another bucket).
    fn missing(key: &str, e: crate::store::StoreError) -> Unreadable {
        Unreadable {
            key: key.to_string(),
            reason: format!("{e} (deleted after the event, or an event for another bucket)"),
            body: Vec::new(),
            missing: Some(e),
        }
    }

    /// Record it in `etl.failed_pages`; the error the load fails with.
    pub async fn record(self, client: &Client) -> LoadError {
        let key = self.key.as_str();
        tracing::error!(key, reason = %self.reason, "page failed");
        if let Err(e) =
            record_failure(client, key, None, None, None, &self.reason, &self.body).await
        {
            return e.into();
        }
        match self.missing {
            Some(e) => e.into(),
            None => LoadError::BadPage {
                key: self.key,
                reason: self.reason,
            },
        }
    }
}

/// Read a raw page and its metadata from the store: no database involved, so a loader can
/// read the next page while the current one loads. An object that does not exist (deleted
/// since, or an event for another bucket) is unreadable like a page without metadata, so that
/// it shows where operators look, and fails permanently: S3 reads are strongly consistent, so
/// retrying will not make it appear. Other store errors are returned as they are.
pub async fn fetch_page<S: ObjectStore>(store: &S, key: &str) -> Result<Fetched, LoadError> {
    let obj = match store.get(key).await {
        Ok(obj) => obj,
        Err(e @ crate::store::StoreError::NotFound { .. }) => {
            return Ok(Fetched::Unreadable(Unreadable::missing(key, e)))
        }
        Err(e) => return Err(e.into()),
    };
    let metadata: std::collections::HashMap<String, String> = obj
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), decode_metadata_value(v)))
        .collect();
    // The metadata first (it says how the body is stored), then the body as CVDW sent it.
    let page = PageMeta::from_metadata(&metadata)
        .map_err(|e| e.to_string())
        .and_then(|meta| {
            let body = crate::landing::decode_page(&metadata, obj.body.clone())?;
            Ok((meta, body))
        });
    Ok(match page {
        Ok((meta, body)) => Fetched::Page(PageInput {
            key: key.to_string(),
            body,
            meta,
            etag: obj.etag,
        }),
        Err(reason) => Fetched::Unreadable(Unreadable {
            key: key.to_string(),
            reason,
            body: obj.body.to_vec(),
            missing: None,
        }),
    })
}

/// Get an object an event named, recording a missing one (see [`fetch_page`]).
async fn get_or_record<S: ObjectStore>(
    client: &Client,
    store: &S,
    key: &str,
) -> Result<crate::store::StoredObject, LoadError> {
    match store.get(key).await {
        Ok(obj) => Ok(obj),
        Err(e @ crate::store::StoreError::NotFound { .. }) => {
            Err(Unreadable::missing(key, e).record(client).await)
        }
        Err(e) => Err(e.into()),
    }
}

/// Handle one (already decoded) key of an ObjectCreated event.
pub async fn handle_key<S: ObjectStore>(
    client: &mut Client,
    store: &S,
    key: &str,
    opts: LoadOptions,
) -> Result<KeyOutcome, LoadError> {
    match route(key) {
        Route::Page => Ok(KeyOutcome::Page(
            load_stored_page(client, store, key, opts).await?,
        )),
        Route::Manifest => {
            let obj = get_or_record(client, store, key).await?;
            Ok(KeyOutcome::Manifest(
                load_manifest(client, key, &obj.body).await?,
            ))
        }
        Route::Ignore => {
            tracing::info!(key, "not a raw page or manifest; ignored");
            Ok(KeyOutcome::Ignored)
        }
    }
}

/// What one S3 notification event did, record by record.
#[derive(Debug, Default)]
pub struct EventReport {
    /// Decoded keys handled, with what happened.
    pub done: Vec<(String, KeyOutcome)>,
    /// `key: error` for each record that failed. When one is retryable the event as a whole
    /// fails, so Lambda retries it and, after the retries, its on-failure destination keeps it.
    pub failures: Vec<String>,
    /// How many of `failures` cannot succeed on a redelivery (a bad page or manifest) and are
    /// recorded in `etl.failed_pages`; the others (a dropped connection, a serialization
    /// failure) are expected to pass on retry.
    pub permanent_failures: usize,
}

impl EventReport {
    /// Whether a redelivery of the event can do more: some failure is retryable. Permanent
    /// failures alone are recorded and done with.
    pub fn wants_retry(&self) -> bool {
        self.failures.len() > self.permanent_failures
    }
}

/// Handle an S3 notification event: every `ObjectCreated` record is decoded and loaded from
/// its own bucket; other records are ignored. Every record is attempted even when one fails
/// (records that did load are no-ops on redelivery, thanks to the ledger). The load Lambda
/// and `cvdw demo` both deliver their events here.
pub async fn handle_s3_event(
    db: &mut crate::db::Db,
    s3: &aws_sdk_s3::Client,
    event: aws_lambda_events::event::s3::S3Event,
    opts: LoadOptions,
) -> Result<EventReport, crate::db::DbError> {
    let mut report = EventReport::default();
    db.ensure_connected().await?;
    for record in event.records {
        let event_name = record.event_name.unwrap_or_default();
        let (Some(bucket), Some(raw_key)) = (record.s3.bucket.name, record.s3.object.key) else {
            tracing::warn!(event_name, "record without bucket or key; ignored");
            continue;
        };
        if !event_name.starts_with("ObjectCreated") {
            tracing::info!(
                event_name,
                key = raw_key,
                "not an ObjectCreated event; ignored"
            );
            continue;
        }
        let key = decode_s3_key(&raw_key);
        let store = crate::store::S3Store::new(s3.clone(), bucket);
        // Boxed: the loader's future is deep, and inlined into a Lambda handler's it overflows
        // rustc's query depth when the compiler lays the handler's future out.
        match Box::pin(handle_key(db.client(), &store, &key, opts)).await {
            Ok(outcome) => report.done.push((key, outcome)),
            Err(e) => {
                let message = with_causes(&e);
                tracing::error!(key, error = %message, retryable = e.is_retryable(), "record failed");
                report.failures.push(format!("{key}: {message}"));
                if !e.is_retryable() && recorded(db.client(), &key, &e, &message).await {
                    report.permanent_failures += 1;
                }
                // A dead connection is re-opened before the next record. `is_closed()` can lag
                // behind an error that already says so (the server's FATAL arrives before its
                // EOF is read), so such an error reconnects unconditionally.
                match &e {
                    LoadError::Db(pg) if crate::db::is_connection_lost(pg) => {
                        db.reconnect().await?
                    }
                    _ => db.ensure_connected().await?,
                }
            }
        }
    }
    Ok(report)
}

/// Whether a permanent failure is in `etl.failed_pages`, recording it if the loader has not
/// (a layout mismatch, a refused S3 read, a database error no retry fixes): a permanent failure
/// is not retried, so it must be where operators look before the event is let go. One that
/// cannot be recorded is left to Lambda's retries, like a retryable one.
async fn recorded(client: &Client, key: &str, error: &LoadError, message: &str) -> bool {
    match error {
        LoadError::BadPage { .. }
        | LoadError::BadManifest { .. }
        | LoadError::Store(crate::store::StoreError::NotFound { .. }) => true,
        _ => match record_failure(client, key, None, None, None, message, &[]).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(key, error = %e, "could not record a permanent failure");
                false
            }
        },
    }
}

/// An error and its causes on one line: a tokio-postgres error alone says only `db error`; the
/// server's message (`FATAL: terminating connection…`) is its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

/// Encode a key the way S3 notifications do (form encoding: `+` for a space, `%XX` for
/// everything outside the unreserved set and `/`), the inverse of [`decode_s3_key`].
pub fn encode_s3_key(key: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b' ');
    utf8_percent_encode(key, KEEP).to_string().replace(' ', "+")
}

/// A notification event for keys of `bucket`, shaped as S3 sends it (used by `cvdw demo`, which
/// has no S3 notifications locally, to drive the same path as the Lambda).
pub fn object_created_event(
    bucket: &str,
    keys: &[String],
) -> aws_lambda_events::event::s3::S3Event {
    let records: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "cvdw-local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "cvdw-local",
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": "cvdw-local"}, "arn": format!("arn:aws:s3:::{bucket}")},
                    "object": {"key": encode_s3_key(k), "size": 0, "eTag": "", "sequencer": "0"}
                }
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_like_s3_events_encode_them() {
        assert_eq!(
            decode_s3_key("raw/construtora+s%C3%A3o+jos%C3%A9/reservas_condicoes/2026/11/29/20261129T043512Z-a1b2c3/00001.json"),
            "raw/construtora são josé/reservas_condicoes/2026/11/29/20261129T043512Z-a1b2c3/00001.json"
        );
        assert_eq!(decode_s3_key("a%2Bb+c"), "a+b c");
        assert_eq!(decode_s3_key("plain/key.json"), "plain/key.json");
        let odd = "raw/construtora são josé/a+b/00001.json";
        assert_eq!(decode_s3_key(&encode_s3_key(odd)), odd);
        let event = object_created_event("bucket-x", &[odd.to_string()]);
        assert_eq!(event.records.len(), 1);
        assert_eq!(
            event.records[0]
                .s3
                .object
                .key
                .as_deref()
                .map(decode_s3_key)
                .as_deref(),
            Some(odd)
        );
        assert_eq!(route("raw/a/vendas/2026/11/29/x/00001.json"), Route::Page);
        assert_eq!(route("manifests/a/r/vendas.json"), Route::Manifest);
        assert_eq!(route("state/a/vendas.json"), Route::Ignore);
        assert_eq!(
            decode_metadata_value("=?UTF-8?B?Y29uc3RydXRvcmEgc8OjbyBqb3PDqQ==?="),
            "construtora são josé"
        );
        assert_eq!(decode_metadata_value("acme"), "acme");
        assert_eq!(decode_metadata_value("=?UTF-8?B?!!?="), "=?UTF-8?B?!!?=");
    }
}
