//! The simulated incorporadora: compact entities, one row table per CVDW object, the clock.
//!
//! Entities hold only what makes the world consistent (which unit a reservation took, its
//! contract value in centavos, when it was sold or cancelled...). Everything else a row shows
//! is derived when it is rendered ([`crate::render`]). Each of the 70 objects is a [`Table`] of
//! [`Row`] headers: the context entity, creation and reference times (seconds since
//! 2000-01-01, naive São Paulo time) and a one-byte [`RowState`]. Tables keep a sorted index by
//! (`referencia_data`, position) for ordering, date filters and offset paging.
//!
//! Life of a sale: a reservation takes an available unit (unit → "Reservada"); it is sold
//! (a `/vendas` row, its commissions, a repasse when financed, unit → "Vendida") or cancelled
//! (unit back to stock). A distrato adds a `/distratos` row, moves the reservation to
//! "Distrato", inactivates its commissions and repasse (`ativo='N'`) and returns the unit to
//! stock; the `/vendas` row stays as it was (whether CVDW drops it is unknown, §6), so net
//! sales = `/vendas` − `/distratos`. Every change of what a row shows moves its
//! `referencia_data` to the time of the change, so an incremental sync from a cursor sees it;
//! hard deletes are the only changes a cursor cannot see.
//!
//! Files: `time.rs` (clock values and formats), `entities.rs`, `tables.rs` (rows, indexes),
//! `row_state.rs` (a row's state byte), `generate.rs` and `history.rs` (a new world),
//! `events.rs` (a sale's life), `row_changes.rs` (what a change does to a row), `advance.rs`
//! (the clock), `queries.rs`.

// Object indices are table ids used across several parallel vectors; index loops read best.
#![allow(clippy::needless_range_loop)]

mod advance;
mod entities;
mod events;
mod generate;
mod history;
mod queries;
mod row_changes;
mod row_state;
mod tables;
mod time;

pub use entities::*;
use row_changes::Changes;
pub use row_state::*;
pub use tables::*;
pub use time::*;

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use shared::catalogue::{ObjectSpec, OBJECTS};

use crate::{
    ChangeSummary, Malformation, MalformedRow, ObjectChanges, Quirks, SimConfig, WorldShape,
};

/// "No entity" in an index field (a unit without holder, a broker without team...).
pub const NONE: u32 = u32::MAX;
/// Seconds in a day of [`SimTime`].
pub const DAY: i32 = 86_400;

/// splitmix64: the deterministic hash behind all derived values.
pub fn mix(mut state: u64) -> u64 {
    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    state = (state ^ (state >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    state = (state ^ (state >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    state ^ (state >> 31)
}

/// The hash of three values (typically a seed, a salt saying what is derived, an index).
pub fn hash3(first: u64, second: u64, third: u64) -> u64 {
    mix(mix(mix(first) ^ second) ^ third)
}

/// The world: its clock, its entities (indices into these vectors are their ids − 1) and a
/// table of rows per CVDW object.
pub struct World {
    /// [`SimConfig::seed`]: every derived value is a hash of it.
    pub seed: u64,
    pub quirks: Quirks,
    /// The simulated now.
    pub now: SimTime,
    /// When the generated history begins.
    pub start: SimTime,
    /// The clock's own random sequence, so that a seed and a sequence of spans always give
    /// the same changes.
    pub rng: SmallRng,
    pub emps: Vec<Emp>,
    pub etapas: Vec<Etapa>,
    pub blocos: Vec<Bloco>,
    pub unidades: Vec<Unidade>,
    pub imobs: Vec<Imob>,
    pub corretores: Vec<Corretor>,
    pub times: Vec<Time>,
    pub integrantes: Vec<Integrante>,
    pub leads: Vec<Lead>,
    pub reservas: Vec<Reserva>,
    pub condicoes: Vec<Condicao>,
    pub comissoes: Vec<Comissao>,
    pub pagamentos: Vec<Pagamento>,
    pub repasses: Vec<Repasse>,
    pub assocs: Vec<Assoc>,
    pub hist_res: Vec<HistReserva>,
    pub hist_uni: Vec<HistUnidade>,
    /// Units currently for sale.
    pub available: Vec<u32>,
    pub tables: Vec<Table>,
    pub defs: Vec<Def>,
    /// Per-day event rates, derived from the generated history.
    pub leads_per_day: f64,
    pub reservas_per_day: f64,
    /// Rows deliberately malformed ([`SimConfig::malformed`]): (object index, row position).
    pub malformed: BTreeMap<(usize, u32), Malformation>,
    /// [`SimConfig::distratos_per_day`].
    pub distratos_per_day: Option<f64>,
    /// [`SimConfig::shape`].
    pub shape: WorldShape,
}

pub fn obj_index(path: &str) -> usize {
    OBJECTS
        .iter()
        .position(|object| object.path == path)
        .unwrap_or_else(|| panic!("not a catalogue path: {path}"))
}

/// Round a rate to a count, carrying the fraction as a probability.
fn poisson_ish(rng: &mut SmallRng, rate: f64) -> usize {
    let whole = rate.floor();
    let fraction = rate - whole;
    whole as usize + usize::from(rng.random::<f64>() < fraction)
}
