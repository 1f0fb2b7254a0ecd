//! Counting the quirks in rendered rows, from the values themselves rather than from the
//! choices of [`super`]: what a test (or a crawl through the real HTTP) checks a world shows.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::MONEY_FIELDS;

/// Quirk → rows (or values) that show it.
pub type Census = BTreeMap<&'static str, usize>;

/// The rows of an object as served, by path.
pub type RowsOf<'a> = &'a dyn Fn(&str) -> Vec<Value>;

/// The forms a missing event date takes.
const DATE_SENTINELS: [&str; 4] = ["null date", "empty date", "zero timestamp", "zero date"];

/// A field as trimmed text (numbers as written; anything else empty).
fn text_of(row: &Value, field: &str) -> String {
    match row.get(field) {
        Some(Value::String(text)) => text.trim().to_string(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// An id field, when it holds one (a number or a non-empty string).
fn id_of(row: &Value, field: &str) -> Option<String> {
    match row.get(field)? {
        Value::Number(number) => Some(number.to_string()),
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

fn inactive(row: &Value) -> bool {
    row.get("ativo") == Some(&Value::from("N"))
}

/// Which form of missing date a value is, if it is one.
fn date_sentinel(value: Option<&Value>) -> Option<&'static str> {
    match value {
        None | Some(Value::Null) => Some("null date"),
        Some(Value::String(text)) if text.is_empty() => Some("empty date"),
        Some(Value::String(text)) if text == "0000-00-00 00:00:00" => Some("zero timestamp"),
        Some(Value::String(text)) if text == "0000-00-00" => Some("zero date"),
        _ => None,
    }
}

/// How many rows of each id quirk `rows(path)` holds: `(quirk, rows)`.
pub fn id_census(rows: RowsOf<'_>) -> Census {
    let mut census = Census::new();
    let without = |path: &str, field: &str| {
        rows(path)
            .iter()
            .filter(|row| text_of(row, field).is_empty())
            .count()
    };
    census.insert(
        "leads/conversoes without their id",
        without("/leads/conversoes", "idlead_conversao"),
    );
    census.insert(
        "pesquisas without the person",
        without("/pesquisas", "idpessoa"),
    );
    for (path, what, ids) in [
        (
            "/pessoas/patrimoniais",
            "pessoas/patrimoniais: a person with several assets",
            &["idpessoa"][..],
        ),
        (
            "/leads/momentos",
            "leads/momentos: the same moment of a lead again",
            &["idlead", "idmomento_lead"][..],
        ),
        (
            "/pesquisas",
            "pesquisas: a second sheet of a survey by the same person",
            &["idpesquisa", "idpessoa"][..],
        ),
    ] {
        let mut seen: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for row in rows(path) {
            let key: Vec<String> = ids.iter().map(|field| text_of(&row, field)).collect();
            if key.iter().all(|id| !id.is_empty()) {
                *seen.entry(key).or_default() += 1;
            }
        }
        census.insert(what, seen.values().filter(|&&count| count > 1).count());
    }
    census
}

/// The sales objects a census reads, fetched once.
struct SalesRows {
    vendas: Vec<Value>,
    distratos: Vec<Value>,
    reservas: Vec<Value>,
    condicoes: Vec<Value>,
    comissoes: Vec<Value>,
    precos: Vec<Value>,
    unidades: Vec<Value>,
    integrantes: Vec<Value>,
}

/// A census being taken: every quirk it counts appears, hit or not.
struct Tally(Census);

impl Tally {
    fn add(&mut self, quirk: &'static str, hit: bool) {
        *self.0.entry(quirk).or_default() += usize::from(hit);
    }
}

/// How often each quirk the metrics must handle occurs in a set of rendered rows (object path
/// → rows as served), counted from the values themselves, not from the choices of [`super`].
pub fn census(rows: RowsOf<'_>) -> Census {
    let sales = SalesRows {
        vendas: rows("/vendas"),
        distratos: rows("/distratos"),
        reservas: rows("/reservas"),
        condicoes: rows("/reservas/condicoes"),
        comissoes: rows("/comissoes"),
        precos: rows("/unidades/precos"),
        unidades: rows("/unidades"),
        integrantes: rows("/atendimentos/times/integrantes"),
    };
    let mut tally = Tally(Census::new());
    count_money_forms(&sales, &mut tally);
    count_missing_dates(&sales, &mut tally);
    for venda in &sales.vendas {
        let valor = venda.get("valor_contrato");
        let missing = matches!(valor, None | Some(Value::Null)) || valor == Some(&Value::from(""));
        tally.add("vendas without valor_contrato", missing);
    }
    count_inactive_and_flags(&sales, &mut tally);
    count_team_and_conditions(&sales, &mut tally);
    tally.0
}

fn count_money_forms(sales: &SalesRows, tally: &mut Tally) {
    let objects = [
        &sales.vendas,
        &sales.distratos,
        &sales.reservas,
        &sales.condicoes,
        &sales.comissoes,
    ];
    for row in objects.into_iter().flatten() {
        for field in MONEY_FIELDS {
            let value = row.get(*field);
            let as_string = matches!(value, Some(Value::String(text)) if !text.is_empty());
            tally.add("money as a string", as_string);
            tally.add("money as a number", matches!(value, Some(Value::Number(_))));
        }
    }
}

fn count_missing_dates(sales: &SalesRows, tally: &mut Tally) {
    for (field, rows, what) in [
        ("data_venda", &sales.vendas, "vendas without a data_venda"),
        (
            "situacao_data",
            &sales.distratos,
            "distratos without a situacao_data",
        ),
        ("data_cad", &sales.comissoes, "comissões without a data_cad"),
    ] {
        for row in rows {
            let sentinel = date_sentinel(row.get(field));
            tally.add(what, sentinel.is_some());
            for form in DATE_SENTINELS {
                tally.add(form, sentinel == Some(form));
            }
        }
    }
}

fn count_inactive_and_flags(sales: &SalesRows, tally: &mut Tally) {
    tally.add("vendas inactive", sales.vendas.iter().any(inactive));
    tally.add("distratos inactive", sales.distratos.iter().any(inactive));
    tally.add("comissões inactive", sales.comissoes.iter().any(inactive));
    tally.add(
        "unidades/precos inactive",
        sales.precos.iter().any(inactive),
    );
    tally.add(
        "integrantes inactive",
        sales.integrantes.iter().any(inactive),
    );
    for reserva in &sales.reservas {
        for field in ["aprovada", "venda"] {
            tally.add("'Sim'", reserva.get(field) == Some(&Value::from("Sim")));
            tally.add("'Não'", reserva.get(field) == Some(&Value::from("Não")));
        }
    }
    for unidade in &sales.unidades {
        let blocked = unidade.get("situacao_bloqueada");
        tally.add(
            "'S' (situacao_bloqueada)",
            blocked == Some(&Value::from("S")),
        );
        tally.add(
            "'N' (situacao_bloqueada)",
            blocked == Some(&Value::from("N")),
        );
    }
}

/// Sales whose team can only come from the broker's membership, and sales whose reservation
/// has no payment conditions.
fn count_team_and_conditions(sales: &SalesRows, tally: &mut Tally) {
    let members: BTreeSet<String> = sales
        .integrantes
        .iter()
        .filter(|member| !inactive(member))
        .filter_map(|member| id_of(member, "idusuario"))
        .collect();
    let reservas: BTreeMap<String, &Value> = sales
        .reservas
        .iter()
        .filter_map(|reserva| Some((id_of(reserva, "idreserva")?, reserva)))
        .collect();
    let with_conditions: BTreeSet<String> = sales
        .condicoes
        .iter()
        .filter_map(|condition| id_of(condition, "idreserva"))
        .collect();
    for venda in &sales.vendas {
        let Some(idreserva) = id_of(venda, "idreserva") else {
            continue;
        };
        let no_team = reservas
            .get(&idreserva)
            .is_some_and(|reserva| matches!(reserva.get("idtime"), None | Some(Value::Null)));
        let member = id_of(venda, "idcorretor").is_some_and(|broker| members.contains(&broker));
        tally.add(
            "vendas with the team from the memberships",
            no_team && member,
        );
        tally.add(
            "vendas whose reservation has no payment conditions",
            reservas.contains_key(&idreserva) && !with_conditions.contains(&idreserva),
        );
    }
}

/// The quirks a census found no row of.
pub fn missing(census: &Census) -> Vec<&'static str> {
    census
        .iter()
        .filter(|(_, &count)| count == 0)
        .map(|(&quirk, _)| quirk)
        .collect()
}
