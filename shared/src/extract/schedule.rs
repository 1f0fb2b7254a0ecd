//! What a scheduled run does with its requests: the plan.
//!
//! CVDW allows 20 requests a minute per credential, 500 rows a page: 10 000 rows a minute is
//! the ceiling, whatever we do. A large incorporadora holds millions of rows, so a full pass of
//! every object takes longer than the four hours between scheduled runs. The plan keeps the
//! sales fresh anyway:
//!
//! - **A budget per run**: the requests the credential allows from now until the next
//!   scheduled run ([`Slots::run_hours`], São Paulo time), minus a margin ([`Slots::margin`])
//!   for retries and throttle pauses. The run stops starting new
//!   pages when it has spent it, so it never holds the credential into the next run.
//! - **An order**, spent top down:
//!   1. the *sales set* ([`crate::catalogue::SALES_SET`], what the analytics read),
//!      incrementally, always, and outside the budget: sales are at most one run behind;
//!   2. a new tenant's backfill of the sales set (the dashboard is usable once it is in);
//!   3. every other object, incrementally;
//!   4. the other objects' backfill;
//!   5. full passes for deletion reconciliation, the oldest first: the sales set once a day
//!      (`EXTRACT_FULL_EVERY`, [`Cadence::sales`]), the others every six days
//!      (`EXTRACT_OTHER_FULL_EVERY`, [`Cadence::other`]).
//! - **Resumable passes**: a backfill or full pass that meets the end of the budget pauses
//!   (its pages so far stay stored under its own run id, its progress in the object's state)
//!   and the next run resumes it at step 4 or 5, after that run's own incremental steps. A
//!   pass of a huge object is thus spread over runs and never delays the sales.
//!
//! In an operator's words, with the defaults: sales are at most one scheduled run (4 h, 8 h
//! overnight) plus the time of their incremental pages behind; a deletion in the sales set shows
//! within a day (two at worst, if a day's pass is paused), in the other objects within a week
//! (six days, then the pass's own length and the wait for its slot: [`super::config::OTHER_FULL_EVERY`]). A new tenant's dashboard is usable once the sales set is in
//! (the first objects of the first run); the rest follows at the credential's ceiling, a slot at
//! a time.
//!
//! [`plan`] is pure (the clock and the states are inputs), so its decisions are unit-tested
//! with a fake clock; the run ([`super::run`]) follows the plan it returns.

use super::config::{FullEvery, RunSettings};
use crate::catalogue::{self, ObjectSpec};
use crate::landing::Mode;
use crate::landing::ObjectState;
use chrono::NaiveDateTime;
use chrono::{DateTime, Duration as ChronoDuration, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// When scheduled runs start, which bounds each run's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Slots {
    /// São Paulo hours at which the scheduled runs start (the template's schedule).
    pub run_hours: Vec<u32>,
    /// Kept out of each slot's budget: retries, throttle pauses, the scheduler's jitter.
    pub margin: Duration,
}

impl Default for Slots {
    fn default() -> Self {
        Self {
            run_hours: vec![6, 10, 14, 18, 22],
            margin: Duration::from_secs(5 * 60),
        }
    }
}

/// What bounds a run's requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Budget {
    /// The slot to the next scheduled run (the default of the scheduled function).
    Slot(Slots),
    /// This many requests per run (`EXTRACT_BUDGET=N`: a credential shared with another
    /// client, a test).
    Fixed(u64),
}

impl Budget {
    /// The requests a run starting at `now` may spend at `requests` per `window`.
    pub fn requests(&self, now: DateTime<Utc>, requests: u32, window: Duration) -> u64 {
        match self {
            Budget::Slot(slots) => budget(now, slots, requests, window),
            Budget::Fixed(n) => *n,
        }
    }
}

/// How often each part of the catalogue gets a full pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    pub sales: FullEvery,
    pub other: FullEvery,
}

/// Why an object is in the plan (the order of the variants is the order of the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    SalesIncremental,
    SalesBackfill,
    OtherIncremental,
    OtherBackfill,
    FullPass,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::SalesIncremental => "sales, incremental",
            Step::SalesBackfill => "sales, backfill",
            Step::OtherIncremental => "other, incremental",
            Step::OtherBackfill => "other, backfill",
            Step::FullPass => "full pass",
        }
    }

    /// Whether the run's budget may stop it. The sales' incremental step always runs.
    pub fn budgeted(self) -> bool {
        self != Step::SalesIncremental
    }

    /// A pass over the whole object (no date filter).
    pub fn is_full(self) -> bool {
        matches!(
            self,
            Step::SalesBackfill | Step::OtherBackfill | Step::FullPass
        )
    }
}

