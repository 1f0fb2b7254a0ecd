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
        let mut ch = Changes::default();
        let mut rng = std::mem::replace(&mut self.rng, SmallRng::seed_from_u64(0));
        // The clock cannot pass the last second a `SimTime` holds.
        let room = (SimTime::MAX - self.now).max(0) as u64;
        let seconds = seconds.min(room);
        for _ in 0..seconds / DAY as u64 {
            self.advance_span(&mut rng, DAY, &mut ch);
        }
        let rest = (seconds % DAY as u64) as SimTime;
        if rest > 0 {
            self.advance_span(&mut rng, rest, &mut ch);
        }
        self.rng = rng;
        for t in self.tables.iter_mut() {
            if t.dirty {
                t.rebuild();
            }
        }
        let mut summary = ChangeSummary {
            days: (seconds / DAY as u64) as u32,
            seconds,
            now: fmt_dt(self.now),
            ..Default::default()
        };
        for (k, v) in ch.objects {
            summary.objects.insert(k.to_string(), v);
        }
        for (k, v) in ch.inactivated {
            let keys = v.iter().map(|&(oi, pos)| self.key_of(oi, pos)).collect();
            summary.inactivated_keys.insert(k.to_string(), keys);
        }
        for (k, v) in ch.deleted {
            let keys = v.iter().map(|&(oi, pos)| self.key_of(oi, pos)).collect();
            summary.deleted_keys.insert(k.to_string(), keys);
        }
        summary
    }

    /// One span of `len` seconds (at most a day) from now. Daily rates and chances are scaled
    /// by `len / DAY` (exactly 1.0 for a whole day, so a day draws what it always drew), and
    /// every event time falls inside the span.
    pub(super) fn advance_span(&mut self, rng: &mut SmallRng, len: SimTime, ch: &mut Changes) {
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
        let n = poisson_ish(rng, self.leads_per_day * share);
        let mut ts: Vec<SimTime> = (0..n).map(|_| at(rng)).collect();
        ts.sort_unstable();
        for t in ts {
            self.now = t;
            let l = self.new_lead_entity(rng, t);
            ch.entry(obj_index("/leads")).created += 1;
            for oi in 0..OBJECTS.len() {
                let d = self.defs[oi];
                if d.semantic || d.ctx != Ctx::Lead {
                    continue;
                }
                let k = if d.one_per {
                    usize::from(d.per >= 1.0 || rng.random::<f64>() < d.per)
                } else {
                    poisson_ish(rng, d.per)
                };
                for _ in 0..k {
                    self.tables[oi].push(l, t, t);
                    ch.entry(oi).created += 1;
                }
            }
        }
        // Pending reservations get sold or cancelled.
        let pending: Vec<u32> = self
            .reservas
            .iter()
            .enumerate()
            .filter(|(_, r)| r.sit == ReservaSituacao::EmAnalise && r.cad < day0 - 2 * DAY)
            .map(|(i, _)| i as u32)
            .collect();
        let sell_below = 0.25 * share;
        let cancel_below = (0.25 + self.shape.daily_cancel_chance) * share;
        for r in pending {
            let x: f64 = rng.random();
            let t = at(rng);
            self.now = self.now.max(t);
            if x < sell_below {
                self.sell(rng, r, t, ch);
                self.generic_for_reserva(rng, r, true, t, ch);
            } else if x < cancel_below {
                self.cancel(r, t, ch);
            }
        }
        // New reservations.
        let n = poisson_ish(rng, self.reservas_per_day * share);
        for _ in 0..n {
            let t = at(rng);
            self.now = self.now.max(t);
            if let Some(r) = self.new_reserva(rng, t, ch) {
                self.generic_for_reserva(rng, r, false, t, ch);
            }
        }
        // Distratos: a share of the sales, eventually.
        let rate = self
            .distratos_per_day
            .unwrap_or(self.reservas_per_day * self.shape.distratos_per_reserva_day);
        let n = poisson_ish(rng, rate * share);
        for _ in 0..n {
            if self.reservas.is_empty() {
                break;
            }
            for _attempt in 0..20 {
                let r = rng.random_range(0..self.reservas.len()) as u32;
                let res = &self.reservas[r as usize];
                if res.sit == ReservaSituacao::Vendida && res.venda < day0 {
                    let t = at(rng);
                    self.now = self.now.max(t);
                    self.distrato(rng, r, t, ch);
                    break;
                }
            }
        }
        // Commission payments.
        for c in 0..self.comissoes.len() {
            let com = &self.comissoes[c];
            if com.n_pagas < com.parcelas {
                self.pay_due_commissions(rng, c as u32, day1 - 1, ch);
            }
        }
        // Updates: leads change situation; brokers edit their records; generic rows change.
        let n = poisson_ish(rng, self.leads_per_day * 2.0 * share);
        for _ in 0..n {
            let l = rng.random_range(0..self.leads.len()) as u32;
            let t = at(rng);
            self.leads[l as usize].sit = rng.random_range(1..5);
            self.touch(obj_index("/leads"), l, t, ch);
        }
        if rng.random::<f64>() < 0.5 * share {
            let c = rng.random_range(0..self.corretores.len()) as u32;
            let t = at(rng);
            self.touch(obj_index("/corretores"), c, t, ch);
        }
        for oi in 0..OBJECTS.len() {
            if self.defs[oi].semantic {
                continue;
            }
            let len = self.tables[oi].rows.len();
            if len == 0 {
                continue;
            }
            let k = poisson_ish(rng, ((len as f64 * 0.001).min(20.0) + 0.2) * share);
            for _ in 0..k {
                let pos = rng.random_range(0..len) as u32;
                let t = at(rng);
                self.touch(oi, pos, t, ch);
            }
        }
        // Soft deletes: leads discarded as inactive, occasional broker leaving, generic rows.
        let n = poisson_ish(rng, (self.leads_per_day * 0.1 + 0.3) * share);
        for _ in 0..n {
            let l = rng.random_range(0..self.leads.len()) as u32;
            let t = at(rng);
            self.inactivate(obj_index("/leads"), l, t, ch);
        }
        if rng.random::<f64>() < 0.1 * share {
            let c = rng.random_range(0..self.corretores.len()) as u32;
            let t = at(rng);
            self.inactivate(obj_index("/corretores"), c, t, ch);
        }
        for path in ["/leads/tarefas", "/atendimentos", "/reservas/contratos"] {
            let oi = obj_index(path);
            let len = self.tables[oi].rows.len();
            if len > 0 && rng.random::<f64>() < 0.5 * share {
                let pos = rng.random_range(0..len) as u32;
                let t = at(rng);
                self.inactivate(oi, pos, t, ch);
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
            let oi = obj_index(path);
            let len = self.tables[oi].rows.len();
            let p = if path == "/leads/interacoes" || path == "/leads/tarefas" {
                0.9
            } else {
                0.25
            };
            if len > 0 && rng.random::<f64>() < p * share {
                let pos = rng.random_range(0..len) as u32;
                self.hard_delete(oi, pos, ch);
            }
        }
        if self.shape.scaled_hard_deletes {
            for &(path, per_reserva) in crate::profile::DAILY_HARD_DELETES {
                let oi = obj_index(path);
                let len = self.tables[oi].rows.len();
                if len == 0 {
                    continue;
                }
                let n = poisson_ish(rng, self.reservas_per_day * per_reserva * share);
                for _ in 0..n {
                    let pos = rng.random_range(0..len) as u32;
                    self.hard_delete(oi, pos, ch);
                }
            }
        }
        self.now = day1;
    }

    /// Satellite rows of a new or newly sold reservation.
    pub(super) fn generic_for_reserva(
        &mut self,
        rng: &mut SmallRng,
        r: u32,
        sold: bool,
        t: SimTime,
        ch: &mut Changes,
    ) {
        for oi in 0..OBJECTS.len() {
            let d = self.defs[oi];
            let want = if sold { Ctx::Sold } else { Ctx::Reserva };
            if d.semantic || d.ctx != want {
                continue;
            }
            let k = poisson_ish(rng, d.per);
            for _ in 0..k {
                self.tables[oi].push(r, t, t);
                ch.entry(oi).created += 1;
            }
        }
    }
}
