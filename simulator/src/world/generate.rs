//! Generating a world from its config: its sizes, developments and units with their price
//! tables, agencies, brokers and teams; then its history ([`super::history`]), the rows'
//! initial states and the deliberately malformed rows.

use super::*;

/// How many entities of each kind a world holds, from its scale and shape.
pub(super) struct Sizes {
    pub(super) reservas: usize,
    pub(super) leads: usize,
    corretores: usize,
    imobs: usize,
    times: usize,
    emps: usize,
    units: usize,
    units_per_emp: usize,
}

impl Sizes {
    fn new(scale: f64, shape: &WorldShape) -> Self {
        let reservas = ((1000.0 * scale).round() as usize).max(20);
        let corretores = ((40.0 * scale.powf(0.7)).round() as usize).max(10);
        let emps = ((6.0 * scale.powf(0.6)).round() as usize).max(3);
        let (units_num, units_den) = shape.units_per_reserva;
        let units = reservas * units_num / units_den.max(1);
        Self {
            reservas,
            leads: reservas * shape.leads_per_reserva,
            corretores,
            imobs: (corretores / 8).max(3),
            times: (corretores / 10).max(2),
            emps,
            units,
            units_per_emp: units.div_ceil(emps).max(8),
        }
    }
}

impl World {
    pub fn generate(cfg: &SimConfig) -> Self {
        let scale = if cfg.scale.is_finite() && cfg.scale > 0.0 {
            cfg.scale
        } else {
            1.0
        };
        let sizes = Sizes::new(scale, &cfg.shape);
        let mut world = World::empty(cfg, &sizes);
        let mut rng = SmallRng::seed_from_u64(cfg.seed);
        for emp in 0..sizes.emps {
            world.generate_development(&mut rng, emp, sizes.units_per_emp);
        }
        world.generate_unit_rows(&mut rng);
        world.generate_sales_force(&mut rng, &sizes);
        world.generate_history(&mut rng, &sizes);
        world.generate_generic_rows(&mut rng, scale);
        world.set_initial_states(&mut rng, cfg);
        for table in world.tables.iter_mut() {
            table.rebuild();
        }
        world.choose_malformed(cfg);
        world
    }

    /// A world with its clock, rates and empty tables.
    fn empty(cfg: &SimConfig, sizes: &Sizes) -> Self {
        let now = to_sim_time(&cfg.start_now);
        let history_days = (cfg.history_years.max(1) * 365) as f64;
        let shape = &cfg.shape;
        World {
            seed: cfg.seed,
            quirks: cfg.quirks,
            now,
            start: now - cfg.history_years.max(1) as i32 * 365 * DAY,
            rng: SmallRng::seed_from_u64(mix(cfg.seed ^ 0xadd)),
            emps: Vec::with_capacity(sizes.emps),
            etapas: Vec::new(),
            blocos: Vec::new(),
            unidades: Vec::with_capacity(sizes.units),
            imobs: Vec::new(),
            corretores: Vec::new(),
            times: Vec::new(),
            integrantes: Vec::new(),
            leads: Vec::with_capacity(sizes.leads),
            reservas: Vec::with_capacity(sizes.reservas),
            condicoes: Vec::with_capacity(sizes.reservas * 5),
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
                .map(|object| {
                    let mut def = def_for(object.path);
                    if let Some(&(_, per)) = shape
                        .rows_per_entity
                        .iter()
                        .find(|(path, _)| *path == object.path)
                    {
                        def.per = per;
                    }
                    def
                })
                .collect(),
            leads_per_day: sizes.leads as f64 / history_days,
            reservas_per_day: sizes.reservas as f64 / history_days,
            malformed: BTreeMap::new(),
            distratos_per_day: cfg.distratos_per_day,
            shape: shape.clone(),
        }
    }

    /// Development `emp`: its phases, blocks (at most 128 units, 16 floors of 8, adding
    /// blocks as the scale grows) and units.
    fn generate_development(&mut self, rng: &mut SmallRng, emp: usize, units_per_emp: usize) {
        use crate::names::{CITIES, EMP_NAMES, EMP_PREFIX};
        let horizontal = rng.random::<f64>() < 0.25;
        let tier = rng.random_range(0..3);
        let m2 = [420_000_i64, 750_000, 1_180_000][tier] + rng.random_range(0..150_000);
        let prefix = EMP_PREFIX[rng.random_range(0..EMP_PREFIX.len())];
        let name = EMP_NAMES[emp % EMP_NAMES.len()];
        let nome = if emp < EMP_NAMES.len() {
            format!("{prefix} {name}")
        } else {
            format!("{prefix} {name} {}", emp / EMP_NAMES.len() + 1)
        };
        let history_days = (self.now - self.start) / DAY;
        self.emps.push(Emp {
            nome,
            city: rng.random_range(0..CITIES.len()) as u8,
            horizontal,
            m2,
            entrega: self.start + rng.random_range(300..(history_days + 900)) * DAY,
        });
        let etapas = rng.random_range(1..=3usize).min(units_per_emp / 4).max(1);
        let blocos_per_etapa = rng
            .random_range(1..=3usize)
            .max(units_per_emp.div_ceil(etapas * 128));
        let units_per_bloco = units_per_emp.div_ceil(etapas * blocos_per_etapa);
        for etapa_in_emp in 0..etapas {
            let etapa = self.etapas.len() as u32;
            self.etapas.push(Etapa {
                emp: emp as u32,
                number: etapa_in_emp as u8 + 1,
            });
            for bloco_in_etapa in 0..blocos_per_etapa {
                self.blocos.push(Bloco {
                    etapa,
                    emp: emp as u32,
                    number: (etapa_in_emp * blocos_per_etapa + bloco_in_etapa) as u16 + 1,
                });
                self.generate_bloco_units(rng, units_per_bloco);
            }
        }
    }

