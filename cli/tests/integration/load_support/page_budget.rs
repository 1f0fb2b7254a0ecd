//! A Lambda deadline counted in pages instead of seconds: an invocation that must hand over
//! after exactly `n` pages does so however slow the machine is, which a wall-clock deadline
//! could not promise.

use shared::extract::Deadline;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A deadline that has time for `n` more pages, then none (checked once per page).
pub struct PageBudget(AtomicI64);

impl PageBudget {
    pub fn new(pages: i64) -> Self {
        Self(AtomicI64::new(pages))
    }

    /// A fresh budget of `pages` as the boxed deadline of one invocation.
    pub fn boxed(pages: i64) -> Box<dyn Deadline> {
        Box::new(Self::new(pages))
    }
}

impl Deadline for PageBudget {
    fn remaining(&self) -> Option<Duration> {
        let left = self.0.fetch_sub(1, Ordering::SeqCst);
        Some(if left > 0 {
            Duration::from_secs(3600)
        } else {
            Duration::ZERO
        })
    }
}
