//! Secrets resolved once, at init: CVDW credentials, `DATABASE_URL`, API key hashes.
//!
//! In AWS the template never puts a secret in a plain environment value. It sets
//! `<NAME>_SECRET_ARN` (for example `DATABASE_URL_SECRET_ARN`) and attaches the *AWS Parameters
//! and Secrets Lambda Extension* layer. At init the function asks that extension, which runs
//! next to it in the execution environment, for the secret:
//!
//! ```text
//! GET http://localhost:{PARAMETERS_SECRETS_EXTENSION_HTTP_PORT or 2773}/secretsmanager/get?secretId=<arn>
//! X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN
//! ```
//!
//! and receives the `GetSecretValue` document (`SecretString`, `ARN`, `VersionId`, ...). The
//! extension signs the Secrets Manager call with the function's role and caches the answer, so
//! no AWS SDK for Secrets Manager is compiled in and init costs one loopback request.
//!
//! Locally (the `cvdw` command, tests, `cargo lambda watch`) the `*_SECRET_ARN` variable is
//! unset and the plain variable (`DATABASE_URL`, ...) is used as is. When both are set the ARN
//! wins: a deployed function must not silently run on a stale plain value.
//!
//! The value is returned as [`Secret`] and never written to a log or an error: errors name the
//! *variable* and the secret id (an ARN, not a secret), never the value, and the extension's
//! answer is parsed as untyped JSON so that no deserialiser message can quote it.

use std::time::Duration;

use crate::secret::Secret;

/// The extension's default port when `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` is unset.
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;
/// The variable that moves the extension to another port.
pub const PORT_VAR: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
/// The header the extension requires on every request.
pub const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";
/// Lambda sets this for every function; the extension accepts only callers that know it.
pub const SESSION_TOKEN_VAR: &str = "AWS_SESSION_TOKEN";

/// Pauses between attempts once the extension answers. It answers "not ready" for a moment
/// while it starts and its first fetch goes to Secrets Manager over the network; three short
/// attempts (at most ~6.5 s with the per-request timeout) stay inside Lambda's 10 s init window.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];
/// How long to keep trying an extension that does not accept connections yet. Lambda starts
/// the runtime once the extension has *registered*, which can be before its HTTP server
/// listens; a refused connection then means "not yet", not "no extension". No new attempt
/// starts after this, so with the request timeout init spends at most ~7 s here.
const UNREACHABLE_BUDGET: Duration = Duration::from_secs(5);
/// First pause after a refused connection; doubles up to [`UNREACHABLE_DELAY_MAX`].
const UNREACHABLE_DELAY: Duration = Duration::from_millis(25);
const UNREACHABLE_DELAY_MAX: Duration = Duration::from_millis(250);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest slice of an extension error body quoted in an error.
const MAX_QUOTED: usize = 200;

/// Why a secret could not be resolved. Every variant names the environment variable the
/// caller asked for, so the operator knows which setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{var} is required: set {var} (local use) or {arn_var} (a Secrets Manager ARN)")]
    Missing { var: String, arn_var: String },
    #[error(
        "{var}: reading a secret through the Parameters and Secrets extension needs \
         {SESSION_TOKEN_VAR}, which Lambda sets; unset {var} and use the plain variable locally"
    )]
    MissingSessionToken { var: String },
    #[error("{PORT_VAR} must be a port number, got {value:?}")]
    BadPort { value: String },
    #[error(
        "{var}: the Parameters and Secrets extension at {base_url} could not be reached \
         for {secret_id} (retryable; is the extension layer attached?): {message}"
    )]
    Unreachable {
        var: String,
        base_url: String,
        secret_id: String,
        message: String,
    },
    #[error("{var}: the extension answered HTTP {status} for {secret_id} (retryable): {message}")]
    Transient {
        var: String,
        secret_id: String,
        status: u16,
        message: String,
    },
    #[error(
        "{var}: the extension refused {secret_id} with HTTP {status} (check the ARN and the \
         function's secretsmanager:GetSecretValue permission): {message}"
    )]
    Refused {
        var: String,
        secret_id: String,
        status: u16,
        message: String,
    },
    #[error(
        "{var}: the extension's answer for {secret_id} is not a GetSecretValue document: {reason}"
    )]
    Malformed {
        var: String,
        secret_id: String,
        reason: String,
    },
    #[error("{var}: secret {secret_id} is empty")]
    Empty { var: String, secret_id: String },
}

