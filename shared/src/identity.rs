//! What identifies a CVDW row when its id fields cannot do it alone.
//!
//! A row is normally keyed by its object's id fields ([`ObjectSpec::key`]). Real CVDW data
//! breaks that in two ways, and neither may cost the row (a quarantine is for rows PostgreSQL
//! cannot store, not for rows we failed to name):
//!
//! - **The id is missing, null or empty** on the row (a whole `/leads/conversoes` run came with
//!   an empty id column, docs/cvdw-api.md §4). The row lands under a *derived* key:
//!   `derived:` + the first 32 hex digits of the SHA-256 of its [canonical content](canonical).
//! - **The id names a group, not a row** (1:N: one person with many assets, one survey with
//!   many rows). The object is marked [`ObjectSpec::content_keyed`], and each row's key is its
//!   ids plus `_` plus the hash of its content, so the rows of one group stay apart.
//!
//! The content leaves out what changes without the row becoming another row: the DW's own
//! bookkeeping ([`VOLATILE`]: `referencia`, `referencia_data`, `data_referencia`,
//! `data_sincronizacao`) and `ativo` (inactivating a row must update it, not fork it). Empty
//! values (`null`, `""`, zero dates) are left out too, and numbers are written one way whether
//! CVDW sent `350000`, `350000.0` or `"350000.00"`, so the same row seen again, whatever the
//! day's encoding, lands on the same key. A row whose content really changes gets a new key;
//! the old one is no longer seen and the next full run with complete evidence marks it
//! deleted. Two rows identical in every field collapse into one (counted as a duplicate of
//! the page in `etl.pages.duplicates`). The rule per object: docs/row-identity.md.

use crate::catalogue::ObjectSpec;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Fields that change without the row becoming another row; never part of its content.
pub const VOLATILE: &[&str] = &[
    "referencia",
    "referencia_data",
    "data_referencia",
    "data_sincronizacao",
    "ativo",
];

/// How a derived key starts: what `key_source` (migration 0010) reads.
pub const DERIVED_PREFIX: &str = "derived:";

/// Where a stored row's key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The object's id fields (with the content hash for a content-keyed object).
    Natural,
    /// The row had no usable id: its key is the hash of its content.
    Derived,
}

impl KeySource {
    pub fn of(key: &str) -> Self {
        if key.starts_with(DERIVED_PREFIX) {
            KeySource::Derived
        } else {
            KeySource::Natural
        }
    }
}

/// The key a row is stored under: its natural key (plus its content hash for a content-keyed
/// object), or the derived key when the id fields are missing, null or empty. `key_fields`
/// holds at least the row's id fields; `row` is consulted only when the content is needed, so
/// the usual row never pays for a parsed tree.
pub fn row_key(spec: &ObjectSpec, key_fields: &Value, row: impl FnOnce() -> Value) -> String {
    match spec.natural_key(key_fields) {
        Some(ids) if spec.content_keyed => format!("{ids}_{}", content_hash(&row())),
        Some(ids) => ids,
        None => derived_key(&row()),
    }
}

/// `derived:` + the content hash.
pub fn derived_key(row: &Value) -> String {
    format!("{DERIVED_PREFIX}{}", content_hash(row))
}

/// The first 32 hex digits (128 bits) of the SHA-256 of the row's canonical content.
pub fn content_hash(row: &Value) -> String {
    let mut text = String::new();
    canonical(row, true, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..16])
}

