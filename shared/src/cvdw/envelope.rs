//! Lenient reading of the CVDW page envelope (docs/cvdw-api.md §3.1 and §11).
//!
//! The extractor never rewrites a page: the body is stored byte for byte. It only needs to know
//! four things about it: is it a real page (and not a throttle notice or an HTML error dressed
//! as 200), how many rows it holds, the highest valid `referencia_data` on it (for the cursor),
//! and whether it is the last page. [`inspect`] answers those without materialising the rows:
//! each row is read as "an object with maybe a `referencia_data`", everything else is skipped.
//!
//! Leniency, because the live API does all of these: `pagina` is an int or a string; the key
//! order varies; `total_de_paginas` can be `0` while `dados` holds rows (§3.1), so the totals
//! are only trusted when they agree with the rows.

use chrono::NaiveDateTime;
use serde::de::{self, Deserializer, IgnoredAny};
use serde::Deserialize;

/// What a body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A CVDW page.
    Page(PageSummary),
    /// `{"Response": "Too many requests"}`, whatever the HTTP status.
    TooManyRequests,
    /// Not JSON at all (an HTML error page, an empty body).
    NotJson,
    /// JSON, but not an envelope or cut short; the message says what is wrong.
    Malformed(String),
}

/// The facts the extractor needs from one page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageSummary {
    /// `pagina` as echoed (int or string); `None` when absent or not a number.
    pub pagina: Option<u64>,
    /// `registros`: the page size in force (not the row count).
    pub registros: Option<u64>,
    pub total_de_registros: Option<u64>,
    pub total_de_paginas: Option<u64>,
    /// Rows in `dados`.
    pub rows: u32,
    /// Highest real `referencia_data` on the page; null, empty and zero dates never count,
    /// nor dates past [`future_ceiling`].
    pub max_referencia_data: Option<NaiveDateTime>,
    /// Rows whose `referencia_data` lies past [`future_ceiling`]: kept and stored like any
    /// row, but not trusted as a cursor.
    pub future_referencia_data: u32,
}

/// The latest `referencia_data` that can move a cursor: the real clock plus two days.
/// CVDW stamps a row when it changes, so a later stamp is a typo or a placeholder
/// (`9999-12-31`); taken as the cursor it would hide every later change from incremental
/// runs until the next full run. Ignoring it costs at most some re-fetched rows.
pub fn future_ceiling() -> NaiveDateTime {
    chrono::Utc::now().naive_utc() + chrono::Duration::days(2)
}

impl PageSummary {
    /// Whether the page requested as `page` (1-based) with `page_size` rows per page is the
    /// last one. Stop when `dados` is empty, or when `page >= total_de_paginas` — but only
    /// trust the totals when they are consistent with the rows: a page with rows and
    /// `total_de_paginas: 0` (seen live) is read on until a short or empty page.
    pub fn is_last(&self, page: u32, page_size: u32) -> bool {
        if self.rows == 0 {
            return true;
        }
        match self.total_de_paginas {
            Some(total) if total > 0 => u64::from(page) >= total,
            // Totals missing or contradicting the rows: a short page is the end.
            _ => self.rows < page_size,
        }
    }
}

/// Classify a body and summarise it when it is a page.
pub fn inspect(body: &[u8]) -> Body {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        Some(b'{') => {}
        Some(b'[') => return Body::Malformed("a JSON array instead of an envelope".into()),
        _ => return Body::NotJson,
    }
    match serde_json::from_slice::<Raw>(body) {
        Ok(raw) => {
            if raw
                .response
                .as_deref()
                .is_some_and(|r| r.to_ascii_lowercase().contains("too many requests"))
            {
                return Body::TooManyRequests;
            }
            let Some(dados) = raw.dados else {
                return Body::Malformed("the envelope has no `dados` array".into());
            };
            Body::Page(PageSummary {
                pagina: raw.pagina.and_then(|n| n.0),
                registros: raw.registros.and_then(|n| n.0),
                total_de_registros: raw.total_de_registros.and_then(|n| n.0),
                total_de_paginas: raw.total_de_paginas.and_then(|n| n.0),
                rows: u32::try_from(dados.rows).unwrap_or(u32::MAX),
                max_referencia_data: dados.max,
                future_referencia_data: dados.future,
            })
        }
        Err(e) if e.is_eof() => Body::Malformed(format!("truncated JSON: {e}")),
        Err(e) => Body::Malformed(format!("invalid JSON: {e}")),
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    pagina: Option<LenientU64>,
    #[serde(default)]
    registros: Option<LenientU64>,
    #[serde(default)]
    total_de_registros: Option<LenientU64>,
    #[serde(default)]
    total_de_paginas: Option<LenientU64>,
    #[serde(default)]
    dados: Option<Dados>,
    #[serde(default, rename = "Response")]
    response: Option<String>,
}

