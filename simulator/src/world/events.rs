//! The events of a sale's life (a lead, a reservation, a sale, a cancellation, a distrato,
//! a commission paid) and the rows they create and change, shared by generation and the
//! clock. The order of the random draws is part of the world: a seed gives the same world
//! only while each event draws the same numbers in the same order.

use super::*;

/// A payment series of a reservation being made: (series, instalments, total centavos).
type PlannedCondition = (Serie, u16, i64);

/// The payment conditions of a contract worth `valor`: a down payment, perhaps a signal,
/// monthly and intermediate instalments, FGTS and a subsidy now and then, and the bank
/// financing the rest, so that they add up exactly to the contract value.
fn payment_plan(rng: &mut SmallRng, valor: i64) -> Vec<PlannedCondition> {
    let share =
        |rng: &mut SmallRng, low: i64, high: i64| valor * rng.random_range(low..high) / 10_000;
    let mut plan: Vec<PlannedCondition> = Vec::new();
    plan.push((Serie::Ato, 1, share(rng, 500, 1000)));
    if rng.random::<f64>() < 0.5 {
        let parcelas = rng.random_range(1..4);
        plan.push((Serie::Sinal, parcelas, share(rng, 200, 500)));
    }
    let parcelas = rng.random_range(24..61);
    plan.push((Serie::Mensais, parcelas, share(rng, 800, 1500)));
    if rng.random::<f64>() < 0.4 {
        let parcelas = rng.random_range(2..5);
        plan.push((Serie::Intermediarias, parcelas, share(rng, 300, 600)));
    }
    if rng.random::<f64>() < 0.4 {
        plan.push((Serie::Fgts, 1, share(rng, 200, 600)));
    }
    if valor < 30_000_000 && rng.random::<f64>() < 0.5 {
        plan.push((Serie::Subsidio, 1, share(rng, 300, 800)));
    }
    let planned: i64 = plan.iter().map(|(_, _, total)| total).sum();
    plan.push((Serie::Financiamento, 1, valor - planned));
    plan
}

impl World {
    pub(super) fn new_lead_entity(&mut self, rng: &mut SmallRng, cad: SimTime) -> u32 {
        let lead = self.leads.len() as u32;
        self.leads.push(Lead {
            corretor: rng.random_range(0..self.corretores.len()) as u32,
            emp: rng.random_range(0..self.emps.len()) as u32,
            midia: rng.random_range(0..crate::names::MIDIAS.len()) as u8,
            sit: rng.random_range(1..5),
            cad,
            reserva: NONE,
        });
        let refdt = if rng.random::<f64>() < 0.4 {
            (cad + rng.random_range(0..60 * DAY)).min(self.now.max(cad))
        } else {
            cad
        };
        self.tables[obj_index("/leads")].push(lead, cad, refdt);
        lead
    }

    /// A new reservation at `cad` on a random available unit, for a lead created before.
    pub(super) fn new_reserva(
        &mut self,
        rng: &mut SmallRng,
        cad: SimTime,
        changes: &mut Changes,
    ) -> Option<u32> {
        if self.available.is_empty() {
            return None;
        }
        let available_index = rng.random_range(0..self.available.len());
        let unidade = self.available.swap_remove(available_index);
        // One of the leads created shortly before `cad` (leads are sorted by creation).
        let created_before = self.leads.partition_point(|lead| lead.cad < cad).max(1);
        let earliest = created_before.saturating_sub(created_before / 5 + 50);
        let lead = rng.random_range(earliest..created_before) as u32;
        let reserva = self.reservas.len() as u32;
        let discount = rng.random_range(0..800); // up to 8 %
        let valor = self.unidades[unidade as usize].preco * (10_000 - discount) / 10_000 / 100
            * 100
            + rng.random_range(0..100);
        let corretor = self.leads[lead as usize].corretor;
        self.leads[lead as usize].reserva = reserva;
        self.leads[lead as usize].sit = 5;
        let cond_start = self.condicoes.len() as u32;
        let plan = payment_plan(rng, valor);
        self.add_conditions(reserva, &plan, cad, changes);
        let assoc = self.maybe_associate(rng, reserva, cad, changes);
        self.reservas.push(Reserva {
            unidade,
            lead,
            corretor,
            cad,
            venda: 0,
            distrato: 0,
            cancel: 0,
            sit: ReservaSituacao::EmAnalise,
            prev_sit: ReservaSituacao::Reservada,
            valor,
            cond_start,
            cond_n: plan.len() as u8,
            tabela: rng.random_range(0..2),
            assoc,
            comissao: NONE,
            comissao_n: 0,
            repasse: NONE,
            hist_venda: NONE,
        });
        self.create_row(obj_index("/reservas"), reserva, cad, changes);
        self.create_row(
            obj_index("/reservas/registros/flags"),
            reserva,
            cad,
            changes,
        );
        let (from, to) = (ReservaSituacao::Reservada, ReservaSituacao::EmAnalise);
        self.hist_reserva(reserva, from, to, cad, changes);
        let unit = &mut self.unidades[unidade as usize];
        unit.sit = UnidadeSituacao::Reservada;
        unit.holder = reserva;
        let (from, to) = (UnidadeSituacao::Disponivel, UnidadeSituacao::Reservada);
        self.unit_event(unidade, from, to, cad, changes);
        self.touch(obj_index("/leads"), lead, cad, changes);
        Some(reserva)
    }

