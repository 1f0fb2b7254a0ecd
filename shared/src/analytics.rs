//! # Sales analytics: the metric queries the API runs, and an independent reference
//!
//! The metrics are defined once, in SQL, in `migrations/0102_analytics_cache.sql` (with the
//! fixes of `migrations/0103_analytics_metric_fixes.sql`): each one is a
//! set-returning function `analytics.<name>(tenant, de, ate, idempreendimento)` and each
//! `analytics.vw_*` view is that function without filters (what BI tools read). The functions
//! read facts that are cached in `analytics.cache_*` tables and gated on the cache being valid
//! (else they read the live definitions), see `docs/metrics.md`; the api refreshes the cache
//! (`shared::api::Database::ensure_analytics_cache`). This module
//! - validates the filters ([`Filters`]) and runs those functions with bound parameters
//!   ([`run`]); the function names come from the static [`METRICS`] table, never from input;
//! - computes the same metrics in plain Rust from CVDW rows ([`reference`]), so tests can check
//!   every view against the simulator's ground truth without trusting the SQL.
//!
//! Definitions (in words in `docs/metrics.md`): a *venda* is a `/vendas` row, active and not
//! deleted, with a `data_venda`, valued by `valor_contrato`; a *distrato* is a `/distratos` row
//! dated by `situacao_data`; *líquidas* = vendas − distratos; VGV = Σ valor_contrato of the
//! vendas; ticket médio = VGV ÷ vendas; VSO and pró-soluto as documented on the SQL functions.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The kind of a metric column (drives JSON schema, CSV formatting and the OpenAPI document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ColType {
    Text,
    Int,
    /// Money in R$ (two decimals in CSV).
    Money,
    /// A ratio or percentage (up to six decimals in CSV).
    Decimal,
    Date,
    Timestamp,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub description: &'static str,
}

const fn col(name: &'static str, ty: ColType, description: &'static str) -> Column {
    Column {
        name,
        ty,
        description,
    }
}

/// Which SQL a metric runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `analytics.<fn>($tenant, $de, $ate, $emp)`.
    Function(&'static str),
    /// `analytics.tabela_geral(..., $limit, $offset)` plus a count.
    Paged,
    /// `analytics.vw_etl_status` filtered by tenant only.
    EtlStatus,
}

/// One metric endpoint: its path under `/api`, the SQL it runs and its columns.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Path under `/api/` (e.g. `vendas-mensais`).
    pub path: &'static str,
    pub summary: &'static str,
    pub source: Source,
    /// The view BI tools read for the same numbers.
    pub view: &'static str,
    pub columns: &'static [Column],
}

use ColType::*;

const C_TENANT: Column = col("tenant", Text, "Tenant (CV CRM account) the row belongs to");
const C_VU: Column = col("vendas_unidades", Int, "Vendas (units), by data_venda");
const C_VS: Column = col("vendas_valor", Money, "Σ valor_contrato of the vendas (R$)");
const C_DU: Column = col(
    "distratos_unidades",
    Int,
    "Distratos (units), by situacao_data",
);
const C_DS: Column = col(
    "distratos_valor",
    Money,
    "Σ valor_contrato of the distratos (R$)",
);
const C_LU: Column = col(
    "liquidas_unidades",
    Int,
    "Vendas líquidas = vendas − distratos (units)",
);
const C_LS: Column = col(
    "liquidas_valor",
    Money,
    "Vendas líquidas = vendas − distratos (R$)",
);
const C_VGV: Column = col(
    "vgv",
    Money,
    "VGV: Σ valor_contrato of the vendas, before distratos (R$)",
);
const C_TM: Column = col("ticket_medio", Money, "Ticket médio = VGV ÷ vendas (R$)");
const C_EMP: Column = col("idempreendimento", Int, "Development id");
const C_EMPN: Column = col("empreendimento", Text, "Development name");
const C_MES: Column = col("mes", Date, "First day of the month");

const SALES: [Column; 8] = [C_VU, C_VS, C_DU, C_DS, C_LU, C_LS, C_VGV, C_TM];

