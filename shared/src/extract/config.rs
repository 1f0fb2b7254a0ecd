//! Extract configuration, read from the environment once into typed, validated structs.
//!
//! Errors name the variable at fault; tokens are [`Secret`]s and never printed. The variables
//! are documented in the [module docs](super).

use crate::catalogue::{self, ObjectSpec};
use crate::cvdw::{base_url_for_subdomain, ClientConfig, PacerConfig, RetryPolicy, MAX_PAGE_SIZE};
use crate::secret::Secret;
use serde::Deserialize;
use std::time::Duration;

/// How often the objects outside the sales set get a full pass by default. A deletion there
/// shows when the next pass ends: up to this interval, plus the pass's own length (about 13 h
/// for a large tenant's 16 000 pages at 20 a minute), plus the wait for its slot. Six days
/// keep that inside the week an operator is promised (docs/big-tenants.md); seven would not.
pub const OTHER_FULL_EVERY: Duration = Duration::from_secs(6 * 24 * 3600);

/// A configuration problem; the message names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

fn err(var: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        problem: problem.into(),
    }
}

/// One CV CRM tenant (a subdomain and its credential).
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Short name used in S3 keys (`[a-z0-9_-]`, ≤ 63 chars).
    pub tenant: String,
    pub base_url: String,
    pub email: String,
    pub token: Secret,
    /// Objects to extract, in catalogue order.
    pub objects: Vec<&'static ObjectSpec>,
}

/// When a run is a full run (no date filter) instead of incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullEvery {
    /// The first run of each America/Sao_Paulo day (UTC−3, no DST since 2019).
    Daily,
    /// Every run.
    Always,
    /// Only when there is no cursor yet.
    Never,
    /// When the last full run is at least this old.
    Interval(Duration),
}

/// Run tunables shared by every tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Subtracted from the max `referencia_data` seen to form the next cursor.
    pub overlap: Duration,
    pub full_every: FullEvery,
    /// Stop and hand over to a continuation when less than this remains.
    pub deadline_margin: Duration,
    /// Lock lifetime; renewed while a run works.
    pub lock_ttl: Duration,
    /// Attempts for one store write before the run stops (transient store errors).
    pub store_attempts: u32,
    /// Full passes of the objects outside the sales set; `None`: as `full_every`.
    pub other_full_every: Option<FullEvery>,
    /// What bounds each run's requests ([`super::schedule`]); `None`: no budget (the run
    /// does everything it plans).
    pub budget: Option<super::schedule::Budget>,
    /// The calendar the run reads ([`super::clock`]); the system's but in the freshness
    /// benchmark.
    pub clock: super::clock::Clock,
}

impl RunSettings {
    /// How often the sales set and the other objects get a full pass.
    pub fn cadence(&self) -> super::schedule::Cadence {
        super::schedule::Cadence {
            sales: self.full_every,
            other: self.other_full_every.unwrap_or(self.full_every),
        }
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            overlap: Duration::from_secs(10 * 60),
            full_every: FullEvery::Daily,
            deadline_margin: Duration::from_secs(90),
            lock_ttl: Duration::from_secs(20 * 60),
            store_attempts: 4,
            other_full_every: None,
            budget: None,
            clock: super::clock::Clock::System,
        }
    }
}

/// Everything the extract function needs.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    pub tenants: Vec<TenantConfig>,
    pub bucket: String,
    pub pacer: PacerConfig,
    pub retry: RetryPolicy,
    pub page_size: u32,
    pub timeout: Duration,
    pub run: RunSettings,
}

