//! The CVDW HTTP client: one GET per page, paced, retried, classified.
//!
//! See the [module docs](super) for the retry policy and why each response class is handled
//! the way it is.

use super::envelope::{self, Body, PageSummary};
use super::pacer::{Pacer, Ticket};
use crate::catalogue::ObjectSpec;
use crate::secret::Secret;
use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

/// Everything but RFC 3986 unreserved characters is encoded, once: a space becomes `%20`, a
/// colon `%3A` (a value encoded twice is accepted by CVDW and silently filters wrong, §2.4).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The most rows CVDW serves per page (§2.3).
pub const MAX_PAGE_SIZE: u32 = 500;

/// Retry tunables (all configurable so tests compress time).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per page for transient failures (HTML, 5xx, 422, bad JSON, timeouts, resets).
    pub max_attempts: u32,
    /// First backoff; doubles per failure, with jitter in [½, 1]×.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
    /// Throttle responses tolerated for one page before giving up (each one pauses the
    /// credential for at least the rate window).
    pub max_throttles: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            max_throttles: 8,
        }
    }
}

/// Client configuration for one credential.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://{subdomain}.cvcrm.com.br/api/v1/cvdw` or an override (no trailing slash).
    pub base_url: String,
    pub email: String,
    pub token: Secret,
    /// `registros_por_pagina` (≤ 500).
    pub page_size: u32,
    /// Whole-request timeout (headers and body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// Defaults for a credential: 500 rows per page, 60 s timeout (cvdw-cli uses 40 s; big
    /// pages on a slow tenant need more), 10 s connect timeout.
    pub fn new(base_url: impl Into<String>, email: impl Into<String>, token: Secret) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            email: email.into(),
            token,
            page_size: MAX_PAGE_SIZE,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// The production base URL for a CV CRM subdomain.
pub fn base_url_for_subdomain(subdomain: &str) -> String {
    format!("https://{subdomain}.cvcrm.com.br/api/v1/cvdw")
}

/// A CVDW failure. [`CvdwError::is_retryable`] tells a caller whether a later run can succeed.
#[derive(Debug, thiserror::Error)]
pub enum CvdwError {
    /// 400/401/403/404/405 and other client errors: retrying cannot help.
    #[error("CVDW refused {object} with HTTP {status} (parameters: {params}): {message}{hint}")]
    Rejected {
        object: String,
        params: String,
        status: u16,
        message: String,
        hint: &'static str,
    },
    /// Transient failures exhausted the attempts for one page.
    #[error("CVDW {object} (parameters: {params}) failed {attempts} times; last error: {last}")]
    RetriesExhausted {
        object: String,
        params: String,
        attempts: u32,
        last: String,
    },
    /// The credential stayed throttled through every pause.
    #[error("CVDW {object} (parameters: {params}) still rate-limited after {throttles} pauses")]
    StillThrottled {
        object: String,
        params: String,
        throttles: u32,
    },
    /// The caller's time ran out before the page came ([`PageRequest::until`]): no attempt
    /// or pause that would pass it was started. The run hands over to a continuation.
    #[error("CVDW {object} (parameters: {params}): out of time after {attempts} attempts; last error: {last}")]
    OutOfTime {
        object: String,
        params: String,
        attempts: u32,
        last: String,
    },
    /// The client could not be built (bad base URL, bad header value).
    #[error("invalid CVDW client configuration: {0}")]
    Config(String),
}

impl CvdwError {
    /// Whether a later attempt (the next run) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CvdwError::RetriesExhausted { .. }
                | CvdwError::StillThrottled { .. }
                | CvdwError::OutOfTime { .. }
        )
    }
}

/// One page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub object: &'a ObjectSpec,
    /// 1-based.
    pub page: u32,
    /// `a_partir_data_referencia`; `None` = no filter (a full run).
    pub from: Option<NaiveDateTime>,
    /// Give up by then (the Lambda deadline less its margin): each attempt's timeout, each
    /// backoff and throttle pause, and the wait for the rate limit stay within it, and
    /// [`CvdwError::OutOfTime`] says it came. `None`: only the retry policy bounds the fetch.
    pub until: Option<std::time::Instant>,
}

