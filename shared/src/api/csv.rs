//! CSV for Excel in pt-BR.
//!
//! Excel opens a `.csv` with the system's list separator and decimal mark and, without a BOM,
//! in the ANSI code page. For a Brazilian Windows/Excel that means:
//! - UTF-8 **with BOM** (`EF BB BF`), so accents (`Subsídio`, `São Paulo`) survive;
//! - `;` as the field separator (the pt-BR list separator; `,` is the decimal mark);
//! - `,` as the decimal mark and no thousands separator (`1234567,89`), so cells are numbers;
//! - dates as `dd/mm/aaaa`, timestamps as `dd/mm/aaaa hh:mm:ss` (UTC for ETL timestamps);
//! - CRLF line ends; fields quoted with `"` when they contain `;`, `"`, CR or LF (`"` doubled);
//! - text starting with `=`, `+`, `-`, `@`, TAB or CR (a formula to Excel, per OWASP) is
//!   prefixed with `'`, so a customer name can never run as a formula (CSV injection).
//!
//! The header row uses the JSON field names, so the two formats line up.

use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::analytics::{ColType, Metric};

/// The CSV body of a metric's rows.
pub fn render(metric: &Metric, rows: &[Map<String, Value>]) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 96);
    out.push('\u{feff}');
    let header: Vec<&str> = metric.columns.iter().map(|c| c.name).collect();
    out.push_str(&header.join(";"));
    out.push_str("\r\n");
    for row in rows {
        for (i, c) in metric.columns.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(&cell(c.ty, row.get(c.name).unwrap_or(&Value::Null)));
        }
        out.push_str("\r\n");
    }
    out
}

/// One cell, formatted for pt-BR.
pub fn cell(ty: ColType, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => match ty {
            ColType::Money => n
                .as_f64()
                .map(|f| format!("{f:.2}").replace('.', ","))
                .unwrap_or_default(),
            ColType::Decimal => n
                .as_f64()
                .map(|f| {
                    let s = format!("{f:.6}");
                    let s = s.trim_end_matches('0').trim_end_matches('.');
                    s.replace('.', ",")
                })
                .unwrap_or_default(),
            _ => n.to_string().replace('.', ","),
        },
        Value::String(s) => match ty {
            ColType::Date => br_date(s).unwrap_or_else(|| quote(s)),
            ColType::Timestamp => br_timestamp(s).unwrap_or_else(|| quote(s)),
            _ => quote(s),
        },
        Value::Bool(b) => if *b { "Sim" } else { "Não" }.to_string(),
        other => quote(&other.to_string()),
    }
}

fn br_date(s: &str) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    Some(d.format("%d/%m/%Y").to_string())
}

fn br_timestamp(s: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(
        t.with_timezone(&chrono::Utc)
            .format("%d/%m/%Y %H:%M:%S")
            .to_string(),
    )
}

fn quote(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([';', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The HTTP response: `text/csv; charset=utf-8`, downloaded as `<metric>.csv`.
pub fn response(metric: &Metric, rows: &[Map<String, Value>]) -> Response {
    let body = render(metric, rows);
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = metric.path.replace('/', "-");
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_pt_br() {
        assert_eq!(cell(ColType::Money, &json!(1234567.891)), "1234567,89");
        assert_eq!(cell(ColType::Money, &json!(-5)), "-5,00");
        assert_eq!(cell(ColType::Decimal, &json!(0.125)), "0,125");
        assert_eq!(cell(ColType::Int, &json!(42)), "42");
        assert_eq!(cell(ColType::Date, &json!("2025-03-01")), "01/03/2025");
        assert_eq!(
            cell(ColType::Timestamp, &json!("2025-03-01T10:20:30.5+00:00")),
            "01/03/2025 10:20:30"
        );
        assert_eq!(
            cell(ColType::Text, &json!("a;b \"c\"")),
            "\"a;b \"\"c\"\"\""
        );
        assert_eq!(
            cell(ColType::Text, &json!("=HYPERLINK(1)")),
            "'=HYPERLINK(1)"
        );
        assert_eq!(cell(ColType::Text, &Value::Null), "");
    }

    #[test]
    fn every_owasp_formula_trigger_is_neutralised() {
        for (text, expected) in [
            ("=1+1", "'=1+1"),
            ("+5511999990000", "'+5511999990000"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1+1", "'\t=1+1"),
            // A leading CR also needs quoting as a CSV field.
            ("\r=1+1", "\"'\r=1+1\""),
            ("Ana Souza", "Ana Souza"),
        ] {
            assert_eq!(cell(ColType::Text, &json!(text)), expected, "{text:?}");
        }
    }

    #[test]
    fn document_has_bom_header_and_crlf() {
        let m = crate::analytics::metric("vendas-mensais").unwrap();
        let mut row = Map::new();
        row.insert("tenant".into(), json!("acme"));
        row.insert("mes".into(), json!("2025-01-01"));
        row.insert("vendas_valor".into(), json!(10.5));
        let s = render(m, &[row]);
        assert!(s.starts_with("\u{feff}tenant;mes;vendas_unidades;"));
        assert!(s.contains("\r\nacme;01/01/2025;;10,50;"));
        assert!(s.ends_with("\r\n"));
    }
}
