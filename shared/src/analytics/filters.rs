//! The query filters a metric takes ([`Filters`], [`Page`]): parsed and validated here, so
//! that a bad value is a [`BadParam`] naming the parameter before any SQL runs.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// A filter an endpoint may take: each metric lists its own ([`super::Metric::filters`]), the
/// api refuses the others (400) and the OpenAPI document lists exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Tenant,
    De,
    Ate,
    Empreendimento,
    Corretor,
    Time,
    Imobiliaria,
    /// N of "stuck over N days" (`dias`; default [`DEFAULT_DIAS`]).
    Dias,
}

/// Days in a stage past which an item counts as stuck, when `dias` is not given.
pub const DEFAULT_DIAS: i64 = 30;

impl Filter {
    /// The query parameter's name.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Tenant => "tenant",
            Filter::De => "de",
            Filter::Ate => "ate",
            Filter::Empreendimento => "empreendimento",
            Filter::Corretor => "corretor",
            Filter::Time => "time",
            Filter::Imobiliaria => "imobiliaria",
            Filter::Dias => "dias",
        }
    }
}

/// The filters of the sales metrics: tenant, period and development.
pub const PERIOD_FILTERS: &[Filter] = {
    use Filter::*;
    &[Tenant, De, Ate, Empreendimento]
};
/// The period filters plus the people behind a sale: broker, team and agency (ids).
pub const PEOPLE_FILTERS: &[Filter] = {
    use Filter::*;
    &[Tenant, De, Ate, Empreendimento, Corretor, Time, Imobiliaria]
};

/// The funnel's filters: the period and a lead's development, broker and agency (a lead has no
/// team).
pub const LEAD_FILTERS: &[Filter] = {
    use Filter::*;
    &[Tenant, De, Ate, Empreendimento, Corretor, Imobiliaria]
};

/// Validated filters. Every field is optional; `None` means "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    pub tenant: Option<String>,
    pub de: Option<NaiveDate>,
    pub ate: Option<NaiveDate>,
    pub empreendimento: Option<i64>,
    /// Broker (idcorretor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corretor: Option<i64>,
    /// Sales team (idtime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// Agency (idimobiliaria).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imobiliaria: Option<i64>,
    /// Days in a stage past which an item is stuck (1–3650).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dias: Option<i32>,
}

/// A positive id (`empreendimento`, `corretor`, `time`, `imobiliaria`).
pub fn parse_id(name: &str, value: Option<&str>) -> Result<Option<i64>, BadParam> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(bad(
                name,
                format!("`{text}` is not an id (a positive integer)"),
            )),
        },
    }
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
            ..Self::default()
        })
    }

    /// Add the filters by the people behind a sale (broker, team, agency ids).
    pub fn with_people(
        mut self,
        corretor: Option<&str>,
        time: Option<&str>,
        imobiliaria: Option<&str>,
    ) -> Result<Self, BadParam> {
        self.corretor = parse_id("corretor", corretor)?;
        self.time = parse_id("time", time)?;
        self.imobiliaria = parse_id("imobiliaria", imobiliaria)?;
        Ok(self)
    }

    /// Whether a broker, team or agency is asked for (the SQL's `analytics.sem_pessoas`, negated).
    pub fn names_people(&self) -> bool {
        self.corretor.is_some() || self.time.is_some() || self.imobiliaria.is_some()
    }

    /// Add `dias` (1–3650).
    pub fn with_dias(mut self, dias: Option<&str>) -> Result<Self, BadParam> {
        self.dias = match dias.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => match text.parse::<i32>() {
                Ok(n) if (1..=3650).contains(&n) => Some(n),
                _ => {
                    return Err(bad(
                        "dias",
                        format!("`{text}` must be an integer from 1 to 3650"),
                    ))
                }
            },
        };
        Ok(self)
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
