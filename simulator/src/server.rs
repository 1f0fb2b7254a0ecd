//! The HTTP face of the simulator (axum), with faults and the rate limit.
//!
//! Connections come from [`KillableListener`]: every accepted socket carries a kill switch
//! that a handler can flip (via `ConnectInfo`). Once flipped, the socket's reads and writes
//! fail and it is closed with `SO_LINGER 0`, so the client sees a reset with no response at
//! all — the [`Fault::ConnectionReset`] behaviour, without leaving axum.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::Value;
use shared::catalogue::{ObjectSpec, OBJECTS};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::world::{obj_index, to_sim_time, SimTime};
use crate::{Fault, Simulator};

/// The exact `Too many requests` body, pretty-printed the way PHP's `JSON_PRETTY_PRINT` does.
pub const TOO_MANY_BODY: &str = "{\n    \"Response\": \"Too many requests\"\n}";
/// First line of the CV HTML error page (§3.3).
pub const HTML_500_FIRST_LINE: &str = "Ocorreu um erro ao tentar executar essa ação. Tente novamente e caso o erro persista entre em contato com o administrador do sistema.";
pub const UNAUTHORIZED_BODY: &str =
    r#"{"codigo":401,"mensagem":"E-mail e/ou token incorreto(s)."}"#;
pub const UNPROCESSABLE_BODY: &str = r#"{"mensagem":"Erro inesperado, por favor entre em contato com o suporte técnico.","codigo":422}"#;
pub const PAGINA_NOT_INT_BODY: &str =
    r#"{"mensagem":"O campo pagina deve ser um inteiro.","codigo":400}"#;

/// A per-connection kill switch (the `ConnectInfo` of every request).
#[derive(Clone, Debug, Default)]
pub struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A TCP listener whose connections can be reset from inside a handler.
pub struct KillableListener(TcpListener);

pub struct KillableStream {
    inner: TcpStream,
    kill: KillSwitch,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.kill.killed() {
            // RST instead of FIN: the client sees "connection reset", no bytes.
            let _ = self.inner.set_zero_linger();
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "fault: connection reset",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = KillSwitch;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = KillSwitch::default();
                    return (
                        KillableStream {
                            inner: stream,
                            kill: kill.clone(),
                        },
                        kill,
                    );
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(KillSwitch::default())
    }
}

impl Connected<axum::serve::IncomingStream<'_, KillableListener>> for KillSwitch {
    fn connect_info(stream: axum::serve::IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A simulator serving HTTP. Dropping it leaves the server running until the runtime ends;
/// call [`RunningSimulator::shutdown`] to stop it.
pub struct RunningSimulator {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    sim: Option<Simulator>,
}

impl RunningSimulator {
    /// `http://127.0.0.1:PORT/api/v1/cvdw` — what `CVDW_BASE_URL` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1/cvdw", self.addr)
    }
    /// `http://127.0.0.1:PORT` (for the `/_sim/...` admin routes).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The simulator behind this server (`None` for the benchmark's static baseline).
    pub fn simulator(&self) -> Option<&Simulator> {
        self.sim.as_ref()
    }
    /// Stop accepting, let in-flight requests finish for up to a second, then abort.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(1), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

pub(crate) async fn serve(sim: Simulator, addr: SocketAddr) -> io::Result<RunningSimulator> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/api/v1/cvdw/{*path}", any(object_handler))
        .route("/_sim/advance", post(advance_handler))
        .route("/_sim/stats", get(stats_handler))
        .route("/_sim/aggregates", get(aggregates_handler))
        .fallback(fallback)
        .with_state(sim.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            KillableListener(listener),
            app.into_make_service_with_connect_info::<KillSwitch>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "simulator server ended with an error");
        }
    });
    Ok(RunningSimulator {
        addr,
        stop: Some(tx),
        task,
        sim: Some(sim),
    })
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn method_not_allowed() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        r#"{"mensagem":"Método não permitido.","codigo":405}"#,
    )
}

async fn fallback() -> Response {
    method_not_allowed()
}

