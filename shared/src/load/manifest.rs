//! Manifests: recording one, applying it once its pages are loaded, and the deletions of a
//! full run (only on complete evidence: [`super::evidence`]). Also the statistics refresh after
//! a bulk load.

use super::bookkeeping::record_failure;
use super::locks::{lock_name, LOCK};
use super::{evidence, sha256_hex, sql, tables, LoadError, ManifestOutcome, Param};
use crate::landing::{parse_manifest_key, Manifest};
use chrono::{DateTime, Utc};
use std::time::Instant;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Transaction};

/// Record a manifest and apply it if all its pages are loaded (otherwise it stays pending and
/// the page that completes it applies it).
#[tracing::instrument(name = "load_manifest", skip_all, fields(key))]
pub async fn load_manifest(
    client: &mut Client,
    key: &str,
    body: &[u8],
) -> Result<ManifestOutcome, LoadError> {
    let bad = |reason: String| async {
        let reason_ref: &str = &reason;
        tracing::error!(key, reason = reason_ref, "manifest failed");
        let sha = sha256_hex(body);
        record_failure(client, key, None, None, Some(&sha), reason_ref, body).await?;
        Err::<ManifestOutcome, LoadError>(LoadError::BadManifest {
            key: key.to_string(),
            reason,
        })
    };
    let Some((tenant, run_id, object)) = parse_manifest_key(key) else {
        return bad("not a manifest key (manifests/{tenant}/{run_id}/{object}.json)".into()).await;
    };
    let m: Manifest = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(e) => return bad(format!("not a manifest: {e}")).await,
    };
    if m.tenant != tenant || m.run_id != run_id || m.object != object {
        return bad(format!(
            "body says {}/{}/{}, key says {tenant}/{run_id}/{object}",
            m.tenant, m.run_id, m.object
        ))
        .await;
    }
    let page_keys: Vec<&str> = m.pages.iter().map(|p| p.key.as_str()).collect();
    let body_json: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("not JSON: {e}")).await,
    };
    let rows = m.rows.min(i64::MAX as u64) as i64;
    let tx = client.transaction().await?;
    tx.execute(LOCK, &[&lock_name(&tenant, &object)]).await?;
    tx.execute(
        "INSERT INTO etl.manifests (tenant, object, run_id, mode, manifest_key, started_at, finished_at, page_keys, rows, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant, object, run_id) DO NOTHING",
        &[&tenant, &object, &run_id.as_str(), &m.mode.as_str(), &key, &m.started_at, &m.finished_at, &page_keys, &rows, &body_json],
    )
    .await?;
    let out = try_apply(&tx, &tenant, &object, run_id.as_str()).await?;
    tx.commit().await?;
    Ok(out)
}

/// Apply a manifest if every page it lists is in the ledger (caller holds the object lock
/// exclusively). A full run's deletions are applied only on complete evidence ([`evidence`]);
/// otherwise the manifest is recorded as applied with `deletion_skipped` and its reason, and
/// later pages do not count it as a deleting run (`sql::deletion_of_run`).
pub(super) async fn try_apply(
    tx: &Transaction<'_>,
    tenant: &str,
    object: &str,
    run_id: &str,
) -> Result<ManifestOutcome, LoadError> {
    let Some(m) = tx
        .query_typed_opt(
            "SELECT mode, started_at, applied_at IS NOT NULL, \
               (SELECT count(*) FROM unnest(m.page_keys) AS k(key) \
                 WHERE NOT EXISTS (SELECT 1 FROM etl.pages p WHERE p.source_key = k.key)), \
               body \
             FROM etl.manifests m WHERE tenant = $1 AND object = $2 AND run_id = $3",
            &[
                (&tenant, Type::TEXT),
                (&object, Type::TEXT),
                (&run_id, Type::TEXT),
            ],
        )
        .await?
    else {
        return Ok(ManifestOutcome::Pending { missing: 0 });
    };
    let mode: String = m.get(0);
    let started_at: DateTime<Utc> = m.get(1);
    if m.get::<_, bool>(2) {
        return Ok(ManifestOutcome::AlreadyApplied);
    }
    let missing: i64 = m.get(3);
    if missing > 0 {
        tracing::info!(run_id, object, missing, "manifest pending: pages missing");
        return Ok(ManifestOutcome::Pending { missing });
    }
    let mut deleted = 0;
    let mut skipped = None;
    if mode == "full" {
        let typed = tables::typed(object);
        let stmts = sql::for_object(typed);
        let body: serde_json::Value = m.get(4);
        skipped = deletion_blocker(tx, stmts, tenant, object, run_id, body).await?;
        if skipped.is_none() {
            let mut p: Vec<Param> = vec![
                (&tenant, Type::TEXT),
                (&run_id, Type::TEXT),
                (&started_at, Type::TIMESTAMPTZ),
            ];
            if typed.is_none() {
                p.push((&object, Type::TEXT));
            }
            deleted = tx.execute_typed(stmts.delete_absent.as_str(), &p).await?;
        }
    }
    let deleted_i = deleted.min(i32::MAX as u64) as i32;
    tx.execute_typed(
        "UPDATE etl.manifests SET applied_at = now(), deleted_rows = $4, deletion_skipped = $5 \
         WHERE tenant = $1 AND object = $2 AND run_id = $3",
        &[
            (&tenant, Type::TEXT),
            (&object, Type::TEXT),
            (&run_id, Type::TEXT),
            (&deleted_i, Type::INT4),
            (&skipped, Type::TEXT),
        ],
    )
    .await?;
    match skipped {
        Some(reason) => {
            tracing::warn!(run_id, object, reason = %reason, "full run applied without deletions: incomplete evidence");
            Ok(ManifestOutcome::DeletionSkipped { reason })
        }
        None => {
            tracing::info!(run_id, object, mode, deleted, "manifest applied");
            Ok(ManifestOutcome::Applied { deleted })
        }
    }
}

