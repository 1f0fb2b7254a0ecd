//! `/api/v1/cvdw/{object}`: the handler of every object route. Check order: route and
//! method (405), credentials and the deny list (401), a scripted fault, the rate limit (429),
//! a random fault, the parameters (400), then the page.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use shared::catalogue::OBJECTS;

use super::listener::KillSwitch;
use super::parameters::{json_body, parse_query};
use super::responses::{
    html_500, json_response, method_not_allowed, too_many, UNAUTHORIZED_BODY, UNPROCESSABLE_BODY,
};
use crate::{Fault, Simulator};

/// A request header as text (`""` when absent or not text).
fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

pub(super) async fn object_handler(
    State(sim): State<Simulator>,
    ConnectInfo(kill): ConnectInfo<KillSwitch>,
    method: Method,
    Path(path): Path<String>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full_path = format!("/{path}");
    let Some(spec) = OBJECTS.iter().find(|object| object.path == full_path) else {
        return method_not_allowed();
    };
    if method != Method::GET {
        return method_not_allowed();
    }
    sim.inner.requests.fetch_add(1, Ordering::Relaxed);
    let cfg = &sim.inner.cfg;
    let email = header(&headers, "email");
    if email != cfg.email || header(&headers, "token") != cfg.token || sim.denied(spec) {
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
    if let Some(fault) = fault {
        tracing::debug!(?fault, object = spec.path, "injecting fault");
        if let Some(response) = sim.inject(fault, &kill).await {
            return response;
        }
    }
    let query = raw_query.as_deref().map(parse_query).unwrap_or_default();
    let json_body = json_body(&body);
    let builder = sim.clone();
    let built = tokio::task::spawn_blocking(move || builder.page(spec, &query, &json_body)).await;
    let bytes = match built {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(response)) => return *response,
        Err(_) => return html_500(),
    };
    sim.inner.pages.fetch_add(1, Ordering::Relaxed);
    if fault == Some(Fault::TruncatedBody) {
        let cut = (bytes.len() / 2).max(1).min(bytes.len());
        return json_response(StatusCode::OK, bytes[..cut].to_vec());
    }
    json_response(StatusCode::OK, bytes)
}

impl Simulator {
    /// Count `fault` and answer with it; `None` when the page is still served (after the
    /// delay of [`Fault::Slow`], or cut by [`Fault::TruncatedBody`]).
    async fn inject(&self, fault: Fault, kill: &KillSwitch) -> Option<Response> {
        self.inner.faults.fetch_add(1, Ordering::Relaxed);
        if let Some(kind) = Fault::ALL.iter().position(|known| *known == fault) {
            self.inner.faults_by_kind[kind].fetch_add(1, Ordering::Relaxed);
        }
        match fault {
            Fault::TooManyRequests => Some(too_many(StatusCode::TOO_MANY_REQUESTS)),
            Fault::TooManyRequestsBody200 => Some(too_many(StatusCode::OK)),
            Fault::Html500 => Some(html_500()),
            Fault::Unprocessable422 => Some(json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                UNPROCESSABLE_BODY,
            )),
            Fault::ConnectionReset => {
                kill.kill();
                Some(json_response(StatusCode::OK, "{}"))
            }
            Fault::Slow => {
                tokio::time::sleep(self.inner.cfg.slow_delay).await;
                None
            }
            Fault::TruncatedBody => None,
        }
    }
}