/// One object's turn in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub object: String,
    pub step: Step,
    /// Requests it is expected to take (pages left, from the object's last known size; at
    /// least one).
    pub estimate: u64,
    /// A paused pass resumes at this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_page: Option<u32>,
}

/// A run's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Requests the run may spend on budgeted steps.
    pub budget: u64,
    pub steps: Vec<Planned>,
}

impl Plan {
    /// Every object, once, as a full pass in priority order, outside any budget (`--full`).
    pub fn all_full(objects: &[&'static ObjectSpec]) -> Plan {
        let mut steps: Vec<Planned> = objects
            .iter()
            .map(|o| Planned {
                object: o.name.to_string(),
                step: Step::FullPass,
                estimate: 1,
                resume_page: None,
            })
            .collect();
        steps.sort_by_key(|p| !catalogue::is_sales(&p.object));
        Plan {
            budget: u64::MAX,
            steps,
        }
    }

    /// One line per step, for `cvdw extract` and the run's log.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "budget {} requests; {} steps",
            if self.budget == u64::MAX {
                "unlimited".to_string()
            } else {
                self.budget.to_string()
            },
            self.steps.len()
        );
        for p in &self.steps {
            out.push_str(&format!(
                "\n  {:<20} {:<32} ~{} requests{}",
                p.step.as_str(),
                p.object,
                p.estimate,
                p.resume_page
                    .map(|n| format!(", resuming at page {n}"))
                    .unwrap_or_default()
            ));
        }
        out
    }
}

/// The next scheduled run strictly after `now`.
pub fn next_run_after(now: DateTime<Utc>, run_hours: &[u32]) -> DateTime<Utc> {
    let offset = ChronoDuration::hours(3); // America/Sao_Paulo: UTC−3, no DST since 2019.
    let local = now - offset;
    let mut hours: Vec<u32> = run_hours.iter().copied().filter(|h| *h < 24).collect();
    hours.sort_unstable();
    if hours.is_empty() {
        hours.push(local.hour());
    }
    for day in 0..=1 {
        let date = local.date_naive() + ChronoDuration::days(day);
        for h in &hours {
            let at = date.and_time(NaiveTime::from_hms_opt(*h, 0, 0).unwrap_or_default());
            if at > local.naive_utc() {
                return at.and_utc() + offset;
            }
        }
    }
    now + ChronoDuration::days(1)
}

/// The requests a run starting at `now` may spend: the time to the next run less the margin,
/// at `requests` per `window`.
pub fn budget(now: DateTime<Utc>, slots: &Slots, requests: u32, window: Duration) -> u64 {
    let slot = (next_run_after(now, &slots.run_hours) - now)
        .to_std()
        .unwrap_or_default()
        .saturating_sub(slots.margin);
    if window.is_zero() {
        return u64::MAX;
    }
    (slot.as_secs_f64() / window.as_secs_f64() * f64::from(requests)).floor() as u64
}

