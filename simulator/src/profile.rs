//! Named world sizes (`small`, `medium`, `large`) and the shape of a world: how many rows
//! each kind of entity brings, and the odds of a reservation's outcomes.
//!
//! Two shapes exist. [`WorldShape::classic`] is the one every test was written against (its
//! proportions are kept so that a seed keeps giving the same world); [`WorldShape::realistic`]
//! follows the proportions of a real incorporadora's CVDW tenant (several commission rows per
//! sale, a price table every few months, tens of service interactions per sold unit, rows
//! hard-deleted from the sales objects too). The profiles use the realistic shape.

use std::fmt;
use std::str::FromStr;

/// A named world size; see [`crate::SimConfig::for_profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// ≈ 50 000 rows: about what `cvdw demo` serves.
    Small,
    /// ≈ 500 000 rows (10× small): a replay benchmark on 2 cores takes minutes.
    Medium,
    /// ≥ 3 million rows: 300 000 leads, 40 000 reservas, 25 000 vendas.
    Large,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Small, Profile::Medium, Profile::Large];

    /// The world scale of the profile (1.0 ≈ 1 000 reservas over the history).
    pub fn scale(self) -> f64 {
        match self {
            Profile::Small => 0.25,
            Profile::Medium => 2.5,
            Profile::Large => 40.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Small => "small",
            Profile::Medium => "medium",
            Profile::Large => "large",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|profile| profile.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("unknown profile `{text}` (small, medium, large)"))
    }
}

/// The proportions of a world. Counts are per reservation made over the history unless
/// said otherwise; probabilities decide each reservation's fate.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldShape {
    /// Leads per reservation.
    pub leads_per_reserva: usize,
    /// Units per reservation, as the fraction numerator / denominator (integer arithmetic,
    /// so the classic world's unit count is unchanged).
    pub units_per_reserva: (usize, usize),
    /// A reservation is sold when its draw is below this.
    pub sale_below: f64,
    /// Otherwise it is cancelled within weeks below this, or expires after a month above.
    pub quick_cancel_below: f64,
    /// Share of sales that end in a distrato (when the distrato date falls before now).
    pub distrato_share: f64,
    /// Daily chance that a pending reservation older than two days is cancelled (a sale's
    /// chance is 0.25).
    pub daily_cancel_chance: f64,
    /// Expected distratos per day, per reservation made per day.
    pub distratos_per_reserva_day: f64,
    /// `/unidades/precos` tables (every unit has a row in each).
    pub price_tables: u32,
    /// Commission rows per sale (broker, agency, managers...): the fraction is a chance.
    pub commissions_per_sale: f64,
    /// Rows per context entity of some generic objects, over the defaults of
    /// [`crate::world::def_for`].
    pub rows_per_entity: &'static [(&'static str, f64)],
    /// Whether the clock's advance also hard-deletes rows of the sales objects and of the
    /// busiest others, at rates that grow with the world (see [`DAILY_HARD_DELETES`]).
    pub scaled_hard_deletes: bool,
}

/// Hard deletes per simulated day of a realistic world, per reservation made per day: the
/// sales set first, then the others.
pub const DAILY_HARD_DELETES: &[(&str, f64)] = &[
    ("/vendas", 0.05),
    ("/reservas", 0.05),
    ("/comissoes", 0.1),
    ("/reservas/condicoes", 0.1),
    ("/unidades/precos", 0.3),
    ("/leads", 0.2),
    ("/leads/interacoes", 0.5),
    ("/atendimentos/interacoes", 0.3),
];

impl WorldShape {
    /// The proportions the test suite was written against.
    pub fn classic() -> Self {
        Self {
            leads_per_reserva: 8,
            units_per_reserva: (8, 5),
            sale_below: 0.80,
            quick_cancel_below: 0.92,
            distrato_share: 0.08,
            daily_cancel_chance: 0.03,
            distratos_per_reserva_day: 0.06,
            price_tables: 2,
            commissions_per_sale: 1.0,
            rows_per_entity: &[],
            scaled_hard_deletes: false,
        }
    }

    /// A real tenant's proportions: at 40 000 reservas, 300 000 leads, 1.2 million lead
    /// interactions, 25 000 sales, 80 000 commission rows, 30 000 units with 10 price tables,
    /// 3 000 distratos, 500 000 service interactions.
    pub fn realistic() -> Self {
        Self {
            leads_per_reserva: 8,
            units_per_reserva: (3, 4),
            sale_below: 0.64,
            quick_cancel_below: 0.88,
            distrato_share: 0.15,
            daily_cancel_chance: 0.14,
            distratos_per_reserva_day: 0.09,
            price_tables: 10,
            commissions_per_sale: 3.2,
            rows_per_entity: &[
                ("/leads/interacoes", 4.0),
                ("/leads/historico/situacoes", 1.0),
                ("/atendimentos/interacoes", 20.0),
            ],
            scaled_hard_deletes: true,
        }
    }
}

impl Default for WorldShape {
    fn default() -> Self {
        Self::classic()
    }
}
