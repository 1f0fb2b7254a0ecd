//! The wall clock, read in one place: EMF timestamps, Lambda deadlines (both milliseconds
//! since the epoch) and the seeds that only need to differ between calls.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch; zero on a clock set before 1970 (a timestamp of 0 is visibly
/// wrong in a log line, where a panic would lose the invocation).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch, as EMF's `Timestamp` and Lambda's deadline count them.
pub fn now_ms() -> i64 {
    i64::try_from(since_epoch().as_millis()).unwrap_or(i64::MAX)
}