/// The plan of a run starting at `now` over `objects`, from their states (missing = never
/// extracted). `budget` is `None` for a run without one (`cvdw demo`, tests): everything it
/// plans runs, so an object due for a full pass gets no separate incremental step. `page_size`
/// turns known sizes into request estimates.
pub fn plan(
    objects: &[&'static ObjectSpec],
    states: &HashMap<String, ObjectState>,
    now: DateTime<Utc>,
    cadence: Cadence,
    budget: Option<u64>,
    page_size: u32,
) -> Plan {
    let mut steps = Vec::new();
    let mut passes: Vec<(ChronoDuration, Planned)> = Vec::new();
    let empty = ObjectState::default();
    for spec in objects {
        let state = states.get(spec.name).unwrap_or(&empty);
        let sales = catalogue::is_sales(spec.name);
        let pages_of =
            |rows: Option<u64>| rows.map_or(1, |r| r.div_ceil(u64::from(page_size.max(1))).max(1));
        let backfill = if sales {
            Step::SalesBackfill
        } else {
            Step::OtherBackfill
        };
        if let Some(paused) = &state.paused_pass {
            let done = u64::from(paused.next_page.saturating_sub(1));
            let left = pages_of(state.known_rows).saturating_sub(done).max(1);
            let resume = Planned {
                object: spec.name.to_string(),
                step: if state.cursor.is_some() {
                    Step::FullPass
                } else {
                    backfill
                },
                estimate: left,
                resume_page: Some(paused.next_page),
            };
            if resume.step == Step::FullPass {
                steps.push(incremental(spec.name, sales));
                // A pass under way goes first among the passes: finishing it is what makes
                // its deletions count.
                passes.push((ChronoDuration::MAX, resume));
            } else {
                steps.push(resume);
            }
            continue;
        }
        if state.cursor.is_none() {
            steps.push(Planned {
                object: spec.name.to_string(),
                step: backfill,
                estimate: pages_of(state.known_rows),
                resume_page: None,
            });
            continue;
        }
        let every = if sales { cadence.sales } else { cadence.other };
        if !full_due(every, state.last_full_at, now) {
            steps.push(incremental(spec.name, sales));
            continue;
        }
        if budget.is_some() {
            steps.push(incremental(spec.name, sales));
        }
        let age = state.last_full_at.map_or(ChronoDuration::MAX, |t| now - t);
        passes.push((
            age,
            Planned {
                object: spec.name.to_string(),
                step: Step::FullPass,
                estimate: pages_of(state.known_rows),
                resume_page: None,
            },
        ));
    }
    // Stable: catalogue order within a step.
    steps.sort_by_key(|p| p.step);
    // The oldest passes first (paused ones before all); sales before others on a tie.
    passes.sort_by(|(a, pa), (b, pb)| {
        b.cmp(a)
            .then_with(|| catalogue::is_sales(&pb.object).cmp(&catalogue::is_sales(&pa.object)))
    });
    steps.extend(passes.into_iter().map(|(_, p)| p));
    Plan {
        budget: budget.unwrap_or(u64::MAX),
        steps,
    }
}

fn incremental(name: &str, sales: bool) -> Planned {
    Planned {
        object: name.to_string(),
        step: if sales {
            Step::SalesIncremental
        } else {
            Step::OtherIncremental
        },
        estimate: 1,
        resume_page: None,
    }
}

/// America/Sao_Paulo has been UTC−3 all year since 2019 (no DST).
pub fn sao_paulo_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    (t - chrono::Duration::hours(3)).date_naive()
}

/// Full or incremental for one object, and the filter to send.
pub fn decide(
    state: &ObjectState,
    settings: &RunSettings,
    now: DateTime<Utc>,
    force_full: bool,
) -> (Mode, Option<NaiveDateTime>) {
    let cursor = state
        .cursor
        .as_deref()
        .and_then(crate::values::parse_filter_datetime);
    let Some(cursor) = cursor else {
        return (Mode::Full, None);
    };
    if force_full || full_due(settings.full_every, state.last_full_at, now) {
        (Mode::Full, None)
    } else {
        (Mode::Incremental, Some(cursor))
    }
}

