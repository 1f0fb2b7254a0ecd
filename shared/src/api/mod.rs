//! # The HTTP API and the sales dashboard
//!
//! One axum [`Router`] serves both the api Lambda (through `lambda_http::run`, behind a function
//! URL) and `cvdw serve` on a local port: the handlers exist once.
//!
//! ## Routes
//! - `GET /health` — public: up or down and the version; with a key or session, also the
//!   freshness of the caller's tenants. No data values.
//! - `GET /` and `GET /assets/*` — public: the dashboard page (it shows a login form until a
//!   session exists) and its vendored assets (Chart.js from npm, served by the function itself).
//! - `POST /login` (`{"key": "..."}`) / `POST /logout` — exchange an API key for a session cookie.
//! - `GET /api/<metric>` for every entry of [`crate::analytics::METRICS`], `GET /api/empreendimentos`,
//!   `GET /openapi.json` — need `Authorization: Bearer <key>` or the session cookie.
//!
//! ## Design
//! - **Auth** ([`auth`], [`keys`], [`session`]): keys are configured as SHA-256 hashes with
//!   their tenants and role (`API_KEYS`); a presented key is hashed and compared in constant
//!   time against every configured hash. The session cookie is HMAC-signed with its own secret
//!   (`SESSION_SECRET`), names its key by an opaque id, and is bounded and revocable.
//! - **Scope** ([`scope`]): a request for a tenant outside the key's set is a 403; an
//!   unfiltered one answers only the key's tenants, in every endpoint and format.
//! - **Access log** ([`access_log`]): one line per request, naming the key, never holding it.
//! - **Filters** are validated into [`Filters`]; a bad one is a 400 JSON naming the parameter.
//!   Unknown parameters are refused too (a typo would otherwise silently show unfiltered data).
//! - **CSV** ([`csv`]): `?format=csv` or `Accept: text/csv`, for Excel pt-BR.
//! - **DB**: a small pool of tokio-postgres connections, opened on demand, re-opened when found
//!   closed ([`Database`]); one statement per query (`query_typed`: one round trip). Metrics
//!   read the analytics cache, which [`Database::ensure_analytics_cache`] refreshes when a load
//!   has made it stale (docs/metrics.md, "Como é calculado").
//! - **OpenAPI** ([`openapi`]): generated from the same tables the router is built from.
//! - **Headers**: gzip/br compression; CSP and friends on HTML; `nosniff` everywhere; private
//!   short caching on data, long caching on versioned assets, `no-store` on health and login.
//!   CORS is off unless `CORS_ALLOW_ORIGINS` lists origins.

pub mod access_log;
pub mod auth;
pub mod csv;
pub mod dashboard;
pub mod export;
pub mod keys;
pub mod lambda;
pub mod metas;
pub mod openapi;
pub mod scope;
pub mod session;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Extension, Query, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use tokio::sync::RwLock;
use tokio_postgres::Client;
use tracing::{error, info, warn};

use crate::analytics::{self, BadParam, Filters, Metric, Page, Source, METRICS};
pub use auth::{generate_session_secret, hash_key, ApiConfig, ConfigError};
pub use keys::{Principal, Role, Tenants};

/// The crate version reported by `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Opens a new database connection (TLS or not is the caller's business).
pub type ConnectFn = Arc<dyn Fn() -> BoxFuture<'static, Result<Client, String>> + Send + Sync>;

/// Connections a [`Database`] opens at most, by default.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// How long a "the analytics cache is valid" answer is trusted before asking again. The SQL
/// checks validity itself on every query (a stale cache is never read), so this only bounds how
/// long after a load a request may take the slow live path before someone refreshes.
const CACHE_CHECK_EVERY: Duration = Duration::from_secs(2);
/// After a failed check or refresh, wait this long before trying again.
const CACHE_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A small pool of database connections, opened on demand and re-opened when found closed.
///
/// PostgreSQL runs one statement at a time per connection, so with a single shared (pipelined)
/// connection concurrent requests queue behind each other; a few connections let them run in
/// parallel. A request takes the connection with the fewest requests in flight, lowest slot
/// first, so a process serving one request at a time (a Lambda container) opens just one.
pub struct Database {
    connect: ConnectFn,
    slots: Vec<Slot>,
    cache: CacheCheck,
}