/// Concatenate column lists at compile time (`N` is the declared length).
const fn join<const N: usize>(a: &[Column], b: &[Column], c: &[Column]) -> [Column; N] {
    let mut out = [C_TENANT; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    let mut k = 0;
    while k < c.len() {
        out[i + j + k] = c[k];
        k += 1;
    }
    out
}

const KPIS: [Column; 14] = join(
    &[C_TENANT],
    &SALES,
    &[
        col(
            "comissao_valor",
            Money,
            "Σ valor_comissao of active /comissoes dated in the period (R$)",
        ),
        col(
            "comissao_paga",
            Money,
            "Σ valor_pagamento of those commissions (R$)",
        ),
        col(
            "vso",
            Decimal,
            "VSO of the period: its net units (liquidas_unidades) ÷ (stock on the day `de` + entries during the period), 0–1",
        ),
        col(
            "prosoluto_valor",
            Money,
            "Pró-soluto of the period's vendas (R$)",
        ),
        col("prosoluto_pct", Decimal, "Pró-soluto as % of VGV"),
    ],
);
const MENSAIS: [Column; 10] = join(&[C_TENANT, C_MES], &SALES, &[]);
const EMPS: [Column; 11] = join(&[C_TENANT, C_EMP, C_EMPN], &SALES, &[]);
const CORRETORES: [Column; 13] = join(
    &[
        C_TENANT,
        col("idcorretor", Int, "Broker id"),
        col("corretor", Text, "Broker name"),
    ],
    &SALES,
    &[
        col(
            "comissao_valor",
            Money,
            "Σ valor_comissao of the broker's active commissions (R$)",
        ),
        col(
            "comissao_paga",
            Money,
            "Σ valor_pagamento of those commissions (R$)",
        ),
    ],
);
const TIMES: [Column; 13] = join(
    &[
        C_TENANT,
        col("idtime", Int, "Team id (null: no team)"),
        col("nome_time", Text, "Team name"),
    ],
    &SALES,
    &[
        col(
            "vendas_time_da_reserva",
            Int,
            "Vendas whose team came from /reservas.idtime",
        ),
        col(
            "vendas_time_dos_integrantes",
            Int,
            "Vendas whose team came from the broker's membership (fallback)",
        ),
    ],
);

/// Every metric endpoint. The router, the OpenAPI document and the CSV writer all read this
/// table, so they cannot disagree.
pub const METRICS: &[Metric] = &[
    Metric {
        path: "kpis",
        summary: "KPIs of the period per tenant: vendas líquidas, VGV, ticket médio, distratos, comissões, VSO, pró-soluto",
        source: Source::Function("kpis"),
        view: "analytics.vw_kpis",
        columns: &KPIS,
    },
    Metric {
        path: "vendas-mensais",
        summary: "Vendas, distratos and vendas líquidas per month",
        source: Source::Function("vendas_mensais"),
        view: "analytics.vw_vendas_mensais",
        columns: &MENSAIS,
    },
    Metric {
        path: "vendas-empreendimentos",
        summary: "Vendas, distratos and vendas líquidas per development",
        source: Source::Function("vendas_por_empreendimento"),
        view: "analytics.vw_vendas_por_empreendimento",
        columns: &EMPS,
    },
    Metric {
        path: "vendas-corretores",
        summary: "Vendas, distratos, vendas líquidas and commissions per broker",
        source: Source::Function("vendas_por_corretor"),
        view: "analytics.vw_vendas_por_corretor",
        columns: &CORRETORES,
    },
    Metric {
        path: "comissoes-corretores",
        summary: "Commissions per broker (from /comissoes)",
        source: Source::Function("comissoes_por_corretor"),
        view: "analytics.vw_comissoes_por_corretor",
        columns: &[
            C_TENANT,
            col("idcorretor", Int, "Broker id (from the reservation)"),
            col("corretor", Text, "Broker name"),
            col("comissoes", Int, "Number of active commissions"),
            col("comissao_valor", Money, "Σ valor_comissao (R$)"),
            col("comissao_paga", Money, "Σ valor_pagamento (R$)"),
            col("comissao_a_pagar", Money, "comissao_valor − comissao_paga (R$)"),
        ],
    },
    Metric {
        path: "vendas-times",
        summary: "Vendas per sales team (team at the time of the sale)",
        source: Source::Function("vendas_por_time"),
        view: "analytics.vw_vendas_por_time",
        columns: &TIMES,
    },
    Metric {
        path: "vso-mensal",
        summary: "VSO (venda sobre oferta) per development and month",
        source: Source::Function("vso_mensal"),
        view: "analytics.vw_vso_mensal",
        columns: &[
            C_TENANT,
            C_EMP,
            C_EMPN,
            C_MES,
            col("estoque_inicial", Int, "Units in stock at the start of the month"),
            col("entradas", Int, "Units that entered the offer in the month"),
            C_VU,
            C_DU,
            C_LU,
            col("oferta", Int, "estoque_inicial + entradas"),
            col("vso", Decimal, "liquidas_unidades ÷ oferta (0–1)"),
        ],
    },
    Metric {
        path: "prosoluto",
        summary: "Pró-soluto per development and month, in R$ and as % of VGV",
        source: Source::Function("prosoluto_analise"),
        view: "analytics.vw_prosoluto_analise",
        columns: &[
            C_TENANT,
            C_EMP,
            C_EMPN,
            C_MES,
            C_VU,
            C_VGV,
            col("prosoluto_valor", Money, "Σ pró-soluto of the month's vendas (R$)"),
            col("prosoluto_pct", Decimal, "prosoluto_valor ÷ VGV × 100"),
            col("vendas_com_prosoluto", Int, "Vendas with a positive pró-soluto"),
        ],
    },
    Metric {
        path: "ano-atual-vs-passado",
        summary: "Vendas líquidas and VGV month by month: the year of `ate` (else today) against the year before",
        source: Source::Function("vendas_ano_atual_vs_passado"),
        view: "analytics.vw_vendas_ano_atual_vs_passado",
        columns: &[
            C_TENANT,
            col("mes", Int, "Month number 1–12"),
            col("ano_atual", Int, "The current year"),
            col("ano_passado", Int, "The year before"),
            col("liquidas_unidades_atual", Int, "Vendas líquidas (units), current year"),
            col("liquidas_unidades_passado", Int, "Vendas líquidas (units), year before"),
            col("liquidas_valor_atual", Money, "Vendas líquidas (R$), current year"),
            col("liquidas_valor_passado", Money, "Vendas líquidas (R$), year before"),
            col("vgv_atual", Money, "VGV (R$), current year"),
            col("vgv_passado", Money, "VGV (R$), year before"),
        ],
    },
    Metric {
        path: "tabela-geral",
        summary: "One line per venda (paginated, newest first)",
        source: Source::Paged,
        view: "analytics.vw_tabela_geral_vendas",
        columns: &[
            C_TENANT,
            col("idreserva", Int, "Reservation id of the sale"),
            col("data_venda", Date, "Sale date"),
            C_EMP,
            C_EMPN,
            col("etapa", Text, "Phase"),
            col("bloco", Text, "Block"),
            col("unidade", Text, "Unit"),
            col("cliente", Text, "Customer"),
            col("idcorretor", Int, "Broker id"),
            col("corretor", Text, "Broker"),
            col("imobiliaria", Text, "Agency"),
            col("idtime", Int, "Team id"),
            col("nome_time", Text, "Team"),
            col("valor_contrato", Money, "Contract value (R$)"),
            col("vgv_tabela", Money, "List price of the unit (R$)"),
            col("valor_prosoluto", Money, "Pró-soluto (R$)"),
            col("data_distrato", Date, "Distrato date, if the sale was cancelled"),
            col("situacao", Text, "Ativa or Distratada"),
            col("valor_comissao", Money, "Active commission (R$)"),
        ],
    },
    Metric {
        path: "etl/status",
        summary: "ETL health: last run per object, rows, rejected rows, open failures, freshness",
        source: Source::EtlStatus,
        view: "analytics.vw_etl_status",
        columns: &[
            C_TENANT,
            col("object", Text, "CVDW object"),
            col("ultimo_run", Text, "Last run id"),
            col("mode", Text, "incremental or full"),
            col("pages", Int, "Pages of that run"),
            col("rows", Int, "Rows of that run"),
            col("rejected", Int, "Rows of that run quarantined"),
            col("last_fetched_at", Timestamp, "When the run's last page was fetched"),
            col("last_loaded_at", Timestamp, "When the run's last page was loaded"),
            col("manifest_state", Text, "applied, pending or no manifest"),
            col("rejeitadas_total", Int, "All quarantined rows of the object"),
            col("falhas_abertas", Int, "Pages that failed to load and are not resolved"),
            col("idade_segundos", Int, "Seconds since the last fetch"),
        ],
    },
];

pub fn metric(path: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.path == path)
}

