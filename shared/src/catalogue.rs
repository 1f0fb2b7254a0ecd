//! The CVDW object catalogue: every path the API serves and what identifies a row.
//!
//! This is the one place that knows the 69 paths of the official list (docs/cvdw-api.md §7.1)
//! plus `/unidades/situacao` (§7.2). The simulator serves exactly these paths, the extractor
//! walks them, and the loader keys rows by [`ObjectSpec::key`].
//!
//! Why a natural key and not `referencia`: `referencia` is usually the natural id rendered as
//! a string, but it is not reliable everywhere (§4): `/leads/momentos` repeats it, a
//! `/leads/conversoes` run returned `""` on every row, and some endpoints send it as an int.
//! The natural id fields are what CVDW's own rows carry, so upserts use them. Keys marked
//! INFERRED in the reference are inferred here too; the list says which. Where the ids name a
//! group of rows rather than one row (1:N), the object is [`ObjectSpec::content_keyed`]; a row
//! whose ids are missing lands under a key derived from its content. Both rules live in
//! [`crate::identity`]; docs/row-identity.md lists the key of every object.

use serde_json::Value;

/// One CVDW object (one GET endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectSpec {
    /// Path under the API base, with a leading slash, e.g. `/reservas/condicoes`.
    pub path: &'static str,
    /// Table-style name (cvdw-cli's), used in S3 keys and Postgres: `reservas_condicoes`.
    pub name: &'static str,
    /// Field(s) whose values identify a row. Composite keys are joined with `_`, the same
    /// convention CVDW uses for `/unidades/precos` (`"{idunidade}_{idtabela}"`).
    pub key: &'static [&'static str],
    /// Whether the key was seen equal to `referencia` on live rows (CONFIRMED) or inferred.
    pub key_confirmed: bool,
    /// The endpoint sends `referencia` as a JSON int (§4).
    pub referencia_int: bool,
    /// The endpoint echoes `pagina` as a JSON string (§3.1).
    pub pagina_string: bool,
    /// The object carries `ativo` ('S'/'N'); `/unidades` and `/comissoes/pagamentos` do not (§6).
    pub has_ativo: bool,
    /// The key fields name a group of rows (1:N: one person's assets, one survey's answer
    /// sheets), so each row's key also carries the hash of its content ([`crate::identity`]).
    pub content_keyed: bool,
}

const fn obj(path: &'static str, name: &'static str, key: &'static [&'static str]) -> ObjectSpec {
    ObjectSpec {
        path,
        name,
        key,
        key_confirmed: true,
        referencia_int: false,
        pagina_string: false,
        has_ativo: true,
        content_keyed: false,
    }
}

impl ObjectSpec {
    const fn inferred(mut self) -> Self {
        self.key_confirmed = false;
        self
    }
    const fn ref_int(mut self) -> Self {
        self.referencia_int = true;
        self
    }
    const fn pagina_str(mut self) -> Self {
        self.pagina_string = true;
        self
    }
    const fn no_ativo(mut self) -> Self {
        self.has_ativo = false;
        self
    }
    const fn content_keyed(mut self) -> Self {
        self.content_keyed = true;
        self
    }

    /// The natural key of a row, or `None` when any key field is missing, null or empty.
    /// Strings are trimmed; integral numbers render without a fraction, so `"42"` and `42`
    /// give the same key (CVDW sends ids both ways, §5).
    pub fn natural_key(&self, row: &Value) -> Option<String> {
        let mut out = String::new();
        for (i, field) in self.key.iter().enumerate() {
            let part = key_part(row.get(*field)?)?;
            if i > 0 {
                out.push('_');
            }
            out.push_str(&part);
        }
        Some(out)
    }
}

fn key_part(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Some(u.to_string())
            } else {
                let f = n.as_f64()?;
                (f.fract() == 0.0 && f.abs() < 9.0e15).then(|| format!("{}", f as i64))
            }
        }
        _ => None,
    }
}

