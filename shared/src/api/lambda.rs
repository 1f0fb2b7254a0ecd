//! The api Lambda's start-up: configuration and secrets resolved once, the database handle
//! created, the router built. `functions/api` hands the router to `lambda_http::run`; the
//! secrets-in-logs test (cli/tests/integration/lambda_logs.rs) runs the same router through the same
//! runtime against a fake Runtime API.

use std::sync::Arc;

use axum::Router;

use super::{router, ApiConfig, AppState, ConfigError, Database};
use crate::db::{DbConfig, DbError};
use crate::secrets::{EnvOverlay, SecretsError};

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The secrets the api reads: each plain variable, or in AWS the Secrets Manager ARN next to it.
/// `API_KEYS_SECRET_ARN` may hold the `API_KEYS` JSON or (older deployments) a hash list.
pub const SECRETS: &[(&str, &str)] = &[
    ("API_KEYS", "API_KEYS_SECRET_ARN"),
    ("SESSION_SECRET", "SESSION_SECRET_ARN"),
    ("DATABASE_URL", "DATABASE_URL_SECRET_ARN"),
];

/// Resolve the configuration from the environment and build the router. The connection is
/// opened here when it can be; otherwise on the first request (`/health` answers 503 until then).
pub async fn app_from_env() -> Result<Router, InitError> {
    let env = EnvOverlay::resolve(SECRETS).await?;
    let config = ApiConfig::from_lookup(|k| env.get(k))?;
    let url = env.secret("DATABASE_URL").cloned().or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .map(crate::secret::Secret::new)
    });
    let url = url.ok_or_else(|| {
        DbError::Config("DATABASE_URL (or DATABASE_URL_SECRET_ARN) is not set".into())
    })?;
    // Refuses an sslmode weaker than `require` in Lambda.
    let db_config = DbConfig::from_url(url.expose())
        .map_err(|e| DbError::Config(format!("DATABASE_URL: {e}")))?;
    let state = Arc::new(AppState::new(
        Database::new(super::connect_with(db_config)),
        config,
    ));
    if let Err(e) = state.db.warm_up().await {
        tracing::warn!(error = %e, "database not reachable at init; will retry per request");
    }
    Ok(router(state))
}