/// Validated filters. Every field is optional; `None` means "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    pub tenant: Option<String>,
    pub de: Option<NaiveDate>,
    pub ate: Option<NaiveDate>,
    pub empreendimento: Option<i64>,
}

/// A bad query parameter: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("parameter `{parameter}`: {reason}")]
pub struct BadParam {
    pub parameter: String,
    pub reason: String,
}

pub fn bad(parameter: &str, reason: impl Into<String>) -> BadParam {
    BadParam {
        parameter: parameter.to_string(),
        reason: reason.into(),
    }
}

/// `YYYY-MM-DD`, or `YYYY-MM` (the first day of the month for `de`, the last for `ate`).
pub fn parse_period_date(name: &str, s: &str, end_of_month: bool) -> Result<NaiveDate, BadParam> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if s.len() == 10 {
            return Ok(d);
        }
    }
    if s.len() == 7 {
        if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
            return Ok(if end_of_month {
                last_day_of_month(d)
            } else {
                d
            });
        }
    }
    Err(bad(
        name,
        format!("`{s}` is not a date; use YYYY-MM-DD (e.g. 2025-01-31) or YYYY-MM"),
    ))
}

fn last_day_of_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .unwrap_or(d)
}

impl Filters {
    /// Validate raw parameters (already split from the query string).
    pub fn parse(
        tenant: Option<&str>,
        de: Option<&str>,
        ate: Option<&str>,
        empreendimento: Option<&str>,
    ) -> Result<Self, BadParam> {
        let tenant = match tenant.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(t) => {
                if t.len() > 64
                    || !t
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                {
                    return Err(bad(
                        "tenant",
                        "must be 1–64 characters of letters, digits, '-', '_' or '.'",
                    ));
                }
                Some(t.to_string())
            }
        };
        let de = de
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_period_date("de", s, false))
            .transpose()?;
        let ate = ate
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_period_date("ate", s, true))
            .transpose()?;
        if let (Some(d), Some(a)) = (de, ate) {
            if a < d {
                return Err(bad("ate", format!("{a} is before de ({d})")));
            }
        }
        let empreendimento = match empreendimento.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(e) => match e.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(bad(
                        "empreendimento",
                        format!("`{e}` is not a development id (a positive integer)"),
                    ))
                }
            },
        };
        Ok(Self {
            tenant,
            de,
            ate,
            empreendimento,
        })
    }
}

