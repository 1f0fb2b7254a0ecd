//! Field lists (name, JSON kind) per object, in the order the API serves them.
//!
//! Transcribed by hand: the documented objects from the reference's field tables
//! (docs/cvdw-api.md §8/§9), the others from the object descriptions cvdw-cli ships. When the
//! reference changes, edit the list of the object here. Objects absent from both get the
//! minimal field set ([`crate::render`]).
//!
//! A list is a sequence of slices: the blocks CVDW repeats across objects (the row header, a
//! unit's location, a customer's profile, a change of situation, a lead task) are named
//! once below and spliced in, the rest is written out where it stands.

mod documented_sales;
mod documented_service;
mod documented_teams_leads;
mod extra_people_service;
mod extra_sales_leads;

/// The JSON type the API documents for a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Integer,
    Number,
    /// A nested array (`associados`, `campos_adicionais`...): left out when the nested-arrays
    /// quirk is off.
    Array,
}

/// One served field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: FieldKind,
}

/// An object's fields, as consecutive blocks.
#[derive(Debug)]
pub struct ObjectFields {
    pub path: &'static str,
    pub fields: &'static [&'static [FieldDef]],
}

impl ObjectFields {
    /// The fields in order.
    pub fn to_vec(&self) -> Vec<FieldDef> {
        self.fields.concat()
    }
}

pub const fn text(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind: FieldKind::Text,
    }
}
pub const fn integer(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind: FieldKind::Integer,
    }
}
pub const fn number(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind: FieldKind::Number,
    }
}
pub const fn array(name: &'static str) -> FieldDef {
    FieldDef {
        name,
        kind: FieldKind::Array,
    }
}

/// Every row's first fields.
pub const HEADER: &[FieldDef] = &[text("referencia"), text("referencia_data"), text("ativo")];

/// Where a unit stands: its development, phase, block and name.
pub const UNIT_LOCATION: &[FieldDef] = &[
    integer("idempreendimento"),
    text("codigointerno_empreendimento"),
    text("empreendimento"),
    text("etapa"),
    text("bloco"),
    text("unidade"),
];

/// A buyer's contact and profile, on reservations and sales.
pub const CUSTOMER_PROFILE: &[FieldDef] = &[
    text("email"),
    text("cidade"),
    text("cep_cliente"),
    number("renda"),
    text("sexo"),
    integer("idade"),
    text("estado_civil"),
];

/// A move between two situations and who made it (every `/historico/situacoes` object).
pub const STATUS_CHANGE: &[FieldDef] = &[
    integer("de"),
    integer("para"),
    text("de_nome"),
    text("para_nome"),
    text("usuario"),
    integer("idusuario"),
];

/// A task scheduled on a lead (`/leads/tarefas`, and the visits, which are tasks too).
pub const LEAD_TASK: &[FieldDef] = &[
    integer("idtarefa"),
    integer("idinteracao"),
    integer("idlead"),
    text("data_cad"),
    text("data"),
    integer("idresponsavel"),
    text("responsavel"),
    text("tipo_responsavel"),
    text("situacao"),
    text("tipo_interacao"),
];

/// What every `/workflow/tempo` object serves after its ids: a situation and the time spent
/// in it.
pub const WORKFLOW_TIME: &[FieldDef] = &[
    integer("idsituacao"),
    text("situacao"),
    text("sigla"),
    integer("tempo"),
];

/// The field list of `path`, documented lists first, then the restated ones.
pub fn listed(path: &str) -> Option<&'static ObjectFields> {
    [
        documented_sales::LISTS,
        documented_teams_leads::LISTS,
        documented_service::LISTS,
        extra_sales_leads::LISTS,
        extra_people_service::LISTS,
    ]
    .into_iter()
    .flatten()
    .find(|object| object.path == path)
}
