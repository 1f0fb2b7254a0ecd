//! What an object request must pass before it gets data, in the order of [`crate`]'s docs:
//! the credential's deny list, a scripted fault, the rate limit (a sliding window per
//! credential), then a random fault.

use std::sync::PoisonError;

use shared::catalogue::ObjectSpec;

use crate::{Fault, Simulator};

impl Simulator {
    /// Sliding-window check; true when the request may proceed.
    pub(super) fn admit(&self, credential: &str) -> bool {
        let limit = *self
            .inner
            .rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if limit.requests == u32::MAX {
            return true;
        }
        let now = self.inner.rate_clock.now();
        let mut windows = self
            .inner
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let recent = windows.entry(credential.to_string()).or_default();
        while recent
            .front()
            .is_some_and(|&at| now.saturating_sub(at) >= limit.window)
        {
            recent.pop_front();
        }
        let admitted = recent.len() < limit.requests as usize;
        if admitted || self.inner.cfg.count_rejected {
            recent.push_back(now);
        }
        admitted
    }

    /// The next scripted fault, if any is queued.
    pub(super) fn next_fault(&self) -> Option<Fault> {
        self.inner
            .script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    /// A random fault at [`crate::SimConfig::fault_rate`], from the simulator's own
    /// deterministic sequence.
    pub(super) fn random_fault(&self) -> Option<Fault> {
        let rate = self.inner.cfg.fault_rate;
        if rate <= 0.0 {
            return None;
        }
        let mut state = self
            .inner
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *state = crate::world::mix(*state);
        let draw = (*state >> 11) as f64 / (1u64 << 53) as f64;
        if draw < rate {
            let pick = (crate::world::mix(*state) % Fault::ALL.len() as u64) as usize;
            Some(Fault::ALL[pick])
        } else {
            None
        }
    }

    /// Whether the credential may not read `spec` ([`crate::SimConfig::denied_objects`]).
    pub(super) fn denied(&self, spec: &ObjectSpec) -> bool {
        self.inner.cfg.denied_objects.iter().any(|denied| {
            let denied = denied.trim();
            denied == spec.path
                || denied.trim_start_matches('/') == spec.path.trim_start_matches('/')
                || denied == spec.name
        })
    }
}
