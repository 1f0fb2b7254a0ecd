//! The dashboard page and its assets, compiled into the binary (`include_str!`), so the function
//! serves everything itself: no CDN, works offline, builds from a fresh clone.
//!
//! Chart.js 4.6.1 (`shared/assets/chart.umd.min.js`, MIT, ~205 kB, ~70 kB gzipped) was taken
//! from the npm package `chart.js` (`dist/chart.umd.min.js`); its licence sits next to it.

use std::sync::Arc;

use axum::http::header::{self, HeaderName, HeaderValue};
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

/// The page's own headers: its policy, no framing or referrer, HTTPS only, no powerful
/// features, its own browsing context, and revalidation on every load (the assets it names are
/// versioned, the page is not).
const PAGE_HEADERS: [(HeaderName, &str); 7] = [
    (header::CONTENT_SECURITY_POLICY, CSP),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (header::CACHE_CONTROL, "no-cache"),
];

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
    for (name, value) in PAGE_HEADERS {
        h.insert(name, HeaderValue::from_static(value));
    }
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
