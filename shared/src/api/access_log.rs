//! One access-log line per API request: method, path, status, latency, the tenants served and
//! the key's configured `name`. Never the key, the cookie or the query string (the path is
//! enough to know the endpoint, and a query could carry anything a client typed).

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::keys::Principal;
use super::scope::Served;

/// Middleware around the whole router.
pub async fn layer(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let r = next.run(req).await;
    let key = r
        .extensions()
        .get::<Principal>()
        .map(|p| p.name.as_str())
        .unwrap_or("-");
    let tenant = r
        .extensions()
        .get::<Served>()
        .map(|s| s.0.as_str())
        .unwrap_or("-");
    tracing::info!(
        target: "cvdw::access",
        method = %method,
        path = %path,
        status = r.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        tenant,
        key,
        "request"
    );
    r
}
