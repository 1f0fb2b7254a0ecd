//! Page parsing and row coercion: CVDW JSON → the typed columns of one bulk statement.
//!
//! Pure code (no I/O), so every rule is unit-tested here: a row that cannot be coerced is
//! *rejected* with a reason naming the field and the value; the rest of the page goes on.
//!
//! The page is split into its rows as raw JSON text borrowed from the body, and each row is
//! parsed into a `Value` only while its cells are taken out; the payload goes to PostgreSQL as
//! the row's original text ([`RawJson`]). A whole page as one `Value` tree (tens of thousands
//! of small allocations kept alive at once) cost about twice the CPU of parsing row by row,
//! and re-serialising the payloads came on top (`docs/load-benchmark.md`); it also sets the
//! peak memory of the Lambda. The original text is also the more lossless payload: a number
//! keeps every digit instead of going through an `f64`.

use super::tables::{columns_of, Child, Col, Kind, TypedTable};
use crate::catalogue::ObjectSpec;
use crate::values;
use bytes::{BufMut, BytesMut};
use chrono::{NaiveDate, NaiveDateTime};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// The part of the envelope the loader reads; the other fields are skipped unparsed.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    dados: Option<Vec<&'a RawValue>>,
}

/// The rows of a page (raw JSON text borrowed from `body`), or why the page cannot be loaded
/// at all.
pub fn parse_envelope(body: &[u8]) -> Result<Vec<&RawValue>, String> {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { dados: Some(rows) }) => Ok(rows),
        // Rare: say precisely what is wrong (this parse is only paid on the failure path).
        Ok(Envelope { dados: None }) => Err(envelope_error(body, None)),
        Err(e) => Err(envelope_error(body, Some(e))),
    }
}

fn envelope_error(body: &[u8], e: Option<serde_json::Error>) -> String {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return format!("not JSON: {e}"),
    };
    let Value::Object(m) = v else {
        return "not a CVDW envelope: the body is not a JSON object".into();
    };
    match m.get("dados") {
        Some(Value::Array(_)) => format!(
            "not a CVDW envelope: {}",
            e.map(|e| e.to_string()).unwrap_or_default()
        ),
        Some(_) => "not a CVDW envelope: `dados` is not an array".into(),
        None => {
            let keys: Vec<&String> = m.keys().take(5).collect();
            format!("not a CVDW envelope: no `dados` (keys: {keys:?})")
        }
    }
}

/// A JSON text sent to a `json`/`jsonb` parameter as it is (the server parses it into jsonb
/// anyway): no re-serialisation on the client.
#[derive(Debug, Clone, Copy)]
pub struct RawJson<'a>(pub &'a RawValue);

impl RawJson<'_> {
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl ToSql for RawJson<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            // jsonb's binary format: a version byte, then the text.
            out.put_u8(1);
        }
        out.put_slice(self.0.get().as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }

    to_sql_checked!();
}

/// One typed value. Text and decimal digits borrow the page where it holds them as they are
/// (a string without escapes, a number), which spares an allocation for most cells.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    Num(Option<Cow<'a, str>>),
    Bool(Option<bool>),
    Ts(Option<NaiveDateTime>),
    Date(Option<NaiveDate>),
}

impl Cell<'_> {
    fn into_owned(self) -> Cell<'static> {
        let own = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        match self {
            Cell::Text(c) => Cell::Text(own(c)),
            Cell::Num(c) => Cell::Num(own(c)),
            Cell::Int(x) => Cell::Int(x),
            Cell::Bool(x) => Cell::Bool(x),
            Cell::Ts(x) => Cell::Ts(x),
            Cell::Date(x) => Cell::Date(x),
        }
    }
}

/// What a value that did not fit looks like, never what it says: rejection reasons go to the
/// logs, and the value may be a name, an e-mail, a phone or a CPF. The row itself, with the
/// value, is kept in `etl.rejected_rows.raw` for whoever fixes it.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => describe_text(s),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a JSON boolean".into(),
        Value::Array(_) => "a JSON array".into(),
        Value::Object(_) => "a JSON object".into(),
        Value::Null => "null".into(),
    }
}