/// The row's content as one text: object fields sorted by name, [`VOLATILE`] fields (at the
/// top level) and empty values left out, strings trimmed, numbers and numeric strings in one
/// form. Not JSON, but unambiguous: every string is JSON-quoted.
pub fn canonical(v: &Value, top: bool, out: &mut String) {
    match v {
        Value::Object(fields) => {
            let mut names: Vec<&String> = fields
                .iter()
                .filter(|(k, x)| !(is_empty(x) || top && VOLATILE.contains(&k.as_str())))
                .map(|(k, _)| k)
                .collect();
            names.sort();
            out.push('{');
            for name in names {
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                canonical(&fields[name], false, out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                canonical(item, false, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::String(s) => match decimal(s.trim()) {
            Some(n) => out.push_str(&n),
            None => out.push_str(&Value::String(s.trim().to_string()).to_string()),
        },
        Value::Number(n) => {
            let text = n.to_string();
            out.push_str(&decimal(&text).unwrap_or(text));
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

/// A value that says nothing: `null`, an empty or blank string, a zero date.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => {
            let s = s.trim();
            s.is_empty() || s == "0000-00-00" || s == "0000-00-00 00:00:00"
        }
        _ => false,
    }
}

/// A plain decimal (`-?digits[.digits]`) in one form: no leading zeros in the integer part,
/// no trailing zeros in the fraction (`"0350000.00"` → `350000`); `None` for anything else.
/// JSON exponents (`3.5e5`) are expanded first, so `350000` and `3.5e5` agree.
fn decimal(s: &str) -> Option<String> {
    let expanded;
    let s = if s.contains(['e', 'E']) && s.parse::<f64>().is_ok_and(f64::is_finite) {
        expanded = format!("{}", s.parse::<f64>().ok()?);
        expanded.as_str()
    } else {
        s
    };
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !plain(int) || !plain(frac) || (digits.contains('.') && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::new();
    if negative && (!int.is_empty() || !frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::find;
    use serde_json::json;

    #[test]
    fn decimals_have_one_form() {
        for (a, b) in [
            ("350000.00", "350000"),
            ("0350000.50", "350000.5"),
            ("-0.0", "0"),
            ("3.5e5", "350000"),
            ("7", "7"),
        ] {
            assert_eq!(decimal(a).as_deref(), Some(b), "{a}");
        }
        for not in ["", "1.", ".5", "12a", "1.2.3", "0000-00-00", "R$ 10"] {
            assert_eq!(decimal(not), None, "{not}");
        }
    }

    #[test]
    fn the_same_row_seen_again_keeps_its_derived_key() {
        let first = json!({"referencia": "", "referencia_data": null, "ativo": "S",
            "idlead_conversao": "", "idlead": 42, "origem": " Site ", "valor": "350000.00",
            "data_cad": "2025-01-02 10:00:00", "obs": ""});
        // Another day: volatile fields moved, keys reordered, money as a number, blanks as null,
        // the row inactivated.
        let again = json!({"valor": 350000, "origem": "Site", "idlead": "42",
            "data_cad": "2025-01-02 10:00:00", "referencia": "x", "ativo": "N",
            "referencia_data": "2026-12-01 08:00:00", "data_sincronizacao": "2026-12-01",
            "obs": null, "idlead_conversao": null});
        assert_eq!(derived_key(&first), derived_key(&again));
        assert!(derived_key(&first).starts_with(DERIVED_PREFIX));
        assert_eq!(KeySource::of(&derived_key(&first)), KeySource::Derived);
        let other = json!({"idlead": 43, "origem": "Site", "valor": 350000,
            "data_cad": "2025-01-02 10:00:00"});
        assert_ne!(derived_key(&first), derived_key(&other));
    }

    #[test]
    fn strings_and_numbers_cannot_be_confused_with_structure() {
        let a = json!({"a": "1,\"b\":2"});
        let b = json!({"a": 1, "b": 2});
        assert_ne!(content_hash(&a), content_hash(&b));
        // Nested fields keep their volatile-looking names: only the top level is bookkeeping.
        let c = json!({"x": [{"referencia": 1}]});
        let d = json!({"x": [{"referencia": 2}]});
        assert_ne!(content_hash(&c), content_hash(&d));
    }

    #[test]
    fn keys_natural_derived_and_content_keyed() {
        let vendas = find("/vendas").unwrap();
        let row = json!({"idreserva": 7, "valor_contrato": 1});
        assert_eq!(row_key(vendas, &row, || row.clone()), "7");
        let no_id = json!({"idreserva": "", "valor_contrato": 1});
        let k = row_key(vendas, &no_id, || no_id.clone());
        assert_eq!(KeySource::of(&k), KeySource::Derived);

        let assets = find("/pessoas/patrimoniais").unwrap();
        assert!(assets.content_keyed);
        let house = json!({"idpessoa": 9, "quais_bens": "Casa", "valor_do_bem": "300000.00"});
        let car = json!({"idpessoa": 9, "quais_bens": "Carro", "valor_do_bem": "80000.00"});
        let (kh, kc) = (
            row_key(assets, &house, || house.clone()),
            row_key(assets, &car, || car.clone()),
        );
        assert!(kh.starts_with("9_") && kc.starts_with("9_"));
        assert_ne!(kh, kc);
        assert_eq!(KeySource::of(&kh), KeySource::Natural);
    }

    #[test]
    fn the_doc_lists_every_key() {
        let doc = include_str!("../../docs/row-identity.md");
        for spec in crate::catalogue::OBJECTS {
            let ids: Vec<String> = spec.key.iter().map(|k| format!("`{k}`")).collect();
            let line = format!(
                "| `{}` | {} | {} | {} |",
                spec.path,
                ids.join(", "),
                if spec.content_keyed {
                    "ids + content hash"
                } else {
                    "ids"
                },
                if spec.key_confirmed {
                    "confirmed"
                } else {
                    "inferred"
                }
            );
            assert!(doc.contains(&line), "docs/row-identity.md lacks: {line}");
        }
    }
}
