//! The local test hooks under `/_sim/` (never part of CVDW, no auth): advance the clock, read
//! the request counters, read the figures a dashboard must reproduce.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::parameters::parse_query;
use super::responses::json_response;
use crate::Simulator;

/// How far `POST /_sim/advance` moves the clock: `days`, `hours` and `minutes` add up (one
/// day when none of them parses).
fn advance_span(query: Option<&str>) -> Duration {
    let pairs = query.map(parse_query).unwrap_or_default();
    let units = [("days", 86_400u64), ("hours", 3_600), ("minutes", 60)];
    let given: Vec<u64> = units
        .iter()
        .filter_map(|(name, seconds)| {
            let count = pairs.get(*name)?.trim().parse::<u64>().ok()?;
            Some(count.saturating_mul(*seconds))
        })
        .collect();
    let total = if given.is_empty() {
        86_400
    } else {
        given
            .iter()
            .fold(0u64, |sum, seconds| sum.saturating_add(*seconds))
    };
    Duration::from_secs(total)
}

fn json_ok(value: &impl Serialize) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

pub(super) async fn advance_handler(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
) -> Response {
    let span = advance_span(query.as_deref());
    match tokio::task::spawn_blocking(move || sim.advance_by(span)).await {
        Ok(summary) => json_ok(&summary),
        Err(_) => json_response(StatusCode::INTERNAL_SERVER_ERROR, "{}"),
    }
}

pub(super) async fn aggregates_handler(State(sim): State<Simulator>) -> Response {
    json_ok(&sim.sales_aggregates())
}

pub(super) async fn stats_handler(State(sim): State<Simulator>) -> Response {
    json_ok(&sim.stats())
}
