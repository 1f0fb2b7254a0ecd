//! Rendering rows to JSON, one page at a time.
//!
//! Each object has a field list (name, JSON type): the documented one (docs/cvdw-api.md §8/§9, in
//! [`crate::fields`]) or, for objects the reference has no list for, `referencia`,
//! `referencia_data`, `ativo` (where the object has it), the key fields, the id of the parent
//! entity and `data_cad`. A field is resolved in three steps: object-specific meaning
//! (`valor` of a condition, `situacao` of a commission...), then the row's context (the
//! reservation, its unit, development, broker, agency, lead and customer), then deterministic
//! filler of the documented type. So one sale shows the same values everywhere.
//!
//! Files: `renderer.rs` (a row, its context and where each field is resolved), the object
//! families (`sales.rs`, `units.rs`, `people.rs`, `generic.rs`), `context.rs` and
//! `customer.rs` (the row's context), `entity_names.rs`, `filler.rs`, `assembly.rs` (a row's
//! fields in order, with quirks, dirt and defects).

mod assembly;
mod context;
mod customer;
mod entity_names;
mod filler;
mod generic;
mod people;
mod renderer;
mod sales;
mod units;

use std::sync::OnceLock;

use serde_json::{json, Value};
use shared::catalogue::{ObjectSpec, OBJECTS};

use crate::fields::{integer, number, text, FieldDef, FieldKind};
use crate::names::*;
use crate::world::*;

type FieldList = Vec<FieldDef>;

fn field_lists() -> &'static [FieldList] {
    static LISTS: OnceLock<Vec<FieldList>> = OnceLock::new();
    LISTS.get_or_init(|| OBJECTS.iter().map(build_fields).collect())
}

fn build_fields(spec: &ObjectSpec) -> FieldList {
    let mut out: FieldList = match crate::fields::listed(spec.path) {
        Some(listed) => listed.to_vec(),
        None => minimal_fields(spec),
    };
    // Every row carries `ativo` where the object has it, and its key fields.
    if spec.has_ativo && !out.iter().any(|def| def.name == "ativo") {
        out.insert(2.min(out.len()), text("ativo"));
    }
    if !spec.has_ativo {
        out.retain(|def| def.name != "ativo");
    }
    for key in spec.key {
        if !out.iter().any(|def| def.name == *key) {
            out.push(integer(key));
        }
    }
    // Fields practitioners receive that the spec lacks (§7.3, §8 `/reservas` notes).
    if spec.path == "/reservas" {
        out.extend_from_slice(&[
            integer("idtime"),
            text("nome_time"),
            integer("idgestor_time"),
            number("valor_contrato_com_juros"),
            number("vgv_tabela_minima"),
        ]);
    }
    if spec.path == "/unidades/situacao" {
        out.extend_from_slice(&[
            integer("idhistorico"),
            integer("idunidade"),
            text("unidade"),
            text("bloco"),
            text("etapa"),
            integer("idempreendimento"),
            text("empreendimento"),
            text("de_situacao"),
            text("para_situacao"),
            text("data_cad"),
        ]);
        out.dedup_by(|later, earlier| later.name == earlier.name);
    }
    out
}

/// The id of the entity a minimal object's rows hang from, by path prefix (the first match
/// wins, so the longer prefixes come first).
const PARENT_IDS: &[(&str, &str)] = &[
    ("/leads", "idlead"),
    ("/campos_adicionais", "idlead"),
    ("/pessoas", "idpessoa"),
    ("/pesquisas/respostas", "idpessoa"),
    ("/assistencias/itens", "idassistencia_item"),
    ("/assistencias/visitas", "idvisita"),
    ("/assistencias", "idassistencia"),
    ("/atendimentos", "idatendimento"),
    ("/comissoes", "idcomissao"),
    ("/precadastro", "idprecadastro"),
    ("/repasses", "idrepasse"),
    ("/reservas", "idreserva"),
    ("/agendamentos/vistorias", "idreserva"),
    ("/processos", "idreserva"),
];

