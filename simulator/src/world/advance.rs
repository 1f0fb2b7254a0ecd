//! Moving the clock: each span creates, updates, inactivates and hard-deletes rows at the
//! world's daily rates scaled to the span, and reports what changed.
//!
//! The steps of a span run in a fixed order and draw from one random generator, so a seed
//! and a sequence of spans always give the same world.

use super::*;

/// One span of the clock (at most a day): daily rates and chances are scaled by its share of
/// a day (exactly 1.0 for a whole day, so a day draws what it always drew), and every event
/// time falls inside it.
#[derive(Clone, Copy)]
pub(super) struct Span {
    start: SimTime,
    len: SimTime,
    share: f64,
}

impl Span {
    fn new(start: SimTime, len: SimTime) -> Self {
        Self {
            start,
            len,
            share: len as f64 / DAY as f64,
        }
    }

    fn end(self) -> SimTime {
        self.start + self.len
    }

    /// A random instant inside the span (its start when it lasts one second).
    fn instant(self, rng: &mut SmallRng) -> SimTime {
        if self.len > 1 {
            self.start + rng.random_range(1..self.len)
        } else {
            self.start
        }
    }

    /// How many events of a daily `rate` happen in the span.
    fn count(self, rng: &mut SmallRng, rate: f64) -> usize {
        poisson_ish(rng, rate * self.share)
    }

    /// Whether an event of daily chance `chance` happens in the span.
    fn happens(self, rng: &mut SmallRng, chance: f64) -> bool {
        rng.random::<f64>() < chance * self.share
    }
}

/// Objects whose rows are hard-deleted now and then in every world, and the daily chance.
const DAILY_HARD_DELETE_CHANCES: &[(&str, f64)] = &[
    ("/leads/interacoes", 0.9),
    ("/leads/tarefas", 0.9),
    ("/reservas/campos-adicionais", 0.25),
    ("/reservas/associados", 0.25),
    ("/comissoes/pagamentos", 0.25),
];

impl World {
    /// Advance the clock `days` days, day by day (the same as [`World::advance_by`] with
    /// `days × 86 400` seconds).
    pub fn advance(&mut self, days: u32) -> ChangeSummary {
        self.advance_by(u64::from(days) * DAY as u64)
    }

    /// Advance the clock `seconds`: whole days first, each as one day, then the remainder as
    /// one shorter span whose rates are the day's scaled to its length. Every change of a
    /// span happens inside it.
    pub fn advance_by(&mut self, seconds: u64) -> ChangeSummary {
        let mut changes = Changes::default();
        let mut rng = std::mem::replace(&mut self.rng, SmallRng::seed_from_u64(0));
        // The clock cannot pass the last second a `SimTime` holds.
        let room = (SimTime::MAX - self.now).max(0) as u64;
        let seconds = seconds.min(room);
        for _ in 0..seconds / DAY as u64 {
            self.advance_span(&mut rng, DAY, &mut changes);
        }
        let rest = (seconds % DAY as u64) as SimTime;
        if rest > 0 {
            self.advance_span(&mut rng, rest, &mut changes);
        }
        self.rng = rng;
        for table in self.tables.iter_mut() {
            if table.dirty {
                table.rebuild();
            }
        }
        let mut summary = ChangeSummary {
            days: (seconds / DAY as u64) as u32,
            seconds,
            now: fmt_dt(self.now),
            ..Default::default()
        };
        for (path, counts) in changes.objects {
            summary.objects.insert(path.to_string(), counts);
        }
        summary.inactivated_keys = self.keys_by_path(changes.inactivated);
        summary.deleted_keys = self.keys_by_path(changes.deleted);
        summary
    }

    /// The natural keys of rows given as (object index, position), by object path.
    fn keys_by_path(
        &self,
        rows: BTreeMap<&'static str, Vec<(usize, u32)>>,
    ) -> BTreeMap<String, Vec<String>> {
        rows.into_iter()
            .map(|(path, rows)| {
                let keys = rows
                    .iter()
                    .map(|&(object, pos)| self.key_of(object, pos))
                    .collect();
                (path.to_string(), keys)
            })
            .collect()
    }