/// Whether an object whose last full pass started at `last_full` is due for another at `now`.
pub fn full_due(every: FullEvery, last_full: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match every {
        FullEvery::Always => true,
        FullEvery::Never => false,
        FullEvery::Daily => last_full.is_none_or(|t| sao_paulo_date(t) < sao_paulo_date(now)),
        FullEvery::Interval(d) => {
            last_full.is_none_or(|t| (now - t).to_std().unwrap_or(Duration::ZERO) >= d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landing::PausedPass;
    use chrono::TimeZone;

    /// 2026-12-07 in São Paulo, at `h`:`m` local time.
    fn sp(h: i64, m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap()
            + ChronoDuration::hours(h)
            + ChronoDuration::minutes(m)
    }

    fn objects(names: &[&str]) -> Vec<&'static ObjectSpec> {
        names.iter().map(|n| catalogue::find(n).unwrap()).collect()
    }

    fn synced(last_full: DateTime<Utc>, rows: u64) -> ObjectState {
        ObjectState {
            cursor: Some("2026-12-07 05:00:00".into()),
            last_full_at: Some(last_full),
            known_rows: Some(rows),
            ..Default::default()
        }
    }

    /// Each object synced, its last full pass `age` before `now`, holding `rows`.
    fn synced_states(
        now: DateTime<Utc>,
        objects: &[(&str, ChronoDuration, u64)],
    ) -> HashMap<String, ObjectState> {
        objects
            .iter()
            .map(|(name, age, rows)| (name.to_string(), synced(now - *age, *rows)))
            .collect()
    }

    fn order(p: &Plan) -> Vec<(String, Step)> {
        p.steps.iter().map(|s| (s.object.clone(), s.step)).collect()
    }

    #[test]
    fn the_budget_is_the_slot_to_the_next_run_less_the_margin() {
        let slots = Slots::default();
        assert_eq!(next_run_after(sp(6, 0), &slots.run_hours), sp(10, 0));
        assert_eq!(next_run_after(sp(9, 59), &slots.run_hours), sp(10, 0));
        // Overnight: 22:00 → 06:00 the next day.
        assert_eq!(
            next_run_after(sp(22, 0), &slots.run_hours),
            sp(6, 0) + ChronoDuration::days(1)
        );
        let minute = Duration::from_secs(60);
        // 4 h less 5 min at 20 per minute.
        assert_eq!(budget(sp(6, 0), &slots, 20, minute), 235 * 20);
        assert_eq!(budget(sp(22, 0), &slots, 20, minute), 475 * 20);
        // Started late (a slow start): only what is left of the slot.
        assert_eq!(budget(sp(9, 0), &slots, 20, minute), 55 * 20);
    }

    fn cadence() -> Cadence {
        Cadence {
            sales: FullEvery::Daily,
            other: FullEvery::Interval(Duration::from_secs(7 * 24 * 3600)),
        }
    }

    #[test]
    fn sales_first_then_others_then_overdue_passes() {
        let now = sp(6, 0);
        let names = [
            "atendimentos_interacoes",
            "leads",
            "vendas",
            "reservas",
            "leads_interacoes",
        ];
        let states = synced_states(
            now,
            &[
                ("atendimentos_interacoes", ChronoDuration::days(8), 500_000),
                ("leads", ChronoDuration::days(2), 300_000),
                ("vendas", ChronoDuration::hours(30), 25_000),
                ("reservas", ChronoDuration::hours(4), 40_000),
                ("leads_interacoes", ChronoDuration::days(9), 1_200_000),
            ],
        );
        let p = plan(&objects(&names), &states, now, cadence(), Some(4700), 500);
        assert_eq!(
            order(&p),
            [
                ("vendas".into(), Step::SalesIncremental),
                ("reservas".into(), Step::SalesIncremental),
                ("atendimentos_interacoes".into(), Step::OtherIncremental),
                ("leads".into(), Step::OtherIncremental),
                ("leads_interacoes".into(), Step::OtherIncremental),
                // The oldest first; leads (2 days old) is not due yet, reservas was done today.
                ("leads_interacoes".into(), Step::FullPass),
                ("atendimentos_interacoes".into(), Step::FullPass),
                ("vendas".into(), Step::FullPass),
            ]
        );
        assert_eq!(p.steps[5].estimate, 2400);
        assert!(!Step::SalesIncremental.budgeted() && Step::FullPass.budgeted());
        // Without a budget everything runs: a due pass needs no incremental step before it.
        let unbudgeted = plan(&objects(&names), &states, now, cadence(), None, 500);
        assert_eq!(unbudgeted.steps.len(), 5);
        assert_eq!(unbudgeted.budget, u64::MAX);
    }

    #[test]
    fn a_new_tenant_backfills_the_sales_set_first() {
        let names: Vec<&str> = catalogue::OBJECTS.iter().map(|o| o.name).collect();
        let p = plan(
            &objects(&names),
            &HashMap::new(),
            sp(10, 0),
            cadence(),
            Some(4700),
            500,
        );
        let sales = catalogue::SALES_SET.len();
        assert!(p.steps[..sales]
            .iter()
            .all(|s| s.step == Step::SalesBackfill && catalogue::is_sales(&s.object)));
        assert!(p.steps[sales..]
            .iter()
            .all(|s| s.step == Step::OtherBackfill));
        assert_eq!(p.steps.len(), 70);
        // Within a step, catalogue order.
        assert_eq!(p.steps[0].object, "atendimentos_times");
    }

    #[test]
    fn a_paused_pass_resumes_after_the_incremental_steps_before_other_passes() {
        let now = sp(14, 0);
        let mut leads = synced(now - ChronoDuration::days(10), 300_000);
        leads.paused_pass = Some(PausedPass::at_page(401));
        let mut states = HashMap::new();
        states.insert("leads".to_string(), leads);
        states.insert(
            "vendas".into(),
            synced(now - ChronoDuration::days(3), 25_000),
        );
        // A backfill paused half way: still a backfill (no cursor yet).
        let mut precos = ObjectState {
            known_rows: Some(300_000),
            ..Default::default()
        };
        precos.paused_pass = Some(PausedPass::at_page(101));
        states.insert("unidades_precos".into(), precos);
        let p = plan(
            &objects(&["vendas", "leads", "unidades_precos"]),
            &states,
            now,
            cadence(),
            Some(1000),
            500,
        );
        assert_eq!(
            order(&p),
            [
                ("vendas".into(), Step::SalesIncremental),
                ("unidades_precos".into(), Step::SalesBackfill),
                ("leads".into(), Step::OtherIncremental),
                ("leads".into(), Step::FullPass),
                ("vendas".into(), Step::FullPass),
            ]
        );
        assert_eq!(p.steps[1].resume_page, Some(101));
        assert_eq!(p.steps[1].estimate, 500);
        assert_eq!(p.steps[3].resume_page, Some(401));
        assert_eq!(p.steps[3].estimate, 200);
    }

    #[test]
    fn full_passes_rotate_sales_daily_others_weekly() {
        let objs = objects(&["vendas", "leads"]);
        let due = |vendas_age_h: i64, leads_age_h: i64| {
            let now = sp(6, 0);
            let states = synced_states(
                now,
                &[
                    ("vendas", ChronoDuration::hours(vendas_age_h), 10),
                    ("leads", ChronoDuration::hours(leads_age_h), 10),
                ],
            );
            plan(&objs, &states, now, cadence(), Some(100), 500)
                .steps
                .into_iter()
                .filter(|s| s.step == Step::FullPass)
                .map(|s| s.object)
                .collect::<Vec<_>>()
        };
        // Daily is "the first run of the São Paulo day": at 06:00, a pass 7 h old was
        // yesterday's, one 5 h old today's.
        assert_eq!(due(7, 24 * 6), ["vendas"]);
        assert_eq!(due(5, 24 * 6), Vec::<String>::new());
        assert_eq!(due(0, 24 * 6), Vec::<String>::new());
        assert_eq!(due(0, 24 * 7), ["leads"]);
        assert_eq!(due(24 * 7 + 2, 24 * 7 + 1), ["vendas", "leads"]);
    }

    #[test]
    fn the_plan_describes_itself() {
        let p = Plan::all_full(&objects(&["leads", "vendas"]));
        assert_eq!(p.steps[0].object, "vendas");
        let text = p.describe();
        assert!(
            text.starts_with("budget unlimited requests; 2 steps"),
            "{text}"
        );
        assert!(text.contains("full pass"), "{text}");
    }
}

#[cfg(test)]
mod decide_tests {
    use super::*;
    use crate::extract::config::{FullEvery, RunSettings};
    use crate::landing::Mode;
    use chrono::TimeZone;

    fn state(cursor: Option<&str>, last_full: Option<DateTime<Utc>>) -> ObjectState {
        ObjectState {
            cursor: cursor.map(str::to_string),
            last_full_at: last_full,
            ..Default::default()
        }
    }

    #[test]
    fn no_cursor_means_full() {
        let s = RunSettings::default();
        let now = Utc::now();
        assert_eq!(
            decide(&state(None, None), &s, now, false),
            (Mode::Full, None)
        );
        // A zero or garbage cursor never becomes a filter (the API answers 400).
        assert_eq!(
            decide(
                &state(Some("0000-00-00 00:00:00"), Some(now)),
                &s,
                now,
                false
            )
            .0,
            Mode::Full
        );
    }

    #[test]
    fn daily_full_is_the_first_run_of_the_sao_paulo_day() {
        let s = RunSettings::default();
        // 02:59 UTC on the 29th is still the 28th in São Paulo.
        let last_full = Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap();
        let st = state(Some("2026-11-28 00:50:00"), Some(last_full));
        let same_day = Utc.with_ymd_and_hms(2026, 11, 29, 2, 59, 0).unwrap();
        let next_day = Utc.with_ymd_and_hms(2026, 11, 29, 3, 0, 0).unwrap();
        let (m, f) = decide(&st, &s, same_day, false);
        assert_eq!(m, Mode::Incremental);
        assert_eq!(f.map(|f| f.to_string()), Some("2026-11-28 00:50:00".into()));
        assert_eq!(decide(&st, &s, next_day, false).0, Mode::Full);
        assert_eq!(decide(&st, &s, same_day, true).0, Mode::Full);
    }

    #[test]
    fn cadence_variants() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        let st = state(
            Some("2026-11-29 08:00:00"),
            Some(now - chrono::Duration::hours(5)),
        );
        let mut s = RunSettings {
            full_every: FullEvery::Never,
            ..Default::default()
        };
        assert_eq!(decide(&st, &s, now, false).0, Mode::Incremental);
        s.full_every = FullEvery::Always;
        assert_eq!(decide(&st, &s, now, false).0, Mode::Full);
        s.full_every = FullEvery::Interval(Duration::from_secs(6 * 3600));
        assert_eq!(decide(&st, &s, now, false).0, Mode::Incremental);
        s.full_every = FullEvery::Interval(Duration::from_secs(4 * 3600));
        assert_eq!(decide(&st, &s, now, false).0, Mode::Full);
    }
}
