//! What the benchmark checks PostgreSQL for (the sales set against the simulator, key by key)
//! and the in-process load side that fills it.

use super::{WarpClock, CHECK_EVERY, TENANT};
use chrono::{DateTime, NaiveDateTime, Utc};
use shared::catalogue::{self, ObjectSpec};
use shared::db::Db;
use shared::load::event::handle_key;
use shared::load::LoadOptions;
use simulator::Simulator;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Rows of the sales set changed since `since`, as the simulator serves them now: object
/// name → natural key → `referencia_data`.
pub(super) type SalesChanges = BTreeMap<&'static str, HashMap<String, String>>;

pub(super) fn sales_changes(sim: &Simulator, since: NaiveDateTime) -> SalesChanges {
    let since = since.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut out = SalesChanges::new();
    for spec in sales_specs() {
        let rows = sim
            .ground_truth(spec.path)
            .into_iter()
            .filter_map(|row| {
                let at = row.get("referencia_data")?.as_str()?.to_string();
                (at >= since).then(|| Some((spec.natural_key(&row)?, at)))?
            })
            .collect();
        out.insert(spec.name, rows);
    }
    out
}

pub(super) fn sales_specs() -> impl Iterator<Item = &'static ObjectSpec> {
    catalogue::SALES_SET
        .iter()
        .filter_map(|name| catalogue::find(name))
}

/// The table an object lands in, and whether rows are told apart by an `object` column.
/// Table names come from the static list in `shared::load::tables`.
pub(super) fn table_of(spec: &ObjectSpec) -> (String, bool) {
    match shared::load::tables::typed(spec.name) {
        Some(typed) => (format!("cvdw.\"{}\"", typed.table), false),
        None => ("cvdw.objects".to_string(), true),
    }
}

/// `columns` of the stored rows of `spec` with one of `keys` (and `and`, a fixed condition).
pub(super) async fn rows_by_key(
    db: &mut Db,
    spec: &ObjectSpec,
    columns: &str,
    and: &str,
    keys: &[&str],
) -> anyhow::Result<Vec<tokio_postgres::Row>> {
    let (table, by_object) = table_of(spec);
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE tenant = $1 AND natural_key = ANY($2){and}{}",
        if by_object { " AND object = $3" } else { "" }
    );
    Ok(if by_object {
        db.client()
            .query(&sql, &[&TENANT, &keys, &spec.name])
            .await?
    } else {
        db.client().query(&sql, &[&TENANT, &keys]).await?
    })
}

/// The first expected row PostgreSQL does not hold with its current `referencia_data`, if any.
pub(super) async fn missing_sales_change(
    db: &mut Db,
    expected: &SalesChanges,
) -> anyhow::Result<Option<String>> {
    for spec in sales_specs() {
        let Some(want) = expected.get(spec.name).filter(|w| !w.is_empty()) else {
            continue;
        };
        let keys: Vec<&str> = want.keys().map(String::as_str).collect();
        let rows = rows_by_key(
            db,
            spec,
            "natural_key, to_char(referencia_data, 'YYYY-MM-DD HH24:MI:SS')",
            "",
            &keys,
        )
        .await?;
        let stored: HashMap<String, Option<String>> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let missing = want
            .iter()
            .find(|(key, at)| stored.get(*key).and_then(Option::as_deref) != Some(at.as_str()));
        if let Some((key, at)) = missing {
            let held = stored.get(key).cloned().flatten();
            return Ok(Some(format!(
                "{} {key} at {at} (stored: {})",
                spec.name,
                held.as_deref().unwrap_or("absent")
            )));
        }
    }
    Ok(None)
}

/// Polls PostgreSQL while a run works; returns when the expected sales changes are all
/// stored (`Some(at)`), or `None` when the run and its loading are over and they are not.
pub(super) async fn watch_run(
    db: &mut Db,
    warp: &WarpClock,
    loader: &Loader,
    run_done: &std::sync::atomic::AtomicBool,
    expected: Option<&SalesChanges>,
) -> Option<DateTime<Utc>> {
    let expected = expected?;
    loop {
        let over = run_done.load(Ordering::SeqCst) && loader.backlog() == 0;
        match missing_sales_change(db, expected).await {
            Ok(None) => return Some(warp.now()),
            Ok(Some(missing)) if over => {
                println!("  not stored after the run: {missing}");
                return None;
            }
            Err(e) if over => {
                println!("  the check failed: {e}");
                return None;
            }
            _ => tokio::time::sleep(warp.real(CHECK_EVERY)).await,
        }
    }
}

/// The in-process load side: every announced key is loaded as the load Lambda loads it on
/// its S3 notification, by [`LOADERS`] workers at once (the template's default reserved
/// concurrency of the load function), each on its own connection, in no set order.
pub(super) struct Loader {
    pub(super) pending: Arc<AtomicUsize>,
    pub(super) loaded: Arc<AtomicU64>,
    pub(super) failed: Arc<AtomicU64>,
}

impl Loader {
    pub(super) fn start(
        connections: Vec<Db>,
        store: shared::store::S3Store,
        mut created: tokio::sync::mpsc::UnboundedReceiver<String>,
    ) -> Self {
        let pending = Arc::new(AtomicUsize::new(0));
        let loaded = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        // Counted when announced, so a drain never misses a key still in the channel.
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let counter = pending.clone();
        tokio::spawn(async move {
            while let Some(key) = created.recv().await {
                counter.fetch_add(1, Ordering::SeqCst);
                if tx.send(key).is_err() {
                    break;
                }
            }
        });
        let queue = Arc::new(tokio::sync::Mutex::new(rx));
        for mut db in connections {
            let (queue, store) = (queue.clone(), store.clone());
            let (p, l, f) = (pending.clone(), loaded.clone(), failed.clone());
            tokio::spawn(async move {
                loop {
                    let Some(key) = queue.lock().await.recv().await else {
                        break;
                    };
                    match handle_key(db.client(), &store, &key, LoadOptions::default()).await {
                        Ok(_) => l.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            eprintln!("load {key}: {e}");
                            f.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    p.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
        Self {
            pending,
            loaded,
            failed,
        }
    }

    pub(super) fn backlog(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Waits until every key announced so far is loaded.
    pub(super) async fn drain(&self) {
        // The forwarder counts a key a moment after the store announced it.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while self.backlog() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
