//! Authentication: the API's configuration, API keys and session cookies on requests.
//!
//! - Keys ([`super::keys`]) are configured as SHA-256 hashes with their tenants and role
//!   (`API_KEYS`, or the older `API_KEY_HASHES`), so the function's configuration never holds a
//!   usable key. A request's key (`Authorization: Bearer`, else `X-Api-Key`) is hashed and
//!   compared with every configured hash in constant time.
//! - The dashboard posts the key once to `/login` and receives a session cookie
//!   ([`super::session`]): HMAC-signed with `SESSION_SECRET`, naming the key it was issued for
//!   by an opaque id, bounded by `SESSION_TTL_SECS`, revoked by raising `SESSION_EPOCH`, and
//!   `HttpOnly; Secure; SameSite=Strict; Path=/`.
//! - Every protected request carries the caller's [`Principal`] (key name, role, tenants) as a
//!   request extension; handlers enforce the tenants, and the access log names the key.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::keys::{self, ApiKey, Principal};
use super::session::{SessionKey, MIN_SECRET_BYTES};
use super::{ApiError, AppState};
use crate::secret::Secret;

pub use super::keys::hash_key;

pub const COOKIE: &str = "cvdw_session";

/// A configuration problem; names the variable, never its value.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

/// The API's settings, read once from the environment.
#[derive(Clone)]
pub struct ApiConfig {
    keys: Vec<ApiKey>,
    /// `keys[i]`'s session key id.
    key_ids: Vec<[u8; 8]>,
    session: SessionKey,
    pub session_ttl_secs: i64,
    pub cors_origins: Vec<String>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("keys", &self.keys.len())
            .field("session_epoch", &self.session.epoch)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

/// A fresh random session secret (64 hex characters, 32 bytes from the OS), for `cvdw serve`,
/// `cvdw demo` and tests: sessions then last as long as the process.
pub fn generate_session_secret() -> Result<Secret, ConfigError> {
    crate::secret::random_hex(32)
        .map(Secret::new)
        .map_err(|e| ConfigError {
            variable: "SESSION_SECRET",
            reason: format!("cannot generate one: {e}"),
        })
}

impl ApiConfig {
    /// `API_KEYS` (JSON list of scoped keys; a comma-separated hash list is read as
    /// `API_KEY_HASHES`) and/or `API_KEY_HASHES` (deprecated: all-tenant admin keys);
    /// `SESSION_SECRET` (required, at least 32 bytes); `SESSION_EPOCH` (default 0; raise it to
    /// revoke every session); `SESSION_TTL_SECS` (default 43200); `CORS_ALLOW_ORIGINS`
    /// (optional, comma-separated exact origins; unset = CORS off).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`ApiConfig::from_env`] over any lookup (the api Lambda overlays secrets read at init).
    /// Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut keys = Vec::new();
        if let Some(v) = get("API_KEYS") {
            if v.trim_start().starts_with('[') {
                keys.extend(keys::parse_key_list("API_KEYS", &v)?);
            } else {
                keys.extend(keys::parse_hash_list("API_KEYS", &v)?);
            }
        }
        if let Some(v) = get("API_KEY_HASHES") {
            tracing::warn!(
                "API_KEY_HASHES is deprecated: its keys read every tenant as admin; \
                 move them to API_KEYS with tenants and a role (docs/security.md)"
            );
            keys.extend(keys::parse_hash_list("API_KEY_HASHES", &v)?);
        }
        if keys.is_empty() {
            return Err(ConfigError {
                variable: "API_KEYS",
                reason: "is not set (a JSON list of {sha256, tenants, role, name}; \
                         or API_KEY_HASHES, comma-separated hex SHA-256)"
                    .into(),
            });
        }
        let secret = get("SESSION_SECRET").map(Secret::new).ok_or(ConfigError {
            variable: "SESSION_SECRET",
            reason: "is not set (at least 32 random bytes; SESSION_SECRET_ARN in AWS)".into(),
        })?;
        let mut c = Self::build(keys, secret)?;
        if let Some(s) = get("SESSION_EPOCH") {
            c.session.epoch = s.trim().parse::<u64>().map_err(|_| ConfigError {
                variable: "SESSION_EPOCH",
                reason: "must be a non-negative integer".into(),
            })?;
        }
        if let Some(s) = get("SESSION_TTL_SECS") {
            c.session_ttl_secs = s
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (60..=30 * 86_400).contains(n))
                .ok_or_else(|| ConfigError {
                    variable: "SESSION_TTL_SECS",
                    reason: "must be a number of seconds from 60 to 2592000".into(),
                })?;
        }
        if let Some(s) = get("CORS_ALLOW_ORIGINS") {
            c.cors_origins = parse_origins(&s)?;
        }
        Ok(c)
    }

    fn build(keys: Vec<ApiKey>, secret: Secret) -> Result<Self, ConfigError> {
        if secret.expose().len() < MIN_SECRET_BYTES {
            return Err(ConfigError {
                variable: "SESSION_SECRET",
                reason: format!(
                    "is shorter than {MIN_SECRET_BYTES} bytes; generate one with `openssl rand -hex 32`"
                ),
            });
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.hash == k.hash) {
                return Err(ConfigError {
                    variable: "API_KEYS",
                    reason: format!("key {} ({}) is configured twice", i + 1, k.principal.name),
                });
            }
        }
        let session = SessionKey::new(secret, 0);
        let key_ids = keys.iter().map(|k| session.key_id(&k.hash)).collect();
        Ok(Self {
            keys,
            key_ids,
            session,
            session_ttl_secs: 12 * 3600,
            cors_origins: Vec::new(),
        })
    }

    /// Plain keys for local use (`cvdw serve --api-key`, `CVDW_API_KEY`): refused when empty or
    /// shorter than 128 bits; all-tenant admin keys, with the given session secret.
    pub fn from_plain_keys(
        variable: &'static str,
        keys: &[&str],
        session_secret: Secret,
    ) -> Result<Self, ConfigError> {
        Self::build(keys::plain_keys(variable, keys)?, session_secret)
    }

    /// For tests: the given plain keys (no length rule) as all-tenant admin keys, and a fresh
    /// random session secret.
    pub fn from_keys(keys: &[&str]) -> Self {
        let list = keys
            .iter()
            .enumerate()
            .map(|(i, k)| keys::unchecked_plain(i, k))
            .collect();
        let secret = generate_session_secret()
            .unwrap_or_else(|_| Secret::new("cvdw-test-session-secret-when-the-os-has-none"));
        Self::build(list, secret).unwrap_or_else(|e| panic!("test key configuration: {e}"))
    }

    /// For tests: the keys of an `API_KEYS` JSON document and a fresh random session secret.
    pub fn from_key_list(json: &str) -> Result<Self, ConfigError> {
        Self::build(
            keys::parse_key_list("API_KEYS", json)?,
            generate_session_secret()?,
        )
    }

    /// Apply `CORS_ALLOW_ORIGINS` from the environment, if set.
    pub fn with_env_cors(mut self) -> Result<Self, ConfigError> {
        if let Ok(s) = std::env::var("CORS_ALLOW_ORIGINS") {
            self.cors_origins = parse_origins(&s)?;
        }
        Ok(self)
    }

    pub fn with_cors_origins(mut self, origins: Vec<String>) -> Self {
        self.cors_origins = origins;
        self
    }

    pub fn with_session_epoch(mut self, epoch: u64) -> Self {
        self.session.epoch = epoch;
        self
    }

    /// Index of the configured key this key is, compared in constant time against all.
    pub fn check_key(&self, key: &str) -> Option<usize> {
        keys::find(&self.keys, key)
    }

    /// What key `i` may read.
    pub fn principal(&self, i: usize) -> Option<&Principal> {
        self.keys.get(i).map(|k| &k.principal)
    }

    /// A session cookie value for key `i`, valid until `now + ttl`.
    pub fn session_value(&self, i: usize, now: i64) -> String {
        self.session_value_until(i, now + self.session_ttl_secs)
    }

    /// A session cookie value for key `i` with any expiry (tests prove that one beyond
    /// now + TTL is refused).
    pub fn session_value_until(&self, i: usize, exp: i64) -> String {
        let kid = self.key_ids.get(i).copied().unwrap_or_default();
        self.session.sign(&kid, exp)
    }

    /// The key a cookie value is a live session of.
    pub fn check_session(&self, value: &str, now: i64) -> Option<usize> {
        let kid = self.session.verify(value, now, self.session_ttl_secs)?;
        self.key_ids.iter().position(|k| *k == kid)
    }

    pub(crate) fn cors_layer(&self) -> Option<tower_http::cors::CorsLayer> {
        if self.cors_origins.is_empty() {
            return None;
        }
        let origins: Vec<HeaderValue> = self
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        let (methods, headers) = super::cors_parts();
        Some(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods(methods)
                .allow_headers(headers)
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

fn parse_origins(s: &str) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for o in s.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let valid = (o.starts_with("https://") || o.starts_with("http://"))
            && !o.ends_with('/')
            && !o.contains('*')
            && HeaderValue::from_str(o).is_ok();
        if !valid {
            return Err(ConfigError {
                variable: "CORS_ALLOW_ORIGINS",
                reason: format!(
                    "`{o}` is not an origin like https://bi.example.com (no path, no wildcard)"
                ),
            });
        }
        out.push(o.to_string());
    }
    Ok(out)
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The header that carries the key when `Authorization` cannot: behind a function URL with
/// `AuthType: AWS_IAM`, SigV4 itself is the `Authorization` header.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The presented key: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`.
fn bearer(req_headers: &axum::http::HeaderMap) -> Option<&str> {
    let from_authorization = req_headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()));
    from_authorization.or_else(|| {
        req_headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    })
}