struct Slot {
    client: RwLock<Option<Arc<Client>>>,
    in_flight: Arc<AtomicUsize>,
}

/// When the analytics cache was last found valid (see [`Database::ensure_analytics_cache`]).
struct CacheCheck {
    next: std::sync::Mutex<Option<Instant>>,
    single_flight: tokio::sync::Mutex<()>,
}

impl CacheCheck {
    fn due(&self) -> bool {
        let next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        next.is_none_or(|t| Instant::now() >= t)
    }
    fn defer(&self, by: Duration) {
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + by);
    }
}

/// A connection of the pool, counted as busy until dropped.
pub struct PooledClient {
    client: Arc<Client>,
    _busy: Busy,
}

impl std::ops::Deref for PooledClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// One request in flight on a slot; the count goes down on drop, also when the request is
/// cancelled halfway through connecting.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Database {
    /// Nothing is opened until the first request (a Lambda init that cannot reach the database
    /// still answers `/health` with 503 instead of crashing).
    pub fn new(connect: ConnectFn) -> Self {
        Self::with_pool_size(connect, DEFAULT_POOL_SIZE)
    }

    /// At most `size` connections (at least one).
    pub fn with_pool_size(connect: ConnectFn, size: usize) -> Self {
        Self {
            connect,
            slots: (0..size.max(1))
                .map(|_| Slot {
                    client: RwLock::new(None),
                    in_flight: Arc::new(AtomicUsize::new(0)),
                })
                .collect(),
            cache: CacheCheck {
                next: std::sync::Mutex::new(None),
                single_flight: tokio::sync::Mutex::new(()),
            },
        }
    }

    /// Open the first connection now (warm-up at init).
    pub async fn warm_up(&self) -> Result<(), ApiError> {
        self.client().await.map(|_| ())
    }

    /// The least busy connection, opened (or re-opened, if found closed) as needed.
    pub async fn client(&self) -> Result<PooledClient, ApiError> {
        let slot = self
            .slots
            .iter()
            .min_by_key(|s| s.in_flight.load(Ordering::Relaxed))
            .unwrap_or(&self.slots[0]);
        let busy = Busy::new(&slot.in_flight);
        if let Some(c) = slot.client.read().await.as_ref() {
            if !c.is_closed() {
                return Ok(PooledClient {
                    client: c.clone(),
                    _busy: busy,
                });
            }
        }
        let mut open = slot.client.write().await;
        if let Some(c) = open.as_ref() {
            if !c.is_closed() {
                return Ok(PooledClient {
                    client: c.clone(),
                    _busy: busy,
                });
            }
            warn!("database connection closed; reconnecting");
        }
        let c = Arc::new(
            (self.connect)()
                .await
                .map_err(ApiError::DatabaseUnavailable)?,
        );
        *open = Some(c.clone());
        Ok(PooledClient {
            client: c,
            _busy: busy,
        })
    }

    /// Make sure the analytics cache (`migrations/0102_analytics_cache.sql`) is valid before a
    /// metric query, refreshing it if a load has changed the data since it was built.
    ///
    /// Why here and not in the loader: the refresh must follow every page and manifest, in any
    /// order, and the loader stays unaware of analytics. Why wait instead of answering from
    /// the live views: the dashboard sends about ten requests at once; they all wait for ONE
    /// refresh (in-process single flight here, across processes the advisory lock inside
    /// `analytics.atualizar()`, called through its SECURITY DEFINER wrapper so that the api's
    /// read-only role can refresh: migrations/0008_roles.sql), which costs about as much as
    /// one live query, instead of each running its own live query. Correctness never depends on this: the SQL itself reads the
    /// live definitions while the cache is stale. Failures are logged and retried later.
    pub async fn ensure_analytics_cache(&self) {
        if !self.cache.due() {
            return;
        }
        let _one = self.cache.single_flight.lock().await;
        if !self.cache.due() {
            return;
        }
        let outcome = async {
            let c = self.client().await?;
            let valid: bool = c
                .query_typed_one("SELECT analytics.cache_valida()", &[])
                .await?
                .get(0);
            if !valid {
                let t = Instant::now();
                let rebuilt: bool = c
                    .query_typed_one("SELECT etl.atualizar_analytics(true)", &[])
                    .await?
                    .get(0);
                info!(
                    rebuilt,
                    ms = t.elapsed().as_millis() as u64,
                    "analytics cache refreshed"
                );
            }
            Ok::<_, ApiError>(())
        }
        .await;
        match outcome {
            Ok(()) => self.cache.defer(CACHE_CHECK_EVERY),
            Err(e) => {
                warn!(error = %e, "analytics cache check failed; queries read the live views");
                self.cache.defer(CACHE_RETRY_AFTER);
            }
        }
    }
}

