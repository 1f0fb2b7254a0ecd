//! The per-credential request pacer.
//!
//! CVDW allows 20 requests per rolling minute per credential, shared by every object
//! (docs/cvdw-api.md §3.4). One [`Pacer`] exists per credential and every request for that
//! credential goes through [`Pacer::acquire`] first, so no combination of objects, retries and
//! tenants sharing a process can exceed the allowance.
//!
//! Design:
//! - **Sliding log, not fixed sleeps.** The pacer remembers when each of the last N requests
//!   was sent. A new request may go as soon as the N-th most recent one is older than the window
//!   plus a safety margin. Requests therefore go out in bursts of N and then wait exactly as
//!   long as needed — the allowance is used fully.
//! - **Arrival time.** The server counts *arrival* times, which lie between our send and its
//!   response. Each request is logged at send time and moved to the time its response headers
//!   arrive (or the attempt fails: [`Pacer::complete`]), so a slow arrival can never make two
//!   requests land closer than the window. A small margin (0.5% of the window, at least 10 ms)
//!   covers timer granularity and clock-rate drift. The cost is one time to first byte per
//!   window; the body's transfer costs nothing.
//! - **Throttle pauses.** A 429 (or the 200-body twin) means our view and the server's
//!   disagree — another client on the same credential, or a clock skew. The whole credential
//!   pauses for at least the window, doubling on consecutive throttles up to a cap; a success
//!   resets the escalation.
//! - Every request that reaches the wire counts, including retries and failed attempts: the
//!   server counts them too.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Pacer tunables. All durations are configurable so tests and benchmarks can compress time.
#[derive(Debug, Clone, PartialEq)]
pub struct PacerConfig {
    /// Requests allowed per window (CVDW: 20).
    pub requests: u32,
    /// The rolling window (CVDW: 60 s).
    pub window: Duration,
    /// Extra spacing against arrival-time jitter.
    pub margin: Duration,
    /// First pause after a throttle (≥ window).
    pub throttle_pause: Duration,
    /// Cap for the escalating pause.
    pub throttle_pause_max: Duration,
}

impl PacerConfig {
    /// `requests` per `window`, with the default margin and throttle pauses (1× window,
    /// escalating to 8× window).
    pub fn new(requests: u32, window: Duration) -> Self {
        // Requests are logged at their completion, which is causally after the server's
        // arrival stamp, so the margin only covers timer granularity and clock-rate drift.
        let margin = (window.mul_f64(0.005)).max(Duration::from_millis(10));
        Self {
            requests: requests.max(1),
            window,
            margin,
            throttle_pause: window,
            throttle_pause_max: window * 8,
        }
    }
}

impl Default for PacerConfig {
    fn default() -> Self {
        Self::new(20, Duration::from_secs(60))
    }
}

/// Counters a run reports (and the progress display shows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacerStats {
    /// Requests let through.
    pub requests: u64,
    /// Times a request had to wait for the window.
    pub waits: u64,
    /// Total time spent waiting for the window or a throttle pause.
    pub waited: Duration,
    /// Throttle responses reported.
    pub throttled: u64,
    /// When the first and the latest request were let through (for achieved-rate figures).
    pub first_request: Option<Instant>,
    pub last_request: Option<Instant>,
}

#[derive(Debug)]
struct State {
    /// Per request: the send time, moved to the completion time once the response is in.
    sent: VecDeque<Instant>,
    /// Ticket of each entry in `sent`.
    ids: VecDeque<u64>,
    next_id: u64,
    paused_until: Option<Instant>,
    consecutive_throttles: u32,
    stats: PacerStats,
}

/// A request let through by [`Pacer::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "hand the ticket to Pacer::complete when the response is in"]
pub struct Ticket {
    id: u64,
    /// How long the request waited for the window.
    pub waited: Duration,
}

/// One per credential; share it with `Arc`.
#[derive(Debug)]
pub struct Pacer {
    cfg: PacerConfig,
    state: Mutex<State>,
}

/// The earliest instant a request may be sent, given the send times of the most recent
/// requests (oldest first) and a pause. Pure, so the math is unit-tested without a clock.
pub fn next_slot(
    cfg: &PacerConfig,
    sent: &VecDeque<Instant>,
    paused_until: Option<Instant>,
    now: Instant,
) -> Instant {
    let mut at = now;
    if let Some(p) = paused_until {
        at = at.max(p);
    }
    let n = cfg.requests as usize;
    if sent.len() >= n {
        // The oldest of the last N requests must have left the window (plus margin). Entries
        // can be out of order once completion times replace send times, hence the min.
        if let Some(oldest) = sent.iter().skip(sent.len() - n).min() {
            at = at.max(*oldest + cfg.window + cfg.margin);
        }
    }
    at
}