impl SecretsError {
    /// Whether trying again later (a new cold start, an async retry) can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SecretsError::Unreachable { .. } | SecretsError::Transient { .. }
        )
    }
}

/// Resolve a secret from the process environment: the `arn_var` secret through the extension
/// if that variable is set, else the plain variable, else `None`.
///
/// ```no_run
/// # async fn init() -> Result<(), shared::secrets::SecretsError> {
/// let url = shared::secrets::resolve("DATABASE_URL", "DATABASE_URL_SECRET_ARN").await?;
/// # Ok(()) }
/// ```
pub async fn resolve(plain_var: &str, arn_var: &str) -> Result<Option<Secret>, SecretsError> {
    resolve_with(|name| std::env::var(name).ok(), plain_var, arn_var).await
}

/// [`resolve`], but a missing secret is an error that names both variables.
pub async fn require(plain_var: &str, arn_var: &str) -> Result<Secret, SecretsError> {
    resolve(plain_var, arn_var)
        .await?
        .ok_or_else(|| SecretsError::Missing {
            var: plain_var.to_string(),
            arn_var: arn_var.to_string(),
        })
}

/// The process environment with some variables replaced by secrets resolved at init, for
/// configuration readers that take a lookup function (`ExtractConfig::from_lookup`):
///
/// ```no_run
/// # async fn init() -> Result<(), shared::secrets::SecretsError> {
/// use shared::secrets::EnvOverlay;
/// let env = EnvOverlay::resolve(&[("CVDW_TENANTS", "CVDW_TENANTS_SECRET_ARN")]).await?;
/// let tenants_json: Option<String> = env.get("CVDW_TENANTS"); // from Secrets Manager in Lambda
/// let bucket: Option<String> = env.get("RAW_BUCKET");         // a plain variable
/// # Ok(()) }
/// ```
///
/// Nothing is written back to the process environment (`set_var` races with other threads).
#[derive(Debug, Default, Clone)]
pub struct EnvOverlay {
    secrets: std::collections::HashMap<String, Secret>,
}

impl EnvOverlay {
    /// Resolve each `(plain_var, arn_var)` pair from the process environment.
    pub async fn resolve(pairs: &[(&str, &str)]) -> Result<Self, SecretsError> {
        Self::resolve_with(|name| std::env::var(name).ok(), pairs).await
    }

    /// [`EnvOverlay::resolve`] over a lookup function (tests).
    pub async fn resolve_with<F>(env: F, pairs: &[(&str, &str)]) -> Result<Self, SecretsError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let mut secrets = std::collections::HashMap::new();
        for (plain, arn) in pairs {
            if let Some(value) = resolve_with(&env, plain, arn).await? {
                secrets.insert(plain.to_string(), value);
            }
        }
        Ok(Self { secrets })
    }

    /// The resolved secret for `name` if there is one, else the process environment.
    pub fn get(&self, name: &str) -> Option<String> {
        match self.secrets.get(name) {
            Some(s) => Some(s.expose().to_string()),
            None => std::env::var(name).ok(),
        }
    }

    /// The resolved secret only (no fallback), kept wrapped.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        self.secrets.get(name)
    }
}

/// [`resolve`] with the environment given as a lookup function, so tests do not have to
/// mutate the (process-global) environment. Empty values count as unset: SAM passes an empty
/// string for an optional parameter left blank.
pub async fn resolve_with<F>(
    env: F,
    plain_var: &str,
    arn_var: &str,
) -> Result<Option<Secret>, SecretsError>
where
    F: Fn(&str) -> Option<String>,
{
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(secret_id) = get(arn_var) {
        let client = ExtensionClient::from_env_with(&env, arn_var)?;
        let value = client.get_secret(arn_var, secret_id.trim()).await?;
        tracing::info!(
            var = plain_var,
            source = arn_var,
            "secret resolved through the extension"
        );
        return Ok(Some(value));
    }
    Ok(get(plain_var).map(Secret::new))
}

