//! Field lists (name, JSON kind) per object, in the order the API serves them.
//!
//! Transcribed by hand: the documented objects from the reference's field tables
//! (docs/cvdw-api.md §8/§9), the others from the object descriptions cvdw-cli ships. When the
//! reference changes, edit the list of the object here. Objects absent from both get the
//! minimal field set ([`crate::render`]).

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

/// An object's fields.
#[derive(Debug)]
pub struct ObjectFields {
    pub path: &'static str,
    pub fields: &'static [FieldDef],
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