/// A page as received: the exact bytes, plus what the extractor needs to know about it.
#[derive(Debug, Clone)]
pub struct FetchedPage {
    pub body: Bytes,
    pub http_status: u16,
    /// The query string sent, as on the wire (no credentials).
    pub params: String,
    /// When the successful response arrived.
    pub fetched_at: DateTime<Utc>,
    pub summary: PageSummary,
    /// Whether this is the object's last page (see [`PageSummary::is_last`]).
    pub is_last: bool,
    /// Failed attempts before this one (transient failures and throttles).
    pub retries: u32,
    pub throttles: u32,
}

/// Why the client is waiting (for progress displays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// The pacer's window is full.
    RateLimit,
    /// The server answered "Too many requests"; the credential is paused.
    Throttled,
    /// Backing off after a transient failure.
    Backoff,
}

/// Called before a wait with its reason and expected length.
pub type WaitHook = Arc<dyn Fn(WaitKind, Duration) + Send + Sync>;

/// A CVDW client for one credential. Cheap to clone; clones share the pacer.
#[derive(Clone)]
pub struct CvdwClient {
    http: reqwest::Client,
    cfg: Arc<ClientConfig>,
    email: reqwest::header::HeaderValue,
    token: reqwest::header::HeaderValue,
    pacer: Arc<Pacer>,
    wait_hook: Option<WaitHook>,
}

impl std::fmt::Debug for CvdwClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CvdwClient")
            .field("base_url", &self.cfg.base_url)
            .field("email", &self.cfg.email)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Page(FetchedPage),
    Throttled,
    Transient(String),
    Rejected(u16, String),
}

/// The base URL must be `https://`, or `http://` to a loopback host (the local simulator), so
/// the token never crosses a network in clear.
fn check_base_url(base: &str) -> Result<(), CvdwError> {
    let parsed = reqwest::Url::parse(base)
        .map_err(|_| CvdwError::Config(format!("base URL `{base}` is not a URL")))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_local_base_url(base) => Ok(()),
        "http" => Err(CvdwError::Config(format!(
            "base URL `{base}` is plain http to a non-local host; CVDW must be reached over https \
             (http is allowed only for localhost / 127.0.0.1 / ::1, the local simulator)"
        ))),
        _ => Err(CvdwError::Config(format!(
            "base URL `{base}` must start with https:// (or http:// for a local simulator)"
        ))),
    }
}

/// Whether the base URL names a loopback host.
fn is_local_base_url(base: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(base) else {
        return false;
    };
    let Some(host) = u.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost"),
    }
}

impl CvdwClient {
    /// Build the client. Installs the rustls ring provider if none is installed yet.
    pub fn new(cfg: ClientConfig, pacer: Arc<Pacer>) -> Result<Self, CvdwError> {
        install_ring_provider();
        check_base_url(&cfg.base_url)?;
        if cfg.email.trim().is_empty() || cfg.token.is_empty() {
            return Err(CvdwError::Config(
                "email and token are both required".into(),
            ));
        }
        let email = reqwest::header::HeaderValue::from_str(cfg.email.trim())
            .map_err(|_| CvdwError::Config("the e-mail is not a valid header value".into()))?;
        let mut token = reqwest::header::HeaderValue::from_str(cfg.token.expose().trim())
            .map_err(|_| CvdwError::Config("the token is not a valid header value".into()))?;
        token.set_sensitive(true);
        let http = reqwest::Client::builder()
            // The token and e-mail headers would follow a redirect to whatever host it names;
            // a 30x is answered as a permanent error instead (CvdwError::Rejected).
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!is_local_base_url(&cfg.base_url))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("cvdw-etl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CvdwError::Config(format!("HTTP client: {e}")))?;
        let mut cfg = cfg;
        cfg.page_size = cfg.page_size.clamp(1, MAX_PAGE_SIZE);
        cfg.retry.max_attempts = cfg.retry.max_attempts.max(1);
        Ok(Self {
            http,
            cfg: Arc::new(cfg),
            email,
            token,
            pacer,
            wait_hook: None,
        })
    }

