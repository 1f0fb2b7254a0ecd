//! A page's rows as ONE parameter: an array of the target table's own row type, in
//! PostgreSQL's binary format.
//!
//! The upsert used to send one array per column and `unnest` them together. With 40 columns,
//! the server materialises 40 function results of 500 one-column rows and zips them back
//! into rows; that was about a third of the statement's execution (3.5 of ~9 ms per 500-row
//! page, measured with `EXPLAIN ANALYZE`; planning the 40-argument `unnest` cost another
//! ~1 ms). `unnest($1::cvdw.vendas[])` hands the executor whole rows instead (0.7 ms).
//!
//! The row type is the table's own, so nothing has to be declared or migrated for it. Its
//! OIDs and its field list differ between databases and change with migrations, so they are
//! read from the catalogue ([`RowTypes::refresh`]) and kept in a process-wide cache
//! ([`RowTypes::cached`]) that the server checks: the one-round-trip path sends the layout it
//! encoded with, `etl.page_guard` compares it with the catalogue under the page's locks, and a
//! difference aborts the transaction (SQLSTATE CV003) before any row is read; the loader reads
//! the layout again. The step-by-step path reads it in the page's transaction, pipelined with
//! the locks. Fields are matched by name; the ones a batch does not carry (`tenant`,
//! bookkeeping) travel as NULL and the statement sets them. A field whose server type is not
//! the type the loader encodes is an error before anything is sent.
//!
//! `numeric` has no encoder in `postgres-types` without a decimal crate, so [`encode_numeric`]
//! writes its binary form from the canonical decimal text the coercion produced; a
//! database test compares it with `numeric_in` on awkward values.

use super::rows::{ColData, RawJson};
use super::sql::TableSql;
use bytes::{BufMut, BytesMut};
use serde_json::Value;
use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex, OnceLock};
use tokio_postgres::types::{IsNull, Kind, ToSql, Type};
use tokio_postgres::GenericClient;

/// A table's row type as the connected database has it.
#[derive(Debug, Clone)]
pub struct RowType {
    pub name: String,
    pub oid: u32,
    pub array_oid: u32,
    /// Field names and type OIDs, in order (dropped columns left out, as `record_recv`
    /// expects).
    pub fields: Vec<(String, u32)>,
    /// `etl.row_layout` of the table as read: what `etl.page_guard` checks the cache against.
    pub layout: String,
}

/// `$1`: the tables, as `schema.table`; one row per field, in table then field order.
const ROW_TYPES_SQL: &str = "SELECT k.i, t.oid, t.typarray, a.attname::text, a.atttypid, \
       etl.row_layout(k.name::regclass) \
     FROM unnest($1::text[]) WITH ORDINALITY AS k(name, i) \
     JOIN pg_type t ON t.oid = k.name::regtype \
     JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY k.i, a.attnum";

impl RowType {
    fn named(name: &str) -> RowType {
        RowType {
            name: name.to_string(),
            oid: 0,
            array_oid: 0,
            fields: Vec::new(),
            layout: String::new(),
        }
    }

    /// The parameter type of an array of these rows.
    pub fn array_type(&self) -> Type {
        let elem = Type::new(
            self.name.clone(),
            self.oid,
            Kind::Composite(Vec::new()),
            String::new(),
        );
        Type::new(
            format!("_{}", self.name),
            self.array_oid,
            Kind::Array(elem),
            String::new(),
        )
    }
}

/// The row types a page's rows travel as.
#[derive(Debug)]
pub struct RowTypes {
    pub table: RowType,
    pub child: Option<RowType>,
}

