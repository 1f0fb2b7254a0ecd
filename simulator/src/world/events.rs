//! The events of a sale's life (a lead, a reservation, a sale, a cancellation, a distrato,
//! a commission paid) and the row changes they make, shared by generation and the clock.

use super::*;

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
        // Leads created before `cad` (leads are sorted by creation).
        let upto = self.leads.partition_point(|l| l.cad < cad).max(1);
        let lo = upto.saturating_sub(upto / 5 + 50);
        let lead = rng.random_range(lo..upto) as u32;
        let reserva = self.reservas.len() as u32;
        let unit = &self.unidades[unidade as usize];
        let discount = rng.random_range(0..800); // up to 8 %
        let valor =
            unit.preco * (10_000 - discount) / 10_000 / 100 * 100 + rng.random_range(0..100);
        let corretor = self.leads[lead as usize].corretor;
        self.leads[lead as usize].reserva = reserva;
        self.leads[lead as usize].sit = 5;
        // Payment conditions that add up exactly to the contract value.
        let cond_start = self.condicoes.len() as u32;
        let mut parts: Vec<(Serie, u16, i64)> = Vec::new();
        let pct = |rng: &mut SmallRng, lo: i64, hi: i64| valor * rng.random_range(lo..hi) / 10_000;
        parts.push((Serie::Ato, 1, pct(rng, 500, 1000)));
        if rng.random::<f64>() < 0.5 {
            parts.push((Serie::Sinal, rng.random_range(1..4), pct(rng, 200, 500)));
        }
        parts.push((
            Serie::Mensais,
            rng.random_range(24..61),
            pct(rng, 800, 1500),
        ));
        if rng.random::<f64>() < 0.4 {
            parts.push((
                Serie::Intermediarias,
                rng.random_range(2..5),
                pct(rng, 300, 600),
            ));
        }
        if rng.random::<f64>() < 0.4 {
            parts.push((Serie::Fgts, 1, pct(rng, 200, 600)));
        }
        if valor < 30_000_000 && rng.random::<f64>() < 0.5 {
            parts.push((Serie::Subsidio, 1, pct(rng, 300, 800)));
        }
        let used: i64 = parts.iter().map(|p| p.2).sum();
        parts.push((Serie::Financiamento, 1, valor - used));
        // A few reservations serve no condition rows (the pró-soluto then comes from the
        // reservation's own fields); the conditions still exist, so those fields add up.
        let serve_conditions = !(self.quirks.metric_dirt
            && crate::dirt::reserva_without_conditions(self.seed, reserva));
        for (i, (serie, parcelas, v)) in parts.iter().enumerate() {
            let condition = self.condicoes.len() as u32;
            self.condicoes.push(Condicao {
                reserva,
                serie: *serie,
                parcelas: *parcelas,
                valor: *v,
                venc: cad + (i as i32) * 30 * DAY,
            });
            if serve_conditions {
                self.tables[obj_index("/reservas/condicoes")].push(condition, cad, cad);
            }
        }
        let assoc = if rng.random::<f64>() < 0.3 {
            let assoc_index = self.assocs.len() as u32;
            self.assocs.push(Assoc {
                reserva,
                pessoa: rng.random_range(0..self.leads.len()) as u32,
            });
            self.tables[obj_index("/reservas/associados")].push(assoc_index, cad, cad);
            changes.entry(obj_index("/reservas/associados")).created += 1;
            assoc_index
        } else {
            NONE
        };
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
            cond_n: parts.len() as u8,
            tabela: rng.random_range(0..2),
            assoc,
            comissao: NONE,
            comissao_n: 0,
            repasse: NONE,
            hist_venda: NONE,
        });
        if serve_conditions {
            changes.entry(obj_index("/reservas/condicoes")).created += parts.len() as u64;
        }
        let object = obj_index("/reservas");
        self.tables[object].push(reserva, cad, cad);
        changes.entry(object).created += 1;
        let object = obj_index("/reservas/registros/flags");
        self.tables[object].push(reserva, cad, cad);
        changes.entry(object).created += 1;
        self.hist_reserva(
            reserva,
            ReservaSituacao::Reservada,
            ReservaSituacao::EmAnalise,
            cad,
            changes,
        );
        let unit = &mut self.unidades[unidade as usize];
        unit.sit = UnidadeSituacao::Reservada;
        unit.holder = reserva;
        self.unit_event(
            unidade,
            UnidadeSituacao::Disponivel,
            UnidadeSituacao::Reservada,
            cad,
            changes,
        );
        self.touch(obj_index("/leads"), lead, cad, changes);
        Some(reserva)
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
        let object = obj_index("/reservas/historico/situacoes");
        self.tables[object].push(entry, when, when);
        changes.entry(object).created += 1;
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
        let object = obj_index("/unidades/situacao");
        self.tables[object].push(entry, when, when);
        changes.entry(object).created += 1;
        self.touch(obj_index("/unidades"), unidade, when, changes);
    }

    /// Move a row's `referencia_data` (an UPDATE at the source).
    pub(super) fn touch(&mut self, object: usize, pos: u32, when: SimTime, changes: &mut Changes) {
        let row = &mut self.tables[object].rows[pos as usize];
        if row.state.is_deleted() {
            return;
        }
        if when > row.refdt || row.state.reference_date() != ReferenceDate::Real {
            row.refdt = when.max(row.refdt);
            row.state.set_reference_date(ReferenceDate::Real);
            self.tables[object].dirty = true;
            changes.entry(object).updated += 1;
        }
    }

    pub(super) fn sell(
        &mut self,
        rng: &mut SmallRng,
        reserva: u32,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let res = &mut self.reservas[reserva as usize];
        res.prev_sit = res.sit;
        res.sit = ReservaSituacao::Vendida;
        res.venda = when;
        let unidade = res.unidade;
        let valor = res.valor;
        let has_fin = (res.cond_start..res.cond_start + res.cond_n as u32)
            .any(|commission| self.condicoes[commission as usize].serie == Serie::Financiamento);
        let entry = self.hist_reserva(
            reserva,
            ReservaSituacao::EmAnalise,
            ReservaSituacao::Vendida,
            when,
            changes,
        );
        self.reservas[reserva as usize].hist_venda = entry;
        self.touch(obj_index("/reservas"), reserva, when, changes);
        self.touch(
            obj_index("/reservas/registros/flags"),
            reserva,
            when,
            changes,
        );
        let object = obj_index("/vendas");
        self.tables[object].push(reserva, when, when);
        changes.entry(object).created += 1;
        let unit = &mut self.unidades[unidade as usize];
        unit.sit = UnidadeSituacao::Vendida;
        self.unit_event(
            unidade,
            UnidadeSituacao::Reservada,
            UnidadeSituacao::Vendida,
            when,
            changes,
        );
        // Commissions: the broker's, then (realistic worlds) the agency's and the managers'.
        let per_sale = self.shape.commissions_per_sale;
        let n_commissions = if per_sale == 1.0 {
            1
        } else {
            poisson_ish(rng, per_sale).clamp(1, u8::MAX as usize)
        };
        let first = self.comissoes.len() as u32;
        for nth in 0..n_commissions {
            let bp = if nth == 0 {
                rng.random_range(400..601u16)
            } else {
                rng.random_range(50..201u16)
            };
            let commission = self.comissoes.len() as u32;
            let object = obj_index("/comissoes");
            let row = self.tables[object].push(commission, when, when);
            changes.entry(object).created += 1;
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
        self.reservas[reserva as usize].comissao_n = n_commissions as u8;
        if has_fin {
            let repasse_index = self.repasses.len() as u32;
            let object = obj_index("/repasses");
            let row = self.tables[object].push(repasse_index, when, when);
            changes.entry(object).created += 1;
            self.repasses.push(Repasse { reserva, row });
            self.reservas[reserva as usize].repasse = repasse_index;
        }
    }

    pub(super) fn cancel(&mut self, reserva: u32, when: SimTime, changes: &mut Changes) {
        let res = &mut self.reservas[reserva as usize];
        res.prev_sit = res.sit;
        res.sit = ReservaSituacao::Cancelada;
        res.cancel = when;
        let unidade = res.unidade;
        self.hist_reserva(
            reserva,
            ReservaSituacao::EmAnalise,
            ReservaSituacao::Cancelada,
            when,
            changes,
        );
        self.touch(obj_index("/reservas"), reserva, when, changes);
        self.touch(
            obj_index("/reservas/registros/flags"),
            reserva,
            when,
            changes,
        );
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

    pub(super) fn distrato(
        &mut self,
        _rng: &mut SmallRng,
        reserva: u32,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let res = &mut self.reservas[reserva as usize];
        if res.venda == 0 || res.distrato != 0 {
            return;
        }
        res.prev_sit = res.sit;
        res.sit = ReservaSituacao::Distrato;
        res.distrato = when;
        let unidade = res.unidade;
        let (commissions_first, com_n, repasse_first) = (res.comissao, res.comissao_n, res.repasse);
        self.hist_reserva(
            reserva,
            ReservaSituacao::Vendida,
            ReservaSituacao::Distrato,
            when,
            changes,
        );
        self.touch(obj_index("/reservas"), reserva, when, changes);
        self.touch(
            obj_index("/reservas/registros/flags"),
            reserva,
            when,
            changes,
        );
        let object = obj_index("/distratos");
        self.tables[object].push(reserva, when, when);
        changes.entry(object).created += 1;
        self.release_unit(unidade, reserva, UnidadeSituacao::Vendida, when, changes);
        // The commission and the repasse of a cancelled sale are inactivated.
        if commissions_first != NONE {
            for commission in commissions_first..commissions_first + com_n as u32 {
                let row = self.comissoes[commission as usize].row;
                self.inactivate(obj_index("/comissoes"), row, when, changes);
            }
        }
        if repasse_first != NONE {
            let row = self.repasses[repasse_first as usize].row;
            self.inactivate(obj_index("/repasses"), row, when, changes);
        }
    }

    pub(super) fn inactivate(
        &mut self,
        object: usize,
        pos: u32,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let row = &mut self.tables[object].rows[pos as usize];
        if row.state.is_inactive() || row.state.is_deleted() {
            return;
        }
        row.state.inactivate();
        row.state.set_reference_date(ReferenceDate::Real);
        row.refdt = row.refdt.max(when);
        self.tables[object].dirty = true;
        changes.entry(object).inactivated += 1;
        changes
            .inactivated
            .entry(OBJECTS[object].path)
            .or_default()
            .push((object, pos));
    }

    pub(super) fn hard_delete(&mut self, object: usize, pos: u32, changes: &mut Changes) {
        let row = &mut self.tables[object].rows[pos as usize];
        if row.state.is_deleted() {
            return;
        }
        row.state.delete();
        self.tables[object].dirty = true;
        changes.entry(object).deleted += 1;
        changes
            .deleted
            .entry(OBJECTS[object].path)
            .or_default()
            .push((object, pos));
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
            let commissions_first = &self.comissoes[commission as usize];
            if commissions_first.n_pagas >= commissions_first.parcelas {
                break;
            }
            let due = (venda
                + (commissions_first.n_pagas as i32 + 1) * 30 * DAY
                + rng.random_range(0..DAY))
            .max(from);
            if due > upto {
                break;
            }
            let valor = if commissions_first.n_pagas + 1 == commissions_first.parcelas {
                commissions_first.valor - commissions_first.pago
            } else {
                commissions_first.valor / commissions_first.parcelas as i64
            };
            let payment = self.pagamentos.len() as u32;
            self.pagamentos.push(Pagamento {
                comissao: commission,
                valor,
                venc: due,
            });
            let object = obj_index("/comissoes/pagamentos");
            self.tables[object].push(payment, due, due);
            changes.entry(object).created += 1;
            let commissions_first = &mut self.comissoes[commission as usize];
            commissions_first.pago += valor;
            commissions_first.n_pagas += 1;
            commissions_first.last_pag = due;
            let row = commissions_first.row;
            self.touch(obj_index("/comissoes"), row, due, changes);
        }
    }
}