/// A client for the AWS Parameters and Secrets Lambda Extension's local HTTP endpoint.
#[derive(Debug, Clone)]
pub struct ExtensionClient {
    base_url: String,
    token: Secret,
    http: reqwest::Client,
}

impl ExtensionClient {
    /// Point at `base_url` (e.g. `http://localhost:2773`) with the session token.
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        // Plain HTTP on loopback needs no TLS, but reqwest still wants a process-wide
        // rustls provider to build a client; installing it twice is harmless.
        crate::store::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // The extension is on loopback: a proxy from the environment must not intercept it.
            .no_proxy()
            .build()
            .unwrap_or_default();
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token,
            http,
        }
    }

    /// Build from `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` and `AWS_SESSION_TOKEN`;
    /// `for_var` is the variable being resolved, named in the errors.
    pub fn from_env_with<F>(env: F, for_var: &str) -> Result<Self, SecretsError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let port = match env(PORT_VAR).filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_EXTENSION_PORT,
            Some(v) => v
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(SecretsError::BadPort { value: v })?,
        };
        let token = env(SESSION_TOKEN_VAR)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SecretsError::MissingSessionToken {
                var: for_var.to_string(),
            })?;
        Ok(Self::new(
            format!("http://localhost:{port}"),
            Secret::new(token),
        ))
    }

    /// Fetch the `SecretString` of `secret_id` (an ARN or a name), waiting up to
    /// [`UNREACHABLE_BUDGET`] for an extension that is not listening yet and retrying briefly
    /// when it answers "not ready" or Secrets Manager hiccups. `var` is named in errors.
    pub async fn get_secret(&self, var: &str, secret_id: &str) -> Result<Secret, SecretsError> {
        let started = tokio::time::Instant::now();
        let mut unreachable_delay = UNREACHABLE_DELAY;
        let mut attempt = 0;
        loop {
            match self.get_once(var, secret_id).await {
                Err(e @ SecretsError::Unreachable { .. })
                    if started.elapsed() + unreachable_delay < UNREACHABLE_BUDGET =>
                {
                    tracing::debug!(var, error = %e, "secrets extension not listening yet; waiting");
                    tokio::time::sleep(unreachable_delay).await;
                    unreachable_delay = (unreachable_delay * 2).min(UNREACHABLE_DELAY_MAX);
                }
                Err(e @ SecretsError::Transient { .. }) if attempt < RETRY_DELAYS.len() => {
                    tracing::warn!(var, attempt, error = %e, "secret fetch failed; retrying");
                    tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_once(&self, var: &str, secret_id: &str) -> Result<Secret, SecretsError> {
        let url = format!("{}/secretsmanager/get", self.base_url);
        let unreachable = |e: reqwest::Error| SecretsError::Unreachable {
            var: var.to_string(),
            base_url: self.base_url.clone(),
            secret_id: secret_id.to_string(),
            message: e.to_string(),
        };
        let response = self
            .http
            .get(&url)
            .query(&[("secretId", secret_id)])
            .header(TOKEN_HEADER, self.token.expose())
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unreachable)?;
        if !(200..300).contains(&status) {
            // An error body is the extension's own message, never the secret: quote a slice.
            let message = quote(&body);
            let not_ready = message.to_ascii_lowercase().contains("not ready");
            return Err(if status >= 500 || status == 429 || not_ready {
                SecretsError::Transient {
                    var: var.to_string(),
                    secret_id: secret_id.to_string(),
                    status,
                    message,
                }
            } else {
                SecretsError::Refused {
                    var: var.to_string(),
                    secret_id: secret_id.to_string(),
                    status,
                    message,
                }
            });
        }
        let malformed = |reason: &str| SecretsError::Malformed {
            var: var.to_string(),
            secret_id: secret_id.to_string(),
            reason: reason.to_string(),
        };
        // Untyped first: a typed deserialiser's "invalid type: string ..." would quote the value.
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| malformed(&format!("invalid JSON at line {}", e.line())))?;
        let value = match doc.get("SecretString") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None if doc.get("SecretBinary").is_some() => {
                return Err(malformed(
                    "it holds SecretBinary; store the value as a SecretString",
                ))
            }
            Some(_) => return Err(malformed("SecretString is not a string")),
            None => return Err(malformed("no SecretString field")),
        };
        if value.trim().is_empty() {
            return Err(SecretsError::Empty {
                var: var.to_string(),
                secret_id: secret_id.to_string(),
            });
        }
        Ok(Secret::new(value))
    }
}

fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    //! Against a small local HTTP server that speaks the extension's protocol: it checks the
    //! token header, decodes `secretId` and answers a `GetSecretValue` document, an error, or
    //! a scripted sequence of failures.

    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const TOKEN: &str = "session-token-xyz";
    const ARN: &str =
        "arn:aws:secretsmanager:sa-east-1:123456789012:secret:cvdw/database-url-AbC123";
    const VALUE: &str = "postgres://app:hunter2@ep-x.sa-east-1.aws.neon.tech/cvdw?sslmode=require";

    /// What the fake extension answers, in order; the last one repeats.
    #[derive(Clone)]
    struct Script(Vec<(u16, String)>);

    /// Request targets and token headers the fake extension received.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

    struct FakeExtension {
        port: u16,
        hits: Arc<AtomicUsize>,
        seen: Seen,
    }

    fn ok_doc(value: &str) -> String {
        serde_json::json!({
            "ARN": ARN,
            "CreatedDate": "2026-11-29T04:00:00Z",
            "Name": "cvdw/database-url",
            "SecretBinary": null,
            "SecretString": value,
            "VersionId": "0d9d3e0c-1b2a-4c3d-9e8f-123456789abc",
            "VersionStages": ["AWSCURRENT"],
            "ResultMetadata": {}
        })
        .to_string()
    }

    async fn start(script: Script) -> FakeExtension {
        start_on(0, script).await
    }

    async fn start_on(port: u16, script: Script) -> FakeExtension {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let (hit_count, seen_log) = (hits.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let n = hit_count.fetch_add(1, Ordering::SeqCst);
                let (status, body) = script.0[n.min(script.0.len() - 1)].clone();
                let seen = seen_log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let token = head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(TOKEN_HEADER)
                            .then(|| v.trim().to_string())
                    });
                    seen.lock().unwrap().push((target.clone(), token.clone()));
                    // The real extension rejects a caller without the session token.
                    let (status, body) = if token.as_deref() != Some(TOKEN) {
                        (401, "{\"message\":\"unauthorized\"}".to_string())
                    } else if !target.starts_with("/secretsmanager/get?secretId=") {
                        (400, "{\"message\":\"unknown path\"}".to_string())
                    } else {
                        (status, body)
                    };
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        FakeExtension { port, hits, seen }
    }

    fn env(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |name| map.get(name).cloned()
    }

    /// `DATABASE_URL` resolved from the variables `vars`.
    async fn resolve_database_url(vars: &[(&str, String)]) -> Result<Option<Secret>, SecretsError> {
        resolve_with(env(vars), "DATABASE_URL", "DATABASE_URL_SECRET_ARN").await
    }

    /// `DATABASE_URL` resolved as in Lambda: its ARN through the extension on `port`.
    async fn database_url_via_extension(port: u16) -> Result<Option<Secret>, SecretsError> {
        resolve_database_url(&lambda_env(port)).await
    }

    fn lambda_env(port: u16) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL_SECRET_ARN", ARN.to_string()),
            (PORT_VAR, port.to_string()),
            (SESSION_TOKEN_VAR, TOKEN.to_string()),
        ]
    }

    fn assert_no_leak(e: &SecretsError) {
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2"), "secret leaked: {text}");
        assert!(!text.contains(TOKEN), "token leaked: {text}");
    }

    #[tokio::test]
    async fn arn_is_fetched_through_the_extension_with_the_session_token() {
        let ext = start(Script(vec![(200, ok_doc(VALUE))])).await;
        let got = database_url_via_extension(ext.port).await.unwrap().unwrap();
        assert_eq!(got.expose(), VALUE);
        assert!(!format!("{got:?}").contains("hunter2"));
        let seen = ext.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let (target, token) = &seen[0];
        assert_eq!(token.as_deref(), Some(TOKEN));
        // The ARN's ':' and '/' are percent-encoded exactly once.
        let query = target.split_once('?').unwrap().1;
        let decoded: Vec<(String, String)> = query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                let v = percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .unwrap()
                    .to_string();
                (k.to_string(), v)
            })
            .collect();
        assert_eq!(decoded, vec![("secretId".to_string(), ARN.to_string())]);
    }

    #[tokio::test]
    async fn arn_wins_over_the_plain_variable() {
        let ext = start(Script(vec![(200, ok_doc(VALUE))])).await;
        let mut vars = lambda_env(ext.port);
        vars.push(("DATABASE_URL", "postgres://stale@localhost/x".to_string()));
        let got = resolve_database_url(&vars).await.unwrap().unwrap();
        assert_eq!(got.expose(), VALUE);
    }

    #[tokio::test]
    async fn plain_variable_is_used_locally_and_nothing_is_none() {
        let vars = [
            (
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1/x".to_string(),
            ),
            // Blank ARN (an optional SAM parameter left empty) counts as unset.
            ("DATABASE_URL_SECRET_ARN", "  ".to_string()),
        ];
        let got = resolve_database_url(&vars).await.unwrap();
        assert_eq!(got.unwrap().expose(), "postgres://postgres@127.0.0.1/x");
        let none = resolve_database_url(&[]).await.unwrap();
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn transient_failures_are_retried_then_succeed() {
        let ext = start(Script(vec![
            (
                400,
                "{\"message\":\"not ready to serve traffic, please wait\"}".into(),
            ),
            (500, "{\"message\":\"internal error\"}".into()),
            (200, ok_doc(VALUE)),
        ]))
        .await;
        let got = database_url_via_extension(ext.port).await.unwrap().unwrap();
        assert_eq!(got.expose(), VALUE);
        assert_eq!(ext.hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn persistent_5xx_gives_up_after_a_bounded_number_of_attempts() {
        let ext = start(Script(vec![(503, "{\"message\":\"busy\"}".into())])).await;
        let err = database_url_via_extension(ext.port).await.unwrap_err();
        assert!(err.is_retryable());
        assert!(matches!(err, SecretsError::Transient { status: 503, .. }));
        assert_eq!(ext.hits.load(Ordering::SeqCst), RETRY_DELAYS.len() + 1);
        assert!(err.to_string().contains("DATABASE_URL_SECRET_ARN"));
    }

    #[tokio::test]
    async fn not_found_is_permanent_and_not_retried() {
        let body = "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Secrets Manager can't find the specified secret.\"}";
        let ext = start(Script(vec![(400, body.into())])).await;
        let err = database_url_via_extension(ext.port).await.unwrap_err();
        assert!(!err.is_retryable());
        assert_eq!(ext.hits.load(Ordering::SeqCst), 1);
        let text = err.to_string();
        assert!(
            text.contains("DATABASE_URL_SECRET_ARN") && text.contains(ARN),
            "{text}"
        );
        assert!(text.contains("ResourceNotFoundException"), "{text}");
    }

    #[tokio::test]
    async fn a_wrong_session_token_is_refused_and_never_printed() {
        let ext = start(Script(vec![(200, ok_doc(VALUE))])).await;
        let client = ExtensionClient::new(
            format!("http://127.0.0.1:{}", ext.port),
            Secret::new("wrong-token-123"),
        );
        let err = client
            .get_secret("DATABASE_URL_SECRET_ARN", ARN)
            .await
            .unwrap_err();
        assert!(matches!(err, SecretsError::Refused { status: 401, .. }));
        assert!(!format!("{err} {err:?} {client:?}").contains("wrong-token-123"));
    }

    #[tokio::test]
    async fn malformed_answers_never_quote_the_value() {
        for body in [
            // Truncated JSON containing the secret.
            "{\"SecretString\":\"postgres://app:hunter2@h/".to_string(),
            // Wrong type: a typed deserialiser would quote it.
            "{\"SecretString\":[\"hunter2\"]}".to_string(),
            // Binary secret.
            "{\"SecretBinary\":\"aHVudGVyMg==\",\"SecretString\":null}".to_string(),
        ] {
            let ext = start(Script(vec![(200, body)])).await;
            let err = database_url_via_extension(ext.port).await.unwrap_err();
            assert!(matches!(err, SecretsError::Malformed { .. }), "{err}");
            assert!(!err.is_retryable());
            assert_no_leak(&err);
        }
        let ext = start(Script(vec![(200, ok_doc(" "))])).await;
        let err = database_url_via_extension(ext.port).await.unwrap_err();
        assert!(matches!(err, SecretsError::Empty { .. }), "{err}");
    }

    #[tokio::test]
    async fn unreachable_extension_is_retryable_and_names_the_variable() {
        // Bind then drop: nothing listens on that port any more.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let started = std::time::Instant::now();
        let err = database_url_via_extension(port).await.unwrap_err();
        assert!(matches!(err, SecretsError::Unreachable { .. }), "{err}");
        // Given up once the budget for a late extension is spent, not before.
        assert!(started.elapsed() >= UNREACHABLE_BUDGET - UNREACHABLE_DELAY_MAX);
        assert!(err.is_retryable());
        assert!(err.to_string().contains("DATABASE_URL_SECRET_ARN"));
        assert_no_leak(&err);
    }

    /// Lambda runs init as soon as the extension has registered; its HTTP server may start
    /// listening a moment later. Connections are refused until then, and the value is still
    /// fetched. (One second late against a five-second budget: not a tight bound.)
    #[tokio::test]
    async fn an_extension_that_starts_listening_late_is_waited_for() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            start_on(port, Script(vec![(200, ok_doc(VALUE))])).await
        });
        let got = database_url_via_extension(port).await.unwrap().unwrap();
        assert_eq!(got.expose(), VALUE);
        let ext = late.await.unwrap();
        assert_eq!(ext.hits.load(Ordering::SeqCst), 1);
        assert_eq!(ext.seen.lock().unwrap()[0].1.as_deref(), Some(TOKEN));
    }

    #[tokio::test]
    async fn configuration_errors_name_the_variable() {
        let no_token = [("DATABASE_URL_SECRET_ARN", ARN.to_string())];
        let err = resolve_database_url(&no_token).await.unwrap_err();
        assert!(matches!(err, SecretsError::MissingSessionToken { .. }));
        assert!(err.to_string().contains("DATABASE_URL_SECRET_ARN"));
        assert!(err.to_string().contains(SESSION_TOKEN_VAR));

        let mut bad_port = lambda_env(1);
        bad_port[1].1 = "27x3".to_string();
        let err = resolve_database_url(&bad_port).await.unwrap_err();
        assert!(err.to_string().contains(PORT_VAR), "{err}");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn overlay_serves_resolved_secrets_and_falls_back_to_the_environment() {
        let ext = start(Script(vec![(200, ok_doc("[{\"tenant\":\"acme\"}]"))])).await;
        let mut vars = lambda_env(ext.port);
        vars[0] = ("CVDW_TENANTS_SECRET_ARN", ARN.to_string());
        let overlay = EnvOverlay::resolve_with(
            env(&vars),
            &[
                ("CVDW_TENANTS", "CVDW_TENANTS_SECRET_ARN"),
                ("DATABASE_URL", "DATABASE_URL_SECRET_ARN"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            overlay.get("CVDW_TENANTS").as_deref(),
            Some("[{\"tenant\":\"acme\"}]")
        );
        assert!(overlay.secret("DATABASE_URL").is_none());
        // Not a secret: read from the real process environment (PATH is always set).
        assert_eq!(overlay.get("PATH"), std::env::var("PATH").ok());
        assert!(!format!("{overlay:?}").contains("acme"));
    }

    #[tokio::test]
    async fn require_names_both_variables() {
        // Neither variable is set in the test process for this made-up name.
        let err = require("CVDW_TEST_NEVER_SET", "CVDW_TEST_NEVER_SET_SECRET_ARN")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CVDW_TEST_NEVER_SET ") && text.contains("_SECRET_ARN"));
    }
}
