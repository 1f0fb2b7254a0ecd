//! What a caller may read: the tenants of its key, enforced on every endpoint, and the cached
//! answer of `/health`.
//!
//! A request naming a tenant outside the key's set is refused (403) before any query runs. An
//! unfiltered request is answered per tenant of the key and concatenated, which is exactly the
//! unfiltered answer restricted to those tenants because every metric groups by tenant first
//! (the paged `tabela-geral`, whose paging cannot be split, asks such a key to choose one).

use std::time::{Duration, Instant};

use axum::response::Response;

use super::keys::{Principal, Tenants};
use super::{ApiError, AppState};
use crate::analytics::{self, Freshness};

/// The tenant filters to run a request under: `[None]` (all tenants) only for an all-tenant
/// key without a filter; otherwise one entry per tenant of the key (or the one asked for).
pub fn tenants_for(
    caller: &Principal,
    requested: Option<&str>,
) -> Result<Vec<Option<String>>, ApiError> {
    match (requested, &caller.tenants) {
        (Some(t), tenants) if tenants.allows(t) => Ok(vec![Some(t.to_string())]),
        (Some(_), _) => Err(ApiError::Forbidden("this key may not read that tenant")),
        (None, Tenants::All) => Ok(vec![None]),
        (None, Tenants::Only(list)) => Ok(list.iter().cloned().map(Some).collect()),
    }
}

/// Which tenants a response covers, for the access log.
#[derive(Debug, Clone)]
pub struct Served(pub String);

pub fn mark_served(r: &mut Response, tenants: &[Option<String>]) {
    let text = tenants
        .iter()
        .map(|t| t.as_deref().unwrap_or("*"))
        .collect::<Vec<_>>()
        .join(",");
    r.extensions_mut().insert(Served(text));
}

/// How long a `/health` answer is reused: unauthenticated callers can poll as fast as they like
/// and the database still sees at most one cheap query per period.
const HEALTH_TTL: Duration = Duration::from_secs(5);
/// A health query that takes longer than this counts as "down".
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// An answer and when it was taken.
type Cached<T> = tokio::sync::Mutex<Option<(Instant, Result<T, String>)>>;

/// The last answers of the two health queries.
#[derive(Default)]
pub(crate) struct HealthCache {
    up: Cached<()>,
    fresh: Cached<Vec<Freshness>>,
}

/// `Ok(None)`: up (no caller, so no tenants); `Ok(Some(..))`: up, with the freshness of the
/// caller's tenants; `Err`: down. Without a caller only `SELECT 1` runs; with one, the
/// per-tenant freshness (cached for every caller, then cut to the caller's tenants).
pub(crate) async fn health(
    state: &AppState,
    caller: Option<&Principal>,
) -> Result<Option<Vec<Freshness>>, String> {
    let Some(caller) = caller else {
        let mut up = state.health.up.lock().await;
        if let Some((at, r)) = up.as_ref() {
            if at.elapsed() < HEALTH_TTL {
                return r.clone().map(|()| None);
            }
        }
        let r = bounded(async {
            let c = state.db.client().await?;
            c.query_typed_one("SELECT 1", &[]).await?;
            Ok(())
        })
        .await;
        *up = Some((Instant::now(), r.clone()));
        return r.map(|()| None);
    };
    let mut fresh = state.health.fresh.lock().await;
    let all = match fresh.as_ref() {
        Some((at, r)) if at.elapsed() < HEALTH_TTL => r.clone(),
        _ => {
            let r = bounded(async {
                let c = state.db.client().await?;
                Ok(analytics::freshness(&c).await?)
            })
            .await;
            *fresh = Some((Instant::now(), r.clone()));
            r
        }
    }?;
    Ok(Some(
        all.into_iter()
            .filter(|f| caller.tenants.allows(&f.tenant))
            .collect(),
    ))
}

async fn bounded<T>(
    f: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, String> {
    match tokio::time::timeout(HEALTH_TIMEOUT, f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", HEALTH_TIMEOUT.as_secs())),
    }
}