/// Paging of `tabela-geral`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
    /// Rows to skip instead of `(page - 1) × per_page`: a window of one tenant's rows when a
    /// page spans the tenants of a key (api `metric_handler`). Never from the query string.
    #[serde(skip)]
    pub offset: Option<i64>,
}

pub const MAX_PER_PAGE: i64 = 500;

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 100,
            offset: None,
        }
    }
}

impl Page {
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, BadParam> {
        let mut p = Page::default();
        if let Some(s) = page.map(str::trim).filter(|s| !s.is_empty()) {
            p.page = match s.parse::<i64>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "page",
                        format!("`{s}` is not a page number (1, 2, ...)"),
                    ))
                }
            };
        }
        if let Some(s) = per_page.map(str::trim).filter(|s| !s.is_empty()) {
            p.per_page = match s.parse::<i64>() {
                Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "per_page",
                        format!("`{s}` must be an integer from 1 to {MAX_PER_PAGE}"),
                    ))
                }
            };
        }
        Ok(p)
    }
}

/// A metric's answer: each row as the JSON object PostgreSQL wrote (`to_jsonb(row)::text`),
/// unparsed, and the total row count for paginated metrics. The JSON API copies the rows into
/// the response as they are: numbers stay exactly as PostgreSQL's numerics (no round trip
/// through `f64`), and no CPU goes into parsing and re-serialising what is already JSON.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub rows: Vec<String>,
    pub total: Option<i64>,
}

impl Rows {
    /// The rows parsed into JSON objects (for CSV and tests).
    pub fn objects(&self) -> Vec<serde_json::Map<String, Value>> {
        self.rows
            .iter()
            .map(|r| match serde_json::from_str(r) {
                Ok(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            })
            .collect()
    }
}

#[cfg(feature = "runtime")]
mod sql {
    use super::*;
    use tokio_postgres::types::{ToSql, Type};
    use tokio_postgres::Client;

