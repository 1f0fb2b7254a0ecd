//! CVDW value rules (docs/cvdw-api.md §2.4 and §5), shared by the simulator, the client and the loader.
//!
//! CVDW timestamps are naive local times (America/Sao_Paulo), written `YYYY-MM-DD HH:MM:SS`
//! or `YYYY-MM-DD`. The sentinels `0000-00-00`, `0000-00-00 00:00:00`, `""` and `null` mean
//! "no date" and must never move a cursor or land as a real value.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;
use std::borrow::Cow;

/// The wire format of a CVDW timestamp.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The wire format of a CVDW date.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// CVDW writes four-digit years. Year 0 is not a calendar year (chrono would read it as 1 BC),
/// so a value outside 1–9999 is garbage, not a date.
fn real_year(d: &NaiveDate) -> bool {
    (1..=9999).contains(&d.year())
}

/// Parse a CVDW date or timestamp. A date alone means midnight. Zero dates, empty strings and
/// anything else that is not a real calendar value (years outside 1–9999 included) give `None`.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    parse_datetime_any_year(s).filter(|dt| real_year(&dt.date()))
}

fn parse_datetime_any_year(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000-00-00") {
        return None;
    }
    if let Some(dt) = canonical_datetime(s) {
        return Some(dt);
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, DATETIME_FORMAT) {
        return Some(dt);
    }
    // ISO `T` separator, as cvdw-cli accepts from users (§2.4).
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(dt);
    }
    parse_date(s).map(|d| d.and_time(NaiveTime::MIN))
}

/// `YYYY-MM-DD HH:MM:SS` exactly, read without chrono's format interpreter (the shape nearly
/// every CVDW timestamp has; a page holds thousands). Anything else is left to
/// `parse_from_str`, so the result is the same either way.
fn canonical_datetime(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?.and_hms_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )
}

/// Parse a CVDW date (`YYYY-MM-DD`; a timestamp is cut to its date). `/unidades` may send
/// Brazilian `dd/mm/yyyy` (§5), which is accepted too. Years outside 1–9999 give `None`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    parse_date_any_year(s).filter(real_year)
}

fn parse_date_any_year(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000-00-00") || s.starts_with("00/00/0000") {
        return None;
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, DATE_FORMAT) {
        return Some(d);
    }
    if s.len() > 10 && s.is_char_boundary(10) {
        if let Ok(d) = NaiveDate::parse_from_str(&s[..10], DATE_FORMAT) {
            return Some(d);
        }
    }
    NaiveDate::parse_from_str(s, "%d/%m/%Y").ok()
}

/// A request filter value (`a_partir_data_referencia`, `ate_data_referencia`): only the two
/// documented formats, and never a zero date (the live API answers those with 400).
pub fn parse_filter_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.starts_with("0000") {
        return None;
    }
    NaiveDateTime::parse_from_str(s, DATETIME_FORMAT)
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, DATE_FORMAT)
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })
}

/// A value that is not of the expected kind; the payload says what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected {0}")]
pub struct NotA(pub &'static str);

/// Format a timestamp the way CVDW writes it.
pub fn format_datetime(dt: &NaiveDateTime) -> String {
    dt.format(DATETIME_FORMAT).to_string()
}

/// The `referencia_data` of a row, when it is a real timestamp.
pub fn referencia_data(row: &Value) -> Option<NaiveDateTime> {
    row.get("referencia_data")
        .and_then(Value::as_str)
        .and_then(parse_datetime)
}

/// CVDW booleans: `'S'/'N'`, `'Sim'/'Não'` (also without the accent), JSON booleans.
/// `null` and `""` are unknown; any other value is not a boolean.
pub fn parse_bool(v: &Value) -> Result<Option<bool>, NotA> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) => parse_bool_str(s),
        _ => Err(NotA("a boolean (S/N, Sim/Não)")),
    }
}

/// [`parse_bool`] of a JSON string.
pub fn parse_bool_str(s: &str) -> Result<Option<bool>, NotA> {
    match s.trim() {
        "" => Ok(None),
        "S" | "s" | "Sim" | "SIM" | "sim" => Ok(Some(true)),
        "N" | "n" | "Não" | "NÃO" | "não" | "Nao" | "NAO" | "nao" => Ok(Some(false)),
        _ => Err(NotA("a boolean (S/N, Sim/Não)")),
    }
}