/// Shared state of the router.
pub struct AppState {
    pub db: Database,
    pub config: ApiConfig,
    health: scope::HealthCache,
}

impl AppState {
    pub fn new(db: Database, config: ApiConfig) -> Self {
        Self {
            db,
            config,
            health: scope::HealthCache::default(),
        }
    }
}

/// Everything a handler can answer with besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    BadParam(#[from] BadParam),
    #[error("missing or invalid API key")]
    Unauthorized,
    /// The key is valid but may not read this (another tenant, or an admin-only endpoint).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(String),
    #[error("query failed: {}", crate::db::pg_error_text(.0))]
    Query(#[from] tokio_postgres::Error),
}

impl ApiError {
    /// Worth retrying by the caller (503) or not.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::DatabaseUnavailable(_) => true,
            ApiError::Query(e) => e.is_closed() || e.code().is_none(),
            _ => false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::BadParam(b) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid parameter", "parameter": b.parameter, "reason": b.reason}),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "missing or invalid API key: send `Authorization: Bearer <key>` or log in"}),
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, json!({"error": why})),
            ApiError::DatabaseUnavailable(e) => {
                error!(error = %e, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "database unavailable, try again"}),
                )
            }
            ApiError::Query(e) => {
                // The detail goes to the log only: SQL errors can name tables and values.
                error!(error = %crate::db::pg_error_text(e), "query failed");
                if self.is_retryable() {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"error": "database unavailable, try again"}),
                    )
                } else {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"error": "internal error"}),
                    )
                }
            }
        };
        let mut r = (status, Json(body)).into_response();
        no_store(r.headers_mut());
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cvdw\""),
            );
        }
        r
    }
}

/// The non-metric routes (path, method, public?, summary). The router and the OpenAPI document
/// are both built from this list and [`METRICS`].
pub const ROUTES: &[(&str, &str, bool, &str)] = &[
    (
        "/health",
        "get",
        true,
        "Liveness: up or down and the version; with a key, the freshness of its tenants",
    ),
    ("/", "get", true, "The sales dashboard (pt-BR)"),
    ("/assets/app.js", "get", true, "Dashboard script"),
    ("/assets/app.css", "get", true, "Dashboard styles"),
    (
        "/assets/chart.umd.min.js",
        "get",
        true,
        "Chart.js (vendored from npm, MIT)",
    ),
    (
        "/login",
        "post",
        true,
        "Exchange an API key for a session cookie",
    ),
    ("/logout", "post", true, "Clear the session cookie"),
    ("/openapi.json", "get", false, "This OpenAPI 3 document"),
    (
        "/api/empreendimentos",
        "get",
        false,
        "Developments (ids and names) for filters",
    ),
];

