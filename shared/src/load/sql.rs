//! SQL text of the bulk statements, generated once per table from the static column lists in
//! [`super::tables`] (never from input). Values always travel as parameters.
//!
//! Every statement is sent with explicit parameter types as an *unnamed* statement
//! (`query_typed`/`execute_typed`): Parse, Bind and Execute go out in one message, so each
//! statement costs one round trip, nothing outlives the transaction, and it works behind any
//! pooler (Neon's PgBouncer in transaction mode included). Named prepared statements cached per
//! connection would save the server's parse and plan (about 1–2 ms per page for the upsert,
//! measured, see `docs/load-benchmark.md`), but they need a per-connection cache that survives
//! reconnects and a pooler that tracks protocol-level statements; the gain does not pay for that.

use super::tables::{all_cols, columns_of, Col, TypedTable, TYPED};
use std::sync::OnceLock;

/// `(excluded observation) >= (stored observation)`: the incoming row is at least as new, by
/// `(fetched_at, run_id, page)`. `>=` so that a forced reload of the same page re-applies it
/// (same values: a no-op in effect).
const NEWER: &str =
    "(excluded.fetched_at, excluded.run_id, excluded.page) >= (t.fetched_at, t.run_id, t.page)";

/// The page's keys in parameter `$n` as a relation `k(natural_key)` to join on, never as
/// `natural_key = ANY(…)`. Under a generic plan (every one-round-trip transaction forces one)
/// PostgreSQL assumes such an array holds 10 elements, so on a table of a few thousand rows it
/// chose to read every row of the tenant and test each against the array: 500 comparisons per
/// row, 18–28 ms per statement at 3 000 rows (a first load or a replay into a fresh database
/// crosses that range on every table), against 0.6–1.3 ms joined. Joined, the worst plan is a
/// hash join over the tenant's rows (linear, ~2 ms at 8 000 rows); from ~10 000 rows it is one
/// index probe per key.
fn keys_of(n: u8) -> String {
    format!("unnest(${n}::text[]) AS k(natural_key)")
}

fn q(name: &str) -> String {
    format!("\"{name}\"")
}

/// Deletion columns follow `last_seen_run`: they change only when this page's run is at least
/// the stored last sighting (`{run}` is the incoming run, `{at}`/`{by}` its deletion D(R)).
fn deletion_sets(run: &str, at: &str, by: &str) -> [String; 2] {
    [
        format!("deleted_at = CASE WHEN {run} >= t.last_seen_run THEN {at} ELSE t.deleted_at END"),
        format!(
            "deleted_by_run = CASE WHEN {run} >= t.last_seen_run THEN {by} ELSE t.deleted_by_run END"
        ),
    ]
}

/// The page's deletion D(R) (see the module docs of [`super`]) as a sub-select `d(run_id,
/// started_at)` of at most one row: the first applied full run of the object after the page's
/// run that deleted (one recorded as `deletion_skipped` deletes nothing, now or later); `$1` tenant, `$2` run_id, `${object}` object. The statements read it themselves, under
/// the page's locks, so that no client decision sits between the locks and the writes (the
/// one-round-trip path needs that; the step-by-step path uses the same statements).
fn deletion_of_run(object: u8) -> String {
    format!(
        "(SELECT m.run_id, m.started_at FROM etl.manifests m \
         WHERE m.tenant = $1 AND m.object = ${object} AND m.mode = 'full' AND m.applied_at IS NOT NULL AND m.deletion_skipped IS NULL AND m.run_id > $2 \
         ORDER BY m.run_id LIMIT 1) AS d"
    )
}

