//! A generated world's past: leads and reservations spread over the history, each
//! reservation's fate (sold, perhaps undone by a distrato, or cancelled), the commissions paid
//! so far, the repasses' progress, the generic objects' rows and the rows' initial states.

use super::generate::Sizes;
use super::*;

impl World {
    /// Leads, then reservations and their fates, uniformly over the history.
    pub(super) fn generate_history(&mut self, rng: &mut SmallRng, sizes: &Sizes) {
        let (start, now) = (self.start, self.now);
        let mut lead_times: Vec<SimTime> = (0..sizes.leads)
            .map(|_| start + rng.random_range(0..(now - start)))
            .collect();
        lead_times.sort_unstable();
        for cad in lead_times {
            self.new_lead_entity(rng, cad);
        }
        let mut reservation_times: Vec<SimTime> = (0..sizes.reservas)
            .map(|_| start + 30 * DAY + rng.random_range(0..(now - start - 31 * DAY)))
            .collect();
        reservation_times.sort_unstable();
        // Generation reports no changes: the counts are dropped.
        let mut changes = Changes::default();
        for cad in reservation_times {
            if let Some(reserva) = self.new_reserva(rng, cad, &mut changes) {
                self.decide_fate(rng, reserva, cad, &mut changes);
            }
        }
        for commission in 0..self.comissoes.len() {
            let due_by = (SimTime::MIN, now);
            self.pay_due_commissions(rng, commission as u32, due_by, &mut changes);
        }
        // A repasse moves a step every 45 days after the sale.
        let object = obj_index("/repasses");
        for repasse in 0..self.repasses.len() {
            let reserva = self.repasses[repasse].reserva as usize;
            let venda = self.reservas[reserva].venda;
            let steps = ((now - venda) / (45 * DAY)).clamp(0, 4);
            let row = self.repasses[repasse].row as usize;
            self.tables[object].rows[row].refdt = (venda + steps * 45 * DAY).min(now);
        }
    }

    /// A reservation's outcome, decided when it is made and applied as far as its events
    /// fall before now.
    fn decide_fate(
        &mut self,
        rng: &mut SmallRng,
        reserva: u32,
        cad: SimTime,
        changes: &mut Changes,
    ) {
        let now = self.now;
        let shape = &self.shape;
        let (sale_below, quick_cancel_below, distrato_share) = (
            shape.sale_below,
            shape.quick_cancel_below,
            shape.distrato_share,
        );
        let draw: f64 = rng.random();
        if draw < sale_below {
            let venda = cad + rng.random_range(DAY..15 * DAY);
            if venda > now {
                return;
            }
            self.sell(rng, reserva, venda, changes);
            if rng.random::<f64>() < distrato_share {
                let distrato_at = venda + rng.random_range(30 * DAY..400 * DAY);
                if distrato_at <= now {
                    self.distrato(reserva, distrato_at, changes);
                }
            }
            return;
        }
        // Cancelled within weeks; the rest (8 %) expire unsold after a month, except the
        // recent ones, which are still pending at `now`.
        let cancel_at = if draw < quick_cancel_below {
            cad + rng.random_range(2 * DAY..20 * DAY)
        } else {
            cad + rng.random_range(20 * DAY..35 * DAY)
        };
        if cancel_at <= now {
            self.cancel(reserva, cancel_at, changes);
        }
    }

    /// The rows of the objects the world's events do not fill: a share per lead, per
    /// reservation or per sale, or a handful for the objects without context.
    pub(super) fn generate_generic_rows(&mut self, rng: &mut SmallRng, scale: f64) {
        for object in 0..OBJECTS.len() {
            let def = self.defs[object];
            if def.semantic {
                continue;
            }
            match def.ctx {
                Ctx::Lead => {
                    let count = (self.leads.len() as f64 * def.per).round() as usize;
                    for nth in 0..count {
                        let lead = if def.one_per {
                            nth
                        } else {
                            rng.random_range(0..self.leads.len())
                        };
                        let base = self.leads[lead].cad;
                        self.push_generic(rng, object, lead as u32, base);
                    }
                }
                Ctx::Reserva | Ctx::Sold => self.generic_rows_of_reservations(rng, object),
                _ => {
                    let count = if OBJECTS[object].path == "/demandas" {
                        17
                    } else {
                        (def.per * scale.sqrt()).round().max(3.0) as usize
                    };
                    for _ in 0..count {
                        let base = self.start + rng.random_range(0..(self.now - self.start));
                        self.push_generic(rng, object, 0, base);
                    }
                }
            }
        }
    }

    /// The rows of a generic object hanging from reservations (or from sales only).
    fn generic_rows_of_reservations(&mut self, rng: &mut SmallRng, object: usize) {
        let def = self.defs[object];
        let pool: Vec<u32> = (0..self.reservas.len() as u32)
            .filter(|&reserva| def.ctx == Ctx::Reserva || self.reservas[reserva as usize].venda > 0)
            .collect();
        if pool.is_empty() {
            return;
        }
        let count = (pool.len() as f64 * def.per).round() as usize;
        for nth in 0..count {
            let reserva = if def.per <= 1.0 {
                pool[nth % pool.len()]
            } else {
                pool[rng.random_range(0..pool.len())]
            };
            let reservation = &self.reservas[reserva as usize];
            let base = if def.ctx == Ctx::Sold {
                reservation.venda
            } else {
                reservation.cad
            };
            self.push_generic(rng, object, reserva, base);
        }
    }

    /// A few rows are already inactive, and a few hide their `referencia_data`.
    pub(super) fn set_initial_states(&mut self, rng: &mut SmallRng, cfg: &SimConfig) {
        for object in 0..OBJECTS.len() {
            let spec = &OBJECTS[object];
            // `/agendamentos/vistorias` only ever serves active rows (leaked server query,
            // §6): its inactive rows are simply absent.
            let has_ativo = spec.has_ativo && spec.path != "/agendamentos/vistorias";
            let hidden = self.defs[object].hidden_reference_date;
            let always_inactive =
                cfg.quirks.metric_dirt && crate::dirt::INACTIVE_OBJECTS.contains(&spec.path);
            for (pos, row) in self.tables[object].rows.iter_mut().enumerate() {
                if has_ativo && rng.random::<f64>() < 0.02
                    || always_inactive && pos as u32 == crate::dirt::ALWAYS_INACTIVE_ROW
                {
                    row.state.inactivate();
                }
                if cfg.quirks.zero_dates
                    && hidden != ReferenceDate::Real
                    && rng.random::<f64>() < 0.03
                {
                    row.state.set_reference_date(hidden);
                }
            }
        }
    }

    /// A generic row within 20 days after its parent's event at `base`, and never in the
    /// future (rows that would be are spread over the hours before now rather than piled up
    /// on it); three in ten were edited since.
    fn push_generic(&mut self, rng: &mut SmallRng, object: usize, ctx: u32, base: SimTime) -> u32 {
        let now = self.now;
        let mut cad = base + rng.random_range(0..20 * DAY);
        if cad > now {
            cad = (now - rng.random_range(0..6 * 3600)).max(base.min(now));
        }
        let refdt = if rng.random::<f64>() < 0.3 {
            cad + rng.random_range(0..((now - cad).max(1)))
        } else {
            cad
        };
        self.tables[object].push(ctx, cad, refdt)
    }
}