impl ExtractConfig {
    /// Read from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read from any lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bucket = get("RAW_BUCKET").ok_or_else(|| err("RAW_BUCKET", "is required"))?;
        let base_override = get("CVDW_BASE_URL");
        if let Some(b) = &base_override {
            if !(b.starts_with("http://") || b.starts_with("https://")) {
                return Err(err("CVDW_BASE_URL", "must start with http:// or https://"));
            }
        }
        let tenants = tenants(&get, base_override.as_deref())?;
        let (requests, window) = match get("CVDW_RATE_LIMIT") {
            Some(v) => parse_rate(&v).ok_or_else(|| {
                err(
                    "CVDW_RATE_LIMIT",
                    format!("`{v}` is not N/DURATION, e.g. 20/60s"),
                )
            })?,
            None => (20, Duration::from_secs(60)),
        };
        let mut pacer = PacerConfig::new(requests, window);
        if let Some(v) = get("CVDW_THROTTLE_PAUSE") {
            pacer.throttle_pause = duration("CVDW_THROTTLE_PAUSE", &v)?;
            pacer.throttle_pause_max = pacer.throttle_pause_max.max(pacer.throttle_pause);
        }
        let mut retry = RetryPolicy::default();
        if let Some(v) = get("CVDW_MAX_ATTEMPTS") {
            retry.max_attempts = number("CVDW_MAX_ATTEMPTS", &v, 1, 100)?;
        }
        if let Some(v) = get("CVDW_MAX_THROTTLES") {
            retry.max_throttles = number("CVDW_MAX_THROTTLES", &v, 0, 100)?;
        }
        if let Some(v) = get("CVDW_BACKOFF_BASE") {
            retry.base_delay = duration("CVDW_BACKOFF_BASE", &v)?;
        }
        if let Some(v) = get("CVDW_BACKOFF_MAX") {
            retry.max_delay = duration("CVDW_BACKOFF_MAX", &v)?;
        }
        let page_size = match get("CVDW_PAGE_SIZE") {
            Some(v) => number("CVDW_PAGE_SIZE", &v, 1, MAX_PAGE_SIZE)?,
            None => MAX_PAGE_SIZE,
        };
        let timeout = match get("CVDW_TIMEOUT") {
            Some(v) => duration("CVDW_TIMEOUT", &v)?,
            None => Duration::from_secs(60),
        };
        let mut run = RunSettings::default();
        if let Some(v) = get("CVDW_OVERLAP_MINUTES") {
            run.overlap = Duration::from_secs(
                60 * number::<u64>("CVDW_OVERLAP_MINUTES", &v, 0, 7 * 24 * 60)?,
            );
        }
        if let Some(v) = get("EXTRACT_FULL_EVERY") {
            run.full_every = parse_full_every(&v).ok_or_else(|| {
                err(
                    "EXTRACT_FULL_EVERY",
                    format!("`{v}` is not daily, always, never or a duration such as 6h"),
                )
            })?;
        }
        // The scheduled Lambda plans within a budget, and passes the other objects every
        // OTHER_FULL_EVERY unless told otherwise (or unless every run is, or none is, full).
        run.other_full_every = match get("EXTRACT_OTHER_FULL_EVERY") {
            Some(v) => Some(parse_full_every(&v).ok_or_else(|| {
                err(
                    "EXTRACT_OTHER_FULL_EVERY",
                    format!("`{v}` is not daily, always, never or a duration such as 7d"),
                )
            })?),
            None => match run.full_every {
                FullEvery::Always | FullEvery::Never => None,
                _ => Some(FullEvery::Interval(OTHER_FULL_EVERY)),
            },
        };
        let mut slots = super::schedule::Slots::default();
        if let Some(v) = get("EXTRACT_SCHEDULE").filter(|_| get("EXTRACT_RUN_HOURS").is_none()) {
            slots.run_hours = cron_hours(&v).ok_or_else(|| {
                err(
                    "EXTRACT_SCHEDULE",
                    format!("`{v}` is not a cron(...) expression whose hours field lists hours"),
                )
            })?;
        }
        if let Some(v) = get("EXTRACT_RUN_HOURS") {
            slots.run_hours = v
                .split(',')
                .map(|h| h.trim().parse::<u32>().ok().filter(|h| *h < 24))
                .collect::<Option<Vec<u32>>>()
                .filter(|hours| !hours.is_empty())
                .ok_or_else(|| {
                    err(
                        "EXTRACT_RUN_HOURS",
                        format!("`{v}` is not a list of São Paulo hours such as 6,10,14,18,22"),
                    )
                })?;
        }
        if let Some(v) = get("EXTRACT_BUDGET_MARGIN") {
            slots.margin = duration("EXTRACT_BUDGET_MARGIN", &v)?;
        }
        run.budget = match get("EXTRACT_BUDGET").as_deref() {
            None | Some("slot") => Some(super::schedule::Budget::Slot(slots)),
            Some("off") => None,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Some(super::schedule::Budget::Fixed(n)),
                _ => {
                    return Err(err(
                        "EXTRACT_BUDGET",
                        format!("`{v}` is not slot (the default), off or a number of requests"),
                    ))
                }
            },
        };
        if let Some(v) = get("EXTRACT_DEADLINE_MARGIN") {
            run.deadline_margin = duration("EXTRACT_DEADLINE_MARGIN", &v)?;
        }
        if let Some(v) = get("EXTRACT_LOCK_TTL") {
            run.lock_ttl = duration("EXTRACT_LOCK_TTL", &v)?;
            if run.lock_ttl < Duration::from_secs(1) {
                return Err(err("EXTRACT_LOCK_TTL", "must be at least 1s"));
            }
        }
        Ok(Self {
            tenants,
            bucket,
            pacer,
            retry,
            page_size,
            timeout,
            run,
        })
    }

    /// The client configuration for one tenant.
    pub fn client_config(&self, t: &TenantConfig) -> ClientConfig {
        let mut c = ClientConfig::new(t.base_url.clone(), t.email.clone(), t.token.clone());
        c.page_size = self.page_size;
        c.timeout = self.timeout;
        c.retry = self.retry.clone();
        c
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    tenant: String,
    #[serde(default)]
    subdomain: Option<String>,
    email: String,
    token: Secret,
    #[serde(default)]
    objects: Option<ObjectList>,
    #[serde(default)]
    base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ObjectList {
    Csv(String),
    List(Vec<String>),
}

fn tenants(
    get: &impl Fn(&str) -> Option<String>,
    base_override: Option<&str>,
) -> Result<Vec<TenantConfig>, ConfigError> {
    let raw: Vec<(RawTenant, &'static str)> = if let Some(json) = get("CVDW_TENANTS") {
        let list: Vec<RawTenant> = serde_json::from_str(&json).map_err(|e| {
            // serde's type errors quote the offending value, which may be a token: keep only
            // field-name errors and the position.
            let msg = e.to_string();
            let what = if msg.starts_with("missing field") || msg.starts_with("unknown field") {
                msg.split(" at line").next().unwrap_or_default().to_string()
            } else {
                format!("{:?} error", e.classify()).to_lowercase()
            };
            err(
                "CVDW_TENANTS",
                format!(
                    "not a JSON array of {{tenant, subdomain, email, token, objects?}}: {what} at line {}, column {}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if list.is_empty() {
            return Err(err("CVDW_TENANTS", "lists no tenant"));
        }
        list.into_iter().map(|t| (t, "CVDW_TENANTS")).collect()
    } else {
        let email = get("CVDW_EMAIL")
            .ok_or_else(|| err("CVDW_EMAIL", "is required (or set CVDW_TENANTS)"))?;
        let token = get("CVDW_TOKEN")
            .ok_or_else(|| err("CVDW_TOKEN", "is required (or set CVDW_TENANTS)"))?;
        let subdomain = get("CVDW_SUBDOMAIN");
        let tenant = get("CVDW_TENANT")
            .or_else(|| subdomain.clone())
            .ok_or_else(|| err("CVDW_TENANT", "is required when CVDW_SUBDOMAIN is not set"))?;
        vec![(
            RawTenant {
                tenant,
                subdomain,
                email,
                token: Secret::new(token),
                objects: get("CVDW_OBJECTS").map(ObjectList::Csv),
                base_url: None,
            },
            "CVDW_TENANT",
        )]
    };
    let mut out: Vec<TenantConfig> = Vec::new();
    for (t, var) in raw {
        let name = t.tenant.trim().to_string();
        if name.is_empty()
            || name.len() > 63
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(err(
                var,
                format!("tenant `{name}` must be 1–63 chars of a-z, 0-9, - or _"),
            ));
        }
        if out.iter().any(|o| o.tenant == name) {
            return Err(err(var, format!("tenant `{name}` is listed twice")));
        }
        let base_url = match (base_override, t.base_url, t.subdomain) {
            (Some(b), _, _) => b.to_string(),
            (None, Some(b), _) => b,
            (None, None, Some(s)) if valid_subdomain(&s) => base_url_for_subdomain(s.trim()),
            (None, None, Some(s)) => {
                return Err(err(
                    if var == "CVDW_TENANT" {
                        "CVDW_SUBDOMAIN"
                    } else {
                        var
                    },
                    format!("`{s}` is not a valid subdomain"),
                ))
            }
            (None, None, None) => {
                return Err(err(
                    if var == "CVDW_TENANT" {
                        "CVDW_SUBDOMAIN"
                    } else {
                        var
                    },
                    format!("tenant `{name}` needs a subdomain (or set CVDW_BASE_URL)"),
                ))
            }
        };
        if t.email.trim().is_empty() || t.token.is_empty() {
            return Err(err(
                var,
                format!("tenant `{name}` needs an email and a token"),
            ));
        }
        let objects = match t.objects {
            None => catalogue::select("").unwrap_or_default(),
            Some(ObjectList::Csv(s)) => catalogue::select(&s).map_err(|e| {
                err(
                    if var == "CVDW_TENANT" {
                        "CVDW_OBJECTS"
                    } else {
                        var
                    },
                    e.to_string(),
                )
            })?,
            Some(ObjectList::List(l)) => {
                catalogue::select(&l.join(",")).map_err(|e| err(var, e.to_string()))?
            }
        };
        out.push(TenantConfig {
            tenant: name,
            base_url: base_url.trim_end_matches('/').to_string(),
            email: t.email.trim().to_string(),
            token: t.token,
            objects,
        });
    }
    Ok(out)
}

fn valid_subdomain(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.len() <= 63 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    var: &str,
    v: &str,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let n: T = v
        .parse()
        .map_err(|_| err(var, format!("`{v}` is not a number")))?;
    if n < min || n > max {
        return Err(err(var, format!("{n} is outside {min}..={max}")));
    }
    Ok(n)
}

fn duration(var: &str, v: &str) -> Result<Duration, ConfigError> {
    parse_duration(v).ok_or_else(|| {
        err(
            var,
            format!("`{v}` is not a duration such as 500ms, 90s, 10m, 6h"),
        )
    })
}

/// `500ms`, `90s`, `10m`, `6h`, `1d`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// `20/60s` → (20, 60 s).
pub fn parse_rate(s: &str) -> Option<(u32, Duration)> {
    let (n, w) = s.split_once('/')?;
    let n: u32 = n.trim().parse().ok().filter(|n| *n > 0)?;
    let w = parse_duration(w)?;
    (!w.is_zero()).then_some((n, w))
}

/// `daily`, `always`, `never`, or a duration.
/// The hours of an EventBridge `cron(minutes hours day month weekday year)` expression: a
/// list (`6,10,14`), a range (`6-22`) or a stepped range (`6-22/4`), or `*`.
pub fn cron_hours(expr: &str) -> Option<Vec<u32>> {
    let inner = expr.trim().strip_prefix("cron(")?.strip_suffix(')')?;
    let field = inner.split_whitespace().nth(1)?;
    let mut hours = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (0, 23),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                None => {
                    let h = r.parse().ok()?;
                    (h, h)
                }
            },
        };
        if from > to || to > 23 {
            return None;
        }
        hours.extend((from..=to).step_by(step as usize));
    }
    hours.sort_unstable();
    hours.dedup();
    (!hours.is_empty()).then_some(hours)
}

