//! Generating a world from its config: developments and units, agencies and brokers, leads,
//! three years of reservations and their fates, then the generic objects.

use super::*;

impl World {
    pub fn generate(cfg: &SimConfig) -> Self {
        let scale = if cfg.scale.is_finite() && cfg.scale > 0.0 {
            cfg.scale
        } else {
            1.0
        };
        let now = to_sim_time(&cfg.start_now);
        let years = cfg.history_years.max(1) as i32;
        let start = now - years * 365 * DAY;
        let mut rng = SmallRng::seed_from_u64(cfg.seed);
        let n_res = ((1000.0 * scale).round() as usize).max(20);
        let shape = &cfg.shape;
        let n_leads = n_res * shape.leads_per_reserva;
        let n_cor = ((40.0 * scale.powf(0.7)).round() as usize).max(10);
        let n_imob = (n_cor / 8).max(3);
        let n_time = (n_cor / 10).max(2);
        let n_emp = ((6.0 * scale.powf(0.6)).round() as usize).max(3);
        let (units_num, units_den) = shape.units_per_reserva;
        let n_units = n_res * units_num / units_den.max(1);
        let units_per_emp = n_units.div_ceil(n_emp).max(8);

        let mut world = World {
            seed: cfg.seed,
            quirks: cfg.quirks,
            now,
            start,
            rng: SmallRng::seed_from_u64(mix(cfg.seed ^ 0xadd)),
            emps: Vec::with_capacity(n_emp),
            etapas: Vec::new(),
            blocos: Vec::new(),
            unidades: Vec::with_capacity(n_units),
            imobs: Vec::new(),
            corretores: Vec::new(),
            times: Vec::new(),
            integrantes: Vec::new(),
            leads: Vec::with_capacity(n_leads),
            reservas: Vec::with_capacity(n_res),
            condicoes: Vec::with_capacity(n_res * 5),
            comissoes: Vec::new(),
            pagamentos: Vec::new(),
            repasses: Vec::new(),
            assocs: Vec::new(),
            hist_res: Vec::new(),
            hist_uni: Vec::new(),
            available: Vec::new(),
            tables: OBJECTS.iter().map(|_| Table::default()).collect(),
            defs: OBJECTS
                .iter()
                .map(|o| {
                    let mut def = def_for(o.path);
                    if let Some(&(_, per)) =
                        shape.rows_per_entity.iter().find(|(p, _)| *p == o.path)
                    {
                        def.per = per;
                    }
                    def
                })
                .collect(),
            leads_per_day: n_leads as f64 / (years * 365) as f64,
            reservas_per_day: n_res as f64 / (years * 365) as f64,
            malformed: BTreeMap::new(),
            distratos_per_day: cfg.distratos_per_day,
            shape: shape.clone(),
        };

        // Developments, phases, blocks, units.
        for emp in 0..n_emp {
            let horizontal = rng.random::<f64>() < 0.25;
            let tier = rng.random_range(0..3);
            let m2 = [420_000_i64, 750_000, 1_180_000][tier] + rng.random_range(0..150_000);
            let prefix =
                crate::names::EMP_PREFIX[rng.random_range(0..crate::names::EMP_PREFIX.len())];
            let name = crate::names::EMP_NAMES[emp % crate::names::EMP_NAMES.len()];
            let nome = if emp < crate::names::EMP_NAMES.len() {
                format!("{prefix} {name}")
            } else {
                format!(
                    "{prefix} {name} {}",
                    emp / crate::names::EMP_NAMES.len() + 1
                )
            };
            world.emps.push(Emp {
                nome,
                city: rng.random_range(0..crate::names::CITIES.len()) as u8,
                horizontal,
                m2,
                entrega: start + rng.random_range(300..(years * 365 + 900)) * DAY,
            });
            let n_etapas = rng.random_range(1..=3usize).min(units_per_emp / 4).max(1);
            // Keep blocks at most 128 units (16 floors of 8), adding blocks as the scale grows.
            let n_blocos_per = rng
                .random_range(1..=3usize)
                .max(units_per_emp.div_ceil(n_etapas * 128));
            let n_blocos = n_etapas * n_blocos_per;
            let per_bloco = units_per_emp.div_ceil(n_blocos);
            for etapa_in_emp in 0..n_etapas {
                let etapa_ix = world.etapas.len() as u32;
                world.etapas.push(Etapa {
                    emp: emp as u32,
                    n: etapa_in_emp as u8 + 1,
                });
                for bloco_in_etapa in 0..n_blocos_per {
                    let bloco_ix = world.blocos.len() as u32;
                    world.blocos.push(Bloco {
                        etapa: etapa_ix,
                        emp: emp as u32,
                        n: (etapa_in_emp * n_blocos_per + bloco_in_etapa) as u16 + 1,
                    });
                    let cols = if horizontal { per_bloco.max(1) } else { 8 };
                    for unit_in_bloco in 0..per_bloco {
                        let tip = if horizontal {
                            rng.random_range(2..6)
                        } else {
                            rng.random_range(0..5)
                        };
                        let (_, area0, _) = crate::names::TIPOLOGIAS[tip];
                        let area = area0 + rng.random_range(0..600);
                        let andar = if horizontal {
                            0
                        } else {
                            (unit_in_bloco / cols) as u8 + 1
                        };
                        let preco = (m2 * area as i64 / 100) * (100 + andar as i64) / 100;
                        let preco = preco / 100 * 100;
                        let sit = if rng.random::<f64>() < 0.02 {
                            UnidadeSituacao::Bloqueada
                        } else {
                            UnidadeSituacao::Disponivel
                        };
                        let ui = world.unidades.len() as u32;
                        world.unidades.push(Unidade {
                            bloco: bloco_ix,
                            andar,
                            coluna: (unit_in_bloco % cols) as u8 + 1,
                            tip: tip as u8,
                            area,
                            preco,
                            sit,
                            holder: NONE,
                        });
                        if sit == UnidadeSituacao::Disponivel {
                            world.available.push(ui);
                        }
                    }
                }
            }
        }
        let oi_uni = obj_index("/unidades");
        for index in 0..world.unidades.len() {
            let cad = start - rng.random_range(30..400) * DAY + rng.random_range(0..DAY);
            world.tables[oi_uni].push(index as u32, cad, cad);
        }
        let oi_preco = obj_index("/unidades/precos");
        // Two yearly tables, or more spread evenly over the history.
        let tables = shape.price_tables.max(1);
        let table_every = if tables <= 2 {
            365 * DAY
        } else {
            (now - start) / tables as i32
        };
        for tab in 0..tables {
            for index in 0..world.unidades.len() {
                let cad = start + (tab as i32) * table_every + rng.random_range(0..DAY);
                let cad = cad.min(now - DAY);
                world.tables[oi_preco].push(index as u32, cad, cad);
            }
        }

        // Agencies, brokers, teams.
        for index in 0..n_imob {
            world.imobs.push(Imob {
                nome: (index % crate::names::IMOB_NAMES.len()) as u8,
                city: rng.random_range(0..crate::names::CITIES.len()) as u8,
            });
            let cad = start - rng.random_range(30..700) * DAY;
            world.tables[obj_index("/imobiliarias")].push(
                index as u32,
                cad,
                cad + rng.random_range(0..200) * DAY,
            );
        }
        for index in 0..n_cor {
            let time = if rng.random::<f64>() < 0.8 {
                (index % n_time) as u32
            } else {
                NONE
            };
            world.corretores.push(Corretor {
                imob: rng.random_range(0..n_imob) as u32,
                time,
            });
            let cad = start - rng.random_range(10..600) * DAY;
            world.tables[obj_index("/corretores")].push(
                index as u32,
                cad,
                cad + rng.random_range(0..300) * DAY,
            );
        }
        for team in 0..n_time {
            // The manager is the first broker of the team.
            world.times.push(Time {
                gestor: team as u32,
            });
            world.corretores[team].time = team as u32;
            let cad = start - rng.random_range(10..300) * DAY;
            world.tables[obj_index("/atendimentos/times")].push(team as u32, cad, cad);
        }
        for corretor in 0..n_cor {
            let time = world.corretores[corretor].time;
            if time != NONE {
                let ix = world.integrantes.len() as u32;
                world.integrantes.push(Integrante {
                    time,
                    corretor: corretor as u32,
                });
                let cad = start - rng.random_range(1..300) * DAY;
                world.tables[obj_index("/atendimentos/times/integrantes")].push(ix, cad, cad);
            }
        }

        // Leads, created uniformly over the history (sorted by creation).
        let mut cads: Vec<SimTime> = (0..n_leads)
            .map(|_| start + rng.random_range(0..(now - start)))
            .collect();
        cads.sort_unstable();
        for cad in cads {
            world.new_lead_entity(&mut rng, cad);
        }

        // Reservations, uniformly over the history.
        let mut rcads: Vec<SimTime> = (0..n_res)
            .map(|_| start + 30 * DAY + rng.random_range(0..(now - start - 31 * DAY)))
            .collect();
        rcads.sort_unstable();
        let mut changes = Changes::default();
        for cad in rcads {
            let Some(reserva) = world.new_reserva(&mut rng, cad, &mut changes) else {
                continue;
            };
            // Outcome, decided now and applied as the events happen.
            let draw: f64 = rng.random();
            if draw < shape.sale_below {
                let venda = cad + rng.random_range(DAY..15 * DAY);
                if venda <= now {
                    world.sell(&mut rng, reserva, venda, &mut changes);
                    if rng.random::<f64>() < shape.distrato_share {
                        let distrato_at = venda + rng.random_range(30 * DAY..400 * DAY);
                        if distrato_at <= now {
                            world.distrato(&mut rng, reserva, distrato_at, &mut changes);
                        }
                    }
                }
            } else {
                // Cancelled within weeks; the rest (8 %) expire unsold after a month, except
                // the recent ones, which are still pending at `now`.
                let cancel_at = if draw < shape.quick_cancel_below {
                    cad + rng.random_range(2 * DAY..20 * DAY)
                } else {
                    cad + rng.random_range(20 * DAY..35 * DAY)
                };
                if cancel_at <= now {
                    world.cancel(reserva, cancel_at, &mut changes);
                }
            }
        }
        // Commission payments due so far.
        for commission in 0..world.comissoes.len() {
            world.pay_due_commissions(
                &mut rng,
                commission as u32,
                (SimTime::MIN, now),
                &mut changes,
            );
        }
        // Repasse progress.
        for repasse in 0..world.repasses.len() {
            let reserva = world.repasses[repasse].reserva as usize;
            let venda = world.reservas[reserva].venda;
            let steps = ((now - venda) / (45 * DAY)).clamp(0, 4);
            let row = world.repasses[repasse].row as usize;
            let object = obj_index("/repasses");
            let repasse_at = (venda + steps * 45 * DAY).min(now);
            world.tables[object].rows[row].refdt = repasse_at;
        }

        // Generic objects.
        let n_sold = world
            .reservas
            .iter()
            .filter(|reserva| reserva.venda > 0)
            .count();
        for object in 0..OBJECTS.len() {
            let def = world.defs[object];
            if def.semantic {
                continue;
            }
            match def.ctx {
                Ctx::Lead => {
                    let count = (world.leads.len() as f64 * def.per).round() as usize;
                    for index in 0..count {
                        let lead = if def.one_per {
                            index
                        } else {
                            rng.random_range(0..world.leads.len())
                        };
                        let base = world.leads[lead].cad;
                        world.push_generic(&mut rng, object, lead as u32, base);
                    }
                }
                Ctx::Reserva | Ctx::Sold => {
                    let pool: Vec<u32> = (0..world.reservas.len() as u32)
                        .filter(|&reserva| {
                            def.ctx == Ctx::Reserva || world.reservas[reserva as usize].venda > 0
                        })
                        .collect();
                    if pool.is_empty() {
                        continue;
                    }
                    let count = (pool.len() as f64 * def.per).round() as usize;
                    for index in 0..count {
                        let reserva = if def.per <= 1.0 {
                            pool[index % pool.len()]
                        } else {
                            pool[rng.random_range(0..pool.len())]
                        };
                        let base = if def.ctx == Ctx::Sold {
                            world.reservas[reserva as usize].venda
                        } else {
                            world.reservas[reserva as usize].cad
                        };
                        world.push_generic(&mut rng, object, reserva, base);
                    }
                }
                _ => {
                    let count = if OBJECTS[object].path == "/demandas" {
                        17
                    } else {
                        (def.per * scale.sqrt()).round().max(3.0) as usize
                    };
                    for _ in 0..count {
                        let base = start + rng.random_range(0..(now - start));
                        world.push_generic(&mut rng, object, 0, base);
                    }
                }
            }
        }
        let _ = n_sold;

        // A few rows are already inactive, and a few carry zero/null referencia_data.
        for object in 0..OBJECTS.len() {
            // `/agendamentos/vistorias` only ever serves active rows (leaked server query,
            // §6): its inactive rows are simply absent.
            let has_ativo =
                OBJECTS[object].has_ativo && OBJECTS[object].path != "/agendamentos/vistorias";
            let hidden = world.defs[object].hidden_reference_date;
            let always_inactive = cfg.quirks.metric_dirt
                && crate::dirt::INACTIVE_OBJECTS.contains(&OBJECTS[object].path);
            for (pos, row) in world.tables[object].rows.iter_mut().enumerate() {
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
        for table in world.tables.iter_mut() {
            table.rebuild();
        }
        world.choose_malformed(cfg);
        world
    }

    /// Pick the rows [`SimConfig::malformed`] asks for, with an RNG of their own so that the
    /// world (and its later evolution) is the same with or without them.
    pub(super) fn choose_malformed(&mut self, cfg: &SimConfig) {
        for spec in &cfg.malformed {
            let Some(obj) = shared::catalogue::find(&spec.object) else {
                continue;
            };
            let object = obj_index(obj.path);
            let mut rng = SmallRng::seed_from_u64(mix(cfg.seed ^ 0xbad0_0000 ^ object as u64));
            let mut candidates: Vec<u32> = self.tables[object]
                .index
                .iter()
                .map(|&(_, pos)| pos)
                .filter(|pos| !self.malformed.contains_key(&(object, *pos)))
                .collect();
            for _ in 0..spec.count {
                if candidates.is_empty() {
                    break;
                }
                let pos = candidates.swap_remove(rng.random_range(0..candidates.len()));
                self.malformed
                    .insert((object, pos), spec.malformation.clone());
            }
        }
    }

    pub fn malformed_rows(&self) -> Vec<MalformedRow> {
        self.malformed
            .iter()
            .map(|(&(object, pos), m)| MalformedRow {
                object_path: OBJECTS[object].path.to_string(),
                key: self.key_of(object, pos),
                malformation: m.clone(),
            })
            .collect()
    }

    pub(super) fn push_generic(
        &mut self,
        rng: &mut SmallRng,
        object: usize,
        ctx: u32,
        base: SimTime,
    ) -> u32 {
        let now = self.now;
        // Within 20 days after the parent's event, and never in the future (rows that would
        // be are spread over the hours before now rather than piled up on it).
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