/// The shape of a text: its length and what kinds of characters it holds.
fn describe_text(s: &str) -> String {
    let kinds: Vec<&str> = [
        (s.chars().any(char::is_alphabetic), "letters"),
        (s.chars().any(|c| c.is_ascii_digit()), "digits"),
        (
            s.chars()
                .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
            "symbols",
        ),
    ]
    .into_iter()
    .filter_map(|(has, kind)| has.then_some(kind))
    .collect();
    format!(
        "text of {} characters ({})",
        s.chars().count(),
        if kinds.is_empty() {
            "blank".to_string()
        } else {
            kinds.join(", ")
        }
    )
}

fn is_no_date(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s.starts_with("0000-00-00") || s.starts_with("00/00/0000")
}

/// Coerce one value; the error is the reason (without the field name).
pub fn coerce(kind: Kind, v: &Value) -> Result<Cell<'static>, String> {
    if let Value::String(s) = v {
        return coerce_str(kind, s).map(Cell::into_owned);
    }
    let bad = || format!("expected {}, got {}", expected(kind), describe(v));
    Ok(match kind {
        Kind::Text => Cell::Text(values::parse_text(v).map_err(|_| bad())?.map(Cow::Owned)),
        Kind::Int => Cell::Int(values::parse_int(v).map_err(|_| bad())?),
        // A JSON number renders as an f64 would, which `numeric` always takes.
        Kind::Num => Cell::Num(values::parse_decimal(v).map_err(|_| bad())?.map(Cow::Owned)),
        Kind::Bool => Cell::Bool(values::parse_bool(v).map_err(|_| bad())?),
        Kind::Ts | Kind::Date if v.is_null() => null_cell(kind),
        Kind::Ts | Kind::Date => return Err(bad()),
    })
}

/// [`coerce`] of a JSON string (the loader reads strings without escapes straight from the
/// page, with no `Value` in between).
pub fn coerce_str(kind: Kind, s: &str) -> Result<Cell<'_>, String> {
    let bad = || format!("expected {}, got {}", expected(kind), describe_text(s));
    Ok(match kind {
        Kind::Text => Cell::Text((!s.is_empty()).then_some(Cow::Borrowed(s))),
        Kind::Int => Cell::Int(values::parse_int_str(s).map_err(|_| bad())?),
        // Digits that f64 takes but `numeric` does not (a scale beyond 16 383) are not a number.
        Kind::Num => Cell::Num(
            values::parse_decimal_str(s)
                .ok()
                .filter(|d| d.as_deref().is_none_or(super::wire::is_encodable_numeric))
                .ok_or_else(bad)?,
        ),
        Kind::Bool => Cell::Bool(values::parse_bool_str(s).map_err(|_| bad())?),
        Kind::Ts if is_no_date(s) => Cell::Ts(None),
        Kind::Ts => Cell::Ts(Some(values::parse_datetime(s).ok_or_else(bad)?)),
        Kind::Date if is_no_date(s) => Cell::Date(None),
        Kind::Date => Cell::Date(Some(values::parse_date(s).ok_or_else(bad)?)),
    })
}

/// [`coerce`] of a raw JSON value: `null` and strings without escapes are read in place.
fn coerce_raw(kind: Kind, raw: Option<&RawValue>) -> Result<Cell<'_>, String> {
    let Some(raw) = raw else {
        return Ok(null_cell(kind));
    };
    let text = raw.get();
    if text == "null" {
        return Ok(null_cell(kind));
    }
    if let Some(s) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !s.contains('\\') {
            return coerce_str(kind, s);
        }
    }
    // A number keeps the digits it was written with (no trip through an f64, whose range
    // and precision it may exceed) where a column takes them as they are.
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        match kind {
            Kind::Num if super::wire::is_encodable_numeric(text) => {
                return Ok(Cell::Num(Some(Cow::Borrowed(text))))
            }
            Kind::Text => return Ok(Cell::Text(Some(Cow::Borrowed(text)))),
            Kind::Int => {
                if let Ok(i) = text.parse::<i64>() {
                    return Ok(Cell::Int(Some(i)));
                }
            }
            _ => {}
        }
    }
    match value_of(Some(raw)) {
        Ok(v) => coerce(kind, &v),
        Err(_) => Err(format!(
            "expected {}, got {}",
            expected(kind),
            if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                "a number out of range"
            } else {
                "an unreadable JSON value"
            }
        )),
    }
}

