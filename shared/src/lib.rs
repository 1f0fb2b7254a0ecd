//! # cvdw-etl domain library
//!
//! Everything the three Lambdas, the `cvdw` command and the tests share lives here, so that
//! no piece of logic is written twice. Binaries only parse their input, call into this crate
//! and map errors to their edge (a Lambda response, an exit code).
//!
//! ## Module map
//! - [`catalogue`]: the 70 CVDW objects and their natural keys.
//! - `identity`: the key of a row whose ids are missing or name a group (derived keys).
//! - [`values`]: CVDW value rules (zero dates, `'S'/'N'`, numbers sent as strings).
//! - [`secret`]: a wrapper that keeps tokens and passwords out of logs and `Debug`.
//! - [`landing`]: the S3 landing-zone layout — the contract between extract and load.
//! - `cvdw`: the CVDW HTTP client, its pacer and lenient envelope parsing.
//! - `secrets`: secrets resolved at init (Secrets Manager through the Lambda extension, or a plain variable).
//! - `store`: the object-store seam (S3 and test stand-ins).
//! - `extract`: incremental/full extraction runs, cursors, state, locks, continuations.
//! - `db`: Postgres connections (TLS) and migrations.
//! - `load`: the idempotent, order-proof page loader.
//! - `telemetry`: tracing set-up (JSON in Lambda) and run ids.
//! - `lambda_failure`: a handler's error and the Retryable/Permanent class Lambda records (feature `lambda`).
//! - `api`: the HTTP API and dashboard router (feature `api`).
//!
//! The I/O modules sit behind the default `runtime` feature; the simulator builds the pure
//! half only.

pub mod catalogue;
pub mod clock;
pub mod emf;
pub mod identity;
pub mod landing;
pub mod secret;
pub mod values;

#[cfg(feature = "runtime")]
pub mod analytics;
#[cfg(feature = "api")]
pub mod api;
#[cfg(feature = "runtime")]
pub mod cvdw;
#[cfg(feature = "runtime")]
pub mod db;
#[cfg(feature = "runtime")]
pub mod extract;
#[cfg(feature = "lambda")]
pub mod lambda_failure;
#[cfg(feature = "runtime")]
pub mod load;
#[cfg(feature = "local-s3")]
pub mod local_s3;
#[cfg(feature = "runtime")]
pub mod secrets;
#[cfg(feature = "runtime")]
pub mod store;
#[cfg(feature = "runtime")]
pub mod telemetry;