/// Every CVDW object, in the order of the official list, then `/unidades/situacao`.
pub const OBJECTS: &[ObjectSpec] = &[
    obj(
        "/agendamentos/vistorias",
        "agendamentos_vistorias",
        &["idvistoria"],
    ),
    obj("/assistencias", "assistencias", &["idassistencia"]),
    obj(
        "/assistencias/workflow/tempo",
        "assistencias_workflow_tempo",
        &["idtempo"],
    ),
    obj(
        "/assistencias/itens",
        "assistencias_itens",
        &["idassistencia_item"],
    ),
    obj(
        "/assistencias/itens/workflow/tempo",
        "assistencias_itens_workflow_tempo",
        &["idtempo"],
    ),
    obj(
        "/assistencias/visitas/workflow/tempo",
        "assistencias_visitas_workflow_tempo",
        &["idtempo"],
    ),
    obj("/atendimentos", "atendimentos", &["idatendimento"]),
    obj(
        "/atendimentos/workflow/tempo",
        "atendimentos_workflow_tempo",
        &["idtempo"],
    ),
    obj(
        "/atendimentos/interacoes",
        "atendimentos_interacoes",
        &["idinteracao"],
    ),
    obj(
        "/atendimentos/respostas",
        "atendimentos_respostas",
        &["idresposta"],
    ),
    obj(
        "/atendimentos/tarefas",
        "atendimentos_tarefas",
        &["idtarefa_criada"],
    ),
    obj("/atendimentos/times", "atendimentos_times", &["idtime"]),
    obj(
        "/atendimentos/times/integrantes",
        "atendimentos_times_integrantes",
        &["idintegrante"],
    ),
    obj("/comissoes", "comissoes", &["idcomissao"]),
    obj(
        "/comissoes/pagamentos",
        "comissoes_pagamentos",
        &["idpagamento"],
    )
    .inferred()
    .no_ativo(),
    obj(
        "/comissoes/workflow/tempo",
        "comissoes_workflow_tempo",
        &["idtempo"],
    )
    .ref_int(),
    obj(
        "/leads/corretores",
        "leads_corretores",
        &["idlead", "idcorretor"],
    )
    .inferred()
    .ref_int()
    .pagina_str(),
    obj("/leads", "leads", &["idlead"]),
    obj(
        "/leads/conversoes",
        "leads_conversoes",
        &["idlead_conversao"],
    ),
    obj("/leads/ganhos", "leads_ganhos", &["idlead_reativacao"])
        .ref_int()
        .pagina_str(),
    obj(
        "/leads/historico/situacoes",
        "leads_historico_situacoes",
        &["idhistorico"],
    ),
    obj("/leads/infos", "leads_infos", &["idlead"]),
    obj("/leads/interacoes", "leads_interacoes", &["idinteracao"]),
    // `referencia` (= idmomento_lead) repeats across rows: the moment type, not the row.
    // and a lead goes through the same moment more than once: content-keyed.
    obj(
        "/leads/momentos",
        "leads_momentos",
        &["idlead", "idmomento_lead"],
    )
    .inferred()
    .content_keyed(),
    obj("/leads/perdas", "leads_perdas", &["idlead_reativacao"])
        .ref_int()
        .pagina_str(),
    obj("/leads/tarefas", "leads_tarefas", &["idtarefa"])
        .ref_int()
        .pagina_str(),
    obj("/leads/visitas", "leads_visitas", &["idtarefa"]),
    obj(
        "/leads/workflow/tempo",
        "leads_workflow_tempo",
        &["idtempo"],
    ),
    obj(
        "/usuarios_administrativos",
        "usuarios_administrativos",
        &["idusuario"],
    ),
    obj("/demandas", "demandas", &["iddemanda"]),
    obj("/processos", "processos", &["idprocesso"]),
    obj("/precadastros", "precadastros", &["idprecadastro"]).inferred(),
    obj("/imobiliarias", "imobiliarias", &["idimobiliaria"]),
    obj("/corretores", "corretores", &["idcorretor"]),
    obj(
        "/precadastro/workflow/tempo",
        "precadastro_workflow_tempo",
        &["idtempo"],
    )
    .ref_int()
    .pagina_str(),
    obj(
        "/precadastro/historico/situacoes",
        "precadastro_historico_situacoes",
        &["idhistorico"],
    ),
    obj(
        "/campanhas_ativacao",
        "campanhas_ativacao",
        &["idcampanha_lead"],
    )
    .inferred(),
    obj("/repasses", "repasses", &["idrepasse"]).inferred(),
    obj(
        "/repasses/workflow/tempo",
        "repasses_workflow_tempo",
        &["idtempo"],
    )
    .inferred(),
    obj(
        "/repasses/historico/situacoes",
        "repasses_historico_situacoes",
        &["idhistorico"],
    ),
    obj("/reservas", "reservas", &["idreserva"]).inferred(),
    obj("/reservas/comissoes", "reservas_comissoes", &["id"])
        .ref_int()
        .pagina_str(),
    obj(
        "/reservas/comissoes/programacao",
        "reservas_comissoes_programacao",
        &["idprogramacao"],
    )
    .inferred(),
    obj(
        "/reservas/coordenador",
        "reservas_coordenador",
        &["idreserva_coordenador_produto"],
    ),
    obj(
        "/reservas/historico/situacoes",
        "reservas_historico_situacoes",
        &["idhistorico"],
    ),
    obj(
        "/reservas/historico",
        "reservas_historico",
        &["idhistorico"],
    )
    .inferred(),
    obj(
        "/reservas/condicoes",
        "reservas_condicoes",
        &["idreservascondicoes"],
    )
    .inferred(),
    obj(
        "/reservas/associados",
        "reservas_associados",
        &["idassociado"],
    ),
    obj(
        "/reservas/contratos",
        "reservas_contratos",
        &["idreservacontrato"],
    )
    .inferred(),
    obj(
        "/reservas/workflow/tempo",
        "reservas_workflow_tempo",
        &["idtempo"],
    )
    .inferred(),
    obj(
        "/reservas/campos-adicionais",
        "reservas_campos_adicionais",
        &["idcampo_valores"],
    )
    .inferred(),
    obj("/vendas", "vendas", &["idreserva"]),
    obj("/distratos", "distratos", &["idreserva"]),
    obj("/simulacoes", "simulacoes", &["idsimulacao"]),
    obj("/reservas/sienge", "reservas_sienge", &["idsienge_reserva"]).inferred(),
    obj(
        "/unidades/precos",
        "unidades_precos",
        &["idunidade", "idtabela"],
    ),
    obj("/unidades", "unidades", &["idunidade"])
        .inferred()
        .ref_int()
        .no_ativo(),
    obj(
        "/campos_adicionais",
        "campos_adicionais",
        &["idcampo_valores"],
    )
    .ref_int(),
    obj("/pessoas", "pessoas", &["idpessoa"])
        .ref_int()
        .pagina_str(),
    obj("/pessoas/contatos", "pessoas_contatos", &["idpessoa"])
        .ref_int()
        .pagina_str(),
    obj(
        "/pessoas/profissional",
        "pessoas_profissional",
        &["idpessoa"],
    ),
    // One person, many assets: the rows of one `idpessoa` told apart by their content.
    obj(
        "/pessoas/patrimoniais",
        "pessoas_patrimoniais",
        &["idpessoa"],
    )
    .ref_int()
    .pagina_str()
    .content_keyed(),
    obj("/pessoas/bancarios", "pessoas_bancarios", &["idpessoa"]).ref_int(),
    obj(
        "/pessoas/bens-empresa",
        "pessoas_bens_empresa",
        &["idpessoa"],
    )
    .ref_int(),
    obj("/pessoas/financeiros", "pessoas_financeiros", &["idpessoa"]),
    obj(
        "/reservas/registros/flags",
        "reservas_registros_flags",
        &["idreserva"],
    ),
    // `referencia` (= idpesquisa) repeats across rows: one survey, many answer sheets, and a
    // person may answer twice: content-keyed.
    obj("/pesquisas", "pesquisas", &["idpesquisa", "idpessoa"])
        .inferred()
        .ref_int()
        .content_keyed(),
    obj(
        "/pesquisas/perguntas",
        "pesquisas_perguntas",
        &["idpesquisa_pergunta"],
    )
    .inferred(),
    obj(
        "/pesquisas/respostas",
        "pesquisas_respostas",
        &["idresposta"],
    )
    .inferred(),
    // §7.2: a history of unit status changes (de_situacao → para_situacao).
    obj("/unidades/situacao", "unidades_situacao", &["idhistorico"]).inferred(),
];