    /// Report waits (rate limit, throttle pauses, backoff) to a progress display.
    pub fn with_wait_hook(mut self, hook: WaitHook) -> Self {
        self.wait_hook = Some(hook);
        self
    }

    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The query string for a request, percent-encoded exactly once.
    pub fn query(&self, req: &PageRequest<'_>) -> String {
        build_query(req.page, self.cfg.page_size, req.from)
    }

    fn notify(&self, kind: WaitKind, d: Duration) {
        if let (Some(h), false) = (&self.wait_hook, d.is_zero()) {
            h(kind, d);
        }
    }

    /// Fetch one page: pace, send, classify, retry. Returns the exact bytes of the first good
    /// response. Never loops forever: transient failures are bounded by `max_attempts`,
    /// throttles by `max_throttles`.
    pub async fn fetch_page(&self, req: PageRequest<'_>) -> Result<FetchedPage, CvdwError> {
        let params = self.query(&req);
        let url = format!("{}{}?{}", self.cfg.base_url, req.object.path, params);
        let retry = &self.cfg.retry;
        let mut failures = 0u32;
        let mut throttles = 0u32;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(jitter_seed());
        let mut last = String::from("none yet");
        // Whether `wait` and then at least a moment of work still fit before `until`.
        let fits = |wait: Duration| {
            req.until
                .is_none_or(|u| std::time::Instant::now() + wait < u)
        };
        loop {
            let hint = self.pacer.wait_hint().await;
            if !fits(hint) {
                return Err(out_of_time(&req, params, failures + throttles, last));
            }
            self.notify(WaitKind::RateLimit, hint);
            let ticket = self.pacer.acquire().await;
            let timeout = req.until.map(|u| {
                u.saturating_duration_since(std::time::Instant::now())
                    .min(self.cfg.timeout)
            });
            let outcome = self.attempt(&url, &params, &req, timeout, ticket).await;
            match outcome {
                Attempt::Page(mut page) => {
                    self.pacer.succeeded().await;
                    page.retries = failures + throttles;
                    page.throttles = throttles;
                    return Ok(page);
                }
                Attempt::Throttled => {
                    throttles += 1;
                    let pause = self.pacer.throttled().await;
                    if throttles > retry.max_throttles {
                        return Err(CvdwError::StillThrottled {
                            object: req.object.path.to_string(),
                            params,
                            throttles,
                        });
                    }
                    tracing::warn!(
                        object = req.object.path,
                        page = req.page,
                        pause_ms = pause.as_millis() as u64,
                        "CVDW throttled the credential; pausing and retrying the same page"
                    );
                    if !fits(pause) {
                        return Err(out_of_time(
                            &req,
                            params,
                            failures + throttles,
                            "throttled".into(),
                        ));
                    }
                    self.notify(WaitKind::Throttled, pause);
                }
                Attempt::Transient(error) => {
                    failures += 1;
                    last = error;
                    if failures >= retry.max_attempts {
                        return Err(CvdwError::RetriesExhausted {
                            object: req.object.path.to_string(),
                            params,
                            attempts: failures,
                            last,
                        });
                    }
                    let delay = backoff(retry, failures, &mut rng);
                    if !fits(delay) {
                        return Err(out_of_time(&req, params, failures + throttles, last));
                    }
                    tracing::warn!(
                        object = req.object.path,
                        page = req.page,
                        attempt = failures,
                        delay_ms = delay.as_millis() as u64,
                        error = %last,
                        "transient CVDW failure; backing off"
                    );
                    self.notify(WaitKind::Backoff, delay);
                    tokio::time::sleep(delay).await;
                }
                Attempt::Rejected(status, message) => {
                    let hint = match status {
                        401 => " (check the credential's e-mail and token, and that its user may read this object)",
                        405 => " (unknown CVDW path or method)",
                        400 => " (a request parameter was refused)",
                        300..=399 => " (a redirect: not followed, so the token never goes to another host; check the base URL)",
                        _ => "",
                    };
                    return Err(CvdwError::Rejected {
                        object: req.object.path.to_string(),
                        params,
                        status,
                        message,
                        hint,
                    });
                }
            }
        }
    }

