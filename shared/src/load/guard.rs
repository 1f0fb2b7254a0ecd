//! Input PostgreSQL cannot hold, caught before it gets there.
//!
//! JSON can carry things a `text` or `jsonb` value cannot: a NUL character (`"\u0000"`, valid
//! JSON, refused by both), and a natural key too long for a B-tree index entry. Sent as they
//! are, they fail the *whole page's* statement with a database error — one bad row would stop
//! 499 good ones, and the failure would not even be recorded as a bad page. And a body with bytes
//! that are not UTF-8 (a Latin-1 `é` from a legacy export) is not JSON to a strict parser,
//! so the whole page would fail for one field of one row.
//!
//! So, per row, before anything else ([`screen`]): a row holding a NUL or a stretch of bytes that
//! were not UTF-8 anywhere (values or field names, at any depth), or whose natural key is longer
//! than [`MAX_KEY_BYTES`], is quarantined in `etl.rejected_rows` with a reason naming the
//! field; the rest of the page loads. The quarantined copy has those characters replaced by
//! U+FFFD ([`storable`]) so that `jsonb` can hold it; the exact bytes stay in the raw page,
//! which the reject row names (source key and index). [`parse_json`] is the page parser that
//! makes this possible for bytes that are not UTF-8, and [`storable_text`] cleans the text the
//! loader writes about failed pages (a binary body's prefix, a reason quoting a key).

use super::rows::Rejected;
use crate::catalogue::ObjectSpec;
use serde_json::Value;

/// Longest natural key accepted. B-tree entries hold at most ~2.7 kB (a third of a page), and
/// the key shares its entry with the tenant; real CVDW keys are ids joined by `_`, well under
/// 100 bytes, so anything near this is garbage.
pub const MAX_KEY_BYTES: usize = 1024;

/// Stands in, after [`parse_json`], for a run of bytes that were not UTF-8. A Unicode
/// noncharacter: no text CVDW sends holds one, so finding it means the bytes were not text.
const NOT_UTF8: char = '\u{10FFFE}';

/// Parse a page body. Strict first; if that fails and the body is not UTF-8, parse it again
/// with each run of non-UTF-8 bytes replaced by a marker that [`screen`] turns into a
/// rejection of the rows holding it. If the body still does not parse, the strict parser's
/// error is the answer.
pub fn parse_json(body: &[u8]) -> Result<Value, serde_json::Error> {
    let strict = serde_json::from_slice(body);
    if strict.is_ok() {
        return strict;
    }
    match marked_utf8(body) {
        Some(text) => serde_json::from_str(&text).or(strict),
        None => strict,
    }
}

/// A body that is not UTF-8, as text with each run of bad bytes replaced by the marker
/// [`screen`] rejects; `None` for a UTF-8 body (the common case: no copy). The loader parses
/// the marked text instead, so one Latin-1 field costs its row, not the page.
pub fn marked_utf8(body: &[u8]) -> Option<String> {
    if std::str::from_utf8(body).is_ok() {
        return None;
    }
    let mut text = String::with_capacity(body.len());
    for chunk in body.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            text.push(NOT_UTF8);
        }
    }
    Some(text)
}

/// Quarantine a row PostgreSQL cannot hold (see the module docs), or hand it back.
pub fn screen(spec: &ObjectSpec, index: i32, row: Value) -> Result<Value, Box<Rejected>> {
    let reason = match find_unstorable(&row, "") {
        // The path itself may hold the character (a field name): cleaned like the value.
        Some((path, c)) => Some(if c == '\0' {
            format!(
                "field `{path}`: text contains a NUL character (\\u0000), which PostgreSQL cannot store"
            )
        } else {
            format!("field `{path}`: invalid UTF-8 (the bytes are shown as U+FFFD in `raw`)")
        })
        .map(|r| storable_text(&r)),
        None => spec
            .natural_key(&row)
            .filter(|k| k.len() > MAX_KEY_BYTES)
            .map(|k| {
                format!(
                    "natural key is {} bytes long; at most {MAX_KEY_BYTES} are accepted",
                    k.len()
                )
            }),
    };
    match reason {
        None => Ok(row),
        Some(reason) => Err(Box::new(Rejected {
            index,
            natural_key: None,
            reason,
            raw: storable(row),
        })),
    }
}