/// What a column of this kind takes, for rejection reasons.
fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "an integer",
        Kind::Num => "a number",
        Kind::Bool => "S/N or Sim/Não",
        Kind::Ts => "a date-time (YYYY-MM-DD HH:MM:SS)",
        Kind::Date => "a date (YYYY-MM-DD)",
    }
}

/// A column's values for the whole batch (sent row by row inside [`super::wire::RowSet`]).
#[derive(Debug)]
pub enum ColData<'a> {
    Text(Vec<Option<Cow<'a, str>>>),
    Int(Vec<Option<i64>>),
    Num(Vec<Option<Cow<'a, str>>>),
    Bool(Vec<Option<bool>>),
    Ts(Vec<Option<NaiveDateTime>>),
    Date(Vec<Option<NaiveDate>>),
}

impl<'a> ColData<'a> {
    fn new(kind: Kind, cap: usize) -> Self {
        match kind {
            Kind::Text => ColData::Text(Vec::with_capacity(cap)),
            Kind::Int => ColData::Int(Vec::with_capacity(cap)),
            Kind::Num => ColData::Num(Vec::with_capacity(cap)),
            Kind::Bool => ColData::Bool(Vec::with_capacity(cap)),
            Kind::Ts => ColData::Ts(Vec::with_capacity(cap)),
            Kind::Date => ColData::Date(Vec::with_capacity(cap)),
        }
    }
    fn push(&mut self, c: Cell<'a>) {
        match (self, c) {
            (ColData::Text(v), Cell::Text(x)) => v.push(x),
            (ColData::Int(v), Cell::Int(x)) => v.push(x),
            (ColData::Num(v), Cell::Num(x)) => v.push(x),
            (ColData::Bool(v), Cell::Bool(x)) => v.push(x),
            (ColData::Ts(v), Cell::Ts(x)) => v.push(x),
            (ColData::Date(v), Cell::Date(x)) => v.push(x),
            // Cells are produced by `coerce` for the same column kind.
            _ => unreachable!("cell kind differs from its column"),
        }
    }
}

/// A row set aside, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub index: i32,
    pub natural_key: Option<String>,
    pub reason: String,
    pub raw: Value,
}

/// Child rows (nested array items) of the accepted parents.
#[derive(Debug)]
pub struct ChildBatch {
    pub parent_keys: Vec<String>,
    pub ordinals: Vec<i32>,
    pub cols: Vec<ColData<'static>>,
    pub payloads: Vec<Value>,
    /// For each accepted parent key: its items' positions in the vectors above.
    by_parent: HashMap<String, Vec<usize>>,
}

impl ChildBatch {
    /// Only the children of `keys` (the parents this page actually updated).
    pub fn select(&self, keys: &[String], cols_spec: &[Col]) -> ChildBatch {
        let mut out = ChildBatch {
            parent_keys: Vec::new(),
            ordinals: Vec::new(),
            cols: cols_spec.iter().map(|c| ColData::new(c.kind, 0)).collect(),
            payloads: Vec::new(),
            by_parent: HashMap::new(),
        };
        for k in keys {
            for &ix in self.by_parent.get(k).map(Vec::as_slice).unwrap_or(&[]) {
                out.parent_keys.push(self.parent_keys[ix].clone());
                out.ordinals.push(self.ordinals[ix]);
                out.payloads.push(self.payloads[ix].clone());
                for (dst, src) in out.cols.iter_mut().zip(&self.cols) {
                    dst.push(cell_at(src, ix));
                }
            }
        }
        out
    }
}