fn session_cookie(req_headers: &axum::http::HeaderMap) -> Option<String> {
    for v in req_headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k == COOKIE {
                    return Some(val.to_string());
                }
            }
        }
    }
    None
}

/// The caller of a request: a valid key, else a live session cookie. A request that presents
/// a key is judged by the key alone (a wrong key is not rescued by a cookie).
pub fn authenticate(config: &ApiConfig, headers: &axum::http::HeaderMap) -> Option<Principal> {
    let i = match bearer(headers) {
        Some(key) => config.check_key(key)?,
        None => config.check_session(&session_cookie(headers)?, now_unix())?,
    };
    config.principal(i).cloned()
}

/// Whether a request carries a valid key or session.
pub fn is_authorized(config: &ApiConfig, headers: &axum::http::HeaderMap) -> bool {
    authenticate(config, headers).is_some()
}

/// Middleware on every protected route: the [`Principal`] goes into the request's extensions
/// for the handlers, and into the response's for the access log.
pub async fn require_auth(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    match authenticate(&state.config, req.headers()) {
        Some(p) => {
            req.extensions_mut().insert(p.clone());
            let mut r = next.run(req).await;
            r.extensions_mut().insert(p);
            r
        }
        None => ApiError::Unauthorized.into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct Login {
    key: Secret,
}

/// `POST /login` with `{"key": "..."}` → 204 and the session cookie, or 401.
pub async fn login(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(login)) = body else {
        return ApiError::BadParam(crate::analytics::bad(
            "key",
            "send a JSON body {\"key\": \"<API key>\"}",
        ))
        .into_response();
    };
    let Some(i) = state.config.check_key(login.key.expose()) else {
        return ApiError::Unauthorized.into_response();
    };
    let value = state.config.session_value(i, now_unix());
    let cookie = format!(
        "{COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        state.config.session_ttl_secs
    );
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(p) = state.config.principal(i) {
        r.extensions_mut().insert(p.clone());
    }
    r
}

/// `POST /logout` → 204 and an expired cookie.
pub async fn logout() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "cvdw_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
        ),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-session-secret-of-at-least-32-bytes-0000";

    #[test]
    fn keys_and_sessions() {
        let c = ApiConfig::from_keys(&["alpha", "beta"]);
        assert_eq!(c.check_key("beta"), Some(1));
        assert_eq!(c.check_key("gamma"), None);
        let s = c.session_value(1, 1000);
        assert!(!s.contains("alpha") && !s.contains(&hash_key("beta")));
        assert_eq!(c.check_session(&s, 1001), Some(1));
        assert_eq!(c.check_session(&s, 1000 + c.session_ttl_secs + 1), None);
        let other = ApiConfig::from_keys(&["beta"]);
        assert_eq!(
            other.check_session(&s, 1001),
            None,
            "another session secret"
        );
        assert!(format!("{c:?}").contains("keys: 2"));
    }

    #[test]
    fn the_session_secret_is_required_and_long() {
        let h = hash_key("0123456789abcdef0123456789abcdef");
        let e = ApiConfig::from_lookup(|k| (k == "API_KEY_HASHES").then(|| h.clone())).unwrap_err();
        assert_eq!(e.variable, "SESSION_SECRET");
        let e = ApiConfig::from_lookup(|k| match k {
            "API_KEY_HASHES" => Some(h.clone()),
            "SESSION_SECRET" => Some("short".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(e.to_string().contains("shorter") && !e.to_string().contains("short\""));
        let c = ApiConfig::from_lookup(|k| match k {
            "API_KEYS" => Some(h.clone()),
            "SESSION_SECRET" => Some(SECRET.into()),
            "SESSION_EPOCH" => Some("2".into()),
            _ => None,
        })
        .unwrap();
        assert!(!format!("{c:?}").contains(SECRET));
        assert!(c.principal(0).is_some_and(|p| p.is_admin()));
        let e =
            ApiConfig::from_lookup(|k| (k == "SESSION_SECRET").then(|| SECRET.into())).unwrap_err();
        assert_eq!(e.variable, "API_KEYS");
    }

    #[test]
    fn origins_are_validated() {
        assert!(parse_origins("https://bi.example.com, http://localhost:3000").is_ok());
        assert!(parse_origins("*").is_err());
        assert!(parse_origins("https://x.com/").is_err());
    }
}