/// Build the router.
pub fn router(state: Arc<AppState>) -> Router {
    let mut api = Router::new()
        .route("/openapi.json", get(openapi_handler))
        .route("/api/empreendimentos", get(empreendimentos_handler));
    for m in METRICS {
        let path = format!("/api/{}", m.path);
        api = api.route(
            &path,
            get(
                move |state: State<Arc<AppState>>,
                      caller: Extension<Principal>,
                      headers: HeaderMap,
                      q: QueryParams| {
                    metric_handler(m, state, caller, headers, q)
                },
            ),
        );
    }
    // Goals are read through the `metas` metric (GET) and replaced here (PUT).
    api = api.route("/api/metas", axum::routing::put(metas::put));
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_auth,
    ));
    let mut app = Router::new()
        .route("/health", get(health))
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .merge(dashboard::routes())
        .merge(api)
        .fallback(not_found)
        .with_state(state.clone());
    if let Some(cors) = state.config.cors_layer() {
        app = app.layer(cors);
    }
    // Level 1, not the default: brotli's default is its slowest (11), tens of milliseconds of
    // CPU per 100 kB for a few percent of size. Even level 4 cost ~2.6 ms per 100 kB of JSON
    // (`/api/prosoluto` for a year), a fifth of the query itself, on every request; level 1
    // still shrinks these repetitive rows about tenfold (docs/api-benchmark.md).
    app.layer(
        tower_http::compression::CompressionLayer::new()
            .quality(tower_http::CompressionLevel::Precise(1)),
    )
    .layer(axum::middleware::map_response(common_headers))
    .layer(axum::middleware::from_fn(access_log::layer))
}

async fn common_headers(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

pub(crate) fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn not_found() -> Response {
    let mut r = (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response();
    no_store(r.headers_mut());
    r
}

/// `GET /health`: up or down and the version; with a key or session, the freshness of the
/// caller's tenants. No data values. Both answers come from [`scope::HealthCache`].
async fn health(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let caller = auth::authenticate(&state.config, &headers);
    let (status, body) = match scope::health(&state, caller.as_ref()).await {
        Ok(Some(tenants)) => (
            StatusCode::OK,
            json!({"status": "ok", "version": VERSION, "database": {"reachable": true}, "tenants": tenants}),
        ),
        Ok(None) => (
            StatusCode::OK,
            json!({"status": "ok", "version": VERSION, "database": {"reachable": true}}),
        ),
        Err(e) => {
            warn!(error = %e, "health check: database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "unavailable", "version": VERSION, "database": {"reachable": false}}),
            )
        }
    };
    let mut r = (status, Json(body)).into_response();
    no_store(r.headers_mut());
    if let Some(p) = caller {
        r.extensions_mut().insert(p);
    }
    r
}

/// Query pairs, keeping duplicates so they can be refused.
type QueryParams = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// Which representation the client wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The validated parameters of a metric request.
#[derive(Debug, Clone)]
pub struct Params {
    pub filters: Filters,
    pub page: Page,
    pub format: Format,
    /// A CSV without `page`/`per_page`: every row, streamed ([`export`]).
    pub all_rows: bool,
}

/// Validate a request's query string for a metric (or, with `metric = None`, for the
/// `empreendimentos` list, which takes `tenant` only).
pub fn parse_params(
    metric: Option<&Metric>,
    pairs: &[(String, String)],
    accept: Option<&str>,
) -> Result<Params, BadParam> {
    let paged = metric.is_some_and(|m| m.source == Source::Paged);
    let takes: &[analytics::Filter] = metric.map_or(&[analytics::Filter::Tenant], |m| m.filters);
    let mut allowed: Vec<&str> = takes.iter().map(|f| f.name()).collect();
    allowed.push("format");
    if paged {
        allowed.extend(["page", "per_page"]);
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (k, v) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(analytics::bad(
                k,
                format!(
                    "unknown parameter; this endpoint accepts {}",
                    allowed.join(", ")
                ),
            ));
        }
        if seen.iter().any(|(s, _)| s == k) {
            return Err(analytics::bad(k, "given more than once"));
        }
        // Exactly what the OpenAPI document says: no empty values (`?empreendimento=` is not an
        // id; leaving a filter out is how to not filter) and no padding around them.
        if v.trim().is_empty() {
            return Err(analytics::bad(
                k,
                "is empty; leave the parameter out to not filter by it",
            ));
        }
        if v.trim() != v {
            return Err(analytics::bad(k, "has leading or trailing spaces"));
        }
        seen.push((k.as_str(), v.as_str()));
    }
    let get = |name: &str| seen.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let filters = Filters::parse(get("tenant"), get("de"), get("ate"), get("empreendimento"))?
        .with_people(get("corretor"), get("time"), get("imobiliaria"))?
        .with_dias(get("dias"))?;
    let page = Page::parse(get("page"), get("per_page"))?;
    let format = match get("format").map(str::trim) {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some(other) => {
            return Err(analytics::bad(
                "format",
                format!("`{other}` is not a format; use json or csv"),
            ))
        }
        None => {
            if accept.is_some_and(|a| a.split(',').any(|p| p.trim().starts_with("text/csv"))) {
                Format::Csv
            } else {
                Format::Json
            }
        }
    };
    let all_rows = format == Format::Csv && get("page").is_none() && get("per_page").is_none();
    Ok(Params {
        filters,
        page,
        format,
        all_rows,
    })
}

fn pairs(q: QueryParams) -> Result<Vec<(String, String)>, ApiError> {
    match q {
        Ok(Query(p)) => Ok(p),
        Err(e) => Err(analytics::bad("query", e.body_text()).into()),
    }
}

async fn metric_handler(
    metric: &'static Metric,
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    q: QueryParams,
) -> Result<Response, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let params = parse_params(Some(metric), &pairs(q)?, accept)?;
    if metric.source == Source::EtlStatus && !caller.is_admin() {
        return Err(ApiError::Forbidden("the ETL status needs an admin key"));
    }
    let tenants = scope::tenants_for(&caller, params.filters.tenant.as_deref())?;
    if params.all_rows {
        let mut r =
            export::csv_response(state.clone(), metric, &params.filters, tenants.clone()).await?;
        data_cache_headers(r.headers_mut());
        scope::mark_served(&mut r, &tenants);
        return Ok(r);
    }
    let rows = if metric.source == Source::Paged && tenants.len() > 1 {
        paged_across(&state.db, metric, &params, &tenants).await?
    } else {
        let mut rows = analytics::Rows::default();
        for t in &tenants {
            let mut p = params.clone();
            p.filters.tenant = t.clone();
            let part = run_metric(&state.db, metric, &p).await?;
            rows.rows.extend(part.rows);
            rows.total = part.total;
        }
        rows
    };
    let mut r = match params.format {
        Format::Csv => csv::response(metric, &rows.objects()),
        Format::Json => metric_json(metric, &params, &rows),
    };
    data_cache_headers(r.headers_mut());
    scope::mark_served(&mut r, &tenants);
    Ok(r)
}