/// Row types last read, by table. One process talks to one database in production; a process
/// that talks to several (tests, the benchmark) only pays a re-read when it switches, because
/// the server checks every use (see the module docs).
fn cache() -> &'static Mutex<HashMap<String, Arc<RowTypes>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<RowTypes>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl RowTypes {
    /// The cached row types of a statement set's tables, if any were read.
    pub fn cached(stmts: &TableSql) -> Option<Arc<RowTypes>> {
        cache()
            .lock()
            .ok()
            .and_then(|c| c.get(&stmts.table).cloned())
    }

    /// Read the row types and remember them for [`RowTypes::cached`].
    pub async fn refresh(
        c: &impl GenericClient,
        stmts: &TableSql,
    ) -> Result<Arc<RowTypes>, tokio_postgres::Error> {
        let types = Arc::new(RowTypes::fetch(c, stmts).await?);
        if let Ok(mut cache) = cache().lock() {
            cache.insert(stmts.table.clone(), types.clone());
        }
        Ok(types)
    }

    /// The tables the row types belong to, and their layouts, for `etl.page_guard`.
    pub fn layouts(&self) -> (Vec<&str>, Vec<&str>) {
        std::iter::once(&self.table)
            .chain(self.child.as_ref())
            .map(|t| (t.name.as_str(), t.layout.as_str()))
            .unzip()
    }

    /// The row types of a statement set's table and child table (one statement for both).
    async fn fetch(
        c: &impl GenericClient,
        stmts: &TableSql,
    ) -> Result<RowTypes, tokio_postgres::Error> {
        let (table, child) = (stmts.table.as_str(), stmts.child_table.as_deref());
        let mut names = vec![table];
        names.extend(child);
        let rows = c
            .query_typed(ROW_TYPES_SQL, &[(&names, Type::TEXT_ARRAY)])
            .await?;
        let mut table = RowType::named(table);
        let mut child = child.map(RowType::named);
        for r in rows {
            let target = match (r.get::<_, i64>(0), child.as_mut()) {
                (1, _) => &mut table,
                (2, Some(c)) => c,
                _ => continue,
            };
            target.oid = r.get(1);
            target.array_oid = r.get(2);
            target.fields.push((r.get(3), r.get(4)));
            target.layout = r.get(5);
        }
        Ok(RowTypes { table, child })
    }
}

/// The payloads of a row set: the rows' own text (parents) or parsed items (children).
#[derive(Debug, Clone, Copy)]
pub enum Payloads<'a> {
    Raw(&'a [RawJson<'a>]),
    Values(&'a [Value]),
}

/// Where one field of the row type takes its value from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Key,
    Ordinal,
    Payload,
    Col(usize),
    Null,
}

/// Rows to send as `$n::<table>[]`: keys, payloads, optional ordinals and typed columns (by
/// name), laid out as the server's row type.
#[derive(Debug)]
pub struct RowSet<'a> {
    row_type: &'a RowType,
    sources: Vec<Source>,
    keys: &'a [String],
    ordinals: Option<&'a [i32]>,
    payloads: Payloads<'a>,
    cols: &'a [ColData<'a>],
}

/// A field the loader fills holds another type on the server than the one it encodes.
#[derive(Debug, thiserror::Error)]
#[error("{table}.{field} is {found} in the database, the loader sends {expected}")]
pub struct LayoutMismatch {
    table: String,
    field: String,
    found: u32,
    expected: u32,
}

impl<'a> RowSet<'a> {
    pub fn new(
        row_type: &'a RowType,
        keys: &'a [String],
        ordinals: Option<&'a [i32]>,
        payloads: Payloads<'a>,
        col_names: &[&str],
        cols: &'a [ColData<'a>],
    ) -> Result<Self, LayoutMismatch> {
        let mut sources = Vec::with_capacity(row_type.fields.len());
        for (name, oid) in &row_type.fields {
            let (source, expected) = match name.as_str() {
                "natural_key" => (Source::Key, Type::TEXT.oid()),
                "payload" => (Source::Payload, Type::JSONB.oid()),
                "ordinal" if ordinals.is_some() => (Source::Ordinal, Type::INT4.oid()),
                other => match col_names.iter().position(|c| *c == other) {
                    Some(i) => (Source::Col(i), col_type(&cols[i]).oid()),
                    None => (Source::Null, *oid),
                },
            };
            if expected != *oid {
                return Err(LayoutMismatch {
                    table: row_type.name.clone(),
                    field: name.clone(),
                    found: *oid,
                    expected,
                });
            }
            sources.push(source);
        }
        Ok(RowSet {
            row_type,
            sources,
            keys,
            ordinals,
            payloads,
            cols,
        })
    }
}

