//! The dashboard page and its assets, compiled into the binary (`include_str!`), so the function
//! serves everything itself: no CDN, works offline, builds from a fresh clone.
//!
//! Chart.js 4.6.1 (`shared/assets/chart.umd.min.js`, MIT, ~205 kB, ~70 kB gzipped) was taken
//! from the npm package `chart.js` (`dist/chart.umd.min.js`); its licence sits next to it.

use std::sync::Arc;

use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{AppState, VERSION};

const INDEX: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const APP_CSS: &str = include_str!("../../assets/app.css");
const CHART_JS: &str = include_str!("../../assets/chart.umd.min.js");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

/// The Content-Security-Policy of the page: only its own scripts, styles and API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route(
            "/assets/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/assets/app.css",
            get(|| asset(APP_CSS, "text/css; charset=utf-8")),
        )
        .route(
            "/assets/favicon.svg",
            get(|| asset(FAVICON, "image/svg+xml")),
        )
        .route(
            "/assets/chart.umd.min.js",
            get(|| asset(CHART_JS, "text/javascript; charset=utf-8")),
        )
}

async fn index() -> Response {
    // Asset URLs carry the version, so the assets can be cached for long.
    let html = INDEX.replace("{{VERSION}}", VERSION);
    let mut r = axum::response::Html(html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}