/// The field list of an object the reference has none for: `referencia`,
/// `referencia_data`, `ativo`, its keys and parent id, a few fields by kind, `data_cad`.
fn minimal_fields(spec: &ObjectSpec) -> FieldList {
    let path = spec.path;
    let mut out: FieldList = vec![text("referencia"), text("referencia_data")];
    if spec.has_ativo {
        out.push(text("ativo"));
    }
    out.extend(spec.key.iter().map(|key| integer(key)));
    let parent = PARENT_IDS
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|&(_, parent)| parent);
    if let Some(parent) = parent {
        if !out.iter().any(|def| def.name == parent) {
            out.push(integer(parent));
        }
    }
    if path.ends_with("/workflow/tempo") {
        out.extend_from_slice(crate::fields::WORKFLOW_TIME);
    } else if path.ends_with("/historico/situacoes") {
        out.extend_from_slice(crate::fields::STATUS_CHANGE);
    } else if parent == Some("idlead") || path == "/pesquisas/respostas" {
        out.extend_from_slice(&[text("nome"), integer("idcorretor"), text("corretor")]);
    } else if path.starts_with("/pessoas") {
        out.extend_from_slice(&[text("nome"), text("documento"), text("email")]);
    } else if matches!(
        parent,
        Some("idreserva" | "idassistencia" | "idatendimento")
    ) {
        out.extend_from_slice(&[
            integer("idempreendimento"),
            text("empreendimento"),
            text("bloco"),
            text("unidade"),
            text("cliente"),
            text("situacao"),
        ]);
    } else {
        out.extend_from_slice(&[text("nome"), text("descricao")]);
    }
    out.push(text("data_cad"));
    out
}

/// The fields an object serves with their documented JSON kind.
pub fn field_types(path: &str) -> Vec<FieldDef> {
    field_list(path).to_vec()
}

/// The field names an object serves (without the quirk-dependent nested arrays dropped).
pub fn field_names(path: &str) -> Vec<&'static str> {
    field_list(path).iter().map(|def| def.name).collect()
}

/// The field list of `path` (empty for a path outside the catalogue).
fn field_list(path: &str) -> &'static [FieldDef] {
    OBJECTS
        .iter()
        .position(|object| object.path == path)
        .map_or(&[], |object| field_lists()[object].as_slice())
}

/// Centavos as CVDW's money: an integer when whole, else a decimal.
fn money(centavos: i64) -> Value {
    if centavos % 100 == 0 {
        Value::from(centavos / 100)
    } else {
        Value::from(centavos as f64 / 100.0)
    }
}

/// The fields of a change of situation: the ids (`de`, `para`) and the names (`de_nome`,
/// `para_nome`, or `de_situacao`, `para_situacao`) of the situations left and entered.
fn situation_change_field(field: &str, from: impl Situation, to: impl Situation) -> Option<Value> {
    Some(match field {
        "de" => Value::from(from.id()),
        "para" => Value::from(to.id()),
        "de_nome" | "de_situacao" => Value::from(from.nome()),
        "para_nome" | "para_situacao" => Value::from(to.nome()),
        _ => return None,
    })
}

use customer::person;
use renderer::RowRenderer;

/// One row as a JSON value (keys sorted, as `serde_json::Value` does).
pub fn row_value(world: &World, object: usize, pos: u32) -> Value {
    json_object(RowRenderer::new(world, object, pos).pairs())
}

/// One row as [`row_value`] renders it, without its deliberate defect (if any).
pub fn clean_row_value(world: &World, object: usize, pos: u32) -> Value {
    json_object(RowRenderer::new(world, object, pos).clean_pairs())
}

fn json_object(pairs: assembly::Pairs) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

/// Append one row's JSON (fields in documented order) to `out`.
pub fn write_row(world: &World, object: usize, pos: u32, out: &mut Vec<u8>) {
    out.push(b'{');
    for (index, (name, value)) in RowRenderer::new(world, object, pos)
        .pairs()
        .iter()
        .enumerate()
    {
        if index > 0 {
            out.push(b',');
        }
        // Field names are plain ASCII identifiers: no escaping needed.
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, value);
    }
    out.push(b'}');
}
