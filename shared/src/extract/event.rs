//! What arrives at the extract function, typed: the schedule's payload, a manual invocation, or
//! a continuation the function sent itself. The Lambda, `cvdw` and the tests parse payloads
//! with [`ExtractEvent::from_json`], so a sample in `events/` that parses here is one the
//! function accepts.
//!
//! Shapes (see `events/extract-*.json`):
//! - `{"trigger":"schedule"}`: the template's EventBridge Scheduler `Input`;
//! - `{"full": true}` / `{"full": false}` / `{}`: a manual run, `full` forcing a full pass of
//!   every object (a backfill, as docs/deploy.md sends it);
//! - `{"cvdw_continuation": {"tenant", "run_id"}}`: a hand-over before the deadline.
//!
//! Anything else (an unknown field, a wrong type, a continuation with other fields) is an
//! [`EventError`], which is permanent: the same payload fails the same way on every retry.

use super::record::{ContinuationEvent, ContinuationTarget};
use serde::Deserialize;

/// One extract invocation's payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Wire")]
pub enum ExtractEvent {
    /// The schedule's `{"trigger":"schedule"}`: an ordinary run.
    Scheduled,
    /// Invoked by hand; `full` forces full passes.
    Manual { full: bool },
    /// Resume the named tenant's run.
    Continuation(ContinuationTarget),
}

/// The payload is none of the shapes the extract function accepts.
#[derive(Debug, thiserror::Error)]
#[error("not an extract event: {reason} (expected {{\"trigger\":\"schedule\"}}, {{\"full\": true}} or {{\"cvdw_continuation\": {{\"tenant\", \"run_id\"}}}})")]
pub struct EventError {
    pub reason: String,
}

impl EventError {
    /// The payload is what it is; sending it again fails the same way.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Every field any shape may carry; [`ExtractEvent`]'s `TryFrom` says which combinations are
/// a shape. Unknown fields are refused by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    trigger: Option<String>,
    full: Option<bool>,
    cvdw_continuation: Option<ContinuationTarget>,
}

impl TryFrom<Wire> for ExtractEvent {
    type Error = String;

    fn try_from(wire: Wire) -> Result<Self, String> {
        match wire {
            Wire {
                cvdw_continuation: Some(target),
                trigger: None,
                full: None,
            } => Ok(ExtractEvent::Continuation(target)),
            Wire {
                cvdw_continuation: Some(_),
                ..
            } => Err("a continuation carries no `trigger` or `full`".into()),
            Wire {
                trigger: Some(trigger),
                full: None,
                ..
            } if trigger == "schedule" => Ok(ExtractEvent::Scheduled),
            Wire {
                trigger: Some(trigger),
                full: None,
                ..
            } => Err(format!(
                "unknown `trigger` {trigger:?} (the schedule sends \"schedule\")"
            )),
            Wire {
                trigger: Some(_),
                full: Some(_),
                ..
            } => {
                Err("`trigger` and `full` together (a full run is `{\"full\": true}` alone)".into())
            }
            Wire {
                trigger: None,
                full,
                ..
            } => Ok(ExtractEvent::Manual {
                full: full.unwrap_or(false),
            }),
        }
    }
}

impl ExtractEvent {
    /// Parse a payload as the function receives it.
    pub fn from_json(payload: serde_json::Value) -> Result<Self, EventError> {
        serde_json::from_value(payload).map_err(|e| EventError {
            reason: e.to_string(),
        })
    }

    /// The continuation to resume, if this is one.
    pub fn continuation(&self) -> Option<ContinuationEvent> {
        match self {
            ExtractEvent::Continuation(target) => Some(ContinuationEvent {
                cvdw_continuation: target.clone(),
            }),
            ExtractEvent::Scheduled | ExtractEvent::Manual { .. } => None,
        }
    }

    /// Whether every object gets a full pass regardless of its schedule.
    pub fn force_full(&self) -> bool {
        matches!(self, ExtractEvent::Manual { full: true })
    }
}

impl From<ContinuationEvent> for ExtractEvent {
    fn from(event: ContinuationEvent) -> Self {
        ExtractEvent::Continuation(event.cvdw_continuation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(payload: serde_json::Value) -> Result<ExtractEvent, String> {
        ExtractEvent::from_json(payload).map_err(|e| e.to_string())
    }

    #[test]
    fn the_three_shapes() {
        assert_eq!(
            parse(json!({"trigger": "schedule"})),
            Ok(ExtractEvent::Scheduled)
        );
        assert_eq!(
            parse(json!({"full": true})),
            Ok(ExtractEvent::Manual { full: true })
        );
        assert_eq!(parse(json!({})), Ok(ExtractEvent::Manual { full: false }));
        let cont = parse(
            json!({"cvdw_continuation": {"tenant": "acme", "run_id": "20261129T101500Z-a1b2c3"}}),
        )
        .unwrap();
        let event = cont.continuation().unwrap();
        assert_eq!(event.cvdw_continuation.tenant, "acme");
        assert!(!cont.force_full());
        assert!(parse(json!({"full": true})).unwrap().force_full());
        assert!(!ExtractEvent::Scheduled.force_full());
        assert_eq!(ExtractEvent::from(event.clone()), cont);
        // What the continuer sends parses back as the same continuation.
        assert_eq!(parse(serde_json::to_value(&event).unwrap()), Ok(cont));
    }

    /// Each wrong shape is refused with a message naming what is wrong.
    #[test]
    fn unknown_shapes_name_the_problem() {
        for (payload, names) in [
            (
                json!({"detail-type": "Scheduled Event"}),
                "unknown field `detail-type`",
            ),
            (json!({"trigger": "cron"}), "\"cron\""),
            (json!({"full": "yes"}), "expected a boolean"),
            (
                json!({"trigger": "schedule", "full": true}),
                "`trigger` and `full`",
            ),
            (
                json!({"cvdw_continuation": {"tenant": 1}}),
                "expected a string",
            ),
            (
                json!({"cvdw_continuation": {"tenant": "a", "run_id": "20261129T101500Z-a1b2c3"}, "full": true}),
                "a continuation carries no",
            ),
            (json!([1, 2]), "not an extract event"),
            (json!(null), "not an extract event"),
        ] {
            let err = ExtractEvent::from_json(payload.clone()).expect_err(&payload.to_string());
            assert!(!err.is_retryable());
            let text = err.to_string();
            assert!(text.contains(names), "{payload}: {text}");
            assert!(text.contains("not an extract event"), "{text}");
        }
    }
}