/// A count sent as a JSON int, a numeric string, or something else (→ `None`, not an error:
/// the totals are advisory).
struct LenientU64(Option<u64>);

impl<'de> Deserialize<'de> for LenientU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(LenientU64(match v {
            serde_json::Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }))
    }
}

/// `dados`, counted and scanned for the cursor without keeping the rows.
struct Dados {
    rows: usize,
    max: Option<NaiveDateTime>,
    future: u32,
}

impl<'de> Deserialize<'de> for Dados {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Dados;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of rows")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Dados, A::Error> {
                let mut out = Dados {
                    rows: 0,
                    max: None,
                    future: 0,
                };
                let ceiling = future_ceiling();
                while let Some(row) = seq.next_element::<RowProbe>()? {
                    out.rows += 1;
                    let when = row
                        .referencia_data
                        .as_deref()
                        .and_then(crate::values::parse_datetime);
                    if when.is_some_and(|w| w > ceiling) {
                        out.future += 1;
                        continue;
                    }
                    if when > out.max {
                        out.max = when;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

/// One row, reduced to its `referencia_data` when that is a string. A row that is not an
/// object (a string, a number, null, an array) is still a row: counted, never a cursor, and
/// stored with its page — the loader quarantines it. Refusing the page for it would retry it
/// forever and block the object's every later run on one bad row.
struct RowProbe {
    referencia_data: Option<String>,
}

impl<'de> Deserialize<'de> for RowProbe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const NONE: RowProbe = RowProbe {
            referencia_data: None,
        };
        impl<'de> de::Visitor<'de> for V {
            type Value = RowProbe;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RowProbe, A::Error> {
                let mut out = NONE;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "referencia_data" {
                        let v: serde_json::Value = map.next_value()?;
                        out.referencia_data = v.as_str().map(str::to_string);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RowProbe, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(NONE)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RowProbe, E> {
                Ok(NONE)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RowProbe, E> {
                Ok(NONE)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RowProbe, E> {
                Ok(NONE)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RowProbe, E> {
                Ok(NONE)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RowProbe, E> {
                Ok(NONE)
            }
            fn visit_unit<E: de::Error>(self) -> Result<RowProbe, E> {
                Ok(NONE)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> PageSummary {
        match inspect(body.as_bytes()) {
            Body::Page(p) => p,
            other => panic!("expected a page, got {other:?}"),
        }
    }

    #[test]
    fn pagina_int_or_string_and_any_key_order() {
        let a = page(
            r#"{"pagina":2,"registros":500,"total_de_registros":1200,"total_de_paginas":3,"dados":[{"referencia":"1","referencia_data":"2024-05-01 10:00:00"}]}"#,
        );
        let b = page(
            r#"{"dados":[{"referencia_data":"2024-05-01 10:00:00","referencia":1}],"total_de_paginas":"3","pagina":"2","total_de_registros":1200,"registros":"500"}"#,
        );
        assert_eq!(a, b);
        assert_eq!(a.pagina, Some(2));
        assert_eq!(a.total_de_paginas, Some(3));
        assert!(!a.is_last(2, 500));
        assert!(a.is_last(3, 500));
    }

    #[test]
    fn max_referencia_data_ignores_null_empty_and_zero_dates() {
        let p = page(
            r#"{"pagina":1,"total_de_paginas":1,"dados":[
            {"referencia_data":"0000-00-00 00:00:00"},{"referencia_data":null},{"referencia_data":""},
            {"referencia_data":"2024-05-02"},{"referencia_data":"2024-05-01 23:59:59"},{"x":[{"referencia_data":"2099-01-01 00:00:00"}]}]}"#,
        );
        assert_eq!(p.rows, 6);
        assert_eq!(
            p.max_referencia_data.map(|d| d.to_string()),
            Some("2024-05-02 00:00:00".into())
        );
        let zero =
            page(r#"{"pagina":1,"total_de_paginas":1,"dados":[{"referencia_data":"0000-00-00"}]}"#);
        assert_eq!(zero.max_referencia_data, None);
    }

    #[test]
    fn a_date_from_the_future_never_becomes_the_cursor() {
        // One placeholder stamp must not hide every later change from incremental runs.
        let p = page(
            r#"{"pagina":1,"total_de_paginas":1,"dados":[
            {"referencia_data":"2024-05-01 10:00:00"},{"referencia_data":"9999-12-31 23:59:59"},
            {"referencia_data":"2998-01-01"}]}"#,
        );
        assert_eq!(p.rows, 3);
        assert_eq!(p.future_referencia_data, 2);
        assert_eq!(
            p.max_referencia_data.map(|d| d.to_string()),
            Some("2024-05-01 10:00:00".into())
        );
        let tomorrow = (chrono::Utc::now().naive_utc() + chrono::Duration::days(1))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let near = page(&format!(
            r#"{{"pagina":1,"total_de_paginas":1,"dados":[{{"referencia_data":"{tomorrow}"}}]}}"#
        ));
        assert_eq!(
            near.future_referencia_data, 0,
            "time zones and clock skew fit"
        );
        assert!(near.max_referencia_data.is_some());
    }

    #[test]
    fn stop_rules_never_trust_totals_alone() {
        // Empty dados ends the object even if the totals promise more.
        let empty =
            page(r#"{"pagina":2,"total_de_registros":5000,"total_de_paginas":10,"dados":[]}"#);
        assert!(empty.is_last(2, 500));
        // total_de_paginas 0 with rows (seen live): keep going while pages are full.
        let rows = (0..500).map(|_| "{}").collect::<Vec<_>>().join(",");
        let inconsistent = page(&format!(
            r#"{{"pagina":1,"total_de_registros":0,"total_de_paginas":0,"dados":[{rows}]}}"#
        ));
        assert!(!inconsistent.is_last(1, 500));
        let short =
            page(r#"{"pagina":1,"total_de_registros":0,"total_de_paginas":0,"dados":[{}]}"#);
        assert!(short.is_last(1, 500));
        // Missing totals altogether.
        let bare = page(r#"{"dados":[{}]}"#);
        assert!(bare.is_last(1, 500));
    }

    #[test]
    fn throttle_html_and_broken_bodies() {
        assert_eq!(
            inspect(b"{\n    \"Response\": \"Too many requests\"\n}"),
            Body::TooManyRequests
        );
        assert_eq!(
            inspect(b"Ocorreu um erro ao tentar executar essa a\xc3\xa7\xc3\xa3o.<table>"),
            Body::NotJson
        );
        assert_eq!(inspect(b"<html><body>500</body></html>"), Body::NotJson);
        assert_eq!(inspect(b""), Body::NotJson);
        assert!(matches!(
            inspect(br#"{"pagina":1,"dados":[{"referencia":"1"},{"refer"#),
            Body::Malformed(m) if m.contains("truncated")
        ));
        assert!(matches!(
            inspect(br#"{"mensagem":"Erro inesperado","codigo":422}"#),
            Body::Malformed(m) if m.contains("dados")
        ));
        assert!(matches!(inspect(b"[1,2]"), Body::Malformed(_)));
        // Rows that are not objects are rows (the loader quarantines them), not a broken page.
        let odd = page(
            r#"{"pagina":1,"dados":["x",7,-1,1.5,true,null,[1,{"referencia_data":"2099-01-01"}],{"referencia_data":"2024-05-01 10:00:00"}]}"#,
        );
        assert_eq!(odd.rows, 8);
        assert_eq!(
            odd.max_referencia_data.map(|d| d.to_string()).as_deref(),
            Some("2024-05-01 10:00:00")
        );
    }
}