/// How far `POST /_sim/advance` moves the clock: `days`, `hours` and `minutes` add up (one
/// day when none of them parses).
fn advance_span(query: Option<&str>) -> std::time::Duration {
    let pairs = query.map(parse_query).unwrap_or_default();
    let units = [("days", 86_400u64), ("hours", 3_600), ("minutes", 60)];
    let given: Vec<u64> = units
        .iter()
        .filter_map(|(name, seconds)| {
            let count = pairs.get(*name)?.trim().parse::<u64>().ok()?;
            Some(count.saturating_mul(*seconds))
        })
        .collect();
    let total = if given.is_empty() {
        86_400
    } else {
        given.iter().fold(0u64, |sum, s| sum.saturating_add(*s))
    };
    std::time::Duration::from_secs(total)
}

async fn advance_handler(State(sim): State<Simulator>, RawQuery(q): RawQuery) -> Response {
    let span = advance_span(q.as_deref());
    let summary = tokio::task::spawn_blocking(move || sim.advance_by(span)).await;
    match summary {
        Ok(s) => json_response(StatusCode::OK, serde_json::to_vec(&s).unwrap_or_default()),
        Err(_) => json_response(StatusCode::INTERNAL_SERVER_ERROR, "{}"),
    }
}

async fn aggregates_handler(State(sim): State<Simulator>) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&sim.sales_aggregates()).unwrap_or_default(),
    )
}

async fn stats_handler(State(sim): State<Simulator>) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&sim.stats()).unwrap_or_default(),
    )
}