fn cell_at<'a>(c: &ColData<'a>, ix: usize) -> Cell<'a> {
    match c {
        ColData::Text(v) => Cell::Text(v[ix].clone()),
        ColData::Int(v) => Cell::Int(v[ix]),
        ColData::Num(v) => Cell::Num(v[ix].clone()),
        ColData::Bool(v) => Cell::Bool(v[ix]),
        ColData::Ts(v) => Cell::Ts(v[ix]),
        ColData::Date(v) => Cell::Date(v[ix]),
    }
}

/// The accepted rows of a page, de-duplicated (last in page wins) and sorted by natural key,
/// as column arrays; payloads borrow the page body.
#[derive(Debug)]
pub struct Batch<'a> {
    pub keys: Vec<String>,
    pub payloads: Vec<RawJson<'a>>,
    /// Typed tables: one entry per column of `all_cols`; generic: referencia, referencia_data,
    /// ativo.
    pub cols: Vec<ColData<'a>>,
    pub children: Option<ChildBatch>,
    pub rejected: Vec<Rejected>,
    /// Rows whose key appeared again later in the same page.
    pub duplicates: u32,
    /// Rows in `dados`.
    pub total: u32,
}

struct Accepted<'a> {
    key: String,
    cells: Vec<Cell<'a>>,
    children: Vec<(Vec<Cell<'static>>, Value)>,
    raw: &'a RawValue,
}

/// A row's top-level fields as raw JSON text borrowed from the page. No tree is built: a
/// field the loader does not read is only scanned for where it ends. (A `Value` per row, a
/// map of ~60 owned keys looked up by name ~40 times, was most of the client's CPU.)
struct RawFields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// A field name, borrowed from the page unless it holds escapes.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct FieldName<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de> Deserialize<'de> for RawFields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(m.size_hint().unwrap_or(64));
                while let Some(FieldName(k)) = m.next_key()? {
                    fields.push((k, m.next_value::<&'de RawValue>()?));
                }
                Ok(RawFields(fields))
            }
        }
        d.deserialize_map(V)
    }
}

/// What a top-level field is to the loader: a column (its position in the batch), a part of
/// the natural key (its position in the key), the child array, or several of these.
#[derive(Debug, Default, Clone, Copy)]
struct Route {
    col: Option<usize>,
    key: Option<usize>,
    child: bool,
}

/// The routes of one object's fields, built once per page.
struct Router {
    routes: HashMap<&'static str, Route>,
    /// The typed columns, in batch order.
    cols: Vec<&'static Col>,
    key_fields: Vec<&'static str>,
    /// Generic objects: a value that does not coerce is NULL (the payload is what matters
    /// there); typed objects reject the row.
    lenient: bool,
}

impl Router {
    fn new(spec: &ObjectSpec, typed: Option<&TypedTable>) -> Self {
        let cols: Vec<&'static Col> = columns_of(typed).collect();
        let mut routes: HashMap<&'static str, Route> = HashMap::new();
        for (i, c) in cols.iter().enumerate() {
            routes.entry(c.name).or_default().col = Some(i);
        }
        for (i, k) in spec.key.iter().enumerate() {
            routes.entry(k).or_default().key = Some(i);
        }
        if let Some(ch) = typed.and_then(|t| t.child) {
            routes.entry(ch.field).or_default().child = true;
        }
        Router {
            routes,
            cols,
            key_fields: spec.key.to_vec(),
            lenient: typed.is_none(),
        }
    }
}

fn value_of(raw: Option<&RawValue>) -> Result<Value, String> {
    match raw {
        None => Ok(Value::Null),
        Some(r) => serde_json::from_str(r.get()).map_err(|e| format!("unreadable value: {e}")),
    }
}

/// The row as a `Value`, for the rejected-rows table (only rejected rows pay for the tree).
fn row_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or_else(|_| Value::String(raw.get().to_string()))
}