fn col_type(c: &ColData<'_>) -> Type {
    match c {
        ColData::Text(_) => Type::TEXT,
        ColData::Int(_) => Type::INT8,
        ColData::Num(_) => Type::NUMERIC,
        ColData::Bool(_) => Type::BOOL,
        ColData::Ts(_) => Type::TIMESTAMP,
        ColData::Date(_) => Type::DATE,
    }
}

type BoxError = Box<dyn Error + Sync + Send>;

/// Write a length-prefixed value (`-1` for NULL) the way arrays and records frame them.
fn framed(
    out: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<IsNull, BoxError>,
) -> Result<(), BoxError> {
    let at = out.len();
    out.put_i32(0);
    match write(out)? {
        IsNull::Yes => out[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes()),
        IsNull::No => {
            let len = i32::try_from(out.len() - at - 4)?;
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
    Ok(())
}

fn opt<T: ToSql>(v: &Option<T>, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match v {
        Some(x) => x.to_sql(ty, out),
        None => Ok(IsNull::Yes),
    }
}

fn cell(c: &ColData<'_>, i: usize, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match c {
        ColData::Text(v) => opt(&v[i].as_deref(), &Type::TEXT, out),
        ColData::Int(v) => opt(&v[i], &Type::INT8, out),
        ColData::Num(v) => match &v[i] {
            Some(s) => {
                encode_numeric(s, out).ok_or_else(|| format!("not a decimal number: {s:?}"))?;
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        },
        ColData::Bool(v) => opt(&v[i], &Type::BOOL, out),
        ColData::Ts(v) => opt(&v[i], &Type::TIMESTAMP, out),
        ColData::Date(v) => opt(&v[i], &Type::DATE, out),
    }
}

impl ToSql for RowSet<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        // Array header: one dimension, no NULL elements, element type, length, lower bound.
        out.put_i32(1);
        out.put_i32(0);
        out.put_u32(self.row_type.oid);
        out.put_i32(i32::try_from(self.keys.len())?);
        out.put_i32(1);
        let nfields = i32::try_from(self.sources.len())?;
        for i in 0..self.keys.len() {
            framed(out, |out| {
                out.put_i32(nfields);
                for (source, (_, oid)) in self.sources.iter().zip(&self.row_type.fields) {
                    out.put_u32(*oid);
                    framed(out, |out| match source {
                        Source::Key => self.keys[i].to_sql(&Type::TEXT, out),
                        Source::Ordinal => match self.ordinals {
                            Some(o) => o[i].to_sql(&Type::INT4, out),
                            None => Ok(IsNull::Yes),
                        },
                        Source::Payload => match self.payloads {
                            Payloads::Raw(p) => p[i].to_sql(&Type::JSONB, out),
                            Payloads::Values(p) => p[i].to_sql(&Type::JSONB, out),
                        },
                        Source::Col(c) => cell(&self.cols[*c], i, out),
                        Source::Null => Ok(IsNull::Yes),
                    })?;
                }
                Ok(IsNull::No)
            })?;
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        // The type is the row type's array, built from the catalogue by `RowType`.
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// `numeric`'s binary form of a decimal text (`[+-]digits[.digits][e[+-]digits]`), with the
/// display scale `numeric_in` would give it; `None` if the text is not such a number or is out
/// of `numeric`'s range.
pub fn encode_numeric(text: &str, out: &mut BytesMut) -> Option<()> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    if !(-1000..=1000).contains(&exp) {
        return None;
    }
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let dscale = (frac_part.len() as i32 - exp).max(0);
    if dscale > 0x3FFF {
        return None;
    }
    // Decimal digits, and the power of ten of the first one.
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let first = digits.iter().position(|&d| d != 0);
    let Some(first) = first else {
        // Zero: no digits, positive, with its scale.
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(0);
        out.put_u16(dscale as u16);
        return Some(());
    };
    let last = digits.iter().rposition(|&d| d != 0)?;
    let top_power = int_part.len() as i32 + exp - 1 - first as i32;
    // Base-10000 groups aligned on the decimal point: digit of power p is in group ⌊p/4⌋.
    let group = |p: i32| p.div_euclid(4);
    let weight = group(top_power);
    let bottom_power = top_power - (last - first) as i32;
    let ngroups = weight - group(bottom_power) + 1;
    if !(i16::MIN as i32..=i16::MAX as i32).contains(&weight) || ngroups > i16::MAX as i32 {
        return None;
    }
    let mut groups = vec![0i16; ngroups as usize];
    for (k, &d) in digits[first..=last].iter().enumerate() {
        let p = top_power - k as i32;
        let g = (weight - group(p)) as usize;
        groups[g] += d as i16 * 10i16.pow(p.rem_euclid(4) as u32);
    }
    out.put_i16(ngroups as i16);
    out.put_i16(weight as i16);
    out.put_u16(if negative { 0x4000 } else { 0 });
    out.put_u16(dscale as u16);
    for g in groups {
        out.put_i16(g);
    }
    Some(())
}

/// Whether [`encode_numeric`] takes `text` (coercion rejects the row otherwise).
pub fn is_encodable_numeric(text: &str) -> bool {
    encode_numeric(text, &mut BytesMut::new()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Option<(i16, i16, u16, u16, Vec<i16>)> {
        let mut b = BytesMut::new();
        encode_numeric(s, &mut b)?;
        let w = |i: usize| i16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
        let n = w(0);
        Some((
            n,
            w(1),
            w(2) as u16,
            w(3) as u16,
            (0..n as usize).map(|k| w(4 + k)).collect(),
        ))
    }

    #[test]
    fn fields_match_by_name_and_type() {
        let layout = |valor: u32| RowType {
            name: "cvdw.t".into(),
            oid: 1,
            array_oid: 2,
            fields: vec![
                ("tenant".into(), Type::TEXT.oid()),
                ("natural_key".into(), Type::TEXT.oid()),
                ("payload".into(), Type::JSONB.oid()),
                ("valor".into(), valor),
                ("added_later".into(), Type::INT4.oid()),
            ],
            layout: String::new(),
        };
        let keys = vec!["1".to_string()];
        let cols = vec![ColData::Num(vec![Some("1.5".into())])];
        let ok = layout(Type::NUMERIC.oid());
        let rows = RowSet::new(&ok, &keys, None, Payloads::Values(&[]), &["valor"], &cols);
        let rows = rows.expect("numeric column takes numeric");
        assert!(matches!(
            rows.sources.as_slice(),
            [
                Source::Null,
                Source::Key,
                Source::Payload,
                Source::Col(0),
                Source::Null
            ]
        ));
        let text = layout(Type::TEXT.oid());
        let err = RowSet::new(&text, &keys, None, Payloads::Values(&[]), &["valor"], &cols)
            .expect_err("text column");
        assert_eq!(
            err.to_string(),
            format!(
                "cvdw.t.valor is {} in the database, the loader sends {}",
                Type::TEXT.oid(),
                Type::NUMERIC.oid()
            )
        );
    }

    #[test]
    fn numeric_binary_form() {
        assert_eq!(enc("150000.5"), Some((3, 1, 0, 1, vec![15, 0, 5000])));
        assert_eq!(enc("-62.35"), Some((2, 0, 0x4000, 2, vec![62, 3500])));
        assert_eq!(enc("0.0001"), Some((1, -1, 0, 4, vec![1])));
        assert_eq!(enc("0.00012"), Some((2, -1, 0, 5, vec![1, 2000])));
        assert_eq!(enc("10000"), Some((1, 1, 0, 0, vec![1])));
        assert_eq!(enc("0"), Some((0, 0, 0, 0, vec![])));
        assert_eq!(enc("0.00"), Some((0, 0, 0, 2, vec![])));
        assert_eq!(enc("1e21"), Some((1, 5, 0, 0, vec![10])));
        // 0.00000015: one group, 15 × 10000^-2
        assert_eq!(enc("1.5e-7"), Some((1, -2, 0, 8, vec![15])));
        assert_eq!(enc("+.5"), Some((1, -1, 0, 1, vec![5000])));
        assert_eq!(enc("5."), Some((1, 0, 0, 0, vec![5])));
        for bad in ["", "-", ".", "1.2.3", "1e", "abc", "1,5", "1e99999", "--1"] {
            assert!(enc(bad).is_none(), "{bad}");
        }
    }
}