/// A page of a paged metric for a key of several tenants: their rows one tenant after the
/// other, the page cut from that sequence, the total their sum. Each tenant is asked for the
/// window of its rows the page covers (and its count), so no tenant outside the key is read.
async fn paged_across(
    db: &Database,
    metric: &'static Metric,
    params: &Params,
    tenants: &[Option<String>],
) -> Result<analytics::Rows, ApiError> {
    let mut skip = (params.page.page - 1) * params.page.per_page;
    let mut need = params.page.per_page;
    let mut out = analytics::Rows {
        rows: Vec::new(),
        total: Some(0),
    };
    for t in tenants {
        let mut p = params.clone();
        p.filters.tenant = t.clone();
        p.page.per_page = need;
        p.page.offset = Some(skip);
        let part = run_metric(db, metric, &p).await?;
        let total = part.total.unwrap_or(0);
        out.total = out.total.map(|sum| sum + total);
        let got = part.rows.len() as i64;
        skip = (skip - total).max(0);
        need -= got;
        out.rows.extend(part.rows);
    }
    Ok(out)
}

/// The JSON answer of a metric: `{"metric", "filters", "rows", ["total", "page", "per_page"]}`,
/// with the rows copied in as PostgreSQL wrote them (see [`analytics::Rows`]).
fn metric_json(metric: &Metric, params: &Params, rows: &analytics::Rows) -> Response {
    let size: usize = rows.rows.iter().map(|r| r.len() + 1).sum();
    let mut buf = Vec::with_capacity(size + 256);
    buf.extend_from_slice(b"{\"metric\":");
    let head = serde_json::to_writer(&mut buf, metric.path).and_then(|()| {
        buf.extend_from_slice(b",\"filters\":");
        serde_json::to_writer(&mut buf, &params.filters)
    });
    if let Err(e) = head {
        error!(error = %e, "serialising a response");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "internal error"})),
        )
            .into_response();
    }
    buf.extend_from_slice(b",\"rows\":[");
    for (i, row) in rows.rows.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(row.as_bytes());
    }
    buf.push(b']');
    if let Some(total) = rows.total {
        buf.extend_from_slice(
            format!(
                ",\"total\":{total},\"page\":{},\"per_page\":{}",
                params.page.page, params.page.per_page
            )
            .as_bytes(),
        );
    }
    buf.push(b'}');
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        buf,
    )
        .into_response()
}