    /// The units of the block just added: houses in a row, or flats 8 to a floor.
    fn generate_bloco_units(&mut self, rng: &mut SmallRng, units: usize) {
        let bloco = self.blocos.len() as u32 - 1;
        let emp = &self.emps[self.blocos[bloco as usize].emp as usize];
        let (horizontal, m2) = (emp.horizontal, emp.m2);
        let columns = if horizontal { units.max(1) } else { 8 };
        for unit_in_bloco in 0..units {
            let tip = if horizontal {
                rng.random_range(2..6)
            } else {
                rng.random_range(0..5)
            };
            let (_, base_area, _) = crate::names::TIPOLOGIAS[tip];
            let area = base_area + rng.random_range(0..600);
            let andar = if horizontal {
                0
            } else {
                (unit_in_bloco / columns) as u8 + 1
            };
            let preco = (m2 * area as i64 / 100) * (100 + andar as i64) / 100 / 100 * 100;
            let sit = if rng.random::<f64>() < 0.02 {
                UnidadeSituacao::Bloqueada
            } else {
                UnidadeSituacao::Disponivel
            };
            let unit = self.unidades.len() as u32;
            self.unidades.push(Unidade {
                bloco,
                andar,
                coluna: (unit_in_bloco % columns) as u8 + 1,
                tip: tip as u8,
                area,
                preco,
                sit,
                holder: NONE,
            });
            if sit == UnidadeSituacao::Disponivel {
                self.available.push(unit);
            }
        }
    }

    /// The `/unidades` rows, registered before the history starts, and the `/unidades/precos`
    /// rows: two yearly price tables, or more spread evenly over the history.
    fn generate_unit_rows(&mut self, rng: &mut SmallRng) {
        let (start, now) = (self.start, self.now);
        let units = obj_index("/unidades");
        for unit in 0..self.unidades.len() {
            let cad = start - rng.random_range(30..400) * DAY + rng.random_range(0..DAY);
            self.tables[units].push(unit as u32, cad, cad);
        }
        let prices = obj_index("/unidades/precos");
        let tables = self.shape.price_tables.max(1);
        let table_every = if tables <= 2 {
            365 * DAY
        } else {
            (now - start) / tables as i32
        };
        for table in 0..tables {
            for unit in 0..self.unidades.len() {
                let cad = start + (table as i32) * table_every + rng.random_range(0..DAY);
                let cad = cad.min(now - DAY);
                self.tables[prices].push(unit as u32, cad, cad);
            }
        }
    }

    /// Agencies, brokers (four in five in a team), teams (managed by their first broker) and
    /// their memberships, all registered before the history starts.
    fn generate_sales_force(&mut self, rng: &mut SmallRng, sizes: &Sizes) {
        let start = self.start;
        for agency in 0..sizes.imobs {
            self.imobs.push(Imob {
                nome: (agency % crate::names::IMOB_NAMES.len()) as u8,
                city: rng.random_range(0..crate::names::CITIES.len()) as u8,
            });
            let cad = start - rng.random_range(30..700) * DAY;
            self.push_edited_later(rng, obj_index("/imobiliarias"), agency as u32, cad, 200);
        }
        for broker in 0..sizes.corretores {
            let time = if rng.random::<f64>() < 0.8 {
                (broker % sizes.times) as u32
            } else {
                NONE
            };
            self.corretores.push(Corretor {
                imob: rng.random_range(0..sizes.imobs) as u32,
                time,
            });
            let cad = start - rng.random_range(10..600) * DAY;
            self.push_edited_later(rng, obj_index("/corretores"), broker as u32, cad, 300);
        }
        for team in 0..sizes.times {
            self.times.push(Time {
                gestor: team as u32,
            });
            self.corretores[team].time = team as u32;
            let cad = start - rng.random_range(10..300) * DAY;
            self.tables[obj_index("/atendimentos/times")].push(team as u32, cad, cad);
        }
        for broker in 0..sizes.corretores {
            let time = self.corretores[broker].time;
            if time != NONE {
                let member = self.integrantes.len() as u32;
                self.integrantes.push(Integrante {
                    time,
                    corretor: broker as u32,
                });
                let cad = start - rng.random_range(1..300) * DAY;
                self.tables[obj_index("/atendimentos/times/integrantes")].push(member, cad, cad);
            }
        }
    }

    /// A row registered at `cad` and last edited up to `within_days` days later.
    fn push_edited_later(
        &mut self,
        rng: &mut SmallRng,
        object: usize,
        ctx: u32,
        cad: SimTime,
        within_days: i32,
    ) {
        let edited = cad + rng.random_range(0..within_days) * DAY;
        self.tables[object].push(ctx, cad, edited);
    }

    /// Pick the rows [`SimConfig::malformed`] asks for, with an RNG of their own so that the
    /// world (and its later evolution) is the same with or without them.
    fn choose_malformed(&mut self, cfg: &SimConfig) {
        for spec in &cfg.malformed {
            let Some(catalogued) = shared::catalogue::find(&spec.object) else {
                continue;
            };
            let object = obj_index(catalogued.path);
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
            .map(|(&(object, pos), malformation)| MalformedRow {
                object_path: OBJECTS[object].path.to_string(),
                key: self.key_of(object, pos),
                malformation: malformation.clone(),
            })
            .collect()
    }
}
