//! A page step by step, the client reading between statements: for late pages, the page that
//! completes a pending manifest, and whatever else the one-round-trip path declined.

use super::bookkeeping::{ledger_has, Bookkeeping};
use super::locks::{lock_name, page_lock_name, LOCK, LOCK_SHARED};
use super::manifest::try_apply;
use super::rows::ChildBatch;
use super::{
    pipeline, tables, wire, LoadError, ManifestOutcome, PageOutcome, PageReport, PageToLoad, Param,
};
use std::time::Instant;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, GenericClient, Transaction};

/// The page step by step, the client reading between statements: for late pages, the page
/// that completes a pending manifest, and whatever else the one-round-trip path declined.
pub(super) async fn load_step_by_step(
    client: &mut Client,
    p: &PageToLoad<'_>,
    exclusive: bool,
    force: bool,
) -> Result<PageOutcome, LoadError> {
    let lock = lock_name(&p.meta.tenant, p.spec.name);
    let page_lock = page_lock_name(p.key);
    let lock_params: [Param; 1] = [(&lock, Type::TEXT)];
    let page_lock_params: [Param; 1] = [(&page_lock, Type::TEXT)];
    // Pages of one object load concurrently (the object lock is taken shared); only applying
    // a manifest takes it exclusively. A page that turns out to complete a pending manifest is
    // rolled back and loaded again under the exclusive lock (see the module docs).
    let mut exclusive = exclusive;
    let (tx, mut report) = loop {
        let tx = client.transaction().await?;
        let object_lock = if exclusive { LOCK } else { LOCK_SHARED };
        // Pipelined: the locks are sent first (page, then object: every loader takes them in
        // this order), so the server runs the reads after they are held. Every answer is
        // awaited before an error is taken, in statement order (see [`pipeline`]).
        let (page_locked, object_locked, row_types, already) = futures::join!(
            tx.execute_typed(LOCK, &page_lock_params),
            tx.execute_typed(object_lock, &lock_params),
            wire::RowTypes::refresh(&tx, p.stmts),
            // Again under the lock: a concurrent delivery of the same page may have just finished.
            ledger_has(&tx, p.key, p.sha),
        );
        page_locked?;
        object_locked?;
        let (row_types, already) = (row_types?, already?);
        if !force && already {
            tx.commit().await?;
            return Ok(PageOutcome::Duplicate {
                key: p.key.to_string(),
            });
        }
        match write_page(&tx, p, &row_types, exclusive).await? {
            Some(report) => break (tx, report),
            None => {
                tracing::info!(
                    key = p.key,
                    "page completes a pending manifest; loading it again under the exclusive lock"
                );
                tx.rollback().await?;
                exclusive = true;
            }
        }
    };
    let t_commit = Instant::now();
    tx.commit().await?;
    report.phases.commit = t_commit.elapsed();
    Ok(PageOutcome::Loaded(report))
}

/// Upsert the page's rows; returns the keys whose stored values now come from this page
/// (sorted), and fixes the bookkeeping of the rows the page is older than (see [`sql`]).
pub(super) async fn upsert_rows(
    tx: &Transaction<'_>,
    p: &PageToLoad<'_>,
    row_type: &wire::RowType,
) -> Result<Vec<String>, LoadError> {
    let rows = p.rows(row_type)?;
    let params = p.upsert_params(&rows, row_type.array_type());
    let written = tx.execute_typed(p.stmts.upsert.as_str(), &params).await?;
    let keys = &p.batch.keys;
    if written == keys.len() as u64 {
        // The usual case (pages arrive in order): the page is the newest observation of
        // every key, and the upsert did all the bookkeeping.
        return Ok(keys.clone());
    }
    // A late page: find which keys it won, and give the others its sighting.
    let tenant = &p.meta.tenant;
    let mut took_params: Vec<Param> = vec![
        (tenant, Type::TEXT),
        (&p.run, Type::TEXT),
        (&p.meta.fetched_at, Type::TIMESTAMPTZ),
        (&p.page, Type::INT4),
        (keys, Type::TEXT_ARRAY),
    ];
    if p.typed.is_none() {
        took_params.push((&p.spec.name, Type::TEXT));
    }
    let seen_params: [Param; 4] = [
        (tenant, Type::TEXT),
        (&p.run, Type::TEXT),
        (keys, Type::TEXT_ARRAY),
        (&p.spec.name, Type::TEXT),
    ];
    let (took, seen) = futures::join!(
        tx.query_typed(p.stmts.took.as_str(), &took_params),
        tx.execute_typed(p.stmts.seen.as_str(), &seen_params)
    );
    let (took, _) = (took?, seen?);
    let mut keys: Vec<String> = took.iter().map(|r| r.get::<_, String>(0)).collect();
    keys.sort();
    Ok(keys)
}