/// The upsert of one page into a table.
///
/// Parameters: `$1` tenant, `$2` run_id, `$3` fetched_at, `$4` page, `$5` source_key,
/// `$6` object; then `$7` the rows, an array of the table's own row type carrying natural_key,
/// payload and the data columns ([`super::wire`]).
///
/// Only rows for which this page is the newest observation are written (`WHERE` newer): their
/// data columns simply take the page's values, with no per-column `CASE`. The row count is the
/// number of keys whose values now come from this page. Rows the page is *older* than still
/// owe it their bookkeeping (first/last seen, deletion); [`TableSql::seen`] does that, and is
/// only needed when the count is short (a late, out-of-order page).
fn upsert(table: &str, cols: &[&Col], generic: bool) -> String {
    let col_list: Vec<String> = cols.iter().map(|c| q(c.name)).collect();
    let u_cols: Vec<String> = cols.iter().map(|c| format!("u.{}", q(c.name))).collect();
    let (obj_col, obj_val, conflict) = if generic {
        ("object, ", "$6, ", "(tenant, object, natural_key)")
    } else {
        ("", "", "(tenant, natural_key)")
    };
    let mut sets = vec![
        "first_seen_run = least(t.first_seen_run, excluded.first_seen_run)".to_string(),
        "last_seen_run = greatest(t.last_seen_run, excluded.last_seen_run)".to_string(),
    ];
    sets.extend(deletion_sets(
        "excluded.last_seen_run",
        "excluded.deleted_at",
        "excluded.deleted_by_run",
    ));
    for c in ["payload", "fetched_at", "run_id", "page", "source_key"]
        .into_iter()
        .map(String::from)
        .chain(cols.iter().map(|c| q(c.name)))
    {
        sets.push(format!("{c} = excluded.{c}"));
    }
    format!(
        "INSERT INTO {table} AS t (tenant, {obj_col}natural_key, payload, {cols}, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key, deleted_at, deleted_by_run) \
         SELECT $1, {obj_val}u.natural_key, u.payload, {ucols}, $2, $2, $3, $2, $4, $5, d.started_at, d.run_id \
         FROM unnest($7::{table}[]) AS u LEFT JOIN {deletion} ON true \
         ON CONFLICT {conflict} DO UPDATE SET {sets} \
         WHERE {NEWER}",
        cols = col_list.join(", "),
        ucols = u_cols.join(", "),
        sets = sets.join(", "),
        deletion = deletion_of_run(6),
    )
}

/// [`upsert`] for the one-round-trip path, which assumes the page is the newest observation of
/// every key it holds: `$8` the number of keys; fewer rows written aborts the transaction with
/// SQLSTATE CV004 (`etl.expect_newest`, migration 0005) and the page takes the step-by-step
/// path.
fn upsert_newest(upsert: &str) -> String {
    format!("WITH up AS ({upsert} RETURNING 1) SELECT etl.expect_newest(count(*), $8) FROM up")
}

/// The keys (of `$5`) whose stored values now come from this observation: `$1` tenant, `$2`
/// run_id, `$3` fetched_at, `$4` page, `$5` keys, (generic) `$6` object.
fn took_sql(table: &str, generic: bool) -> String {
    let obj = if generic { " AND t.object = $6" } else { "" };
    format!(
        "SELECT t.natural_key FROM {keys} JOIN {table} AS t ON t.tenant = $1{obj} AND t.natural_key = k.natural_key \
         WHERE t.fetched_at = $3 AND t.run_id = $2 AND t.page = $4",
        keys = keys_of(5)
    )
}

/// The bookkeeping a page owes the rows it is older than: `$1` tenant, `$2` run_id, `$3` keys,
/// `$4` object; the deletion is the page's D(R), read as in [`upsert`]. Rows the upsert just
/// wrote already have `first_seen_run <= $2 <= last_seen_run`, so passing every key of the page
/// is correct.
fn seen_sql(table: &str, generic: bool) -> String {
    let obj = if generic { " AND t.object = $4" } else { "" };
    let [del_at, del_by] = deletion_sets("$2", "d.started_at", "d.run_id");
    format!(
        "UPDATE {table} AS t SET first_seen_run = least(t.first_seen_run, $2), \
           last_seen_run = greatest(t.last_seen_run, $2), {del_at}, {del_by} \
         FROM {keys} LEFT JOIN {deletion} ON true \
         WHERE t.tenant = $1{obj} AND t.natural_key = k.natural_key \
           AND (t.first_seen_run > $2 OR t.last_seen_run < $2)",
        keys = keys_of(3),
        deletion = deletion_of_run(4),
    )
}