    /// One span of `len` seconds (at most a day) from now ([`Span`]).
    fn advance_span(&mut self, rng: &mut SmallRng, len: SimTime, changes: &mut Changes) {
        let span = Span::new(self.now, len);
        self.new_leads(rng, span, changes);
        self.settle_pending_reservations(rng, span, changes);
        let count = span.count(rng, self.reservas_per_day);
        for _ in 0..count {
            let when = span.instant(rng);
            self.now = self.now.max(when);
            if let Some(reserva) = self.new_reserva(rng, when, changes) {
                self.generic_for_reserva(rng, reserva, false, when, changes);
            }
        }
        self.new_distratos(rng, span, changes);
        for commission in 0..self.comissoes.len() {
            let entity = &self.comissoes[commission];
            if entity.n_pagas < entity.parcelas {
                let paid_within = (span.start, span.end() - 1);
                self.pay_due_commissions(rng, commission as u32, paid_within, changes);
            }
        }
        self.update_rows(rng, span, changes);
        self.inactivate_rows(rng, span, changes);
        self.hard_delete_rows(rng, span, changes);
        self.now = span.end();
    }

    /// New leads, and their satellite rows.
    fn new_leads(&mut self, rng: &mut SmallRng, span: Span, changes: &mut Changes) {
        let count = span.count(rng, self.leads_per_day);
        let mut times: Vec<SimTime> = (0..count).map(|_| span.instant(rng)).collect();
        times.sort_unstable();
        for when in times {
            self.now = when;
            let lead = self.new_lead_entity(rng, when);
            changes.created(obj_index("/leads"));
            for object in 0..OBJECTS.len() {
                let def = self.defs[object];
                if def.semantic || def.ctx != Ctx::Lead {
                    continue;
                }
                let rows = if def.one_per {
                    usize::from(def.per >= 1.0 || rng.random::<f64>() < def.per)
                } else {
                    poisson_ish(rng, def.per)
                };
                for _ in 0..rows {
                    self.create_row(object, lead, when, changes);
                }
            }
        }
    }

    /// Reservations pending for more than two days get sold or cancelled.
    fn settle_pending_reservations(
        &mut self,
        rng: &mut SmallRng,
        span: Span,
        changes: &mut Changes,
    ) {
        let pending: Vec<u32> = self
            .reservas
            .iter()
            .enumerate()
            .filter(|(_, reservation)| {
                reservation.sit == ReservaSituacao::EmAnalise
                    && reservation.cad < span.start - 2 * DAY
            })
            .map(|(index, _)| index as u32)
            .collect();
        let sell_below = 0.25 * span.share;
        let cancel_below = (0.25 + self.shape.daily_cancel_chance) * span.share;
        for reserva in pending {
            let draw: f64 = rng.random();
            let when = span.instant(rng);
            self.now = self.now.max(when);
            if draw < sell_below {
                self.sell(rng, reserva, when, changes);
                self.generic_for_reserva(rng, reserva, true, when, changes);
            } else if draw < cancel_below {
                self.cancel(reserva, when, changes);
            }
        }
    }

    /// Distratos: a share of the sales made before the span, eventually.
    fn new_distratos(&mut self, rng: &mut SmallRng, span: Span, changes: &mut Changes) {
        let rate = self
            .distratos_per_day
            .unwrap_or(self.reservas_per_day * self.shape.distratos_per_reserva_day);
        let count = span.count(rng, rate);
        for _ in 0..count {
            if self.reservas.is_empty() {
                break;
            }
            for _attempt in 0..20 {
                let reserva = rng.random_range(0..self.reservas.len()) as u32;
                let reservation = &self.reservas[reserva as usize];
                if reservation.sit == ReservaSituacao::Vendida && reservation.venda < span.start {
                    let when = span.instant(rng);
                    self.now = self.now.max(when);
                    self.distrato(reserva, when, changes);
                    break;
                }
            }
        }
    }