/// Whether a row's JSON text may hold what [`screen`] rejects: an escaped NUL, or the marker
/// [`marked_utf8`] put in place of bytes that were not UTF-8. `false` is certain (a NUL can
/// only be written `\u0000` in JSON text), so the loader screens only the rows where it is
/// `true` and skips walking every value of the others.
pub fn may_hold_unstorable(json_text: &str) -> bool {
    json_text.contains("\\u0000") || json_text.contains(NOT_UTF8)
}

fn bad_char(s: &str) -> Option<char> {
    s.chars().find(|&c| c == '\0' || c == NOT_UTF8)
}

/// The first NUL or non-UTF-8 marker in `v`, with the path of the field holding it.
fn find_unstorable(v: &Value, path: &str) -> Option<(String, char)> {
    let here = || {
        if path.is_empty() {
            "(row)".to_string()
        } else {
            path.to_string()
        }
    };
    match v {
        Value::String(s) => bad_char(s).map(|c| (here(), c)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_unstorable(x, &format!("{}[{i}]", here()))),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match bad_char(k) {
                Some(c) => Some((p, c)),
                None => find_unstorable(x, &p),
            }
        }),
        _ => None,
    }
}

/// `v` with every NUL and non-UTF-8 marker replaced by U+FFFD, in values and field names.
pub fn storable(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(storable_text(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(storable).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (storable_text(&k), storable(x)))
                .collect(),
        ),
        other => other,
    }
}

/// `s` with every NUL and non-UTF-8 marker replaced by U+FFFD.
pub fn storable_text(s: &str) -> String {
    if bad_char(s).is_none() {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c == '\0' || c == NOT_UTF8 {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::find;
    use serde_json::json;

    #[test]
    fn nul_bad_bytes_and_long_keys_are_named_and_made_storable() {
        let vendas = find("vendas").unwrap();
        let r = screen(
            vendas,
            3,
            json!({"idreserva": 1, "associados": [{"nome": "a\u{0}b"}]}),
        )
        .unwrap_err();
        assert_eq!(r.index, 3);
        assert!(
            r.reason
                .starts_with("field `associados[0].nome`: text contains a NUL"),
            "{}",
            r.reason
        );
        assert_eq!(r.raw["associados"][0]["nome"], "a\u{fffd}b");
        let r = screen(vendas, 0, json!({"idreserva": 1, "x\u{0}": 1})).unwrap_err();
        assert!(r.reason.starts_with("field `x\u{fffd}`"), "{}", r.reason);
        assert!(r.raw.get("x\u{fffd}").is_some());

        let v = parse_json(
            b"{\"dados\":[{\"idreserva\":1,\"cliente\":\"Jos\xe9\"},{\"idreserva\":2}]}",
        )
        .unwrap();
        let rows = v["dados"].as_array().unwrap();
        let r = screen(vendas, 0, rows[0].clone()).unwrap_err();
        assert!(
            r.reason.starts_with("field `cliente`: invalid UTF-8"),
            "{}",
            r.reason
        );
        assert_eq!(r.raw["cliente"], "Jos\u{fffd}");
        assert!(screen(vendas, 1, rows[1].clone()).is_ok());
        // Bytes that are not UTF-8 outside a string: still not JSON, with the strict error.
        assert!(parse_json(b"{\"dados\":[\xe9]}").is_err());

        let pessoas = find("pessoas").unwrap();
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        let r = screen(pessoas, 0, json!({"idpessoa": long})).unwrap_err();
        assert!(r.reason.contains("1025 bytes"), "{}", r.reason);
        assert!(screen(pessoas, 0, json!({"idpessoa": "k".repeat(MAX_KEY_BYTES)})).is_ok());
        assert_eq!(storable_text("ok"), "ok");
    }
}