    /// The statement a metric runs and its parameters (also used by `cvdw bench api` to time
    /// the same SQL directly).
    pub fn statement(metric: &Metric) -> String {
        // Function and view names come from the static METRICS table, never from input.
        match metric.source {
            Source::Function(f) => {
                format!("SELECT to_jsonb(t)::text FROM analytics.{f}($1::text, $2::date, $3::date, $4::bigint) t")
            }
            Source::Paged => "SELECT to_jsonb(t)::text FROM analytics.tabela_geral($1::text, $2::date, $3::date, $4::bigint, $5::int, $6::int) t".to_string(),
            Source::EtlStatus => "SELECT to_jsonb(t)::text FROM analytics.vw_etl_status t WHERE ($1::text IS NULL OR t.tenant = $1) ORDER BY t.tenant, t.object".to_string(),
        }
    }

    /// Rows of `tabela-geral` for the filters: its vendas, counted from the monthly rollup
    /// (plus the partial months), not by scanning the period's sales.
    pub const COUNT_TABELA: &str = "SELECT coalesce(sum(p.vu), 0)::bigint \
        FROM analytics.periodo_emp($1::text, $2::date, $3::date, $4::bigint) p";

    /// Run a metric with bound parameters. `query_typed` sends parse, bind and execute at once
    /// (one round trip instead of three for prepare/execute/close, and no named statement, so
    /// it also works behind a transaction pooler); the page count of `tabela-geral` is
    /// pipelined with the page itself.
    pub async fn run(
        client: &Client,
        metric: &Metric,
        f: &Filters,
        page: Page,
    ) -> Result<Rows, tokio_postgres::Error> {
        let stmt = statement(metric);
        let limit = page.per_page as i32;
        let offset = page
            .offset
            .unwrap_or((page.page - 1) * page.per_page)
            .min(i32::MAX as i64) as i32;
        let four: [(&(dyn ToSql + Sync), Type); 4] = [
            (&f.tenant, Type::TEXT),
            (&f.de, Type::DATE),
            (&f.ate, Type::DATE),
            (&f.empreendimento, Type::INT8),
        ];
        let (rows, total) = match metric.source {
            Source::Function(_) => (client.query_typed(&stmt, &four).await?, None),
            Source::Paged => {
                let six: [(&(dyn ToSql + Sync), Type); 6] = [
                    four[0].clone(),
                    four[1].clone(),
                    four[2].clone(),
                    four[3].clone(),
                    (&limit, Type::INT4),
                    (&offset, Type::INT4),
                ];
                let (rows, count) = futures::future::try_join(
                    client.query_typed(&stmt, &six),
                    client.query_typed_one(COUNT_TABELA, &four),
                )
                .await?;
                (rows, Some(count.get::<_, i64>(0)))
            }
            Source::EtlStatus => (
                client
                    .query_typed(&stmt, &[(&f.tenant, Type::TEXT)])
                    .await?,
                None,
            ),
        };
        let rows = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        Ok(Rows { rows, total })
    }

    /// Tenants and their freshness (for `/health` and the dashboard's tenant list): the last
    /// time a page of the tenant was fetched and loaded. No data values.
    pub async fn freshness(client: &Client) -> Result<Vec<Freshness>, tokio_postgres::Error> {
        let rows = client
            .query_typed(
                "SELECT tenant, max(fetched_at), max(loaded_at), \
                 extract(epoch FROM now() - max(fetched_at))::bigint \
                 FROM etl.pages GROUP BY tenant ORDER BY tenant",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Freshness {
                tenant: r.get(0),
                last_fetched_at: r.get(1),
                last_loaded_at: r.get(2),
                age_seconds: r.get(3),
            })
            .collect())
    }

    /// Development ids and names (for the dashboard's filter).
    pub async fn empreendimentos(
        client: &Client,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, i64, Option<String>)>, tokio_postgres::Error> {
        let rows = client
            .query_typed(
                "SELECT tenant, idempreendimento, nome FROM analytics.empreendimentos \
                 WHERE ($1::text IS NULL OR tenant = $1) ORDER BY tenant, nome, idempreendimento",
                &[(&tenant, Type::TEXT)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }
}

#[cfg(feature = "runtime")]
pub use sql::{empreendimentos, freshness, run, statement, COUNT_TABELA};

/// Data freshness of a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub tenant: String,
    pub last_fetched_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_loaded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub age_seconds: Option<i64>,
}

// -------------------------------------------------------------------------------------------
// The independent reference computation (its own file).

pub mod reference;
