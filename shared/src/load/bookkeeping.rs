//! What a page writes to `etl` besides its rows: the ledger, its quarantined rows, the sighting
//! of rows it could not store, and the record of a page that could not be loaded at all.

use super::rows::Batch;
use super::{guard, pipeline, PageToLoad};
use crate::landing::PageMeta;
use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, GenericClient};

/// What a page writes to `etl` besides its rows: its rejected rows (replacing a previous
/// load's, so a forced reload does not double them), its ledger entry, and the resolution of a
/// failure recorded for it earlier. Both paths send it the same way.
pub(super) struct Bookkeeping<'a> {
    key: &'a str,
    tenant: &'a str,
    object: &'a str,
    run: &'a str,
    page: i32,
    mode: &'a str,
    fetched_at: &'a DateTime<Utc>,
    sha: &'a str,
    etag: Option<&'a str>,
    rows: i32,
    loaded: i32,
    duplicates: i32,
    rejected: i32,
    ms: i32,
    index: Vec<i32>,
    natural_keys: Vec<Option<&'a str>>,
    reasons: Vec<&'a str>,
    raws: Vec<&'a serde_json::Value>,
    /// The `seen` statement of the page's table ([`sql`]), and the keys of quarantined rows
    /// that no accepted row of the page carries (sorted): a row that was in the page was
    /// seen, even if it could not be stored, so its stored twin must not be deleted by a full
    /// run.
    seen: &'a str,
    rejected_keys: Vec<String>,
}

impl<'a> Bookkeeping<'a> {
    pub(super) fn new(p: &'a PageToLoad<'a>) -> Self {
        let (meta, batch) = (p.meta, p.batch);
        Bookkeeping {
            key: p.key,
            tenant: &meta.tenant,
            object: p.spec.name,
            run: p.run,
            page: p.page,
            mode: meta.mode.as_str(),
            fetched_at: &meta.fetched_at,
            sha: p.sha,
            etag: p.etag,
            rows: batch.total as i32,
            loaded: batch.keys.len() as i32,
            duplicates: batch.duplicates as i32,
            rejected: batch.rejected.len() as i32,
            ms: p.started.elapsed().as_millis().min(i32::MAX as u128) as i32,
            index: batch.rejected.iter().map(|r| r.index).collect(),
            natural_keys: batch
                .rejected
                .iter()
                .map(|r| r.natural_key.as_deref())
                .collect(),
            reasons: batch.rejected.iter().map(|r| r.reason.as_str()).collect(),
            raws: batch.rejected.iter().map(|r| &r.raw).collect(),
            seen: p.stmts.seen.as_str(),
            rejected_keys: rejected_keys(batch),
        }
    }

    /// The statements, in order.
    pub(super) fn steps<C: GenericClient + Sync>(&'a self, c: &'a C) -> Vec<pipeline::Step<'a>> {
        let mut steps = vec![pipeline::statement(
            c,
            "DELETE FROM etl.rejected_rows WHERE source_key = $1",
            vec![(&self.key, Type::TEXT)],
        )];
        if !self.index.is_empty() {
            steps.push(pipeline::statement(
                c,
                "INSERT INTO etl.rejected_rows (source_key, row_index, tenant, object, run_id, natural_key, reason, raw) \
                 SELECT $1, u.i, $2, $3, $4, u.k, u.r, u.raw \
                 FROM unnest($5::int4[], $6::text[], $7::text[], $8::jsonb[]) AS u(i, k, r, raw)",
                vec![
                    (&self.key, Type::TEXT),
                    (&self.tenant, Type::TEXT),
                    (&self.object, Type::TEXT),
                    (&self.run, Type::TEXT),
                    (&self.index, Type::INT4_ARRAY),
                    (&self.natural_keys, Type::TEXT_ARRAY),
                    (&self.reasons, Type::TEXT_ARRAY),
                    (&self.raws, Type::JSONB_ARRAY),
                ],
            ));
        }
        steps.push(pipeline::statement(
            c,
            "INSERT INTO etl.pages (source_key, tenant, object, run_id, page, mode, fetched_at, sha256, etag, rows, loaded_rows, duplicates, rejected, load_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (source_key) DO UPDATE SET sha256 = excluded.sha256, etag = excluded.etag, rows = excluded.rows, \
               loaded_rows = excluded.loaded_rows, duplicates = excluded.duplicates, rejected = excluded.rejected, \
               loads = etl.pages.loads + 1, loaded_at = now(), load_ms = excluded.load_ms",
            vec![
                (&self.key, Type::TEXT),
                (&self.tenant, Type::TEXT),
                (&self.object, Type::TEXT),
                (&self.run, Type::TEXT),
                (&self.page, Type::INT4),
                (&self.mode, Type::TEXT),
                (self.fetched_at, Type::TIMESTAMPTZ),
                (&self.sha, Type::TEXT),
                (&self.etag, Type::TEXT),
                (&self.rows, Type::INT4),
                (&self.loaded, Type::INT4),
                (&self.duplicates, Type::INT4),
                (&self.rejected, Type::INT4),
                (&self.ms, Type::INT4),
            ],
        ));
        if !self.rejected_keys.is_empty() {
            steps.push(pipeline::statement(
                c,
                self.seen,
                vec![
                    (&self.tenant, Type::TEXT),
                    (&self.run, Type::TEXT),
                    (&self.rejected_keys, Type::TEXT_ARRAY),
                    (&self.object, Type::TEXT),
                ],
            ));
        }
        steps.push(pipeline::statement(
            c,
            "UPDATE etl.failed_pages SET resolved_at = now() WHERE source_key = $1 AND resolved_at IS NULL",
            vec![(&self.key, Type::TEXT)],
        ));
        steps
    }
}

/// The keys of a page's quarantined rows that none of its accepted rows carries, sorted (row
/// locks are always taken in key order).
pub(super) fn rejected_keys(batch: &Batch<'_>) -> Vec<String> {
    let mut keys: Vec<String> = batch
        .rejected
        .iter()
        .filter_map(|r| r.natural_key.clone())
        .filter(|k| batch.keys.binary_search(k).is_err())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

pub(crate) async fn record_failure(
    client: &Client,
    key: &str,
    meta: Option<&PageMeta>,
    object: Option<&str>,
    sha: Option<&str>,
    reason: &str,
    body: &[u8],
) -> Result<(), tokio_postgres::Error> {
    let prefix = guard::storable_text(&String::from_utf8_lossy(&body[..body.len().min(200)]));
    let reason = &guard::storable_text(reason);
    client
        .execute(
            "INSERT INTO etl.failed_pages (source_key, tenant, object, run_id, sha256, reason, body_prefix) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &key,
                &meta.map(|m| m.tenant.as_str()),
                &object,
                &meta.map(|m| m.run_id.as_str()),
                &sha,
                &reason,
                &prefix,
            ],
        )
        .await?;
    Ok(())
}

pub(super) async fn ledger_has(
    c: &impl GenericClient,
    key: &str,
    sha: &str,
) -> Result<bool, tokio_postgres::Error> {
    let row = c
        .query_typed_opt(
            "SELECT sha256 FROM etl.pages WHERE source_key = $1",
            &[(&key, Type::TEXT)],
        )
        .await?;
    Ok(row.is_some_and(|r| r.get::<_, String>(0).eq_ignore_ascii_case(sha)))
}
