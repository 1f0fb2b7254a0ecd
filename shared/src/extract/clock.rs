//! The time a run reads: the system's, or a faster one for the freshness benchmark.
//!
//! Everything a run stamps or decides by the calendar (its run id, when a pass began, whether a
//! full pass is due, the slot that bounds its budget) asks [`Clock::now`]. The benchmark runs a
//! simulated week through the same code by giving the run a [`WarpClock`]: simulated time
//! passes `speedup` times faster than real time, and jumps over the idle hours between
//! scheduled runs. Real-time concerns (the pacer's window, lock expiry, the Lambda deadline)
//! keep the monotonic clock; the benchmark compresses those by the same factor in their own
//! settings.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The clock of a run.
#[derive(Clone, Default)]
pub enum Clock {
    /// The system clock (every deployment).
    #[default]
    System,
    /// A simulated clock (the freshness benchmark).
    Warped(Arc<WarpClock>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Warped(warp) => warp.now(),
        }
    }

    /// How long `real` (a real-time setting: the rate limit's window) lasts on this clock.
    pub fn stretch(&self, real: Duration) -> Duration {
        match self {
            Clock::System => real,
            Clock::Warped(warp) => real.mul_f64(warp.speedup),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clock::System => f.write_str("Clock::System"),
            Clock::Warped(warp) => write!(f, "Clock::Warped(×{})", warp.speedup),
        }
    }
}

impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Clock::System, Clock::System) => true,
            (Clock::Warped(a), Clock::Warped(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Simulated time: `speedup` simulated seconds per real second from an anchor, which
/// [`WarpClock::jump_to`] moves forward.
pub struct WarpClock {
    speedup: f64,
    /// The simulated time at a real instant; `None`: frozen at that simulated time.
    anchor: Mutex<(Option<Instant>, DateTime<Utc>)>,
}

impl WarpClock {
    pub fn new(start: DateTime<Utc>, speedup: f64) -> Self {
        Self {
            speedup,
            anchor: Mutex::new((Some(Instant::now()), start)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let (real, simulated) = *self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        let Some(real) = real else {
            return simulated;
        };
        let elapsed = real.elapsed().mul_f64(self.speedup);
        simulated + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }

    /// Stop the clock (work between runs that production does not do: advancing the world).
    pub fn freeze(&self) {
        let now = self.now();
        *self.anchor.lock().unwrap_or_else(|e| e.into_inner()) = (None, now);
    }

    /// Skip ahead to `at` (idle time) and run again; never goes back.
    pub fn jump_to(&self, at: DateTime<Utc>) {
        let now = self.now();
        let mut anchor = self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        *anchor = (Some(Instant::now()), at.max(now));
    }

    /// The real time that `simulated` takes on this clock.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.speedup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warped_clock_runs_faster_and_jumps_forward_only() {
        let start = Utc::now() - chrono::Duration::days(30);
        let warp = Arc::new(WarpClock::new(start, 1000.0));
        let clock = Clock::Warped(warp.clone());
        assert!(clock.now() >= start);
        assert_eq!(
            clock.stretch(Duration::from_millis(60)),
            Duration::from_secs(60)
        );
        let later = start + chrono::Duration::hours(4);
        warp.jump_to(later);
        assert!(clock.now() >= later);
        warp.jump_to(start);
        assert!(clock.now() >= later, "a jump never goes back");
        assert_eq!(
            warp.real(Duration::from_secs(60)),
            Duration::from_millis(60)
        );
        assert_eq!(Clock::System, Clock::default());
        assert_ne!(clock, Clock::System);
    }
}
