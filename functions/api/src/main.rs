//! The api Lambda: `shared::api::router` behind a function URL, via `lambda_http::run`.
//! The configuration, secrets and database handle are built once per container, at init
//! (`shared::api::lambda::app_from_env`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init_for_lambda();
    shared::store::install_crypto_provider();
    let app = shared::api::lambda::app_from_env().await?;
    lambda_http::run(app).await
}