    /// Updates: leads change situation, brokers edit their records, generic rows change.
    fn update_rows(&mut self, rng: &mut SmallRng, span: Span, changes: &mut Changes) {
        let count = span.count(rng, self.leads_per_day * 2.0);
        for _ in 0..count {
            let lead = rng.random_range(0..self.leads.len()) as u32;
            let when = span.instant(rng);
            self.leads[lead as usize].sit = rng.random_range(1..5);
            self.touch(obj_index("/leads"), lead, when, changes);
        }
        if span.happens(rng, 0.5) {
            let broker = rng.random_range(0..self.corretores.len()) as u32;
            let when = span.instant(rng);
            self.touch(obj_index("/corretores"), broker, when, changes);
        }
        for object in 0..OBJECTS.len() {
            if self.defs[object].semantic {
                continue;
            }
            let len = self.tables[object].rows.len();
            if len == 0 {
                continue;
            }
            let rows = span.count(rng, (len as f64 * 0.001).min(20.0) + 0.2);
            for _ in 0..rows {
                let pos = rng.random_range(0..len) as u32;
                let when = span.instant(rng);
                self.touch(object, pos, when, changes);
            }
        }
    }

    /// Soft deletes: leads discarded as inactive, now and then a broker leaving, generic rows.
    fn inactivate_rows(&mut self, rng: &mut SmallRng, span: Span, changes: &mut Changes) {
        let count = span.count(rng, self.leads_per_day * 0.1 + 0.3);
        for _ in 0..count {
            let lead = rng.random_range(0..self.leads.len()) as u32;
            let when = span.instant(rng);
            self.inactivate(obj_index("/leads"), lead, when, changes);
        }
        if span.happens(rng, 0.1) {
            let broker = rng.random_range(0..self.corretores.len()) as u32;
            let when = span.instant(rng);
            self.inactivate(obj_index("/corretores"), broker, when, changes);
        }
        for path in ["/leads/tarefas", "/atendimentos", "/reservas/contratos"] {
            let object = obj_index(path);
            let len = self.tables[object].rows.len();
            if len > 0 && span.happens(rng, 0.5) {
                let pos = rng.random_range(0..len) as u32;
                let when = span.instant(rng);
                self.inactivate(object, pos, when, changes);
            }
        }
    }

    /// Hard deletes: rows that simply disappear, now and then in every world, and in the
    /// realistic worlds at rates that grow with the world.
    fn hard_delete_rows(&mut self, rng: &mut SmallRng, span: Span, changes: &mut Changes) {
        for &(path, chance) in DAILY_HARD_DELETE_CHANCES {
            let object = obj_index(path);
            let len = self.tables[object].rows.len();
            if len > 0 && span.happens(rng, chance) {
                let pos = rng.random_range(0..len) as u32;
                self.hard_delete(object, pos, changes);
            }
        }
        if !self.shape.scaled_hard_deletes {
            return;
        }
        for &(path, per_reserva) in crate::profile::DAILY_HARD_DELETES {
            let object = obj_index(path);
            let len = self.tables[object].rows.len();
            if len == 0 {
                continue;
            }
            let count = span.count(rng, self.reservas_per_day * per_reserva);
            for _ in 0..count {
                let pos = rng.random_range(0..len) as u32;
                self.hard_delete(object, pos, changes);
            }
        }
    }

    /// Satellite rows of a new or newly sold reservation.
    pub(super) fn generic_for_reserva(
        &mut self,
        rng: &mut SmallRng,
        reserva: u32,
        sold: bool,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let want = if sold { Ctx::Sold } else { Ctx::Reserva };
        for object in 0..OBJECTS.len() {
            let def = self.defs[object];
            if def.semantic || def.ctx != want {
                continue;
            }
            let rows = poisson_ish(rng, def.per);
            for _ in 0..rows {
                self.create_row(object, reserva, when, changes);
            }
        }
    }
}