/// Read one row: accepted with its key and coerced cells, or rejected with the reason.
fn read_row<'a>(
    spec: &ObjectSpec,
    typed: Option<&TypedTable>,
    router: &Router,
    index: i32,
    raw: &'a RawValue,
) -> Result<Accepted<'a>, Rejected> {
    let text = raw.get();
    // What PostgreSQL cannot hold (a NUL, bytes that were not UTF-8, a huge key) is
    // quarantined here, before it could fail the whole page's statement. Only rows whose text
    // may hold it are walked.
    if super::guard::may_hold_unstorable(text) {
        super::guard::screen(spec, index, row_value(raw)).map_err(|r| *r)?;
    }
    let Ok(RawFields(fields)) = serde_json::from_str::<RawFields>(text) else {
        return Err(Rejected {
            index,
            natural_key: None,
            reason: "row is not a JSON object".into(),
            raw: row_value(raw),
        });
    };
    // Later occurrences of a field win, as in a parsed object.
    let mut slots: Vec<Option<&RawValue>> = vec![None; router.cols.len()];
    let mut key_slots: Vec<Option<&RawValue>> = vec![None; router.key_fields.len()];
    let mut child_slot = None;
    for (name, value) in &fields {
        if let Some(route) = router.routes.get(name.as_ref()) {
            if let Some(i) = route.col {
                slots[i] = Some(*value);
            }
            if let Some(i) = route.key {
                key_slots[i] = Some(*value);
            }
            if route.child {
                child_slot = Some(*value);
            }
        }
    }
    let mut key_fields = serde_json::Map::new();
    for (name, slot) in router.key_fields.iter().zip(&key_slots) {
        if let Some(r) = slot {
            let v = value_of(Some(r)).map_err(|reason| Rejected {
                index,
                natural_key: None,
                reason,
                raw: row_value(raw),
            })?;
            key_fields.insert(name.to_string(), v);
        }
    }
    // Every row gets a key: missing ids give a derived one, never a quarantine.
    let key = crate::identity::row_key(spec, &Value::Object(key_fields), || row_value(raw));
    if key.len() > super::guard::MAX_KEY_BYTES {
        super::guard::screen(spec, index, row_value(raw)).map_err(|r| *r)?;
    }
    let reject = |reason: String| Rejected {
        index,
        natural_key: Some(key.clone()),
        reason,
        raw: row_value(raw),
    };
    let mut cells = Vec::with_capacity(slots.len());
    for (slot, col) in slots.iter().zip(&router.cols) {
        cells.push(match coerce_raw(col.kind, *slot) {
            Ok(c) => c,
            Err(_) if router.lenient => null_cell(col.kind),
            Err(e) => return Err(reject(format!("field `{}`: {e}", col.name))),
        });
    }
    let children = match typed.and_then(|t| t.child) {
        Some(ch) => {
            coerce_children(ch, &value_of(child_slot).map_err(&reject)?).map_err(&reject)?
        }
        None => Vec::new(),
    };
    Ok(Accepted {
        key,
        cells,
        children,
        raw,
    })
}

fn null_cell(kind: Kind) -> Cell<'static> {
    match kind {
        Kind::Text => Cell::Text(None),
        Kind::Int => Cell::Int(None),
        Kind::Num => Cell::Num(None),
        Kind::Bool => Cell::Bool(None),
        Kind::Ts => Cell::Ts(None),
        Kind::Date => Cell::Date(None),
    }
}