/// The *sales set*: every object the analytics read (`analytics.objetos_fonte()`, migration
/// 0102) and the ones the sales questions lean on next. The extract schedule keeps them
/// freshest ([`crate::extract::schedule`]).
pub const SALES_SET: &[&str] = &[
    "vendas",
    "reservas",
    "reservas_condicoes",
    "reservas_historico_situacoes",
    "distratos",
    "comissoes",
    "comissoes_pagamentos",
    "unidades",
    "unidades_precos",
    "unidades_situacao",
    "repasses",
    "atendimentos_times",
    "atendimentos_times_integrantes",
    "corretores",
    "imobiliarias",
];

/// Whether an object (by catalogue name) is in the [`SALES_SET`].
pub fn is_sales(name: &str) -> bool {
    SALES_SET.contains(&name)
}

/// Look an object up by path (`/reservas/condicoes`, leading slash optional) or by name
/// (`reservas_condicoes`).
pub fn find(path_or_name: &str) -> Option<&'static ObjectSpec> {
    let p = path_or_name.trim();
    let with_slash = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    OBJECTS.iter().find(|o| o.path == with_slash || o.name == p)
}

/// Parse a comma-separated selection (`vendas,reservas/condicoes`); empty or `all` = every object.
pub fn select(list: &str) -> Result<Vec<&'static ObjectSpec>, UnknownObject> {
    let list = list.trim();
    if list.is_empty() || list.eq_ignore_ascii_case("all") {
        return Ok(OBJECTS.iter().collect());
    }
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| find(s).ok_or_else(|| UnknownObject(s.to_string())))
        .collect()
}