/// A decimal number as canonical text (for `numeric` columns). JSON numbers, numeric strings
/// (`"9999.99"`, §5) and Brazilian-formatted strings (`"1.234,56"`) are accepted; `null` and
/// `""` are unknown; anything else is an error.
pub fn parse_decimal(v: &Value) -> Result<Option<String>, NotA> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::String(s) => parse_decimal_str(s).map(|d| d.map(Cow::into_owned)),
        _ => Err(NotA("a number")),
    }
}

/// [`parse_decimal`] of a JSON string; borrows `s` when it is already canonical.
pub fn parse_decimal_str(s: &str) -> Result<Option<Cow<'_, str>>, NotA> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let normalised = if s.contains(',') {
        Cow::Owned(s.replace('.', "").replace(',', "."))
    } else {
        Cow::Borrowed(s)
    };
    let valid = !normalised.is_empty()
        && normalised
            .parse::<f64>()
            .map(f64::is_finite)
            .unwrap_or(false)
        && normalised
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
    if valid {
        Ok(Some(normalised))
    } else {
        Err(NotA("a number"))
    }
}

/// An integer id: JSON ints, integral floats and numeric strings; `null`/`""` unknown.
pub fn parse_int(v: &Value) -> Result<Option<i64>, NotA> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                    _ => Err(NotA("an integer")),
                }
            }
        }
        Value::String(s) => parse_int_str(s),
        _ => Err(NotA("an integer")),
    }
}

/// [`parse_int`] of a JSON string.
pub fn parse_int_str(s: &str) -> Result<Option<i64>, NotA> {
    let s = s.trim();
    if s.is_empty() {
        Ok(None)
    } else {
        s.parse::<i64>().map(Some).map_err(|_| NotA("an integer"))
    }
}

/// A text value: strings as they are, with `""` as unknown; numbers rendered (CVDW sometimes
/// sends documents as numbers, §5). Arrays and objects are not text.
pub fn parse_text(v: &Value) -> Result<Option<String>, NotA> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(NotA("text")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        assert_eq!(parse_datetime("0000-00-00 00:00:00"), None);
        assert_eq!(parse_datetime("0000-00-00"), None);
        assert_eq!(parse_datetime(""), None);
        assert_eq!(parse_datetime("2024-02-30 10:00:00"), None);
        assert_eq!(
            format_datetime(&parse_datetime("2023-01-15 15:26:15").unwrap()),
            "2023-01-15 15:26:15"
        );
        assert_eq!(
            format_datetime(&parse_datetime("2023-01-15").unwrap()),
            "2023-01-15 00:00:00"
        );
        assert_eq!(
            parse_date("01/10/2024"),
            NaiveDate::from_ymd_opt(2024, 10, 1)
        );
        assert_eq!(
            parse_date("2024-10-01 12:00:00"),
            NaiveDate::from_ymd_opt(2024, 10, 1)
        );
        // Year 0 is not "no date" but not a date either; 1900 and 9999 are real years.
        assert_eq!(parse_datetime("0000-01-01 00:00:00"), None);
        assert_eq!(parse_date("01/01/0000"), None);
        assert!(parse_datetime("1900-01-01 00:00:00").is_some());
        assert!(parse_datetime("9999-12-31 23:59:59").is_some());
        assert!(parse_filter_datetime("0000-00-00 00:00:00").is_none());
        assert!(parse_filter_datetime("2024-01-01T00:00:00").is_none());
        assert!(parse_filter_datetime("2024-01-01").is_some());
    }

    #[test]
    fn scalars() {
        assert_eq!(parse_bool(&json!("Não")), Ok(Some(false)));
        assert_eq!(parse_bool(&json!("S")), Ok(Some(true)));
        assert_eq!(parse_bool(&json!("")), Ok(None));
        assert!(parse_bool(&json!("talvez")).is_err());
        assert_eq!(
            parse_decimal(&json!(630176.55)),
            Ok(Some("630176.55".into()))
        );
        assert_eq!(
            parse_decimal(&json!("1.234,56")),
            Ok(Some("1234.56".into()))
        );
        assert_eq!(parse_decimal(&json!("9999.99")), Ok(Some("9999.99".into())));
        assert!(parse_decimal(&json!("abc")).is_err());
        assert!(parse_decimal(&json!("1e999")).is_err());
        assert_eq!(parse_int(&json!("42")), Ok(Some(42)));
        assert!(parse_int(&json!(false)).is_err());
        assert_eq!(
            parse_text(&json!(12345678901_i64)),
            Ok(Some("12345678901".into()))
        );
    }
}
