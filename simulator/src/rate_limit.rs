//! The rate limit: how many requests a credential may make per sliding window, and the
//! clock the limiter reads (a test can stop and move it).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How many requests a credential may make per sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl RateLimit {
    pub fn new(requests: u32, window: Duration) -> Self {
        Self { requests, window }
    }
    /// No limit at all (benchmarks).
    pub fn disabled() -> Self {
        Self::new(u32::MAX, Duration::from_secs(60))
    }
    /// Parse `20/60s`, `5/1s`, `20/2000ms`, `20/1m`; `off`/`none` disables the limit.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
            return Ok(Self::disabled());
        }
        let (count, window) = text
            .split_once('/')
            .ok_or_else(|| format!("rate limit `{text}`: expected N/WINDOW, e.g. 20/60s"))?;
        let requests: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("rate limit `{text}`: `{count}` is not a count"))?;
        let window = window.trim();
        let (amount, unit) = window
            .find(|letter: char| !letter.is_ascii_digit())
            .map(|at| window.split_at(at))
            .unwrap_or((window, "s"));
        let amount: u64 = amount
            .parse()
            .map_err(|_| format!("rate limit `{text}`: bad window `{window}`"))?;
        let window = match unit {
            "ms" => Duration::from_millis(amount),
            "s" | "" => Duration::from_secs(amount),
            "m" | "min" => Duration::from_secs(amount * 60),
            _ => {
                return Err(format!(
                    "rate limit `{text}`: unknown unit `{unit}` (ms, s, m)"
                ))
            }
        };
        if requests == 0 || window.is_zero() {
            return Err(format!(
                "rate limit `{text}`: count and window must be positive"
            ));
        }
        Ok(Self::new(requests, window))
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new(20, Duration::from_secs(60))
    }
}

/// The clock the rate limiter reads: time since the simulator started, either the machine's
/// or, once frozen, one only a test moves.
pub struct RateClock {
    origin: std::time::Instant,
    manual: Mutex<Option<Duration>>,
}

impl RateClock {
    pub(crate) fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
            manual: Mutex::new(None),
        }
    }

    pub(crate) fn now(&self) -> Duration {
        let manual = *self.manual.lock().unwrap_or_else(PoisonError::into_inner);
        manual.unwrap_or_else(|| self.origin.elapsed())
    }

    pub(crate) fn freeze(&self) {
        let mut manual = self.manual.lock().unwrap_or_else(PoisonError::into_inner);
        if manual.is_none() {
            *manual = Some(self.origin.elapsed());
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        let mut manual = self.manual.lock().unwrap_or_else(PoisonError::into_inner);
        let reading = manual.unwrap_or_else(|| self.origin.elapsed());
        *manual = Some(reading.saturating_add(by));
    }
}
