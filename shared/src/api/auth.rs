//! API keys and dashboard sessions.
//!
//! - Keys are configured as lowercase hex SHA-256 hashes (`API_KEY_HASHES`, comma-separated),
//!   so the function's configuration never holds a usable key. A request's key is hashed and
//!   compared with **every** configured hash with `subtle`'s constant-time equality (no early
//!   exit), so timing tells nothing about which bytes matched.
//! - The dashboard posts the key once to `/login` and receives a cookie
//!   `cvdw_session=v1.<expiry>.<mac>`: `mac = HMAC-SHA256(k, "v1.<expiry>")` with
//!   `k = SHA-256("cvdw-session" ‖ key hash ‖ SESSION_SECRET)`. The cookie holds neither the key
//!   nor its hash, expires after [`ApiConfig::session_ttl_secs`], and dies with the key (remove the
//!   hash and its sessions stop verifying). It is `HttpOnly; Secure; SameSite=Strict; Path=/`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::secret::Secret;

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
    key_hashes: Vec<[u8; 32]>,
    session_secret: Secret,
    pub session_ttl_secs: i64,
    pub cors_origins: Vec<String>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("keys", &self.key_hashes.len())
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

/// Hex SHA-256 of a key: what goes into `API_KEY_HASHES`.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl ApiConfig {
    /// `API_KEY_HASHES` (required, comma-separated hex SHA-256), `SESSION_SECRET` (optional,
    /// extra key material for session cookies), `SESSION_TTL_SECS` (default 43200),
    /// `CORS_ALLOW_ORIGINS` (optional, comma-separated exact origins; unset = CORS off).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`ApiConfig::from_env`] over any lookup (the api Lambda overlays secrets read at init).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let hashes = get("API_KEY_HASHES").ok_or_else(|| ConfigError {
            variable: "API_KEY_HASHES",
            reason: "is not set (comma-separated hex SHA-256 of the API keys)".into(),
        })?;
        let mut c = Self::from_hashes(&hashes)?;
        if let Some(s) = get("SESSION_SECRET") {
            c.session_secret = Secret::new(s);
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

    /// From a comma-separated list of hex SHA-256 hashes.
    pub fn from_hashes(list: &str) -> Result<Self, ConfigError> {
        let mut key_hashes = Vec::new();
        for (i, h) in list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let bytes = hex::decode(h)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| ConfigError {
                    variable: "API_KEY_HASHES",
                    reason: format!("entry {} is not 64 hex characters (a SHA-256)", i + 1),
                })?;
            let mut a = [0u8; 32];
            a.copy_from_slice(&bytes);
            key_hashes.push(a);
        }
        if key_hashes.is_empty() {
            return Err(ConfigError {
                variable: "API_KEY_HASHES",
                reason: "lists no key hash".into(),
            });
        }
        Ok(Self {
            key_hashes,
            session_secret: Secret::new(""),
            session_ttl_secs: 12 * 3600,
            cors_origins: Vec::new(),
        })
    }

    /// For tests and `cvdw serve --api-key`: configure the given plain keys.
    pub fn from_keys(keys: &[&str]) -> Self {
        let list: Vec<String> = keys.iter().map(|k| hash_key(k)).collect();
        // Non-empty hex hashes always parse.
        Self::from_hashes(&list.join(",")).unwrap_or_else(|_| Self {
            key_hashes: Vec::new(),
            session_secret: Secret::new(""),
            session_ttl_secs: 12 * 3600,
            cors_origins: Vec::new(),
        })
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

    /// Index of the configured key this key is, compared in constant time against all.
    pub fn check_key(&self, key: &str) -> Option<usize> {
        let h: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found: Option<usize> = None;
        for (i, k) in self.key_hashes.iter().enumerate() {
            if bool::from(k.ct_eq(&h)) && found.is_none() {
                found = Some(i);
            }
        }
        found
    }

    fn session_key(&self, i: usize) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"cvdw-session")
            .chain_update(self.key_hashes[i])
            .chain_update(self.session_secret.expose().as_bytes())
            .finalize()
            .into()
    }

    /// A session cookie value for key `i`, valid until `now + ttl`.
    pub fn session_value(&self, i: usize, now: i64) -> String {
        let exp = now + self.session_ttl_secs;
        let msg = format!("v1.{exp}");
        let mac = hmac_sha256(&self.session_key(i), msg.as_bytes());
        format!("{msg}.{}", hex::encode(mac))
    }

    /// Whether a cookie value is a live session of any configured key.
    pub fn check_session(&self, value: &str, now: i64) -> bool {
        let mut parts = value.splitn(3, '.');
        let (Some("v1"), Some(exp), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Ok(exp_n) = exp.parse::<i64>() else {
            return false;
        };
        let Some(mac) = hex::decode(mac).ok().filter(|m| m.len() == 32) else {
            return false;
        };
        let msg = format!("v1.{exp}");
        let mut ok = false;
        for i in 0..self.key_hashes.len() {
            let expect = hmac_sha256(&self.session_key(i), msg.as_bytes());
            ok |= bool::from(expect.ct_eq(mac.as_slice()));
        }
        ok && exp_n > now
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

/// HMAC-SHA256 (RFC 2104) over `sha2`, which the crate already uses.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
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

/// Whether a request carries a valid key or session.
pub fn is_authorized(config: &super::ApiConfig, headers: &axum::http::HeaderMap) -> bool {
    if let Some(key) = bearer(headers) {
        return config.check_key(key).is_some();
    }
    session_cookie(headers).is_some_and(|c| config.check_session(&c, now_unix()))
}

/// Middleware on every protected route.
pub async fn require_auth(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if is_authorized(&state.config, req.headers()) {
        next.run(req).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

#[derive(serde::Deserialize)]
pub struct Login {
    key: String,
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
    let key = Secret::new(login.key);
    let Some(i) = state.config.check_key(key.expose()) else {
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

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_and_sessions() {
        let c = ApiConfig::from_keys(&["alpha", "beta"]);
        assert_eq!(c.check_key("beta"), Some(1));
        assert_eq!(c.check_key("gamma"), None);
        let s = c.session_value(0, 1000);
        assert!(!s.contains("alpha") && !s.contains(&hash_key("alpha")));
        assert!(c.check_session(&s, 1001));
        assert!(!c.check_session(&s, 1000 + c.session_ttl_secs + 1));
        let forged = s.replace("v1.", "v1.9");
        assert!(!c.check_session(&forged, 1001));
        let other = ApiConfig::from_keys(&["delta"]);
        assert!(!other.check_session(&s, 1001));
        assert!(ApiConfig::from_hashes("zz").is_err());
        assert!(ApiConfig::from_hashes("").is_err());
        assert!(format!("{c:?}").contains("keys: 2"));
    }

    #[test]
    fn origins_are_validated() {
        assert!(parse_origins("https://bi.example.com, http://localhost:3000").is_ok());
        assert!(parse_origins("*").is_err());
        assert!(parse_origins("https://x.com/").is_err());
    }
}
