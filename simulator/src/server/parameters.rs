//! A request's parameters as CVDW reads them: the query string (percent-decoded, the first
//! value of a name wins) over the JSON body (ignored unless it is an object).

use std::collections::HashMap;

use serde_json::Value;

/// The decoded query string: name → first value.
pub(super) type Query = HashMap<String, String>;
/// The JSON body, when it is an object.
pub(super) type JsonBody = Option<serde_json::Map<String, Value>>;

/// Percent-decode a query string into a map (the first value of a name wins).
pub(super) fn parse_query(query: &str) -> Query {
    let mut out = HashMap::new();
    for part in query.split('&').filter(|part| !part.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        out.entry(decode(name)).or_insert_with(|| decode(value));
    }
    out
}

/// `+` as a space and `%XX` as its byte; a `%` without two hex digits stays as is.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON body of a request, when it is an object.
pub(super) fn json_body(body: &[u8]) -> JsonBody {
    if body.is_empty() {
        return None;
    }
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A request parameter: from the query string, else from the JSON body.
pub(super) fn param(query: &Query, body: &JsonBody, name: &str) -> Option<String> {
    if let Some(value) = query.get(name) {
        return Some(value.clone());
    }
    match body.as_ref()?.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}
