//! The events of a sale's life (a lead, a reservation, a sale, a cancellation, a distrato,
//! a commission paid) and the row changes they make, shared by generation and the clock.

use super::*;

impl World {
    pub(super) fn new_lead_entity(&mut self, rng: &mut SmallRng, cad: SimTime) -> u32 {
        let l = self.leads.len() as u32;
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
        self.tables[obj_index("/leads")].push(l, cad, refdt);
        l
    }

    /// A new reservation at `cad` on a random available unit, for a lead created before.
    pub(super) fn new_reserva(
        &mut self,
        rng: &mut SmallRng,
        cad: SimTime,
        ch: &mut Changes,
    ) -> Option<u32> {
        if self.available.is_empty() {
            return None;
        }
        let ai = rng.random_range(0..self.available.len());
        let u = self.available.swap_remove(ai);
        // Leads created before `cad` (leads are sorted by creation).
        let upto = self.leads.partition_point(|l| l.cad < cad).max(1);
        let lo = upto.saturating_sub(upto / 5 + 50);
        let lead = rng.random_range(lo..upto) as u32;
        let r = self.reservas.len() as u32;
        let unit = &self.unidades[u as usize];
        let discount = rng.random_range(0..800); // up to 8 %
        let valor =
            unit.preco * (10_000 - discount) / 10_000 / 100 * 100 + rng.random_range(0..100);
        let corretor = self.leads[lead as usize].corretor;
        self.leads[lead as usize].reserva = r;
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
        let serve_conditions =
            !(self.quirks.metric_dirt && crate::dirt::reserva_without_conditions(self.seed, r));
        for (i, (serie, parcelas, v)) in parts.iter().enumerate() {
            let ci = self.condicoes.len() as u32;
            self.condicoes.push(Condicao {
                reserva: r,
                serie: *serie,
                parcelas: *parcelas,
                valor: *v,
                venc: cad + (i as i32) * 30 * DAY,
            });
            if serve_conditions {
                self.tables[obj_index("/reservas/condicoes")].push(ci, cad, cad);
            }
        }
        let assoc = if rng.random::<f64>() < 0.3 {
            let a = self.assocs.len() as u32;
            self.assocs.push(Assoc {
                reserva: r,
                pessoa: rng.random_range(0..self.leads.len()) as u32,
            });
            self.tables[obj_index("/reservas/associados")].push(a, cad, cad);
            ch.entry(obj_index("/reservas/associados")).created += 1;
            a
        } else {
            NONE
        };
        self.reservas.push(Reserva {
            unidade: u,
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
            ch.entry(obj_index("/reservas/condicoes")).created += parts.len() as u64;
        }
        let oi = obj_index("/reservas");
        self.tables[oi].push(r, cad, cad);
        ch.entry(oi).created += 1;
        let oi = obj_index("/reservas/registros/flags");
        self.tables[oi].push(r, cad, cad);
        ch.entry(oi).created += 1;
        self.hist_reserva(
            r,
            ReservaSituacao::Reservada,
            ReservaSituacao::EmAnalise,
            cad,
            ch,
        );
        let unit = &mut self.unidades[u as usize];
        unit.sit = UnidadeSituacao::Reservada;
        unit.holder = r;
        self.unit_event(
            u,
            UnidadeSituacao::Disponivel,
            UnidadeSituacao::Reservada,
            cad,
            ch,
        );
        self.touch(obj_index("/leads"), lead, cad, ch);
        Some(r)
    }

    pub(super) fn hist_reserva(
        &mut self,
        r: u32,
        de: ReservaSituacao,
        para: ReservaSituacao,
        t: SimTime,
        ch: &mut Changes,
    ) -> u32 {
        let h = self.hist_res.len() as u32;
        self.hist_res.push(HistReserva {
            reserva: r,
            de,
            para,
        });
        let oi = obj_index("/reservas/historico/situacoes");
        self.tables[oi].push(h, t, t);
        ch.entry(oi).created += 1;
        h
    }

    pub(super) fn unit_event(
        &mut self,
        u: u32,
        de: UnidadeSituacao,
        para: UnidadeSituacao,
        t: SimTime,
        ch: &mut Changes,
    ) {
        let h = self.hist_uni.len() as u32;
        self.hist_uni.push(HistUnidade {
            unidade: u,
            de,
            para,
        });
        let oi = obj_index("/unidades/situacao");
        self.tables[oi].push(h, t, t);
        ch.entry(oi).created += 1;
        self.touch(obj_index("/unidades"), u, t, ch);
    }

    /// Move a row's `referencia_data` (an UPDATE at the source).
    pub(super) fn touch(&mut self, oi: usize, pos: u32, t: SimTime, ch: &mut Changes) {
        let row = &mut self.tables[oi].rows[pos as usize];
        if row.state & DELETED != 0 {
            return;
        }
        if t > row.refdt || row.state & (REF_NULL | REF_ZERO) != 0 {
            row.refdt = t.max(row.refdt);
            row.state &= !(REF_NULL | REF_ZERO);
            self.tables[oi].dirty = true;
            ch.entry(oi).updated += 1;
        }
    }

    pub(super) fn sell(&mut self, rng: &mut SmallRng, r: u32, t: SimTime, ch: &mut Changes) {
        let res = &mut self.reservas[r as usize];
        res.prev_sit = res.sit;
        res.sit = ReservaSituacao::Vendida;
        res.venda = t;
        let u = res.unidade;
        let valor = res.valor;
        let has_fin = (res.cond_start..res.cond_start + res.cond_n as u32)
            .any(|c| self.condicoes[c as usize].serie == Serie::Financiamento);
        let h = self.hist_reserva(
            r,
            ReservaSituacao::EmAnalise,
            ReservaSituacao::Vendida,
            t,
            ch,
        );
        self.reservas[r as usize].hist_venda = h;
        self.touch(obj_index("/reservas"), r, t, ch);
        self.touch(obj_index("/reservas/registros/flags"), r, t, ch);
        let oi = obj_index("/vendas");
        self.tables[oi].push(r, t, t);
        ch.entry(oi).created += 1;
        let unit = &mut self.unidades[u as usize];
        unit.sit = UnidadeSituacao::Vendida;
        self.unit_event(
            u,
            UnidadeSituacao::Reservada,
            UnidadeSituacao::Vendida,
            t,
            ch,
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
            let c = self.comissoes.len() as u32;
            let oi = obj_index("/comissoes");
            let row = self.tables[oi].push(c, t, t);
            ch.entry(oi).created += 1;
            self.comissoes.push(Comissao {
                reserva: r,
                bp,
                valor: valor * bp as i64 / 10_000,
                pago: 0,
                parcelas: rng.random_range(1..4),
                n_pagas: 0,
                last_pag: 0,
                row,
            });
        }
        self.reservas[r as usize].comissao = first;
        self.reservas[r as usize].comissao_n = n_commissions as u8;
        if has_fin {
            let rp = self.repasses.len() as u32;
            let oi = obj_index("/repasses");
            let row = self.tables[oi].push(rp, t, t);
            ch.entry(oi).created += 1;
            self.repasses.push(Repasse { reserva: r, row });
            self.reservas[r as usize].repasse = rp;
        }
    }

    pub(super) fn cancel(&mut self, r: u32, t: SimTime, ch: &mut Changes) {
        let res = &mut self.reservas[r as usize];
        res.prev_sit = res.sit;
        res.sit = ReservaSituacao::Cancelada;
        res.cancel = t;
        let u = res.unidade;
        self.hist_reserva(
            r,
            ReservaSituacao::EmAnalise,
            ReservaSituacao::Cancelada,
            t,
            ch,
        );
        self.touch(obj_index("/reservas"), r, t, ch);
        self.touch(obj_index("/reservas/registros/flags"), r, t, ch);
        self.release_unit(u, r, UnidadeSituacao::Reservada, t, ch);
    }

    pub(super) fn release_unit(
        &mut self,
        u: u32,
        r: u32,
        from: UnidadeSituacao,
        t: SimTime,
        ch: &mut Changes,
    ) {
        let unit = &mut self.unidades[u as usize];
        if unit.holder == r {
            unit.holder = NONE;
            unit.sit = UnidadeSituacao::Disponivel;
            self.available.push(u);
            self.unit_event(u, from, UnidadeSituacao::Disponivel, t, ch);
        }
    }

    pub(super) fn distrato(&mut self, _rng: &mut SmallRng, r: u32, t: SimTime, ch: &mut Changes) {
        let res = &mut self.reservas[r as usize];
        if res.venda == 0 || res.distrato != 0 {
            return;
        }
        res.prev_sit = res.sit;
        res.sit = ReservaSituacao::Distrato;
        res.distrato = t;
        let u = res.unidade;
        let (com, com_n, rep) = (res.comissao, res.comissao_n, res.repasse);
        self.hist_reserva(
            r,
            ReservaSituacao::Vendida,
            ReservaSituacao::Distrato,
            t,
            ch,
        );
        self.touch(obj_index("/reservas"), r, t, ch);
        self.touch(obj_index("/reservas/registros/flags"), r, t, ch);
        let oi = obj_index("/distratos");
        self.tables[oi].push(r, t, t);
        ch.entry(oi).created += 1;
        self.release_unit(u, r, UnidadeSituacao::Vendida, t, ch);
        // The commission and the repasse of a cancelled sale are inactivated.
        if com != NONE {
            for c in com..com + com_n as u32 {
                let row = self.comissoes[c as usize].row;
                self.inactivate(obj_index("/comissoes"), row, t, ch);
            }
        }
        if rep != NONE {
            let row = self.repasses[rep as usize].row;
            self.inactivate(obj_index("/repasses"), row, t, ch);
        }
    }

    pub(super) fn inactivate(&mut self, oi: usize, pos: u32, t: SimTime, ch: &mut Changes) {
        let row = &mut self.tables[oi].rows[pos as usize];
        if row.state & (ATIVO_N | DELETED) != 0 {
            return;
        }
        row.state |= ATIVO_N;
        row.state &= !(REF_NULL | REF_ZERO);
        row.refdt = row.refdt.max(t);
        self.tables[oi].dirty = true;
        let e = ch.entry(oi);
        e.inactivated += 1;
        ch.inactivated
            .entry(OBJECTS[oi].path)
            .or_default()
            .push((oi, pos));
    }

    pub(super) fn hard_delete(&mut self, oi: usize, pos: u32, ch: &mut Changes) {
        let row = &mut self.tables[oi].rows[pos as usize];
        if row.state & DELETED != 0 {
            return;
        }
        row.state |= DELETED;
        self.tables[oi].dirty = true;
        ch.entry(oi).deleted += 1;
        ch.deleted
            .entry(OBJECTS[oi].path)
            .or_default()
            .push((oi, pos));
    }

    /// Pay the commission instalments due by `upto` (one every 30 days after the sale).
    pub(super) fn pay_due_commissions(
        &mut self,
        rng: &mut SmallRng,
        c: u32,
        upto: SimTime,
        ch: &mut Changes,
    ) {
        let r = self.comissoes[c as usize].reserva as usize;
        if self.reservas[r].distrato != 0 {
            return;
        }
        let venda = self.reservas[r].venda;
        loop {
            let com = &self.comissoes[c as usize];
            if com.n_pagas >= com.parcelas {
                break;
            }
            let due = venda + (com.n_pagas as i32 + 1) * 30 * DAY + rng.random_range(0..DAY);
            if due > upto {
                break;
            }
            let valor = if com.n_pagas + 1 == com.parcelas {
                com.valor - com.pago
            } else {
                com.valor / com.parcelas as i64
            };
            let p = self.pagamentos.len() as u32;
            self.pagamentos.push(Pagamento {
                comissao: c,
                valor,
                venc: due,
            });
            let oi = obj_index("/comissoes/pagamentos");
            self.tables[oi].push(p, due, due);
            ch.entry(oi).created += 1;
            let com = &mut self.comissoes[c as usize];
            com.pago += valor;
            com.n_pagas += 1;
            com.last_pag = due;
            let row = com.row;
            self.touch(obj_index("/comissoes"), row, due, ch);
        }
    }
}