/// Percent-decode a query string into a map (the first value of a name wins).
fn parse_query(q: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = decode(k);
        out.entry(k).or_insert_with(|| decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request parameter: from the query string, else from the JSON body.
fn param(
    query: &HashMap<String, String>,
    body: &Option<serde_json::Map<String, Value>>,
    name: &str,
) -> Option<String> {
    if let Some(v) = query.get(name) {
        return Some(v.clone());
    }
    let v = body.as_ref()?.get(name)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn too_many(status: StatusCode) -> Response {
    json_response(status, TOO_MANY_BODY)
}

fn html_500() -> Response {
    let body = format!(
        "{HTML_500_FIRST_LINE}\n<br><br><h1>OPS!</h1>\n<table><tr><td>Erro</td><td>Exception</td></tr></table>\n"
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    r
}

fn date_error(field: &str) -> Response {
    // Key order as served live: `error` first, then `code` (§3.3).
    json_response(
        StatusCode::BAD_REQUEST,
        format!(r#"{{"error":"O campo {field} não é válido","code":400}}"#),
    )
}

impl Simulator {
    /// Sliding-window check; true when the request may proceed.
    fn admit(&self, credential: &str) -> bool {
        let rl = *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if rl.requests == u32::MAX {
            return true;
        }
        let now = self.inner.rate_clock.now();
        let mut windows = self.inner.windows.lock().unwrap_or_else(|e| e.into_inner());
        let recent = windows.entry(credential.to_string()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= rl.window)
        {
            recent.pop_front();
        }
        if recent.len() >= rl.requests as usize {
            if self.inner.cfg.count_rejected {
                recent.push_back(now);
            }
            false
        } else {
            recent.push_back(now);
            true
        }
    }

    fn next_fault(&self) -> Option<Fault> {
        let scripted = self
            .inner
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        if scripted.is_some() {
            return scripted;
        }
        None
    }

    fn random_fault(&self) -> Option<Fault> {
        let rate = self.inner.cfg.fault_rate;
        if rate <= 0.0 {
            return None;
        }
        let mut s = self.inner.rng.lock().unwrap_or_else(|e| e.into_inner());
        *s = crate::world::mix(*s);
        let x = (*s >> 11) as f64 / (1u64 << 53) as f64;
        if x < rate {
            let pick = (crate::world::mix(*s) % Fault::ALL.len() as u64) as usize;
            Some(Fault::ALL[pick])
        } else {
            None
        }
    }

    fn denied(&self, spec: &ObjectSpec) -> bool {
        self.inner.cfg.denied_objects.iter().any(|d| {
            let d = d.trim();
            d == spec.path
                || d.trim_start_matches('/') == spec.path.trim_start_matches('/')
                || d == spec.name
        })
    }

    /// The exact body the API serves for `pagina`/`registros_por_pagina` of an object (no
    /// faults, no rate limit, not counted in the stats). `None` for an unknown path.
    pub fn render_page(
        &self,
        object_path: &str,
        pagina: u64,
        registros_por_pagina: u64,
    ) -> Option<Vec<u8>> {
        let spec = shared::catalogue::find(object_path)?;
        let mut q = HashMap::new();
        q.insert("pagina".to_string(), pagina.to_string());
        q.insert(
            "registros_por_pagina".to_string(),
            registros_por_pagina.to_string(),
        );
        self.page(spec, &q, &None).ok()
    }

    /// Build the page body for a request (no faults). Errors are complete responses.
    fn page(
        &self,
        spec: &'static ObjectSpec,
        query: &HashMap<String, String>,
        body: &Option<serde_json::Map<String, Value>>,
    ) -> Result<Vec<u8>, Box<Response>> {
        let pagina_raw = param(query, body, "pagina");
        let pagina: u64 = match pagina_raw.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(s) => match s.parse::<u64>() {
                Ok(n) => n.max(1),
                Err(_) => {
                    return Err(Box::new(json_response(
                        StatusCode::BAD_REQUEST,
                        PAGINA_NOT_INT_BODY,
                    )))
                }
            },
        };
        let size: u64 = match param(query, body, "registros_por_pagina")
            .as_deref()
            .map(str::trim)
        {
            None | Some("") => 30,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n >= 1 => (n as u64).min(500),
                Ok(_) => 30,
                Err(_) => {
                    return Err(Box::new(json_response(
                        StatusCode::BAD_REQUEST,
                        r#"{"mensagem":"O campo registros_por_pagina deve ser um inteiro.","codigo":400}"#,
                    )))
                }
            },
        };
        let mut bounds: [Option<SimTime>; 2] = [None, None];
        for (i, name) in ["a_partir_data_referencia", "ate_data_referencia"]
            .iter()
            .enumerate()
        {
            if let Some(v) = param(query, body, name) {
                match shared::values::parse_filter_datetime(&v) {
                    Some(dt) => bounds[i] = Some(to_sim_time(&dt)),
                    None => return Err(Box::new(date_error(name))),
                }
            }
        }
        let w = self.read_world();
        let q = w.quirks;
        let oi = obj_index(spec.path);
        let table = &w.tables[oi];
        let range = table.range(bounds[0], bounds[1]);
        let total = range.len() as u64;
        let pages = total.div_ceil(size);
        let offset = (pagina - 1).saturating_mul(size);
        let start = range.start + (offset.min(total) as usize);
        let end = range.start + ((offset.saturating_add(size)).min(total) as usize);
        let zero_total = q.zero_total && spec.path == "/demandas" && total > 0 && total <= size;
        let (mut shown_total, mut shown_pages) = if zero_total { (0, 0) } else { (total, pages) };
        let mut end = end;
        if bounds == [None, None] {
            let shown = self.listing_shown(
                spec.path,
                pagina,
                crate::listing_faults::Shown {
                    total: shown_total,
                    pages: shown_pages,
                    empty: false,
                },
            );
            (shown_total, shown_pages) = (shown.total, shown.pages);
            if shown.empty {
                end = start;
            }
        }
        let mut out = Vec::with_capacity(64 + (end - start) * 1200);
        out.extend_from_slice(b"{\"pagina\":");
        if q.pagina_string && spec.pagina_string {
            let echoed = pagina_raw.unwrap_or_else(|| "1".into());
            let _ = serde_json::to_writer(&mut out, &echoed);
        } else {
            out.extend_from_slice(pagina.to_string().as_bytes());
        }
        out.extend_from_slice(format!(",\"registros\":{size}").as_bytes());
        let swap = q.unstable_key_order && spec.name.len() % 2 == 1;
        if swap {
            out.extend_from_slice(
                format!(",\"total_de_paginas\":{shown_pages},\"total_de_registros\":{shown_total}")
                    .as_bytes(),
            );
        } else {
            out.extend_from_slice(
                format!(",\"total_de_registros\":{shown_total},\"total_de_paginas\":{shown_pages}")
                    .as_bytes(),
            );
        }
        out.extend_from_slice(b",\"dados\":[");
        for (n, &(_, pos)) in table.index[start..end].iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            crate::render::write_row(&w, oi, pos, &mut out);
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

async fn object_handler(
    State(sim): State<Simulator>,
    ConnectInfo(kill): ConnectInfo<KillSwitch>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full = format!("/{path}");
    let Some(spec) = OBJECTS.iter().find(|o| o.path == full) else {
        return method_not_allowed();
    };
    if method != Method::GET {
        return method_not_allowed();
    }
    sim.inner.requests.fetch_add(1, Ordering::Relaxed);
    let cfg = &sim.inner.cfg;
    let email = headers
        .get("email")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if email != cfg.email || token != cfg.token || sim.denied(spec) {
        return json_response(StatusCode::UNAUTHORIZED, UNAUTHORIZED_BODY);
    }
    let mut fault = sim.next_fault();
    if fault.is_none() {
        if !sim.admit(email) {
            sim.inner.throttled.fetch_add(1, Ordering::Relaxed);
            return too_many(StatusCode::TOO_MANY_REQUESTS);
        }
        fault = sim.random_fault();
    }
    if let Some(f) = fault {
        sim.inner.faults.fetch_add(1, Ordering::Relaxed);
        if let Some(i) = Fault::ALL.iter().position(|k| *k == f) {
            sim.inner.faults_by_kind[i].fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(fault = ?f, object = spec.path, "injecting fault");
        match f {
            Fault::TooManyRequests => return too_many(StatusCode::TOO_MANY_REQUESTS),
            Fault::TooManyRequestsBody200 => return too_many(StatusCode::OK),
            Fault::Html500 => return html_500(),
            Fault::Unprocessable422 => {
                return json_response(StatusCode::UNPROCESSABLE_ENTITY, UNPROCESSABLE_BODY)
            }
            Fault::ConnectionReset => {
                kill.kill();
                return json_response(StatusCode::OK, "{}");
            }
            Fault::Slow => tokio::time::sleep(cfg.slow_delay).await,
            Fault::TruncatedBody => {}
        }
    }
    let query = raw_query.as_deref().map(parse_query).unwrap_or_default();
    let json_body = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
    };
    let sim2 = sim.clone();
    let built = tokio::task::spawn_blocking(move || sim2.page(spec, &query, &json_body)).await;
    let bytes = match built {
        Ok(Ok(b)) => b,
        Ok(Err(resp)) => return *resp,
        Err(_) => return html_500(),
    };
    sim.inner.pages.fetch_add(1, Ordering::Relaxed);
    if fault == Some(Fault::TruncatedBody) {
        let cut = (bytes.len() / 2).max(1).min(bytes.len());
        return json_response(StatusCode::OK, bytes[..cut].to_vec());
    }
    json_response(StatusCode::OK, bytes)
}

/// A bare server on the same stack (axum, same listener) that answers every
/// `GET /api/v1/cvdw/vendas` with one pre-rendered body: the baseline of `cvdw bench simulator`.
pub async fn serve_static_page(body: Vec<u8>, addr: SocketAddr) -> io::Result<RunningSimulator> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let body = Bytes::from(body);
    let app = Router::new().route(
        "/api/v1/cvdw/vendas",
        get(move || {
            let body = body.clone();
            async move { json_response(StatusCode::OK, body) }
        }),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            KillableListener(listener),
            app.into_make_service_with_connect_info::<KillSwitch>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
    });
    Ok(RunningSimulator {
        addr,
        stop: Some(tx),
        task,
        sim: None,
    })
}