/// Split a page's rows into accepted (coerced) and rejected.
pub fn build_batch<'a>(
    spec: &ObjectSpec,
    typed: Option<&TypedTable>,
    rows: Vec<&'a RawValue>,
) -> Batch<'a> {
    let total = rows.len() as u32;
    let router = Router::new(spec, typed);
    let mut rejected = Vec::new();
    let mut accepted: Vec<Accepted> = Vec::with_capacity(rows.len());
    let mut position: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut duplicates = 0;
    for (index, raw) in rows.into_iter().enumerate() {
        match read_row(spec, typed, &router, index as i32, raw) {
            Err(r) => rejected.push(r),
            Ok(a) => match position.get(&a.key) {
                Some(&p) => {
                    duplicates += 1;
                    accepted[p] = a;
                }
                None => {
                    position.insert(a.key.clone(), accepted.len());
                    accepted.push(a);
                }
            },
        }
    }
    // Sorted keys: every loader touches rows in the same order, so two loaders of overlapping
    // pages cannot deadlock on row locks.
    accepted.sort_by(|a, b| a.key.cmp(&b.key));

    let n = accepted.len();
    let mut cols: Vec<ColData> = router
        .cols
        .iter()
        .map(|c| ColData::new(c.kind, n))
        .collect();
    let mut keys = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut children = typed.and_then(|t| t.child).map(|ch| ChildBatch {
        parent_keys: Vec::new(),
        ordinals: Vec::new(),
        cols: ch.cols.iter().map(|c| ColData::new(c.kind, n)).collect(),
        payloads: Vec::new(),
        by_parent: HashMap::new(),
    });
    for a in accepted {
        for (col, cell) in cols.iter_mut().zip(a.cells) {
            col.push(cell);
        }
        if let Some(cb) = children.as_mut() {
            let mut ixs = Vec::with_capacity(a.children.len());
            for (ordinal, (cells, item)) in a.children.into_iter().enumerate() {
                ixs.push(cb.parent_keys.len());
                cb.parent_keys.push(a.key.clone());
                cb.ordinals.push(ordinal as i32);
                cb.payloads.push(item);
                for (col, cell) in cb.cols.iter_mut().zip(cells) {
                    col.push(cell);
                }
            }
            cb.by_parent.insert(a.key.clone(), ixs);
        }
        keys.push(a.key);
        payloads.push(RawJson(a.raw));
    }
    Batch {
        keys,
        payloads,
        cols,
        children,
        rejected,
        duplicates,
        total,
    }
}

