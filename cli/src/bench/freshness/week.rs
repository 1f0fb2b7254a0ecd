//! What the simulated week has shown: the backfill, each run's staleness, each deletion's lag,
//! and the figures of the RESULT line.

use super::check::rows_by_key;
use super::utc_to_sao_paulo;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use shared::catalogue::{self, ObjectSpec};
use shared::db::Db;
use std::collections::BTreeMap;

/// A deletion in the simulator, waiting to show in PostgreSQL.
pub(super) struct Deletion {
    spec: &'static ObjectSpec,
    key: String,
    at: DateTime<Utc>,
}

/// What the week has shown so far.
#[derive(Default)]
pub(super) struct Week {
    pub(super) first_start: Option<DateTime<Utc>>,
    pub(super) backfilled: bool,
    pub(super) backfill_done: std::collections::BTreeSet<&'static str>,
    pub(super) floor_pages: u64,
    pub(super) backfill_vs_floor: Option<f64>,
    pub(super) sales_stale_max: Option<ChronoDuration>,
    pub(super) stale_unmet: u32,
    pub(super) runs: u32,
    pub(super) late_max: ChronoDuration,
    pub(super) pending: Vec<Deletion>,
    pub(super) sales_lag_max: ChronoDuration,
    pub(super) other_lag_max: ChronoDuration,
    pub(super) reconciled: u64,
    pub(super) untracked_deletions: u64,
    pub(super) requests: u64,
    pub(super) budget: u64,
    pub(super) throttled: u64,
    pub(super) skipped: u64,
}

impl Week {
    pub(super) fn note_deletions(
        &mut self,
        deleted: &BTreeMap<String, Vec<String>>,
        at: DateTime<Utc>,
    ) {
        for (path, keys) in deleted {
            let Some(spec) = catalogue::find(path) else {
                continue;
            };
            if spec.content_keyed {
                self.untracked_deletions += keys.len() as u64;
                continue;
            }
            self.pending.extend(keys.iter().map(|key| Deletion {
                spec,
                key: key.clone(),
                at,
            }));
        }
    }

    pub(super) fn note_objects(&mut self, objects: &[shared::extract::ObjectReport]) {
        if self.backfilled {
            return;
        }
        for object in objects {
            if object.mode == shared::landing::Mode::Full
                && object.status == shared::extract::ObjectStatus::Done
            {
                if let Some(spec) = catalogue::find(&object.object) {
                    self.backfill_done.insert(spec.name);
                }
            }
        }
    }

    pub(super) fn finish_run(
        &mut self,
        slot: DateTime<Utc>,
        late: ChronoDuration,
        fresh_at: Option<DateTime<Utc>>,
        ran_until: DateTime<Utc>,
        loaded_at: DateTime<Utc>,
        checked: bool,
    ) {
        self.runs += 1;
        self.late_max = self.late_max.max(late);
        let first = *self.first_start.get_or_insert(slot);
        if checked {
            match fresh_at {
                Some(at) => {
                    let stale = at - slot;
                    self.sales_stale_max =
                        Some(self.sales_stale_max.map_or(stale, |m| m.max(stale)));
                }
                None => self.stale_unmet += 1,
            }
        }
        if !self.backfilled && self.backfill_done.len() == catalogue::OBJECTS.len() {
            self.backfilled = true;
            let took = (loaded_at.max(ran_until) - first).num_seconds() as f64;
            let floor = self.floor_pages as f64 * 3.0;
            self.backfill_vs_floor = Some(took / floor.max(1.0));
        }
    }

    pub(super) async fn check_deletions(
        &mut self,
        db: &mut Db,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut by_object: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for deletion in &self.pending {
            by_object
                .entry(deletion.spec.name)
                .or_default()
                .push(deletion.key.clone());
        }
        let mut reconciled = std::collections::HashSet::new();
        for (name, keys) in by_object {
            let Some(spec) = catalogue::find(name) else {
                continue;
            };
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let rows = rows_by_key(
                db,
                spec,
                "natural_key",
                " AND deleted_at IS NOT NULL",
                &keys,
            )
            .await?;
            for row in rows {
                reconciled.insert((name, row.get::<_, String>(0)));
            }
        }
        let mut still = Vec::new();
        for deletion in self.pending.drain(..) {
            if reconciled.contains(&(deletion.spec.name, deletion.key.clone())) {
                let lag = now - deletion.at;
                let max = if catalogue::is_sales(deletion.spec.name) {
                    &mut self.sales_lag_max
                } else {
                    &mut self.other_lag_max
                };
                *max = (*max).max(lag);
                self.reconciled += 1;
            } else {
                still.push(deletion);
            }
        }
        self.pending = still;
        Ok(())
    }

    pub(super) fn run_line(
        &self,
        slot: DateTime<Utc>,
        requests: u64,
        late: ChronoDuration,
        ran_until: DateTime<Utc>,
        backlog: usize,
    ) -> String {
        format!(
            "run {} (SP): {requests} requests, late {} min, worked {} min, loader backlog {backlog}{}",
            utc_to_sao_paulo(slot).format("%a %d %H:%M"),
            late.num_minutes(),
            (ran_until - slot).num_minutes(),
            if self.backfilled { "" } else { " [backfill]" }
        )
    }

    pub(super) fn result(&self, end: DateTime<Utc>) -> String {
        let hours = |d: ChronoDuration| d.num_minutes() as f64 / 60.0;
        let (mut sales_open, mut other_open) = (ChronoDuration::zero(), ChronoDuration::zero());
        for deletion in &self.pending {
            let age = end - deletion.at;
            if catalogue::is_sales(deletion.spec.name) {
                sales_open = sales_open.max(age);
            } else {
                other_open = other_open.max(age);
            }
        }
        let stale_min = self
            .sales_stale_max
            .map_or(f64::INFINITY, |d| d.num_seconds() as f64 / 60.0);
        println!(
            "backfill floor: {} pages; runs {} (latest start {} min late, {} skipped on a held lock); \
             sales checks never met: {}",
            self.floor_pages, self.runs, self.late_max.num_minutes(), self.skipped, self.stale_unmet
        );
        println!(
            "deletions: {} reconciled, {} still open at the end (oldest: sales {:.1} h, other {:.1} h), \
             {} in content-keyed objects not followed",
            self.reconciled,
            self.pending.len(),
            hours(sales_open),
            hours(other_open),
            self.untracked_deletions
        );
        println!(
            "requests {} ÷ budget {} = {:.2}; goals: backfill_vs_floor ≤ 1.05, sales_stale_max_min ≤ 15, \
             sales_deletion_lag_max_h ≤ 24, other_deletion_lag_max_h ≤ 168, throttled = 0",
            self.requests,
            self.budget,
            self.requests as f64 / self.budget.max(1) as f64
        );
        format!(
            "RESULT freshness backfill_vs_floor={:.3} sales_stale_max_min={:.1} \
             sales_deletion_lag_max_h={:.1} other_deletion_lag_max_h={:.1} throttled={}",
            self.backfill_vs_floor.unwrap_or(f64::INFINITY),
            if self.stale_unmet > 0 {
                f64::INFINITY
            } else {
                stale_min
            },
            hours(self.sales_lag_max.max(sales_open)),
            hours(self.other_lag_max.max(other_open)),
            self.throttled
        )
    }
}