/// Why a full run's manifest must not delete (see [`evidence`]), or `None`.
pub(super) async fn deletion_blocker(
    tx: &Transaction<'_>,
    stmts: &sql::TableSql,
    tenant: &str,
    object: &str,
    run_id: &str,
    body: serde_json::Value,
) -> Result<Option<String>, LoadError> {
    let manifest: Manifest = match serde_json::from_value(body) {
        Ok(m) => m,
        Err(e) => return Ok(Some(format!("the stored manifest does not parse: {e}"))),
    };
    let keys: Vec<&str> = manifest.pages.iter().map(|p| p.key.as_str()).collect();
    let ledger = tx
        .query_typed(
            "SELECT source_key, rows FROM etl.pages WHERE source_key = ANY($1)",
            &[(&keys, Type::TEXT_ARRAY)],
        )
        .await?;
    let ledger: std::collections::HashMap<String, i32> =
        ledger.iter().map(|r| (r.get(0), r.get(1))).collect();
    if let Err(reason) = evidence::check_pages(&manifest.pages, &ledger) {
        return Ok(Some(reason));
    }
    let generic = stmts.table == "cvdw.objects";
    let mut p: Vec<Param> = vec![(&tenant, Type::TEXT), (&run_id, Type::TEXT)];
    if generic {
        p.push((&object, Type::TEXT));
    }
    let counts = tx.query_typed(stmts.absent_count.as_str(), &p).await?;
    let (live, absent): (i64, i64) = counts.first().map_or((0, 0), |r| (r.get(0), r.get(1)));
    let limit: f64 = tx
        .query_typed_opt(
            "SELECT max_share::float8 FROM etl.deletion_policy \
             WHERE tenant IN ($1, '*') AND object IN ($2, '*') \
             ORDER BY (tenant <> '*') DESC, (object <> '*') DESC LIMIT 1",
            &[(&tenant, Type::TEXT), (&object, Type::TEXT)],
        )
        .await?
        .map_or(evidence::DEFAULT_MAX_SHARE, |r| r.get(0));
    if live > 0 && absent > 0 && absent as f64 >= limit * live as f64 {
        return Ok(Some(format!(
            "would delete {absent} of {live} live rows ({:.1} %), at or above the {:.1} % limit of etl.deletion_policy",
            100.0 * absent as f64 / live as f64,
            100.0 * limit
        )));
    }
    Ok(None)
}

/// The tables behind catalogue objects: typed table (and its child table) or `cvdw.objects`.
/// Names come from the static table list, never from input (they are spliced into SQL).
pub fn tables_of<'a>(objects: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in objects {
        let names = match tables::typed(o) {
            Some(t) => std::iter::once(t.table)
                .chain(t.child.map(|c| c.table))
                .map(|n| format!("cvdw.{n}"))
                .collect(),
            None => vec!["cvdw.objects".to_string()],
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Refresh planner statistics after a bulk load (`cvdw load`, `cvdw replay`) of `objects`:
/// a table filled in one go has none until autovacuum gets round to it, and queries are
/// planned as if it were empty meanwhile (the api benchmark saw that). Once per bulk run,
/// never per page (the Lambda path leaves it to autovacuum). Returns the tables analysed.
pub async fn analyze_loaded<'a>(
    client: &Client,
    objects: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut tables = tables_of(objects);
    if tables.is_empty() {
        return Ok(tables);
    }
    tables.push("etl.pages".to_string());
    let t = Instant::now();
    client
        .batch_execute(&format!("ANALYZE {}", tables.join(", ")))
        .await?;
    tracing::info!(tables = %tables.join(","), ms = t.elapsed().as_millis() as u64, "analyzed");
    Ok(tables)
}