/// The items of a row's child array, coerced.
fn coerce_children(ch: Child, v: &Value) -> Result<Vec<(Vec<Cell<'static>>, Value)>, String> {
    let mut children = Vec::new();
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for (ix, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(format!("field `{}[{ix}]`: expected an object", ch.field));
                }
                let mut cc = Vec::with_capacity(ch.cols.len());
                for c in ch.cols {
                    let v = item.get(c.name).unwrap_or(&Value::Null);
                    cc.push(
                        coerce(c.kind, v)
                            .map_err(|e| format!("field `{}[{ix}].{}`: {e}", ch.field, c.name))?,
                    );
                }
                children.push((cc, item.clone()));
            }
        }
        other => {
            return Err(format!(
                "field `{}`: expected an array, got {}",
                ch.field,
                describe(other)
            ))
        }
    }
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::find;
    use crate::load::tables::typed;
    use serde_json::json;

    #[test]
    fn envelopes() {
        assert!(parse_envelope(b"<html>")
            .unwrap_err()
            .starts_with("not JSON"));
        assert!(parse_envelope(b"[1]")
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(parse_envelope(br#"{"Response":"Too many requests"}"#)
            .unwrap_err()
            .contains("no `dados`"));
        assert!(parse_envelope(br#"{"dados":{}}"#)
            .unwrap_err()
            .contains("not an array"));
        assert_eq!(
            parse_envelope(br#"{"pagina":1,"dados":[{"a":1}]}"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn payload_is_the_rows_own_text() {
        // A number beyond f64 keeps its digits, and the text is exactly the row's.
        let body = br#"{"dados": [ {"idreserva": 7, "valor": 12345678901234567890.123456789} ], "pagina": 1}"#;
        let spec = find("vendas").unwrap();
        let b = build_batch(spec, typed("vendas"), parse_envelope(body).unwrap());
        assert_eq!(
            b.payloads[0].get(),
            r#"{"idreserva": 7, "valor": 12345678901234567890.123456789}"#
        );
        let mut out = BytesMut::new();
        b.payloads[0].to_sql(&Type::JSONB, &mut out).unwrap();
        assert_eq!(out[0], 1, "jsonb binary version byte");
        assert_eq!(&out[1..], b.payloads[0].get().as_bytes());
    }

    #[test]
    fn fields_are_borrowed_from_the_page_unless_escaped() {
        let RawFields(f) =
            serde_json::from_str(r#"{"idreserva": 7, "caf\u00e9": "x", "idreserva": 8}"#).unwrap();
        assert!(matches!(&f[0].0, Cow::Borrowed("idreserva")));
        assert!(matches!(&f[1].0, Cow::Owned(k) if k == "café"));
        assert_eq!(f[2].1.get(), "8");
    }

    #[test]
    fn coercions() {
        assert_eq!(
            coerce(Kind::Ts, &json!("0000-00-00 00:00:00")),
            Ok(Cell::Ts(None))
        );
        assert_eq!(coerce(Kind::Ts, &json!("")), Ok(Cell::Ts(None)));
        assert!(coerce(Kind::Ts, &json!("2024-13-45 00:00:00")).is_err());
        assert!(coerce(Kind::Ts, &json!(12)).is_err());
        assert_eq!(
            coerce(Kind::Date, &json!("0000-00-00")),
            Ok(Cell::Date(None))
        );
        assert_eq!(
            coerce(Kind::Date, &json!("01/10/2024")),
            Ok(Cell::Date(NaiveDate::from_ymd_opt(2024, 10, 1)))
        );
        assert_eq!(
            coerce(Kind::Bool, &json!("Não")),
            Ok(Cell::Bool(Some(false)))
        );
        assert_eq!(
            coerce(Kind::Num, &json!(150000.5)),
            Ok(Cell::Num(Some("150000.5".into())))
        );
        // The reason says what was wrong, never the value (it may be personal data).
        let e = coerce(Kind::Num, &json!("cento e vinte")).unwrap_err();
        assert_eq!(e, "expected a number, got text of 13 characters (letters)");
        let e = coerce_str(Kind::Date, "maria@exemplo.com.br").unwrap_err();
        assert!(!e.contains("maria") && e.contains("symbols"), "{e}");
        let e = coerce(Kind::Bool, &json!(12345678909u64)).unwrap_err();
        assert!(!e.contains("12345678909") && e.contains("a number"), "{e}");
        assert!(coerce(Kind::Text, &json!({"a": 1})).is_err());
    }

    #[test]
    fn batch_rejects_dedups_sorts() {
        let spec = find("vendas").unwrap();
        let rows = vec![
            json!({"idreserva": 2, "valor_contrato": 10, "associados": [{"idpessoa_cv": 1, "percentagem_participacao": 50}]}),
            json!({"idreserva": 1, "valor_contrato": "abc"}),
            json!({"valor_contrato": 1}),
            json!({"idreserva": "2", "valor_contrato": 20, "associados": []}),
            json!({"idreserva": 3, "data_venda": "31/31/2024 99"}),
            json!({"idreserva": 4, "associados": [{"percentagem_participacao": "x"}]}),
            json!("nope"),
            json!({"idreserva": 0, "ativo": "N"}),
        ];
        let body = serde_json::to_vec(&json!({ "pagina": 1, "dados": rows })).unwrap();
        let b = build_batch(spec, typed("vendas"), parse_envelope(&body).unwrap());
        assert_eq!(b.total, 8);
        // The row without an id lands under a key derived from its content.
        assert_eq!(&b.keys[..2], ["0", "2"]);
        assert_eq!(
            b.keys[2],
            crate::identity::derived_key(&json!({"valor_contrato": 1}))
        );
        assert_eq!(b.duplicates, 1);
        let payload: Value = serde_json::from_str(b.payloads[1].get()).unwrap();
        assert_eq!(payload["valor_contrato"], json!(20));
        let reasons: Vec<_> = b
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.clone()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].1.contains("valor_contrato"));
        assert!(reasons[1].1.contains("data_venda"));
        assert!(reasons[2]
            .1
            .contains("associados[0].percentagem_participacao"));
        assert_eq!(b.rejected[0].natural_key.as_deref(), Some("1"));
        // the duplicate's children are the last one's (none)
        let ch = b.children.as_ref().unwrap();
        assert!(ch.parent_keys.is_empty());
    }
}
