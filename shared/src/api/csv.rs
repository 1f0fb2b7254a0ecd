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

use crate::analytics::{ColType, Column, Metric};

/// The UTF-8 byte order mark Excel needs to read the file as UTF-8.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// Writes a metric's CSV a row at a time into a buffer the caller empties with
/// [`Encoder::take`], so an export of any size is sent in chunks and never held whole. Quoting
/// (`;`, `"`, CR, LF: the field in `"`, its `"` doubled) is the `csv` crate's; the cell text
/// (pt-BR numbers and dates, the formula guard) is ours ([`cell`]).
pub struct Encoder {
    writer: ::csv::Writer<Vec<u8>>,
    columns: &'static [Column],
}

impl Encoder {
    /// A new document: the BOM and the header row (the JSON field names).
    pub fn new(metric: &Metric) -> Self {
        let mut start = Vec::with_capacity(16 * 1024);
        start.extend_from_slice(BOM);
        let mut writer = writer(start);
        // Writing into a Vec cannot fail; an error here would only be a bug in the writer.
        let _ = writer.write_record(metric.columns.iter().map(|c| c.name));
        Self {
            writer,
            columns: metric.columns,
        }
    }

    /// One row (a JSON object as PostgreSQL wrote it); missing fields are empty cells.
    pub fn row(&mut self, row: &Map<String, Value>) {
        let cells = self
            .columns
            .iter()
            .map(|c| cell(c.ty, row.get(c.name).unwrap_or(&Value::Null)));
        let _ = self.writer.write_record(cells);
    }

    /// One row given as PostgreSQL's JSON text; text that is not an object is an empty row.
    pub fn row_text(&mut self, json: &str) {
        match serde_json::from_str(json) {
            Ok(Value::Object(row)) => self.row(&row),
            _ => self.row(&Map::new()),
        }
    }

    /// The bytes written since the last call (at least the rows passed since then).
    pub fn take(&mut self) -> Vec<u8> {
        let full = std::mem::replace(&mut self.writer, writer(Vec::with_capacity(16 * 1024)));
        // Only a failed flush fails, and flushing into a Vec cannot fail.
        full.into_inner().unwrap_or_default()
    }

    /// Bytes waiting in the buffer (whether a chunk is worth sending yet).
    pub fn buffered(&self) -> usize {
        self.writer.get_ref().len()
    }
}

/// Our dialect: `;`, CRLF, fields quoted only when they hold `;`, `"`, CR or LF.
fn writer(into: Vec<u8>) -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(::csv::Terminator::CRLF)
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(into)
}

/// The CSV body of a metric's rows.
pub fn render(metric: &Metric, rows: &[Map<String, Value>]) -> String {
    let mut encoder = Encoder::new(metric);
    for row in rows {
        encoder.row(row);
    }
    String::from_utf8_lossy(&encoder.take()).into_owned()
}

/// One cell's text, formatted for pt-BR (unquoted: quoting is the writer's).
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
            ColType::Date => br_date(s).unwrap_or_else(|| guard(s)),
            ColType::Timestamp => br_timestamp(s).unwrap_or_else(|| guard(s)),
            _ => guard(s),
        },
        Value::Bool(b) => if *b { "Sim" } else { "Não" }.to_string(),
        other => guard(&other.to_string()),
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

/// Text that Excel would run as a formula gets a leading `'`.
fn guard(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn csv_headers(r: &mut Response, metric: &Metric) {
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = metric.path.replace('/', "-");
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.csv\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
}

/// A streamed CSV response (`super::export`): the body is sent as its chunks come.
pub fn streamed(
    metric: &Metric,
    chunks: impl futures::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let mut r = axum::body::Body::from_stream(chunks).into_response();
    csv_headers(&mut r, metric);
    r
}

/// The HTTP response: `text/csv; charset=utf-8`, downloaded as `<metric>.csv`.
pub fn response(metric: &Metric, rows: &[Map<String, Value>]) -> Response {
    let mut r = render(metric, rows).into_response();
    csv_headers(&mut r, metric);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A text cell as it lands in the document: the `tenant` of a `tabela-geral` row whose
    /// other cells are empty (so the line is the cell and then only `;`).
    fn one_cell(v: &Value) -> String {
        let m = crate::analytics::metric("tabela-geral").unwrap();
        let mut row = Map::new();
        row.insert("tenant".into(), v.clone());
        let doc = render(m, &[row]);
        let (_, line) = doc.split_once("\r\n").unwrap();
        line.strip_suffix("\r\n")
            .unwrap()
            .trim_end_matches(';')
            .to_string()
    }

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
        assert_eq!(one_cell(&json!("a;b \"c\"")), "\"a;b \"\"c\"\"\"");
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
            assert_eq!(one_cell(&json!(text)), expected, "{text:?}");
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
