//! Monthly sales goals (metas): the pt-BR CSV they are imported from, and the import itself
//! (`etl.metas`, migrations/0011_metas.sql), in one statement so that a bad file changes
//! nothing.
//!
//! The file follows our export's conventions (shared::api::csv): UTF-8 (a BOM is skipped),
//! `;` between fields, decimal comma without thousands separator, CRLF or LF, fields quoted
//! with `"` when needed. A header line, then one goal per line:
//!
//! ```text
//! tenant;mes;escopo;id;unidades;valor
//! acme;03/2025;empreendimento;12;10;3500000,00
//! ```
//!
//! `mes` is `mm/aaaa` (or `01/mm/aaaa`, a month's first day as our export writes dates);
//! `escopo` is `empreendimento`, `time` or `corretor` and `id` that entity's id. Every bad line
//! is reported with its line number, not just the first.

use chrono::{Datelike, NaiveDate};

use super::filters::Filters;

/// The header a metas file starts with.
pub const HEADER: [&str; 6] = ["tenant", "mes", "escopo", "id", "unidades", "valor"];

/// What a goal is set for.
pub const ESCOPOS: [&str; 3] = ["empreendimento", "time", "corretor"];

/// One goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub tenant: String,
    /// The month's first day.
    pub mes: NaiveDate,
    pub escopo: &'static str,
    pub id: i64,
    pub unidades: i32,
    /// R$ in centavos.
    pub valor_centavos: i64,
}

/// A bad line of a metas file: its number (1 = the header) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("linha {line}: {reason}")]
pub struct LineError {
    pub line: u64,
    pub reason: String,
}

fn line_error(line: u64, reason: impl Into<String>) -> LineError {
    LineError {
        line,
        reason: reason.into(),
    }
}

/// `mm/aaaa` or `01/mm/aaaa`.
fn parse_month(text: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = text.split('/').collect();
    let (day, month, year) = match parts.as_slice() {
        [month, year] => ("01", *month, *year),
        [day, month, year] => (*day, *month, *year),
        _ => return None,
    };
    if day != "01" || month.len() != 2 || year.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
    (date.day() == 1).then_some(date)
}

/// R$ with a decimal comma and at most two decimals, no thousands separator: centavos.
fn parse_money(text: &str) -> Option<i64> {
    let (whole, cents) = text.split_once(',').unwrap_or((text, ""));
    if whole.is_empty()
        || cents.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !cents.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

fn parse_line(line: u64, fields: &[&str]) -> Result<Meta, LineError> {
    if fields.len() != HEADER.len() {
        return Err(line_error(
            line,
            format!(
                "{} campos; são {} separados por `;`: {}",
                fields.len(),
                HEADER.len(),
                HEADER.join(";")
            ),
        ));
    }
    let tenant = Filters::parse(Some(fields[0]), None, None, None)
        .ok()
        .and_then(|f| f.tenant)
        .ok_or_else(|| line_error(line, format!("tenant `{}` inválido", fields[0])))?;
    let mes = parse_month(fields[1]).ok_or_else(|| {
        line_error(
            line,
            format!("mes `{}` inválido; use mm/aaaa (ex.: 03/2025)", fields[1]),
        )
    })?;
    let escopo = ESCOPOS
        .iter()
        .find(|e| **e == fields[2])
        .copied()
        .ok_or_else(|| {
            line_error(
                line,
                format!(
                    "escopo `{}` inválido; use {}",
                    fields[2],
                    ESCOPOS.join(", ")
                ),
            )
        })?;
    let id = fields[3]
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            line_error(
                line,
                format!("id `{}` não é um inteiro positivo", fields[3]),
            )
        })?;
    let unidades = fields[4]
        .parse::<i32>()
        .ok()
        .filter(|u| *u >= 0)
        .ok_or_else(|| {
            line_error(
                line,
                format!("unidades `{}` não é um inteiro ≥ 0", fields[4]),
            )
        })?;
    let valor_centavos = parse_money(fields[5]).ok_or_else(|| {
        line_error(
            line,
            format!(
                "valor `{}` inválido; use vírgula decimal sem separador de milhar (ex.: 3500000,00)",
                fields[5]
            ),
        )
    })?;
    Ok(Meta {
        tenant,
        mes,
        escopo,
        id,
        unidades,
        valor_centavos,
    })
}