    async fn attempt(
        &self,
        url: &str,
        params: &str,
        req: &PageRequest<'_>,
        timeout: Option<Duration>,
        ticket: Ticket,
    ) -> Attempt {
        let mut request = self.http.get(url);
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let sent = request
            .header("email", self.email.clone())
            .header("token", self.token.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        // The server has the request once its response headers are here (or the attempt
        // failed): the window counts it from now, not from the end of the body, so a long
        // page costs the allowance only its time to first byte.
        self.pacer.complete(ticket).await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Attempt::Transient(describe(&e)),
        };
        let status = resp.status().as_u16();
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Transient(format!("HTTP {status}, body: {}", describe(&e))),
        };
        let fetched_at = Utc::now();
        let kind = envelope::inspect(&body);
        if status == 429 || kind == Body::TooManyRequests {
            return Attempt::Throttled;
        }
        match status {
            200..=299 => {}
            408 | 409 | 422 | 425 | 500..=599 => {
                return Attempt::Transient(format!("HTTP {status}: {}", snippet(&body)))
            }
            _ => return Attempt::Rejected(status, snippet(&body)),
        }
        if status == 204 {
            // "Nenhum dado foi encontrado" (spec only): an empty result.
            return Attempt::Page(FetchedPage {
                body: Bytes::from_static(b"{\"dados\":[]}"),
                http_status: status,
                params: params.to_string(),
                fetched_at,
                summary: PageSummary::default(),
                is_last: true,
                retries: 0,
                throttles: 0,
            });
        }
        match kind {
            Body::Page(summary) => {
                let is_last = summary.is_last(req.page, self.cfg.page_size);
                Attempt::Page(FetchedPage {
                    body,
                    http_status: status,
                    params: params.to_string(),
                    fetched_at,
                    summary,
                    is_last,
                    retries: 0,
                    throttles: 0,
                })
            }
            Body::NotJson => Attempt::Transient(format!(
                "HTTP {status} with a non-JSON body: {}",
                snippet(&body)
            )),
            Body::Malformed(m) => Attempt::Transient(format!("HTTP {status}: {m}")),
            Body::TooManyRequests => Attempt::Throttled,
        }
    }
}

fn out_of_time(req: &PageRequest<'_>, params: String, attempts: u32, last: String) -> CvdwError {
    tracing::warn!(
        object = req.object.path,
        page = req.page,
        attempts,
        "out of time for this page; handing over"
    );
    CvdwError::OutOfTime {
        object: req.object.path.to_string(),
        params,
        attempts,
        last,
    }
}

/// `pagina`, `registros_por_pagina` and the optional date filter, encoded once.
pub fn build_query(page: u32, page_size: u32, from: Option<NaiveDateTime>) -> String {
    let mut q = format!("pagina={page}&registros_por_pagina={page_size}");
    if let Some(from) = from {
        let v = crate::values::format_datetime(&from);
        q.push_str("&a_partir_data_referencia=");
        q.extend(utf8_percent_encode(&v, QUERY_VALUE));
    }
    q
}

fn backoff(p: &RetryPolicy, failures: u32, rng: &mut impl Rng) -> Duration {
    let exp = p
        .base_delay
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(p.max_delay);
    exp.mul_f64(rng.random_range(0.5..=1.0))
}

/// A non-cryptographic random number (jitter seeds, run-id suffixes, invocation ids).
pub fn random_u64() -> u64 {
    rand::rngs::SmallRng::seed_from_u64(
        jitter_seed() ^ u64::from(std::process::id()).rotate_left(32),
    )
    .random()
}

fn jitter_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = crate::clock::since_epoch().as_nanos() as u64;
    nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
}

