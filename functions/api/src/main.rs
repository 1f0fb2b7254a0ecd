//! The api Lambda: `shared::api::router` behind a function URL, via `lambda_http::run`.
//! The configuration and the database handle are built once per container (at init); the
//! connection opens at init when it can and is re-opened on demand when found closed.

use std::sync::Arc;

use shared::api::{self, ApiConfig, AppState, Database};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init_for_lambda();
    shared::store::install_crypto_provider();
    // In AWS the key hashes and DATABASE_URL come from Secrets Manager (`*_SECRET_ARN`), read
    // once here; locally, the plain variables.
    let env = shared::secrets::EnvOverlay::resolve(&[
        ("API_KEY_HASHES", "API_KEYS_SECRET_ARN"),
        ("DATABASE_URL", "DATABASE_URL_SECRET_ARN"),
    ])
    .await?;
    let config = ApiConfig::from_lookup(|k| env.get(k))?;
    let url = env
        .get("DATABASE_URL")
        .ok_or("DATABASE_URL (or DATABASE_URL_SECRET_ARN) is not set")?;
    let db_config = shared::db::DbConfig::from_url(&url)?;
    let state = Arc::new(AppState {
        db: Database::new(api::connect_with(db_config)),
        config,
    });
    if let Err(e) = state.db.warm_up().await {
        tracing::warn!(error = %e, "database not reachable at init; will retry per request");
    }
    lambda_http::run(api::router(state)).await
}