/// Parse a whole metas file. Either every line is good, or every bad line is reported.
pub fn parse(bytes: &[u8]) -> Result<Vec<Meta>, Vec<LineError>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut metas = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    let mut header_seen = false;
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                errors.push(line_error(line, format!("não é CSV válido: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(line, |p| p.line());
        let fields: Vec<&str> = record.iter().map(str::trim).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            if fields != HEADER {
                errors.push(line_error(
                    line,
                    format!("cabeçalho esperado: {}", HEADER.join(";")),
                ));
                return Err(errors);
            }
            continue;
        }
        match parse_line(line, &fields) {
            Ok(meta) => {
                let key = (meta.tenant.clone(), meta.mes, meta.escopo, meta.id);
                if let Some(first) = seen.insert(key, line) {
                    errors.push(line_error(
                        line,
                        format!("repete a meta da linha {first} (mesmo tenant, mes, escopo e id)"),
                    ));
                } else {
                    metas.push(meta);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if !header_seen {
        errors.push(line_error(1, "arquivo vazio; falta o cabeçalho"));
    }
    if errors.is_empty() {
        Ok(metas)
    } else {
        Err(errors)
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} linha(s) inválida(s); nada foi importado", .0.len())]
    BadLines(Vec<LineError>),
    #[error("writing the goals: {}", crate::db::pg_error_text(.0))]
    Database(#[from] tokio_postgres::Error),
}

impl ImportError {
    /// A bad file stays bad; a database error may pass.
    pub fn is_retryable(&self) -> bool {
        match self {
            ImportError::BadLines(_) => false,
            ImportError::Database(e) => e.is_closed() || e.code().is_none(),
        }
    }
}

/// Parse `bytes` and write every goal (insert or replace): nothing unless every line is good.
/// Returns how many goals were written.
pub async fn import(client: &tokio_postgres::Client, bytes: &[u8]) -> Result<usize, ImportError> {
    let metas = parse(bytes).map_err(ImportError::BadLines)?;
    write(client, &metas).await?;
    Ok(metas.len())
}

/// Insert or replace goals in one statement, so all land or none does (it also works on a
/// connection other requests share, where a transaction could not be opened).
pub async fn write(
    client: &tokio_postgres::Client,
    metas: &[Meta],
) -> Result<(), tokio_postgres::Error> {
    use tokio_postgres::types::Type;
    let tenants: Vec<&str> = metas.iter().map(|m| m.tenant.as_str()).collect();
    let months: Vec<NaiveDate> = metas.iter().map(|m| m.mes).collect();
    let escopos: Vec<&str> = metas.iter().map(|m| m.escopo).collect();
    let ids: Vec<i64> = metas.iter().map(|m| m.id).collect();
    let unidades: Vec<i32> = metas.iter().map(|m| m.unidades).collect();
    let centavos: Vec<i64> = metas.iter().map(|m| m.valor_centavos).collect();
    client
        .query_typed(
            "INSERT INTO etl.metas (tenant, mes, escopo, id, unidades, valor) \
             SELECT t, m, e, i, u, c / 100.0 \
             FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::int[], $6::bigint[]) \
               AS g(t, m, e, i, u, c) \
             ON CONFLICT (tenant, mes, escopo, id) DO UPDATE \
             SET unidades = EXCLUDED.unidades, valor = EXCLUDED.valor, atualizado_em = now()",
            &[
                (&tenants, Type::TEXT_ARRAY),
                (&months, Type::DATE_ARRAY),
                (&escopos, Type::TEXT_ARRAY),
                (&ids, Type::INT8_ARRAY),
                (&unidades, Type::INT4_ARRAY),
                (&centavos, Type::INT8_ARRAY),
            ],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_money_follow_our_export() {
        assert_eq!(parse_month("03/2025"), NaiveDate::from_ymd_opt(2025, 3, 1));
        assert_eq!(
            parse_month("01/03/2025"),
            NaiveDate::from_ymd_opt(2025, 3, 1)
        );
        assert_eq!(parse_month("15/03/2025"), None);
        assert_eq!(parse_month("2025-03"), None);
        assert_eq!(parse_month("13/2025"), None);
        assert_eq!(parse_money("3500000,00"), Some(350_000_000));
        assert_eq!(parse_money("12,5"), Some(1250));
        assert_eq!(parse_money("7"), Some(700));
        assert_eq!(parse_money("3.500.000,00"), None);
        assert_eq!(parse_money("1,234"), None);
        assert_eq!(parse_money("-5"), None);
    }
}