/// A short, single-line, printable excerpt of a body for error messages.
fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let t = one_line.trim();
    if t.is_empty() {
        "(empty body)".into()
    } else {
        t.to_string()
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body interrupted"
    } else {
        "request failed"
    };
    // The URL holds no credentials (they travel in headers), so the full error is safe.
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Install the rustls ring provider once (reqwest is built without a default provider).
pub fn install_ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvdw::pacer::PacerConfig;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn query_is_encoded_exactly_once() {
        let from = chrono::NaiveDate::from_ymd_opt(2024, 5, 1)
            .unwrap()
            .and_hms_opt(10, 2, 15)
            .unwrap();
        assert_eq!(
            build_query(3, 500, Some(from)),
            "pagina=3&registros_por_pagina=500&a_partir_data_referencia=2024-05-01%2010%3A02%3A15"
        );
        assert_eq!(
            build_query(1, 500, None),
            "pagina=1&registros_por_pagina=500"
        );
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            max_throttles: 1,
        };
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for n in 1..20 {
            let d = backoff(&p, n, &mut rng);
            let cap = (Duration::from_millis(100) * (1 << (n - 1).min(16))).min(p.max_delay);
            assert!(d <= cap && d >= cap / 2, "{n}: {d:?} vs {cap:?}");
        }
    }

    /// A canned HTTP/1.1 server: answers each connection with the next scripted response and
    /// records the request heads.
    async fn stub(
        responses: Vec<(u16, &'static str)>,
    ) -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let h = tokio::spawn(async move {
            for (status, body) in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap();
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).to_string());
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                let _ = sock.shutdown().await;
            }
        });
        (format!("http://{addr}/api/v1/cvdw"), seen, h)
    }

    #[test]
    fn base_url_is_https_unless_local() {
        for ok in [
            "https://acme.cvcrm.com.br/api/v1/cvdw",
            "http://127.0.0.1:8080/api/v1/cvdw",
            "http://localhost:8080/api/v1/cvdw",
            "http://[::1]:8080/api/v1/cvdw",
        ] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.cvcrm.com.br/api/v1/cvdw",
            "http://10.0.0.5/api/v1/cvdw",
            "ftp://x/api",
            "acme.cvcrm.com.br",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    fn client(base: &str) -> CvdwClient {
        let mut cfg = ClientConfig::new(base, "demo@cvdw.local", Secret::new("demo-token"));
        cfg.retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_throttles: 2,
        };
        cfg.timeout = Duration::from_secs(5);
        let mut pc = PacerConfig::new(100, Duration::from_millis(50));
        pc.throttle_pause = Duration::from_millis(50);
        CvdwClient::new(cfg, Arc::new(Pacer::new(pc))).unwrap()
    }

    /// The window counts a request from its response's headers: a page whose body trails
    /// them by 400 ms is counted 400 ms before the body is in, so a slow transfer does not
    /// cost the allowance (the stub's pause is a lower bound, whatever the machine's load).
    #[tokio::test]
    async fn the_window_counts_a_request_from_its_headers_not_its_body() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1/cvdw", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 8192];
            let _ = sock.read(&mut request).await.unwrap();
            let body = r#"{"pagina":1,"total_de_paginas":1,"dados":[]}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            sock.write_all(head.as_bytes()).await.unwrap();
            sock.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
            sock.write_all(body.as_bytes()).await.unwrap();
            let _ = sock.shutdown().await;
        });
        let pacer = Arc::new(Pacer::new(PacerConfig::new(20, Duration::from_secs(60))));
        let cfg = ClientConfig::new(&base, "demo@cvdw.local", Secret::new("demo-token"));
        let client = CvdwClient::new(cfg, pacer.clone()).unwrap();
        client.fetch_page(vendas_page(1)).await.unwrap();
        let body_in = Utc::now();
        server.await.unwrap();
        let counted = pacer.recent_sends().await;
        assert_eq!(counted.len(), 1);
        assert!(
            body_in - counted[0] >= chrono::Duration::milliseconds(300),
            "counted from {} but the body was in at {body_in}",
            counted[0]
        );
    }

    fn vendas() -> &'static ObjectSpec {
        crate::catalogue::find("/vendas").unwrap()
    }

    /// Page `page` of `/vendas`, whole (no date filter), with no deadline.
    fn vendas_page(page: u32) -> PageRequest<'static> {
        PageRequest {
            object: vendas(),
            page,
            from: None,
            until: None,
        }
    }

    #[tokio::test]
    async fn permanent_errors_name_object_and_parameters() {
        for (status, body, word) in [
            (
                400u16,
                r#"{"error":"O campo a_partir_data_referencia não é válido","code":400}"#,
                "parameter",
            ),
            (
                401,
                r#"{"codigo":401,"mensagem":"E-mail e/ou token incorreto(s)."}"#,
                "token",
            ),
            (405, "", "unknown CVDW path"),
        ] {
            let (base, seen, h) = stub(vec![(status, body)]).await;
            let err = client(&base).fetch_page(vendas_page(2)).await.unwrap_err();
            h.await.unwrap();
            assert!(!err.is_retryable(), "{status} must be permanent");
            let msg = err.to_string();
            assert!(msg.contains("/vendas"), "{msg}");
            assert!(msg.contains("pagina=2&registros_por_pagina=500"), "{msg}");
            assert!(msg.contains(&status.to_string()), "{msg}");
            assert!(msg.contains(word), "{msg}");
            assert!(!msg.contains("demo-token"), "{msg}");
            // Exactly one request: permanent errors are not retried.
            assert_eq!(seen.lock().unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn headers_and_retry_then_success() {
        let ok = r#"{"pagina":"1","registros":500,"total_de_registros":1,"total_de_paginas":1,"dados":[{"referencia":"7","referencia_data":"2024-01-02 03:04:05"}]}"#;
        let (base, seen, h) = stub(vec![
            (500, "<html>Ocorreu um erro</html>"),
            (200, r#"{"Response": "Too many requests"}"#),
            (429, r#"{"Response": "Too many requests"}"#),
            (200, ok),
        ])
        .await;
        let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let page = client(&base)
            .fetch_page(PageRequest {
                from: Some(from),
                ..vendas_page(1)
            })
            .await
            .unwrap();
        h.await.unwrap();
        assert_eq!(&page.body[..], ok.as_bytes());
        assert!(page.is_last);
        assert_eq!((page.retries, page.throttles), (3, 2));
        assert_eq!(page.summary.rows, 1);
        let heads = seen.lock().unwrap();
        assert_eq!(heads.len(), 4);
        assert!(heads[3].starts_with(
            "GET /api/v1/cvdw/vendas?pagina=1&registros_por_pagina=500&a_partir_data_referencia=2024-01-01%2000%3A00%3A00 HTTP/1.1"
        ), "{}", heads[3]);
        let head = heads[3].to_ascii_lowercase();
        assert!(head.contains("\r\nemail: demo@cvdw.local\r\n"));
        assert!(head.contains("\r\ntoken: demo-token\r\n"));
        assert!(head.contains("\r\naccept: application/json\r\n"));
    }

    #[tokio::test]
    async fn transient_failures_are_bounded() {
        let (base, seen, h) = stub(vec![
            (422, r#"{"mensagem":"Erro inesperado","codigo":422}"#),
            (200, r#"{"pagina":1,"dados":[{"a":1},{"b""#),
            (503, "<html>busy</html>"),
        ])
        .await;
        let err = client(&base).fetch_page(vendas_page(1)).await.unwrap_err();
        h.await.unwrap();
        assert!(err.is_retryable());
        assert!(
            matches!(err, CvdwError::RetriesExhausted { attempts: 3, .. }),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn throttles_are_bounded() {
        let body = r#"{"Response": "Too many requests"}"#;
        let (base, _seen, h) = stub(vec![(429, body), (429, body), (429, body)]).await;
        let err = client(&base).fetch_page(vendas_page(1)).await.unwrap_err();
        h.await.unwrap();
        assert!(
            matches!(err, CvdwError::StillThrottled { throttles: 3, .. }),
            "{err}"
        );
        assert!(err.is_retryable());
    }
}