impl Pacer {
    pub fn new(cfg: PacerConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(State {
                sent: VecDeque::new(),
                ids: VecDeque::new(),
                next_id: 0,
                paused_until: None,
                consecutive_throttles: 0,
                stats: PacerStats::default(),
            }),
        }
    }

    pub fn config(&self) -> &PacerConfig {
        &self.cfg
    }

    /// Wait until a request may be sent and record it as sent. Returns a ticket to hand to
    /// [`complete`](Self::complete) when the response (or the failure) is in.
    /// The lock is held while waiting, so concurrent callers queue in order.
    pub async fn acquire(&self) -> Ticket {
        let mut st = self.state.lock().await;
        let start = Instant::now();
        let at = next_slot(&self.cfg, &st.sent, st.paused_until, start);
        let mut waited = Duration::ZERO;
        if at > start {
            tokio::time::sleep_until(at).await;
            waited = Instant::now().saturating_duration_since(start);
            st.stats.waits += 1;
            st.stats.waited += waited;
        }
        let now = Instant::now();
        let id = st.next_id;
        st.next_id += 1;
        st.sent.push_back(now);
        st.ids.push_back(id);
        let keep = self.cfg.requests as usize;
        while st.sent.len() > keep {
            st.sent.pop_front();
            st.ids.pop_front();
        }
        st.paused_until = None;
        st.stats.requests += 1;
        st.stats.first_request.get_or_insert(now);
        st.stats.last_request = Some(now);
        Ticket { id, waited }
    }

    /// The server has the request of `ticket` (its response headers are in, or the attempt
    /// failed): count it from now on. The server stamps a request when it *arrives*, somewhere
    /// between our send and its response; counting from the response makes the window immune
    /// to latency jitter, at the cost of one time to first byte per window.
    pub async fn complete(&self, ticket: Ticket) {
        let mut st = self.state.lock().await;
        let now = Instant::now();
        if let Some(i) = st.ids.iter().position(|id| *id == ticket.id) {
            if st.sent[i] < now {
                st.sent[i] = now;
            }
        }
    }

    /// How long [`acquire`](Self::acquire) would wait right now (for progress displays).
    pub async fn wait_hint(&self) -> Duration {
        let st = self.state.lock().await;
        let now = Instant::now();
        next_slot(&self.cfg, &st.sent, st.paused_until, now).saturating_duration_since(now)
    }

    /// The server said "Too many requests": pause the whole credential, escalating on
    /// consecutive throttles. Returns the pause applied.
    pub async fn throttled(&self) -> Duration {
        let mut st = self.state.lock().await;
        st.consecutive_throttles = st.consecutive_throttles.saturating_add(1);
        st.stats.throttled += 1;
        let pause = throttle_pause(&self.cfg, st.consecutive_throttles);
        let until = Instant::now() + pause;
        st.paused_until = Some(st.paused_until.map_or(until, |p| p.max(until)));
        pause
    }

    /// A request went through without a throttle: reset the escalation.
    pub async fn succeeded(&self) {
        self.state.lock().await.consecutive_throttles = 0;
    }

    /// Seed the log with requests another process sent (wall-clock times, e.g. from the lock
    /// a previous invocation released), so a hand-over does not burst past the window.
    pub async fn seed(&self, sent_at: &[chrono::DateTime<chrono::Utc>]) {
        let now_wall = chrono::Utc::now();
        let now = Instant::now();
        let mut st = self.state.lock().await;
        let mut all: Vec<Instant> = st.sent.iter().copied().collect();
        for t in sent_at {
            // Times in the future (clock skew) count as now; very old ones are irrelevant.
            let age = (now_wall - *t).to_std().unwrap_or(Duration::ZERO);
            if age <= self.cfg.window + self.cfg.margin {
                all.push(now.checked_sub(age).unwrap_or(now));
            }
        }
        all.sort();
        let keep = self.cfg.requests as usize;
        let skip = all.len().saturating_sub(keep);
        st.sent = all.into_iter().skip(skip).collect();
        let base = st.next_id;
        st.ids = (base..base + st.sent.len() as u64).collect();
        st.next_id = base + st.sent.len() as u64;
    }

    /// Wall-clock send times of the requests still inside the window (to hand over).
    pub async fn recent_sends(&self) -> Vec<chrono::DateTime<chrono::Utc>> {
        let now_wall = chrono::Utc::now();
        let now = Instant::now();
        let st = self.state.lock().await;
        st.sent
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= self.cfg.window + self.cfg.margin)
            .map(|t| {
                now_wall
                    - chrono::Duration::from_std(now.saturating_duration_since(*t))
                        .unwrap_or_default()
            })
            .collect()
    }

    pub async fn stats(&self) -> PacerStats {
        self.state.lock().await.stats
    }
}