/// Run a metric; a connection found closed mid-query is re-opened and the query tried once more.
pub async fn run_metric(
    db: &Database,
    metric: &Metric,
    params: &Params,
) -> Result<analytics::Rows, ApiError> {
    if metric.source != Source::EtlStatus {
        db.ensure_analytics_cache().await;
    }
    let c = db.client().await?;
    match analytics::run(&c, metric, &params.filters, params.page).await {
        Ok(r) => Ok(r),
        Err(e) if e.is_closed() => {
            warn!(error = %e, "connection closed during a query; retrying once");
            let c = db.client().await?;
            Ok(analytics::run(&c, metric, &params.filters, params.page).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Authenticated data: cacheable by the browser for a minute (loads land every 15–30 min),
/// never by shared caches.
fn data_cache_headers(h: &mut HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Cookie, Accept, Accept-Encoding"),
    );
}

async fn empreendimentos_handler(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    q: QueryParams,
) -> Result<Response, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let params = parse_params(None, &pairs(q)?, accept)?;
    let tenants = scope::tenants_for(&caller, params.filters.tenant.as_deref())?;
    state.db.ensure_analytics_cache().await;
    let c = state.db.client().await?;
    let mut rows = Vec::new();
    for t in &tenants {
        rows.extend(analytics::empreendimentos(&c, t.as_deref()).await?);
    }
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(t, id, nome)| json!({"tenant": t, "idempreendimento": id, "empreendimento": nome}))
        .collect();
    let mut r = Json(json!({"rows": rows})).into_response();
    data_cache_headers(r.headers_mut());
    scope::mark_served(&mut r, &tenants);
    Ok(r)
}

async fn openapi_handler() -> Response {
    let mut r = Json(openapi::document()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    r
}

/// Allowed CORS methods and headers, for [`ApiConfig::cors_layer`].
pub(crate) fn cors_parts() -> ([Method; 2], [HeaderName; 4]) {
    (
        [Method::GET, Method::POST],
        [
            header::AUTHORIZATION,
            HeaderName::from_static(auth::API_KEY_HEADER),
            header::ACCEPT,
            header::CONTENT_TYPE,
        ],
    )
}

/// A [`ConnectFn`] over `shared::db` (TLS per `sslmode`, e.g. Neon in production).
pub fn connect_with(config: crate::db::DbConfig) -> ConnectFn {
    Arc::new(move || {
        let config = config.clone();
        Box::pin(async move {
            crate::db::open_client(&config)
                .await
                .map_err(|e| e.to_string())
        })
    })
}

/// A [`ConnectFn`] for a plain-TCP PostgreSQL URL (local servers, tests). Production goes
/// through `shared::db` and its TLS set-up.
pub fn connect_plain(url: String) -> ConnectFn {
    Arc::new(move || {
        let url = url.clone();
        Box::pin(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| {
                    format!("connecting to PostgreSQL: {}", crate::db::pg_error_text(&e))
                })?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    warn!(error = %e, "database connection ended");
                }
            });
            Ok(client)
        })
    })
}

/// Serve the router on a bound listener until the task is dropped or the process ends.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}
