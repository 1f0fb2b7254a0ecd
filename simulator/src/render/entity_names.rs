//! How the world's entities are named and summed up when a row shows them: agencies,
//! brokers, units, blocks, phases, teams, a reservation's payment series and its `idlead`.

use super::*;

/// Team names: `Equipe Alfa`, …, then `Equipe Alfa 2`, ….
const TEAM_NAMES: &[&str] = &[
    "Alfa", "Beta", "Gama", "Delta", "Ômega", "Sigma", "Zeta", "Kappa",
];

impl<'a> RowRenderer<'a> {
    pub(super) fn imob_name(&self, agency: u32) -> Value {
        let base = IMOB_NAMES[self.world.imobs[agency as usize].nome as usize];
        let round = agency as usize / IMOB_NAMES.len();
        let name = if round > 0 {
            format!("{base} {}", round + 1)
        } else {
            base.to_string()
        };
        if self.quirks().html_entities {
            Value::from(name.replace('&', "&amp;"))
        } else {
            Value::from(name)
        }
    }
    pub(super) fn corretor_name(&self, broker: u32) -> String {
        person(self.world.seed, 0xC0, broker).nome()
    }
    pub(super) fn emp_of_unit(&self, unit: u32) -> (&'a Emp, &'a Bloco) {
        let bloco = &self.world.blocos[self.world.unidades[unit as usize].bloco as usize];
        (&self.world.emps[bloco.emp as usize], bloco)
    }
    pub(super) fn unit_name(&self, unit: u32) -> String {
        let entity = &self.world.unidades[unit as usize];
        let (emp, _) = self.emp_of_unit(unit);
        if emp.horizontal {
            format!("CASA {:02}", entity.coluna)
        } else {
            format!("APTO {}{:02}", entity.andar, entity.coluna)
        }
    }
    pub(super) fn bloco_name(&self, bloco: u32) -> String {
        let entity = &self.world.blocos[bloco as usize];
        if self.world.emps[entity.emp as usize].horizontal {
            format!("Quadra {:02}", entity.number)
        } else {
            let letter = (b'A' + ((entity.number - 1) % 26) as u8) as char;
            if entity.number <= 26 {
                format!("Bloco {letter}")
            } else {
                format!("Bloco {letter}{}", (entity.number - 1) / 26 + 1)
            }
        }
    }
    pub(super) fn etapa_name(&self, etapa: u32) -> String {
        format!("{}ª Etapa", self.world.etapas[etapa as usize].number)
    }
    pub(super) fn time_name(&self, team: u32) -> String {
        let team = team as usize;
        if team < TEAM_NAMES.len() {
            format!("Equipe {}", TEAM_NAMES[team])
        } else {
            format!(
                "Equipe {} {}",
                TEAM_NAMES[team % TEAM_NAMES.len()],
                team / TEAM_NAMES.len() + 1
            )
        }
    }
    /// The total of reservation `reserva`'s payment conditions of one series.
    pub(super) fn serie_sum(&self, reserva: u32, serie: Serie) -> i64 {
        self.world
            .conditions_of(reserva)
            .filter(|condition| condition.serie == serie)
            .map(|condition| condition.valor)
            .sum()
    }
    /// The `idlead` of a reservation: its lead's id, or under the quirk, now and then a
    /// comma-separated list of it and two earlier leads.
    pub(super) fn idlead_value(&self, reserva: u32) -> Value {
        let reservation = &self.world.reservas[reserva as usize];
        let main = reservation.lead + 1;
        if !self.quirks().idlead_csv {
            return Value::from(main.to_string());
        }
        let hash = hash3(self.world.seed, 0x1EAD, reserva as u64);
        let mut ids = main.to_string();
        // One reservation in four lists three leads.
        if hash % 4 == 3 {
            for salt in 0..2u64 {
                let other = (hash3(hash, salt, 7) % (reservation.lead as u64 + 1)) as u32 + 1;
                ids.push_str(&format!(", {other}"));
            }
        }
        Value::from(ids)
    }
}