/// A name that is not a CVDW object.
#[derive(Debug, thiserror::Error)]
#[error("unknown CVDW object `{0}` (expected a path such as /vendas or a name such as reservas_condicoes)")]
pub struct UnknownObject(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    #[test]
    fn seventy_unique_objects() {
        assert_eq!(OBJECTS.len(), 70);
        let paths: HashSet<_> = OBJECTS.iter().map(|o| o.path).collect();
        let names: HashSet<_> = OBJECTS.iter().map(|o| o.name).collect();
        assert_eq!(paths.len(), 70);
        assert_eq!(names.len(), 70);
    }

    #[test]
    fn natural_keys() {
        let precos = find("unidades/precos").unwrap();
        assert_eq!(
            precos
                .natural_key(&json!({"idunidade": 7, "idtabela": "30"}))
                .as_deref(),
            Some("7_30")
        );
        let vendas = find("/vendas").unwrap();
        assert_eq!(
            vendas.natural_key(&json!({"idreserva": 12.0})).as_deref(),
            Some("12")
        );
        assert_eq!(vendas.natural_key(&json!({"idreserva": " "})), None);
        assert_eq!(vendas.natural_key(&json!({"idreserva": null})), None);
        assert_eq!(vendas.natural_key(&json!({})), None);
    }

    #[test]
    fn selection() {
        assert_eq!(select("").unwrap().len(), 70);
        let s = select("vendas, /reservas/condicoes").unwrap();
        assert_eq!(s[1].name, "reservas_condicoes");
        assert!(select("empreendimentos").is_err());
    }

    #[test]
    fn the_sales_set_covers_what_the_analytics_read() {
        for name in SALES_SET {
            assert!(find(name).is_some(), "{name}");
        }
        let sql = include_str!("../../migrations/0102_analytics_cache.sql");
        let start = sql.find("objetos_fonte() RETURNS").unwrap();
        let start = start + sql[start..].find("ARRAY[").unwrap();
        let list = &sql[start..start + sql[start..].find(']').unwrap()];
        let read: Vec<&str> = list.split('\'').skip(1).step_by(2).collect();
        assert!(read.len() >= 9, "{read:?}");
        for name in read {
            assert!(
                is_sales(name),
                "the analytics read {name}, not in SALES_SET"
            );
        }
    }
}