pub fn parse_full_every(s: &str) -> Option<FullEvery> {
    match s.trim().to_ascii_lowercase().as_str() {
        "daily" | "day" => Some(FullEvery::Daily),
        "always" | "every-run" => Some(FullEvery::Always),
        "never" => Some(FullEvery::Never),
        other => parse_duration(other)
            .filter(|d| !d.is_zero())
            .map(FullEvery::Interval),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<ExtractConfig, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ExtractConfig::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn single_tenant_defaults() {
        let c = cfg(&[
            ("RAW_BUCKET", "cvdw-raw"),
            ("CVDW_SUBDOMAIN", "acme"),
            ("CVDW_EMAIL", "a@b.c"),
            ("CVDW_TOKEN", "s3cret"),
        ])
        .unwrap();
        assert_eq!(c.tenants.len(), 1);
        let t = &c.tenants[0];
        assert_eq!(t.tenant, "acme");
        assert_eq!(t.base_url, "https://acme.cvcrm.com.br/api/v1/cvdw");
        assert_eq!(t.objects.len(), 70);
        assert_eq!(c.pacer.requests, 20);
        assert_eq!(c.pacer.window, Duration::from_secs(60));
        // The Lambda's defaults: sales passed daily, the rest every six days, within each
        // slot's budget.
        assert_eq!(
            c.run,
            RunSettings {
                other_full_every: Some(FullEvery::Interval(Duration::from_secs(6 * 86_400))),
                budget: Some(crate::extract::schedule::Budget::Slot(Default::default())),
                ..RunSettings::default()
            }
        );
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn schedule_variables() {
        let base = [
            ("RAW_BUCKET", "b"),
            ("CVDW_SUBDOMAIN", "acme"),
            ("CVDW_EMAIL", "a@b.c"),
            ("CVDW_TOKEN", "t"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            cfg(&v)
        };
        let c = with(&[
            ("EXTRACT_RUN_HOURS", "7, 19"),
            ("EXTRACT_BUDGET_MARGIN", "10m"),
            ("EXTRACT_OTHER_FULL_EVERY", "3d"),
        ])
        .unwrap();
        let Some(crate::extract::schedule::Budget::Slot(slots)) = c.run.budget else {
            panic!("no slot budget")
        };
        assert_eq!(slots.run_hours, [7, 19]);
        assert_eq!(slots.margin, Duration::from_secs(600));
        assert_eq!(
            c.run.other_full_every,
            Some(FullEvery::Interval(Duration::from_secs(3 * 86_400)))
        );
        assert!(with(&[("EXTRACT_BUDGET", "off")])
            .unwrap()
            .run
            .budget
            .is_none());
        // Every run full (or none): the others follow.
        let always = with(&[("EXTRACT_FULL_EVERY", "always")]).unwrap();
        assert_eq!(always.run.cadence().other, FullEvery::Always);
        for (var, bad) in [
            ("EXTRACT_RUN_HOURS", "6,25"),
            ("EXTRACT_RUN_HOURS", "6,,10"),
            ("EXTRACT_BUDGET", "maybe"),
            ("EXTRACT_BUDGET", "0"),
            ("EXTRACT_OTHER_FULL_EVERY", "sometimes"),
            ("EXTRACT_SCHEDULE", "rate(4 hours)"),
        ] {
            let e = with(&[(var, bad)]).unwrap_err();
            assert_eq!(e.var, var, "{e}");
        }
    }

    #[test]
    fn tenants_json_and_tunables() {
        let c = cfg(&[
            ("RAW_BUCKET", "b"),
            ("CVDW_BASE_URL", "http://127.0.0.1:9/api/v1/cvdw/"),
            (
                "CVDW_TENANTS",
                r#"[{"tenant":"acme","subdomain":"acme","email":"a@b.c","token":"t1","objects":"vendas,reservas"},
                    {"tenant":"beta","email":"x@y.z","token":"t2","objects":["/distratos"]}]"#,
            ),
            ("CVDW_RATE_LIMIT", "20/2s"),
            ("CVDW_OVERLAP_MINUTES", "5"),
            ("EXTRACT_FULL_EVERY", "6h"),
            ("EXTRACT_DEADLINE_MARGIN", "500ms"),
        ])
        .unwrap();
        assert_eq!(c.tenants[0].base_url, "http://127.0.0.1:9/api/v1/cvdw");
        assert_eq!(
            c.tenants[0]
                .objects
                .iter()
                .map(|o| o.name)
                .collect::<Vec<_>>(),
            ["vendas", "reservas"]
        );
        assert_eq!(c.tenants[1].objects[0].name, "distratos");
        assert_eq!(
            (c.pacer.requests, c.pacer.window),
            (20, Duration::from_secs(2))
        );
        assert_eq!(c.run.overlap, Duration::from_secs(300));
        assert_eq!(
            c.run.full_every,
            FullEvery::Interval(Duration::from_secs(6 * 3600))
        );
        assert_eq!(c.run.deadline_margin, Duration::from_millis(500));
    }

    #[test]
    fn errors_name_the_variable_and_hide_secrets() {
        let e = cfg(&[("CVDW_EMAIL", "a")]).unwrap_err();
        assert_eq!(e.var, "RAW_BUCKET");
        let e = cfg(&[
            ("RAW_BUCKET", "b"),
            ("CVDW_SUBDOMAIN", "x"),
            ("CVDW_EMAIL", "a"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "CVDW_TOKEN");
        let base = [
            ("RAW_BUCKET", "b"),
            ("CVDW_SUBDOMAIN", "x"),
            ("CVDW_EMAIL", "a"),
            ("CVDW_TOKEN", "t"),
        ];
        for (var, bad) in [
            ("CVDW_RATE_LIMIT", "20 per minute"),
            ("CVDW_OVERLAP_MINUTES", "-1"),
            ("EXTRACT_FULL_EVERY", "sometimes"),
            ("CVDW_OBJECTS", "vendas,nope"),
            ("CVDW_PAGE_SIZE", "501"),
        ] {
            let mut v = base.to_vec();
            v.push((var, bad));
            assert_eq!(cfg(&v).unwrap_err().var, var, "{var}={bad}");
        }
        let e = cfg(&[
            ("RAW_BUCKET", "b"),
            (
                "CVDW_TENANTS",
                r#"[{"tenant":"Bad Name","subdomain":"x","email":"a","token":"very-secret"}]"#,
            ),
        ])
        .unwrap_err();
        assert_eq!(e.var, "CVDW_TENANTS");
        assert!(!e.to_string().contains("very-secret"));
        let e = cfg(&[
            ("RAW_BUCKET", "b"),
            (
                "CVDW_TENANTS",
                r#"[{"tenant":"a","email":"a","token":"very-secret"}"#,
            ),
        ])
        .unwrap_err();
        assert!(!e.to_string().contains("very-secret"), "{e}");
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_rate("20/60s"), Some((20, Duration::from_secs(60))));
        assert_eq!(parse_rate("0/60s"), None);
        assert_eq!(parse_full_every("DAILY"), Some(FullEvery::Daily));
    }
}