/// Everything the page writes, in its transaction; `None` when it completes a pending
/// manifest and does not hold the object lock exclusively (the caller retries with it).
pub(super) async fn write_page(
    tx: &Transaction<'_>,
    p: &PageToLoad<'_>,
    row_types: &wire::RowTypes,
    exclusive: bool,
) -> Result<Option<PageReport>, LoadError> {
    let t_upsert = Instant::now();
    let newest_keys = if p.batch.keys.is_empty() {
        Vec::new()
    } else {
        upsert_rows(tx, p, &row_types.table).await?
    };
    let upsert = t_upsert.elapsed();
    let t_rest = Instant::now();

    // Children follow their parent: replaced whenever the parent's values are. Usually the
    // page is the newest observation of all its keys: then all its children go, with no copy.
    let selected;
    let child = match p.child(row_types) {
        Some((t, stmts, items)) if !newest_keys.is_empty() => {
            let items = if newest_keys.len() == p.batch.keys.len() {
                items
            } else {
                selected = items.select(&newest_keys, t.cols);
                &selected
            };
            Some((stmts, child_rows(t, &stmts, items)?))
        }
        _ => None,
    };
    let bookkeeping = Bookkeeping::new(p);
    let mut steps = Vec::new();
    if let Some((stmts, items)) = &child {
        steps.extend(child_steps(
            tx,
            stmts,
            &p.meta.tenant,
            &newest_keys,
            items.as_ref(),
        ));
    }
    steps.extend(bookkeeping.steps(tx));
    let pending_params: [Param; 3] = [
        (&p.meta.tenant, Type::TEXT),
        (&p.spec.name, Type::TEXT),
        (&p.key, Type::TEXT),
    ];
    let pending = tx.query_typed(
        "SELECT run_id FROM etl.manifests \
         WHERE tenant = $1 AND object = $2 AND applied_at IS NULL AND $3 = ANY(page_keys) ORDER BY run_id",
        &pending_params,
    );
    // Pipelined, the writes first; every answer awaited before an error is taken, in
    // statement order (see [`pipeline`]).
    let (written, pending) = futures::join!(pipeline::run(steps, None), pending);
    written.map_err(|f| f.error)?;
    let pending = pending?;

    // Manifests that were waiting for this page (their check sees this page's ledger row).
    // Applying one needs the object lock exclusively: the caller retries with it.
    if !pending.is_empty() && !exclusive {
        return Ok(None);
    }
    let (mut manifests_applied, mut deletions_skipped) = (0, 0);
    for r in pending {
        let run_id: String = r.get(0);
        match try_apply(tx, &p.meta.tenant, p.spec.name, &run_id).await? {
            ManifestOutcome::Applied { .. } => manifests_applied += 1,
            ManifestOutcome::DeletionSkipped { .. } => {
                manifests_applied += 1;
                deletions_skipped += 1;
            }
            ManifestOutcome::Pending { .. } | ManifestOutcome::AlreadyApplied => {}
        }
    }
    let mut report = p.report(newest_keys.len(), manifests_applied, false);
    report.deletions_skipped = deletions_skipped;
    report.phases.upsert = upsert;
    report.phases.rest = t_rest.elapsed();
    Ok(Some(report))
}

/// The statements that replace a page's children, and their rows' type.
#[derive(Clone, Copy)]
pub(super) struct ChildStatements<'a> {
    pub(super) delete: &'a str,
    pub(super) insert: &'a str,
    pub(super) row_type: &'a wire::RowType,
}

/// The child rows as an array of the child table's row type; `None` when there are none.
pub(super) fn child_rows<'a>(
    t: &tables::Child,
    stmts: &ChildStatements<'a>,
    items: &'a ChildBatch,
) -> Result<Option<wire::RowSet<'a>>, LoadError> {
    if items.parent_keys.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = t.cols.iter().map(|c| c.name).collect();
    Ok(Some(wire::RowSet::new(
        stmts.row_type,
        &items.parent_keys,
        Some(&items.ordinals),
        wire::Payloads::Values(&items.payloads),
        &names,
        &items.cols,
    )?))
}

/// Replace the children of `parents` with `items` (the children of exactly those parents, if
/// they have any): the delete, then the insert.
pub(super) fn child_steps<'a, C: GenericClient + Sync>(
    c: &'a C,
    child: &'a ChildStatements<'a>,
    tenant: &'a String,
    parents: &'a Vec<String>,
    items: Option<&'a wire::RowSet<'a>>,
) -> Vec<pipeline::Step<'a>> {
    let mut steps = vec![pipeline::statement(
        c,
        child.delete,
        vec![(tenant, Type::TEXT), (parents, Type::TEXT_ARRAY)],
    )];
    if let Some(rows) = items {
        steps.push(pipeline::statement(
            c,
            child.insert,
            vec![(tenant, Type::TEXT), (rows, child.row_type.array_type())],
        ));
    }
    steps
}
