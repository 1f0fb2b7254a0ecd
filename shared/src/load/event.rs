//! From an object-store key to the loader: S3 event keys, routing, and reading a stored page.
//!
//! S3 event notifications carry the key URL-encoded the way HTML forms are (`+` for a space,
//! `%C3%A7` for `ç`), so [`decode_s3_key`] undoes exactly that before anything looks at it.
//! `raw/…json` is a page, `manifests/…json` a manifest; anything else (state, locks) is
//! logged and ignored.

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
    let obj = store.get(key).await?;
    let metadata: std::collections::HashMap<String, String> = obj
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), decode_metadata_value(v)))
        .collect();
    let meta = match PageMeta::from_metadata(&metadata) {
        Ok(m) => m,
        Err(e) => {
            let reason = e.to_string();
            tracing::error!(key, reason = %reason, "page failed");
            record_failure(client, key, None, None, None, &reason, &obj.body).await?;
            return Err(LoadError::BadPage {
                key: key.to_string(),
                reason,
            });
        }
    };
    load_page(client, key, &obj.body, &meta, obj.etag.as_deref(), opts).await
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
            let obj = store.get(key).await?;
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
