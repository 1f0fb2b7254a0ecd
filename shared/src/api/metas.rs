//! `PUT /api/metas`: replace monthly goals from a body in the metas CSV format
//! ([`crate::analytics::metas`]). Admin keys only (a viewer gets 403), and only for the key's
//! own tenants (403 for any other); a bad file is a 400 listing every bad line by number, and
//! changes nothing. Reading goals against sales is the `metas` metric (`GET /api/metas`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{no_store, scope, ApiError, AppState, Principal};
use crate::analytics::metas;

pub async fn put(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("goals are set with an admin key"));
    }
    let goals = match metas::parse(&body) {
        Ok(goals) => goals,
        Err(lines) => {
            let lines: Vec<_> = lines
                .iter()
                .map(|l| json!({"line": l.line, "reason": l.reason}))
                .collect();
            let mut r = (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid goals; nothing was changed", "lines": lines})),
            )
                .into_response();
            no_store(r.headers_mut());
            return Ok(r);
        }
    };
    let mut tenants: Vec<&str> = goals.iter().map(|g| g.tenant.as_str()).collect();
    tenants.dedup();
    for tenant in tenants {
        scope::tenants_for(&caller, Some(tenant))?;
    }
    let client = state.db.client().await?;
    metas::write(&client, &goals).await?;
    let mut r = Json(json!({"written": goals.len()})).into_response();
    no_store(r.headers_mut());
    Ok(r)
}