/// The pause after the `n`-th consecutive throttle (1-based): `throttle_pause · 2^(n-1)`,
/// capped, and never below the window.
pub fn throttle_pause(cfg: &PacerConfig, n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(16);
    cfg.throttle_pause
        .saturating_mul(factor)
        .min(cfg.throttle_pause_max)
        .max(cfg.window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PacerConfig {
        PacerConfig {
            requests: 3,
            window: Duration::from_secs(60),
            margin: Duration::from_secs(1),
            throttle_pause: Duration::from_secs(60),
            throttle_pause_max: Duration::from_secs(300),
        }
    }

    #[test]
    fn burst_then_wait_for_the_oldest_to_leave_the_window() {
        let c = cfg();
        let t0 = Instant::now();
        let mut sent = VecDeque::new();
        // The first N go immediately.
        for i in 0..3 {
            let now = t0 + Duration::from_secs(i);
            assert_eq!(next_slot(&c, &sent, None, now), now);
            sent.push_back(now);
        }
        // The 4th waits until the 1st is window + margin old: t0 + 61 s.
        let now = t0 + Duration::from_secs(3);
        assert_eq!(
            next_slot(&c, &sent, None, now),
            t0 + Duration::from_secs(61)
        );
        // Never earlier than now.
        let late = t0 + Duration::from_secs(100);
        assert_eq!(next_slot(&c, &sent, None, late), late);
    }

    #[test]
    fn never_more_than_n_in_any_window_and_uses_it_fully() {
        let c = cfg();
        let t0 = Instant::now();
        let mut sent = VecDeque::new();
        let mut log = Vec::new();
        let mut now = t0;
        for _ in 0..30 {
            now = next_slot(&c, &sent, None, now);
            log.push(now);
            sent.push_back(now);
            if sent.len() > 3 {
                sent.pop_front();
            }
        }
        // Any N+1 consecutive sends span more than the window.
        for w in log.windows(4) {
            assert!(w[3] - w[0] >= c.window + c.margin);
        }
        // 30 requests at 3/61 s: the 30th goes out at 9 full windows.
        assert_eq!(log[29] - t0, (c.window + c.margin) * 9);
    }

    #[tokio::test]
    async fn completion_time_replaces_send_time() {
        let p = Pacer::new(PacerConfig {
            requests: 1,
            window: Duration::from_millis(30),
            margin: Duration::from_millis(1),
            throttle_pause: Duration::from_millis(30),
            throttle_pause_max: Duration::from_millis(30),
        });
        let t = p.acquire().await;
        // A slow response: the next slot counts from its completion, not its send.
        tokio::time::sleep(Duration::from_millis(20)).await;
        p.complete(t).await;
        let done = Instant::now();
        let _ = p.acquire().await;
        assert!(Instant::now() - done >= Duration::from_millis(30));
    }

    #[test]
    fn pause_wins_over_window() {
        let c = cfg();
        let t0 = Instant::now();
        let sent = VecDeque::from([t0]);
        let until = t0 + Duration::from_secs(90);
        assert_eq!(next_slot(&c, &sent, Some(until), t0), until);
    }

    #[test]
    fn throttle_pause_escalates_and_is_capped() {
        let c = cfg();
        let s = |n| throttle_pause(&c, n).as_secs();
        assert_eq!([s(1), s(2), s(3), s(4), s(40)], [60, 120, 240, 300, 300]);
        // Never below the window, even if misconfigured.
        let mut small = c.clone();
        small.throttle_pause = Duration::from_secs(1);
        assert_eq!(throttle_pause(&small, 1), Duration::from_secs(60));
    }

    #[test]
    fn default_margin_is_small_but_nonzero() {
        let c = PacerConfig::new(20, Duration::from_secs(2));
        assert_eq!(c.margin, Duration::from_millis(10));
        assert_eq!(PacerConfig::default().margin, Duration::from_millis(300));
    }

    #[tokio::test]
    async fn acquire_counts_and_throttle_pauses() {
        let p = Pacer::new(PacerConfig {
            requests: 2,
            window: Duration::from_millis(40),
            margin: Duration::from_millis(5),
            throttle_pause: Duration::from_millis(40),
            throttle_pause_max: Duration::from_millis(80),
        });
        let t0 = Instant::now();
        let _ = p.acquire().await;
        let _ = p.acquire().await;
        let _ = p.acquire().await; // must wait ≥ 45 ms after the first
        assert!(Instant::now() - t0 >= Duration::from_millis(45));
        assert_eq!(p.throttled().await, Duration::from_millis(40));
        assert_eq!(p.throttled().await, Duration::from_millis(80));
        p.succeeded().await;
        assert_eq!(p.throttled().await, Duration::from_millis(40));
        let st = p.stats().await;
        assert_eq!((st.requests, st.throttled), (3, 3));
        assert!(st.waits >= 1);
    }

    #[tokio::test]
    async fn seeded_history_is_respected_and_handed_over() {
        let c = PacerConfig::new(2, Duration::from_secs(3600));
        let p = Pacer::new(c.clone());
        let now = chrono::Utc::now();
        p.seed(&[now, now - chrono::Duration::hours(5)]).await;
        // One recent request inherited (the old one is outside the window): one slot left.
        assert_eq!(p.recent_sends().await.len(), 1);
        assert_eq!(p.wait_hint().await, Duration::ZERO);
        let t = p.acquire().await;
        p.complete(t).await;
        // Now the window is full for about an hour.
        assert!(p.wait_hint().await > Duration::from_secs(3500));
        let q = Pacer::new(c);
        q.seed(&p.recent_sends().await).await;
        assert!(q.wait_hint().await > Duration::from_secs(3500));
    }
}