/// Replace the children of the given parents: `$1` tenant, `$2` parent keys; then the insert
/// with `$1` tenant and `$2` the items as rows of the child table's type (natural_key,
/// ordinal, payload, columns).
fn child_sql(table: &str, cols: &[Col]) -> (String, String) {
    let delete = format!(
        "DELETE FROM cvdw.{table} AS c USING {} WHERE c.tenant = $1 AND c.natural_key = k.natural_key",
        keys_of(2)
    );
    let names: Vec<String> = cols.iter().map(|c| q(c.name)).collect();
    let insert = format!(
        "INSERT INTO cvdw.{table} (tenant, natural_key, ordinal, payload, {cols}) \
         SELECT $1, u.natural_key, u.ordinal, u.payload, {ucols} \
         FROM unnest($2::cvdw.{table}[]) AS u",
        cols = names.join(", "),
        ucols = names
            .iter()
            .map(|n| format!("u.{n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    (delete, insert)
}

/// Mark rows of a tenant absent from full run `$2` (started at `$3`) as deleted by it, unless
/// a later sighting or an earlier full run already accounts for them.
/// The object's live rows, and how many of them a full run would mark deleted: `$1` tenant,
/// `$2` the run, (generic) `$3` object. The same predicate as [`delete_sql`], on live rows.
fn absent_count_sql(table: &str, generic: bool) -> String {
    let obj = if generic { " AND object = $3" } else { "" };
    format!(
        "SELECT count(*), count(*) FILTER (WHERE last_seen_run < $2) FROM {table} \
         WHERE tenant = $1{obj} AND deleted_at IS NULL"
    )
}

fn delete_sql(table: &str, generic: bool) -> String {
    let obj = if generic { " AND object = $4" } else { "" };
    format!(
        "UPDATE {table} SET deleted_at = $3, deleted_by_run = $2 \
         WHERE tenant = $1{obj} AND last_seen_run < $2 AND (deleted_by_run IS NULL OR deleted_by_run > $2)"
    )
}

/// Prepared text for one table.
#[derive(Debug)]
pub struct TableSql {
    /// The table (`schema.name`), whose row type carries the page's rows.
    pub table: String,
    /// The child table, if any.
    pub child_table: Option<String>,
    pub upsert: String,
    pub upsert_newest: String,
    pub took: String,
    pub seen: String,
    pub child_delete: Option<String>,
    pub child_insert: Option<String>,
    pub delete_absent: String,
    pub absent_count: String,
}

fn typed_sql() -> &'static [TableSql] {
    static SQL: OnceLock<Vec<TableSql>> = OnceLock::new();
    SQL.get_or_init(|| {
        TYPED
            .iter()
            .map(|t| {
                let cols: Vec<&Col> = all_cols(t).collect();
                let table = format!("cvdw.{}", t.table);
                let (cd, ci) = match t.child {
                    Some(ch) => {
                        let (d, i) = child_sql(ch.table, ch.cols);
                        (Some(d), Some(i))
                    }
                    None => (None, None),
                };
                let up = upsert(&table, &cols, false);
                TableSql {
                    child_table: t.child.map(|ch| format!("cvdw.{}", ch.table)),
                    upsert_newest: upsert_newest(&up),
                    upsert: up,
                    took: took_sql(&table, false),
                    seen: seen_sql(&table, false),
                    child_delete: cd,
                    child_insert: ci,
                    delete_absent: delete_sql(&table, false),
                    absent_count: absent_count_sql(&table, false),
                    table,
                }
            })
            .collect()
    })
}

fn generic_sql() -> &'static TableSql {
    static SQL: OnceLock<TableSql> = OnceLock::new();
    SQL.get_or_init(|| {
        let refs: Vec<&Col> = columns_of(None).collect();
        let up = upsert("cvdw.objects", &refs, true);
        TableSql {
            table: "cvdw.objects".to_string(),
            child_table: None,
            upsert_newest: upsert_newest(&up),
            upsert: up,
            took: took_sql("cvdw.objects", true),
            seen: seen_sql("cvdw.objects", true),
            child_delete: None,
            child_insert: None,
            delete_absent: delete_sql("cvdw.objects", true),
            absent_count: absent_count_sql("cvdw.objects", true),
        }
    })
}

/// The statements for an object: its typed table's, or the generic table's.
pub fn for_object(typed: Option<&TypedTable>) -> &'static TableSql {
    match typed {
        Some(t) => {
            let ix = TYPED
                .iter()
                .position(|x| x.table == t.table)
                .unwrap_or_default();
            &typed_sql()[ix]
        }
        None => generic_sql(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_the_rows_as_one_parameter() {
        let s = for_object(super::super::tables::typed("vendas"));
        assert!(
            s.upsert.contains("unnest($7::cvdw.vendas[]) AS u"),
            "{}",
            s.upsert
        );
        assert!(!s.upsert.contains("$8"));
        assert!(s
            .upsert_newest
            .contains("RETURNING 1) SELECT etl.expect_newest(count(*), $8)"));
        assert_eq!(s.child_table.as_deref(), Some("cvdw.vendas_associados"));
        assert!(s
            .child_insert
            .as_ref()
            .unwrap()
            .contains("unnest($2::cvdw.vendas_associados[])"));
        let g = for_object(None);
        assert_eq!(g.table, "cvdw.objects");
        assert!(g.upsert.contains("$6, u.natural_key"));
        assert!(g.upsert.contains("unnest($7::cvdw.objects[])"));
    }
}