    /// The reservation's payment conditions. A few reservations serve no condition rows (the
    /// pró-soluto then comes from the reservation's own fields); the conditions still exist,
    /// so those fields add up.
    fn add_conditions(
        &mut self,
        reserva: u32,
        plan: &[PlannedCondition],
        cad: SimTime,
        changes: &mut Changes,
    ) {
        let served = !(self.quirks.metric_dirt
            && crate::dirt::reserva_without_conditions(self.seed, reserva));
        let object = obj_index("/reservas/condicoes");
        for (nth, &(serie, parcelas, valor)) in plan.iter().enumerate() {
            let condition = self.condicoes.len() as u32;
            self.condicoes.push(Condicao {
                reserva,
                serie,
                parcelas,
                valor,
                venc: cad + (nth as i32) * 30 * DAY,
            });
            if served {
                self.create_row(object, condition, cad, changes);
            }
        }
    }

    /// A co-buyer on three reservations in ten: its index, or [`NONE`].
    fn maybe_associate(
        &mut self,
        rng: &mut SmallRng,
        reserva: u32,
        cad: SimTime,
        changes: &mut Changes,
    ) -> u32 {
        if rng.random::<f64>() >= 0.3 {
            return NONE;
        }
        let associate = self.assocs.len() as u32;
        self.assocs.push(Assoc {
            reserva,
            pessoa: rng.random_range(0..self.leads.len()) as u32,
        });
        self.create_row(obj_index("/reservas/associados"), associate, cad, changes);
        associate
    }

    pub(super) fn hist_reserva(
        &mut self,
        reserva: u32,
        de: ReservaSituacao,
        para: ReservaSituacao,
        when: SimTime,
        changes: &mut Changes,
    ) -> u32 {
        let entry = self.hist_res.len() as u32;
        self.hist_res.push(HistReserva { reserva, de, para });
        self.create_row(
            obj_index("/reservas/historico/situacoes"),
            entry,
            when,
            changes,
        );
        entry
    }

    pub(super) fn unit_event(
        &mut self,
        unidade: u32,
        de: UnidadeSituacao,
        para: UnidadeSituacao,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let entry = self.hist_uni.len() as u32;
        self.hist_uni.push(HistUnidade { unidade, de, para });
        self.create_row(obj_index("/unidades/situacao"), entry, when, changes);
        self.touch(obj_index("/unidades"), unidade, when, changes);
    }

    /// Move a reservation to situation `to` at `when`: its history entry (`from` → `to`) and
    /// the rows that show its situation. The caller has stamped the event's own date.
    fn change_situation(
        &mut self,
        reserva: u32,
        (from, to): (ReservaSituacao, ReservaSituacao),
        when: SimTime,
        changes: &mut Changes,
    ) -> u32 {
        let reservation = &mut self.reservas[reserva as usize];
        reservation.prev_sit = reservation.sit;
        reservation.sit = to;
        let entry = self.hist_reserva(reserva, from, to, when, changes);
        self.touch(obj_index("/reservas"), reserva, when, changes);
        let flags = obj_index("/reservas/registros/flags");
        self.touch(flags, reserva, when, changes);
        entry
    }

    pub(super) fn sell(
        &mut self,
        rng: &mut SmallRng,
        reserva: u32,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let reservation = &mut self.reservas[reserva as usize];
        reservation.venda = when;
        let (unidade, valor) = (reservation.unidade, reservation.valor);
        let financed = self
            .conditions_of(reserva)
            .any(|condition| condition.serie == Serie::Financiamento);
        let situations = (ReservaSituacao::EmAnalise, ReservaSituacao::Vendida);
        let entry = self.change_situation(reserva, situations, when, changes);
        self.reservas[reserva as usize].hist_venda = entry;
        self.create_row(obj_index("/vendas"), reserva, when, changes);
        self.unidades[unidade as usize].sit = UnidadeSituacao::Vendida;
        let (from, to) = (UnidadeSituacao::Reservada, UnidadeSituacao::Vendida);
        self.unit_event(unidade, from, to, when, changes);
        self.add_commissions(rng, reserva, valor, when, changes);
        if financed {
            let repasse = self.repasses.len() as u32;
            let row = self.create_row(obj_index("/repasses"), repasse, when, changes);
            self.repasses.push(Repasse { reserva, row });
            self.reservas[reserva as usize].repasse = repasse;
        }
    }

