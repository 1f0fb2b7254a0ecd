//! SQL text of the bulk statements, generated once per table from the static column lists in
//! [`super::tables`] (never from input). Values always travel as parameters.

use super::tables::{all_cols, Col, TypedTable, TYPED};
use std::sync::OnceLock;

/// `(excluded observation) >= (stored observation)`: the incoming row is at least as new, by
/// `(fetched_at, run_id, page)`. `>=` so that a forced reload of the same page re-applies it
/// (same values: a no-op in effect).
const NEWER: &str =
    "(excluded.fetched_at, excluded.run_id, excluded.page) >= (t.fetched_at, t.run_id, t.page)";

fn q(name: &str) -> String {
    format!("\"{name}\"")
}

/// The upsert of one page into a table.
///
/// Parameters: `$1` tenant, `$2` run_id, `$3` fetched_at, `$4` page, `$5` source_key,
/// `$6` deleted_at, `$7` deleted_by_run, then (generic table only) `$8` object; then the arrays:
/// natural_key, payload, and one per column.
///
/// Bookkeeping is order-independent by construction: first/last seen are least/greatest;
/// data columns take the newest observation; deletion columns follow `last_seen_run` (the
/// caller passes the deletion implied by this page's run, see `super`).
fn upsert(table: &str, cols: &[&Col], generic: bool) -> String {
    let fixed = if generic { 8 } else { 7 };
    let mut names = vec!["natural_key".to_string(), "payload".to_string()];
    names.extend(cols.iter().map(|c| q(c.name)));
    let mut casts = vec!["text[]".to_string(), "jsonb[]".to_string()];
    casts.extend(cols.iter().map(|c| c.kind.array_cast().to_string()));
    let unnest_args: Vec<String> = casts
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{c}", fixed + 1 + i))
        .collect();
    let col_list: Vec<String> = cols.iter().map(|c| q(c.name)).collect();
    let u_cols: Vec<String> = cols.iter().map(|c| format!("u.{}", q(c.name))).collect();
    let (obj_col, obj_val, conflict) = if generic {
        ("object, ", "$8, ", "(tenant, object, natural_key)")
    } else {
        ("", "", "(tenant, natural_key)")
    };
    let mut sets = vec![
        "first_seen_run = least(t.first_seen_run, excluded.first_seen_run)".to_string(),
        "last_seen_run = greatest(t.last_seen_run, excluded.last_seen_run)".to_string(),
        "deleted_at = CASE WHEN excluded.last_seen_run >= t.last_seen_run THEN excluded.deleted_at ELSE t.deleted_at END".to_string(),
        "deleted_by_run = CASE WHEN excluded.last_seen_run >= t.last_seen_run THEN excluded.deleted_by_run ELSE t.deleted_by_run END".to_string(),
    ];
    for c in ["payload", "fetched_at", "run_id", "page", "source_key"]
        .into_iter()
        .map(String::from)
        .chain(cols.iter().map(|c| q(c.name)))
    {
        sets.push(format!(
            "{c} = CASE WHEN {NEWER} THEN excluded.{c} ELSE t.{c} END"
        ));
    }
    format!(
        "INSERT INTO {table} AS t (tenant, {obj_col}natural_key, payload, {cols}, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key, deleted_at, deleted_by_run) \
         SELECT $1, {obj_val}u.natural_key, u.payload, {ucols}, $2, $2, $3, $2, $4, $5, $6, $7 \
         FROM unnest({args}) AS u({names}) \
         ON CONFLICT {conflict} DO UPDATE SET {sets} \
         WHERE {NEWER} OR excluded.first_seen_run < t.first_seen_run OR excluded.last_seen_run > t.last_seen_run \
         RETURNING t.natural_key, (t.fetched_at = $3 AND t.run_id = $2 AND t.page = $4) AS took",
        cols = col_list.join(", "),
        ucols = u_cols.join(", "),
        args = unnest_args.join(", "),
        names = names.join(", "),
        sets = sets.join(", "),
    )
}

/// Replace the children of the given parents: `$1` tenant, `$2` parent keys; then the insert
/// with `$1` tenant and arrays natural_key, ordinal, payload, columns.
fn child_sql(table: &str, cols: &[Col]) -> (String, String) {
    let delete =
        format!("DELETE FROM cvdw.{table} WHERE tenant = $1 AND natural_key = ANY($2::text[])");
    let names: Vec<String> = cols.iter().map(|c| q(c.name)).collect();
    let args: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", 5 + i, c.kind.array_cast()))
        .collect();
    let insert = format!(
        "INSERT INTO cvdw.{table} (tenant, natural_key, ordinal, payload, {cols}) \
         SELECT $1, u.natural_key, u.ordinal, u.payload, {ucols} \
         FROM unnest($2::text[], $3::int4[], $4::jsonb[], {args}) AS u(natural_key, ordinal, payload, {cols})",
        cols = names.join(", "),
        ucols = names.iter().map(|n| format!("u.{n}")).collect::<Vec<_>>().join(", "),
        args = args.join(", "),
    );
    (delete, insert)
}

/// Mark rows of a tenant absent from full run `$2` (started at `$3`) as deleted by it, unless
/// a later sighting or an earlier full run already accounts for them.
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
    pub upsert: String,
    pub child_delete: Option<String>,
    pub child_insert: Option<String>,
    pub delete_absent: String,
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
                TableSql {
                    upsert: upsert(&table, &cols, false),
                    child_delete: cd,
                    child_insert: ci,
                    delete_absent: delete_sql(&table, false),
                }
            })
            .collect()
    })
}

fn generic_sql() -> &'static TableSql {
    static SQL: OnceLock<TableSql> = OnceLock::new();
    SQL.get_or_init(|| {
        let cols = [
            Col {
                name: "referencia",
                kind: super::tables::Kind::Text,
            },
            Col {
                name: "referencia_data",
                kind: super::tables::Kind::Ts,
            },
            Col {
                name: "ativo",
                kind: super::tables::Kind::Bool,
            },
        ];
        let refs: Vec<&Col> = cols.iter().collect();
        TableSql {
            upsert: upsert("cvdw.objects", &refs, true),
            child_delete: None,
            child_insert: None,
            delete_absent: delete_sql("cvdw.objects", true),
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
    fn statements_have_consistent_parameters() {
        let s = for_object(super::super::tables::typed("vendas"));
        // 7 fixed + natural_key + payload + 3 common + 37 vendas columns
        let n = 7
            + 2
            + super::super::tables::all_cols(super::super::tables::typed("vendas").unwrap())
                .count();
        assert!(s.upsert.contains(&format!("${n}::")), "{}", s.upsert);
        assert!(!s.upsert.contains(&format!("${}::", n + 1)));
        assert!(s
            .child_insert
            .as_ref()
            .unwrap()
            .contains("vendas_associados"));
        let g = for_object(None);
        assert!(g.upsert.contains("$8, u.natural_key"));
        assert!(g.upsert.contains("$13::boolean[]"));
    }
}
