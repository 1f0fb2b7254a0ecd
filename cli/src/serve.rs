//! `cvdw serve --port 3000`: the API and the dashboard on a local port — the same router
//! (`shared::api::router`) the api Lambda runs, so nothing is written twice.
//!
//! Configuration is the Lambda's (`DATABASE_URL`, `API_KEYS`, `SESSION_SECRET`,
//! `CORS_ALLOW_ORIGINS`...); for a local demo `--api-key` (or `CVDW_API_KEY`) configures a plain
//! key (at least 32 characters) instead of hashes. Without `SESSION_SECRET` a random one is
//! generated per start, so sessions end with the process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use shared::api::{self, ApiConfig, AppState, Database};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Address to bind (default loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// A plain API key for local use (hashed in memory; at least 32 characters). Without it,
    /// `API_KEYS` (or `API_KEY_HASHES`) is required.
    #[arg(long, env = "CVDW_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Database connections at most (opened on demand; concurrent requests run in parallel).
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = api::DEFAULT_POOL_SIZE)]
    pub db_pool_size: usize,
}

/// Build the state from flags and environment.
pub fn state(args: &ServeArgs) -> anyhow::Result<Arc<AppState>> {
    let generated = api::generate_session_secret()?;
    let config = match &args.api_key {
        Some(k) => {
            let secret = std::env::var("SESSION_SECRET")
                .ok()
                .filter(|s| !s.is_empty())
                .map(shared::secret::Secret::new)
                .unwrap_or(generated);
            ApiConfig::from_plain_keys("CVDW_API_KEY", &[k.as_str()], secret)?.with_env_cors()?
        }
        None => ApiConfig::from_lookup(|k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| (k == "SESSION_SECRET").then(|| generated.expose().to_string()))
        })?,
    };
    Ok(Arc::new(AppState::new(
        Database::with_pool_size(
            api::connect_with(shared::db::DbConfig::from_url(&args.database_url)?),
            args.db_pool_size,
        ),
        config,
    )))
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    shared::telemetry::init(shared::telemetry::LogFormat::Pretty);
    shared::store::install_crypto_provider();
    let state = state(&args)?;
    if let Err(e) = state.db.warm_up().await {
        tracing::warn!(error = %e, "database not reachable yet; /health will say so");
    }
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    println!(
        "cvdw serve: dashboard at http://{local}/  (API under /api, OpenAPI at /openapi.json)"
    );
    api::serve(listener, api::router(state)).await?;
    Ok(())
}
