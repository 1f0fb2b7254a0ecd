//! Moving the clock: each span creates, updates, inactivates and hard-deletes rows at the
//! world's daily rates scaled to the span, and reports what changed.

use super::*;

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
        for (path, rows) in changes.inactivated {
            let keys = rows
                .iter()
                .map(|&(object, pos)| self.key_of(object, pos))
                .collect();
            summary.inactivated_keys.insert(path.to_string(), keys);
        }
        for (path, rows) in changes.deleted {
            let keys = rows
                .iter()
                .map(|&(object, pos)| self.key_of(object, pos))
                .collect();
            summary.deleted_keys.insert(path.to_string(), keys);
        }
        summary
    }

    /// One span of `len` seconds (at most a day) from now. Daily rates and chances are scaled
    /// by `len / DAY` (exactly 1.0 for a whole day, so a day draws what it always drew), and
    /// every event time falls inside the span.
    pub(super) fn advance_span(&mut self, rng: &mut SmallRng, len: SimTime, changes: &mut Changes) {
        let day0 = self.now;
        let day1 = self.now + len;
        let share = len as f64 / DAY as f64;
        let at = |rng: &mut SmallRng| {
            if len > 1 {
                day0 + rng.random_range(1..len)
            } else {
                day0
            }
        };
        // New leads (and their satellite rows).
        let count = poisson_ish(rng, self.leads_per_day * share);
        let mut times: Vec<SimTime> = (0..count).map(|_| at(rng)).collect();
        times.sort_unstable();
        for when in times {
            self.now = when;
            let lead = self.new_lead_entity(rng, when);
            changes.entry(obj_index("/leads")).created += 1;
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
                    self.tables[object].push(lead, when, when);
                    changes.entry(object).created += 1;
                }
            }
        }
        // Pending reservations get sold or cancelled.
        let pending: Vec<u32> = self
            .reservas
            .iter()
            .enumerate()
            .filter(|(_, reserva)| {
                reserva.sit == ReservaSituacao::EmAnalise && reserva.cad < day0 - 2 * DAY
            })
            .map(|(index, _)| index as u32)
            .collect();
        let sell_below = 0.25 * share;
        let cancel_below = (0.25 + self.shape.daily_cancel_chance) * share;
        for reserva in pending {
            let draw: f64 = rng.random();
            let when = at(rng);
            self.now = self.now.max(when);
            if draw < sell_below {
                self.sell(rng, reserva, when, changes);
                self.generic_for_reserva(rng, reserva, true, when, changes);
            } else if draw < cancel_below {
                self.cancel(reserva, when, changes);
            }
        }
        // New reservations.
        let count = poisson_ish(rng, self.reservas_per_day * share);
        for _ in 0..count {
            let when = at(rng);
            self.now = self.now.max(when);
            if let Some(reserva) = self.new_reserva(rng, when, changes) {
                self.generic_for_reserva(rng, reserva, false, when, changes);
            }
        }
        // Distratos: a share of the sales, eventually.
        let rate = self
            .distratos_per_day
            .unwrap_or(self.reservas_per_day * self.shape.distratos_per_reserva_day);
        let count = poisson_ish(rng, rate * share);
        for _ in 0..count {
            if self.reservas.is_empty() {
                break;
            }
            for _attempt in 0..20 {
                let reserva = rng.random_range(0..self.reservas.len()) as u32;
                let res = &self.reservas[reserva as usize];
                if res.sit == ReservaSituacao::Vendida && res.venda < day0 {
                    let when = at(rng);
                    self.now = self.now.max(when);
                    self.distrato(rng, reserva, when, changes);
                    break;
                }
            }
        }
        // Commission payments.
        for commission in 0..self.comissoes.len() {
            let com = &self.comissoes[commission];
            if com.n_pagas < com.parcelas {
                self.pay_due_commissions(rng, commission as u32, (day0, day1 - 1), changes);
            }
        }
        // Updates: leads change situation; brokers edit their records; generic rows change.
        let count = poisson_ish(rng, self.leads_per_day * 2.0 * share);
        for _ in 0..count {
            let lead = rng.random_range(0..self.leads.len()) as u32;
            let when = at(rng);
            self.leads[lead as usize].sit = rng.random_range(1..5);
            self.touch(obj_index("/leads"), lead, when, changes);
        }
        if rng.random::<f64>() < 0.5 * share {
            let corretor = rng.random_range(0..self.corretores.len()) as u32;
            let when = at(rng);
            self.touch(obj_index("/corretores"), corretor, when, changes);
        }
        for object in 0..OBJECTS.len() {
            if self.defs[object].semantic {
                continue;
            }
            let len = self.tables[object].rows.len();
            if len == 0 {
                continue;
            }
            let rows = poisson_ish(rng, ((len as f64 * 0.001).min(20.0) + 0.2) * share);
            for _ in 0..rows {
                let pos = rng.random_range(0..len) as u32;
                let when = at(rng);
                self.touch(object, pos, when, changes);
            }
        }
        // Soft deletes: leads discarded as inactive, occasional broker leaving, generic rows.
        let count = poisson_ish(rng, (self.leads_per_day * 0.1 + 0.3) * share);
        for _ in 0..count {
            let lead = rng.random_range(0..self.leads.len()) as u32;
            let when = at(rng);
            self.inactivate(obj_index("/leads"), lead, when, changes);
        }
        if rng.random::<f64>() < 0.1 * share {
            let corretor = rng.random_range(0..self.corretores.len()) as u32;
            let when = at(rng);
            self.inactivate(obj_index("/corretores"), corretor, when, changes);
        }
        for path in ["/leads/tarefas", "/atendimentos", "/reservas/contratos"] {
            let object = obj_index(path);
            let len = self.tables[object].rows.len();
            if len > 0 && rng.random::<f64>() < 0.5 * share {
                let pos = rng.random_range(0..len) as u32;
                let when = at(rng);
                self.inactivate(object, pos, when, changes);
            }
        }
        // Hard deletes: rows that simply disappear.
        for path in [
            "/leads/interacoes",
            "/leads/tarefas",
            "/reservas/campos-adicionais",
            "/reservas/associados",
            "/comissoes/pagamentos",
        ] {
            let object = obj_index(path);
            let len = self.tables[object].rows.len();
            let chance = if path == "/leads/interacoes" || path == "/leads/tarefas" {
                0.9
            } else {
                0.25
            };
            if len > 0 && rng.random::<f64>() < chance * share {
                let pos = rng.random_range(0..len) as u32;
                self.hard_delete(object, pos, changes);
            }
        }
        if self.shape.scaled_hard_deletes {
            for &(path, per_reserva) in crate::profile::DAILY_HARD_DELETES {
                let object = obj_index(path);
                let len = self.tables[object].rows.len();
                if len == 0 {
                    continue;
                }
                let count = poisson_ish(rng, self.reservas_per_day * per_reserva * share);
                for _ in 0..count {
                    let pos = rng.random_range(0..len) as u32;
                    self.hard_delete(object, pos, changes);
                }
            }
        }
        self.now = day1;
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
        for object in 0..OBJECTS.len() {
            let def = self.defs[object];
            let want = if sold { Ctx::Sold } else { Ctx::Reserva };
            if def.semantic || def.ctx != want {
                continue;
            }
            let rows = poisson_ish(rng, def.per);
            for _ in 0..rows {
                self.tables[object].push(reserva, when, when);
                changes.entry(object).created += 1;
            }
        }
    }
}
