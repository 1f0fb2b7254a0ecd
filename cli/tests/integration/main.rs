//! The integration tests: one binary, a module per area, the helpers in one place.
//!
//! They test `shared`, the simulator and the `cvdw` binary through the real parts: PostgreSQL
//! (each test creates its own database), the simulator over HTTP, S3 over the S3 protocol (the
//! in-process server), and `cvdw` itself where a user would run it (`CARGO_BIN_EXE_cvdw`, which
//! is why they live in the cli package). A test that must own the process (its environment, a
//! global logger) runs itself in a child process of this binary (`lambda_logs`).
//!
//! Run one area with `cargo test -p cvdw --test integration <area>::`.

// Helpers shared by the areas.
mod api_support;
mod load_support;
mod pg_cluster;

// The pipeline, stage by stage.
mod bad_input;
mod chaos;
mod deletion_evidence;
mod extract;
mod load_db;
mod load_event;
mod load_s3;
mod load_sim;
mod row_identity;

// The api and the dashboard.
mod api_cockpit;
mod api_export;
mod api_funil;
mod api_http;
mod api_metas;
mod api_sales_people;
mod api_sales_people_cards;
mod api_scope;
mod api_views;
mod browser_dashboard;

// Security at the edges.
mod lambda_logs;
mod security;
mod security_edges;

// The simulator.
mod simulator_http;
mod simulator_profiles;

// The cli, the deployment.
mod demo;
mod infra_template;
mod pg_local;
mod sample_events;