    /// A sale's commissions: the broker's, then (realistic worlds) the agency's and the
    /// managers'.
    fn add_commissions(
        &mut self,
        rng: &mut SmallRng,
        reserva: u32,
        valor: i64,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let per_sale = self.shape.commissions_per_sale;
        let count = if per_sale == 1.0 {
            1
        } else {
            poisson_ish(rng, per_sale).clamp(1, u8::MAX as usize)
        };
        let first = self.comissoes.len() as u32;
        for nth in 0..count {
            let bp = if nth == 0 {
                rng.random_range(400..601u16)
            } else {
                rng.random_range(50..201u16)
            };
            let commission = self.comissoes.len() as u32;
            let row = self.create_row(obj_index("/comissoes"), commission, when, changes);
            self.comissoes.push(Comissao {
                reserva,
                bp,
                valor: valor * bp as i64 / 10_000,
                pago: 0,
                parcelas: rng.random_range(1..4),
                n_pagas: 0,
                last_pag: 0,
                row,
            });
        }
        self.reservas[reserva as usize].comissao = first;
        self.reservas[reserva as usize].comissao_n = count as u8;
    }

    pub(super) fn cancel(&mut self, reserva: u32, when: SimTime, changes: &mut Changes) {
        self.reservas[reserva as usize].cancel = when;
        let situations = (ReservaSituacao::EmAnalise, ReservaSituacao::Cancelada);
        self.change_situation(reserva, situations, when, changes);
        let unidade = self.reservas[reserva as usize].unidade;
        self.release_unit(unidade, reserva, UnidadeSituacao::Reservada, when, changes);
    }

    pub(super) fn release_unit(
        &mut self,
        unidade: u32,
        reserva: u32,
        from: UnidadeSituacao,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let unit = &mut self.unidades[unidade as usize];
        if unit.holder == reserva {
            unit.holder = NONE;
            unit.sit = UnidadeSituacao::Disponivel;
            self.available.push(unidade);
            self.unit_event(unidade, from, UnidadeSituacao::Disponivel, when, changes);
        }
    }

    /// The cancellation of a sale: a `/distratos` row, the unit back to stock, and the sale's
    /// commissions and repasse inactivated.
    pub(super) fn distrato(&mut self, reserva: u32, when: SimTime, changes: &mut Changes) {
        let reservation = &mut self.reservas[reserva as usize];
        if reservation.venda == 0 || reservation.distrato != 0 {
            return;
        }
        reservation.distrato = when;
        let situations = (ReservaSituacao::Vendida, ReservaSituacao::Distrato);
        self.change_situation(reserva, situations, when, changes);
        self.create_row(obj_index("/distratos"), reserva, when, changes);
        let reservation = &self.reservas[reserva as usize];
        let (unidade, repasse) = (reservation.unidade, reservation.repasse);
        let commissions =
            reservation.comissao..reservation.comissao + reservation.comissao_n as u32;
        self.release_unit(unidade, reserva, UnidadeSituacao::Vendida, when, changes);
        if commissions.start != NONE {
            for commission in commissions {
                let row = self.comissoes[commission as usize].row;
                self.inactivate(obj_index("/comissoes"), row, when, changes);
            }
        }
        if repasse != NONE {
            let row = self.repasses[repasse as usize].row;
            self.inactivate(obj_index("/repasses"), row, when, changes);
        }
    }

    /// Pay the commission instalments due by `upto` (one every 30 days after the sale), none
    /// stamped before `from`: an instalment whose draw fell past an earlier span is paid in a
    /// later one, and CVDW stamps a change when it happens, never in the past.
    pub(super) fn pay_due_commissions(
        &mut self,
        rng: &mut SmallRng,
        commission: u32,
        (from, upto): (SimTime, SimTime),
        changes: &mut Changes,
    ) {
        let reserva = self.comissoes[commission as usize].reserva as usize;
        if self.reservas[reserva].distrato != 0 {
            return;
        }
        let venda = self.reservas[reserva].venda;
        loop {
            let entity = &self.comissoes[commission as usize];
            if entity.n_pagas >= entity.parcelas {
                break;
            }
            let due = (venda + (entity.n_pagas as i32 + 1) * 30 * DAY + rng.random_range(0..DAY))
                .max(from);
            if due > upto {
                break;
            }
            let valor = if entity.n_pagas + 1 == entity.parcelas {
                entity.valor - entity.pago
            } else {
                entity.valor / entity.parcelas as i64
            };
            let payment = self.pagamentos.len() as u32;
            self.pagamentos.push(Pagamento {
                comissao: commission,
                valor,
                venc: due,
            });
            self.create_row(obj_index("/comissoes/pagamentos"), payment, due, changes);
            let entity = &mut self.comissoes[commission as usize];
            entity.pago += valor;
            entity.n_pagas += 1;
            entity.last_pag = due;
            let row = entity.row;
            self.touch(obj_index("/comissoes"), row, due, changes);
        }
    }
}
