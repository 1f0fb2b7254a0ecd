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
//! Files: `renderer.rs` (a row and its context), the object families (`sales.rs`, `units.rs`,
//! `people.rs`, `generic.rs`), `context.rs`, `filler.rs` (and a row's assembly).

mod context;
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
        Some(listed) => listed.fields.to_vec(),
        None => minimal_fields(spec),
    };
    // Every row carries `ativo` where the object has it, and its key fields.
    if spec.has_ativo && !out.iter().any(|f| f.name == "ativo") {
        out.insert(2.min(out.len()), text("ativo"));
    }
    if !spec.has_ativo {
        out.retain(|f| f.name != "ativo");
    }
    for k in spec.key {
        if !out.iter().any(|f| f.name == *k) {
            out.push(integer(k));
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
        out.dedup_by(|a, b| a.name == b.name);
    }
    out
}

fn minimal_fields(spec: &ObjectSpec) -> FieldList {
    let mut out: FieldList = vec![text("referencia"), text("referencia_data")];
    if spec.has_ativo {
        out.push(text("ativo"));
    }
    let p = spec.path;
    for k in spec.key {
        out.push(integer(k));
    }
    let parent: Option<&'static str> = if p.starts_with("/leads") || p == "/campos_adicionais" {
        Some("idlead")
    } else if p.starts_with("/pessoas") || p.starts_with("/pesquisas/respostas") {
        Some("idpessoa")
    } else if p.starts_with("/assistencias/itens") {
        Some("idassistencia_item")
    } else if p.starts_with("/assistencias/visitas") {
        Some("idvisita")
    } else if p.starts_with("/assistencias") {
        Some("idassistencia")
    } else if p.starts_with("/atendimentos") {
        Some("idatendimento")
    } else if p.starts_with("/comissoes") {
        Some("idcomissao")
    } else if p.starts_with("/precadastro") {
        Some("idprecadastro")
    } else if p.starts_with("/repasses") {
        Some("idrepasse")
    } else if p.starts_with("/reservas") || p == "/agendamentos/vistorias" || p == "/processos" {
        Some("idreserva")
    } else {
        None
    };
    if let Some(par) = parent {
        if !out.iter().any(|f| f.name == par) {
            out.push(integer(par));
        }
    }
    if p.ends_with("/workflow/tempo") {
        out.extend_from_slice(&[
            integer("idsituacao"),
            text("situacao"),
            text("sigla"),
            integer("tempo"),
        ]);
    } else if p.ends_with("/historico/situacoes") {
        out.extend_from_slice(&[
            integer("de"),
            integer("para"),
            text("de_nome"),
            text("para_nome"),
            text("usuario"),
            integer("idusuario"),
        ]);
    } else if p.starts_with("/leads") || p == "/campos_adicionais" || p == "/pesquisas/respostas" {
        out.extend_from_slice(&[text("nome"), integer("idcorretor"), text("corretor")]);
    } else if p.starts_with("/pessoas") {
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
    OBJECTS
        .iter()
        .position(|o| o.path == path)
        .map(|oi| field_lists()[oi].clone())
        .unwrap_or_default()
}

/// The field names an object serves (without the quirk-dependent nested arrays dropped).
pub fn field_names(path: &str) -> Vec<&'static str> {
    OBJECTS
        .iter()
        .position(|o| o.path == path)
        .map(|oi| field_lists()[oi].iter().map(|f| f.name).collect())
        .unwrap_or_default()
}

fn money(c: i64) -> Value {
    if c % 100 == 0 {
        Value::from(c / 100)
    } else {
        Value::from(c as f64 / 100.0)
    }
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            'Á' | 'Â' | 'Ã' => 'A',
            'É' | 'Ê' => 'E',
            'Í' => 'I',
            'Ó' | 'Ô' => 'O',
            'Ú' => 'U',
            'Ç' => 'C',
            c => c,
        })
        .collect()
}

/// Deterministic person data for pessoa `p` (= lead index; ids are index + 1). Cheap: the
/// name is only assembled when asked for.
struct Person {
    first: &'static str,
    surname1: &'static str,
    surname2: &'static str,
    female: bool,
    /// The person's hash: every other derived value of theirs is cut from it.
    hash: u64,
}

impl Person {
    fn nome(&self) -> String {
        format!("{} {} {}", self.first, self.surname1, self.surname2)
    }
}

fn person(seed: u64, salt: u64, p: u32) -> Person {
    let hash = h3(seed, salt, p as u64);
    let female = hash & 1 == 1;
    let pool = if female { FIRST_F } else { FIRST_M };
    Person {
        first: pool[(hash >> 8) as usize % pool.len()],
        surname1: SURNAMES[(hash >> 20) as usize % SURNAMES.len()],
        surname2: SURNAMES[(hash >> 32) as usize % SURNAMES.len()],
        female,
        hash,
    }
}

use renderer::RowRenderer;

/// One row as a JSON value (keys sorted, as `serde_json::Value` does).
pub fn row_value(w: &World, oi: usize, pos: u32) -> Value {
    let r = RowRenderer::new(w, oi, pos);
    Value::Object(
        r.pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// One row as [`row_value`] renders it, without its deliberate defect (if any).
pub fn clean_row_value(w: &World, oi: usize, pos: u32) -> Value {
    let r = RowRenderer::new(w, oi, pos);
    Value::Object(
        r.clean_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Append one row's JSON (fields in documented order) to `out`.
pub fn write_row(w: &World, oi: usize, pos: u32, out: &mut Vec<u8>) {
    let r = RowRenderer::new(w, oi, pos);
    out.push(b'{');
    for (i, (k, v)) in r.pairs().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Field names are plain ASCII identifiers: no escaping needed.
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
    }
    out.push(b'}');
}
