//! Every real row lands (shared/src/identity.rs): rows shaped as the real API sends them, for
//! each object whose key is not a plain id, load with no quarantine into PostgreSQL.
//! - 1:N objects keep the rows of one group apart (one person's assets, one survey's answer
//!   sheets, one lead's moments).
//! - A run whose id column is empty (a recorded `/leads/conversoes` answer) lands under
//!   derived keys, marked `key_source = 'derived'`.
//! - The same content seen again, with its volatile fields moved and its money re-encoded,
//!   converges on the same rows, and a full run still deletes a derived row it no longer sees.

use crate::load_support;

use load_support::*;
use serde_json::{json, Value};
use shared::landing::Mode;
use shared::load::{load_manifest, ManifestOutcome};
use tokio_postgres::Client;

const T: &str = "acme";

/// Load one full run of `rows` into `object` (pages of `size`) and apply its manifest.
async fn full_run(c: &mut Client, object: &str, run: u32, rows: &[Value]) -> ManifestOutcome {
    let r = run_id(run as i64, run);
    let pages = run_pages(T, object, &r, Mode::Full, rows, 4);
    for p in &pages {
        deliver_item(c, &Item::Page(p.clone())).await;
    }
    let (k, b) = manifest(&pages, Mode::Full);
    load_manifest(c, &k, &b).await.unwrap()
}

/// (live rows, derived keys among them, quarantined rows) of a generic object.
async fn tally(c: &Client, object: &str) -> (i64, i64, i64) {
    let r = c
        .query_one(
            "SELECT count(*) FILTER (WHERE deleted_at IS NULL), \
                    count(*) FILTER (WHERE deleted_at IS NULL AND key_source = 'derived'), \
                    (SELECT count(*) FROM etl.rejected_rows WHERE object = $1) \
             FROM cvdw.objects WHERE tenant = $2 AND object = $1",
            &[&object, &T],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

fn momento(idlead: i64, idmomento: Value, data_cad: &str) -> Value {
    json!({
        "referencia": idmomento.clone(), "referencia_data": data_cad, "ativo": "S",
        "idmomento_lead": idmomento, "idlead": idlead, "idusuario": 12,
        "nome_usuario": "Ana Souza", "painel_usuario": "Gestor",
        "momentos_lead": "Em atendimento", "data_cad": data_cad,
        "data_sincronizacao": "2026-11-30 02:00:00"
    })
}

fn bem(idpessoa: i64, quais: &str, valor: Value) -> Value {
    json!({
        "referencia": idpessoa, "referencia_data": "2025-06-01 10:00:00", "ativo": "S",
        "idpessoa": idpessoa, "idpessoa_int": "", "possui_bem": "Sim",
        "quantidade_imoveis_possui": 1, "quais_bens": quais, "situacao_do_bem": "Quitado",
        "valor_do_bem": valor, "novos_bens": []
    })
}

fn pesquisa(idpesquisa: i64, idpessoa: Value, inicio: &str) -> Value {
    json!({
        "referencia": idpesquisa, "referencia_data": inicio, "ativo": "S",
        "idpesquisa": idpesquisa, "idpessoa": idpessoa, "pesquisa": "NPS pós-entrega",
        "dataInicio": inicio, "dataFim": "0000-00-00 00:00:00"
    })
}

fn conversao(idlead: i64, origem: &str, valor_referencia: Value) -> Value {
    // As recorded: referencia "" and referencia_data null on every row, the id empty.
    json!({
        "referencia": "", "referencia_data": null, "ativo": "S",
        "idlead_conversao": "", "idlead": idlead, "data_cad": format!("2025-02-{:02} 09:30:00", idlead % 28 + 1),
        "nome": format!("Lead {idlead}"), "email": "", "telefone": "",
        "origem_conversao": origem, "conversao": "Formulário", "origem": origem,
        "idorigem_ultimo": 3, "origem_ultimo": origem, "midia": "Instagram",
        "midia_conversao": "Instagram", "gestor": valor_referencia, "gestor_ultimo": 7,
        "empreendimento_ultimo": 2
    })
}

#[tokio::test]
async fn one_to_many_objects_keep_every_row() {
    let mut t = TestDb::migrated("identity_1n").await;
    let c = t.client();

    // One lead passes the same moment twice (referencia = the moment type repeats, as int
    // and as string); another lead the same moment once.
    let momentos = vec![
        momento(100, json!(3), "2025-01-02 10:00:00"),
        momento(100, json!("3"), "2025-03-09 16:20:00"),
        momento(101, json!(3), "2025-01-05 11:00:00"),
        momento(100, json!(4), "2025-03-10 08:00:00"),
    ];
    full_run(c, "/leads/momentos", 1, &momentos).await;
    assert_eq!(tally(c, "leads_momentos").await, (4, 0, 0));

    // One person, three assets; another person, one.
    let bens = vec![
        bem(9, "Casa", json!("300000.00")),
        bem(9, "Carro", json!(80000)),
        bem(9, "Terreno", json!("120000.50")),
        bem(10, "Casa", json!("300000.00")),
    ];
    full_run(c, "/pessoas/patrimoniais", 1, &bens).await;
    assert_eq!(tally(c, "pessoas_patrimoniais").await, (4, 0, 0));
    let nine: Vec<String> = column(
        c,
        "SELECT natural_key FROM cvdw.objects WHERE object = 'pessoas_patrimoniais' AND natural_key LIKE '9\\_%' ORDER BY 1",
    )
    .await;
    assert_eq!(nine.len(), 3, "{nine:?}");

    // One survey, many sheets (idpesquisa repeats); one person answers twice; one sheet has
    // no person at all (the composite's second id empty).
    let sheets = vec![
        pesquisa(3, json!(1), "2025-04-01 10:00:00"),
        pesquisa(3, json!(2), "2025-04-01 11:00:00"),
        pesquisa(3, json!(2), "2025-05-01 11:00:00"),
        pesquisa(3, json!(""), "2025-04-02 09:00:00"),
        pesquisa(4, json!(1), "2025-04-03 10:00:00"),
    ];
    full_run(c, "/pesquisas", 1, &sheets).await;
    assert_eq!(tally(c, "pesquisas").await, (5, 1, 0));
    t.drop().await;
}

/// The keys `/leads/conversoes` rows are stored under, in order.
async fn conversion_keys(c: &Client) -> Vec<String> {
    let sql = "SELECT natural_key FROM cvdw.objects WHERE object = 'leads_conversoes' ORDER BY 1";
    column(c, sql).await
}

#[tokio::test]
async fn a_run_without_ids_lands_under_derived_keys_that_converge() {
    let mut t = TestDb::migrated("identity_derived").await;
    let c = t.client();
    let rows: Vec<Value> = (1..=12)
        .map(|i| conversao(i, if i % 2 == 0 { "Site" } else { "Portal" }, json!(7)))
        .collect();
    assert_eq!(
        full_run(c, "/leads/conversoes", 1, &rows).await,
        ManifestOutcome::Applied { deleted: 0 }
    );
    assert_eq!(tally(c, "leads_conversoes").await, (12, 12, 0));
    let first = conversion_keys(c).await;

    // The next day's full run: the same content, its DW bookkeeping moved, `gestor` as a
    // string, blanks as null, and two conversions gone.
    let again: Vec<Value> = rows[..10]
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["referencia_data"] = json!("2026-11-30 08:00:00");
            r["data_sincronizacao"] = json!("2026-11-30 08:00:00");
            r["gestor"] = json!("7");
            r["email"] = Value::Null;
            r
        })
        .collect();
    assert_eq!(
        full_run(c, "/leads/conversoes", 2, &again).await,
        ManifestOutcome::Applied { deleted: 2 }
    );
    assert_eq!(tally(c, "leads_conversoes").await, (10, 10, 0));
    let all = conversion_keys(c).await;
    assert_eq!(all, first, "the same rows, no new keys");
    t.drop().await;
}

#[tokio::test]
async fn a_sale_without_its_id_is_stored_not_quarantined() {
    let mut t = TestDb::migrated("identity_typed").await;
    let c = t.client();
    let mut orphan = venda(7, 1);
    orphan["idreserva"] = json!(null);
    orphan["referencia"] = json!("");
    let rows = vec![venda(1, 1), venda(2, 1), orphan];
    full_run(c, "/vendas", 1, &rows).await;
    let got: Vec<(String, i64)> = load_support::rows(
        c,
        "SELECT key_source, count(*) FROM cvdw.vendas GROUP BY 1 ORDER BY 1",
        &[],
    )
    .await;
    assert_eq!(got, [("derived".into(), 1), ("natural".into(), 2)]);
    let rejected: i64 = scalar(c, "SELECT count(*) FROM etl.rejected_rows", &[]).await;
    assert_eq!(rejected, 0);
    t.drop().await;
}

/// The simulator's default world sends rows without ids and ids that repeat where real CVDW
/// does (simulator::dirt::id_dirt); the real extractor stores them and the loader keeps every
/// one: as many live rows as the source has distinct rows, none quarantined.
#[tokio::test]
async fn the_dirty_world_lands_whole() {
    use shared::extract::{FullEvery, RunSettings};
    use std::collections::HashSet;

    let objects = "leads_conversoes,leads_momentos,pessoas_patrimoniais,pesquisas";
    let p = SimPipeline::start(simulator::SimConfig::for_tests(), T, objects, 500).await;
    let ids = simulator::dirt::id_census(&|path| p.sim.ground_truth(path));
    assert!(simulator::dirt::missing(&ids).is_empty(), "{ids:?}");
    p.extract(&RunSettings {
        full_every: FullEvery::Always,
        ..RunSettings::default()
    })
    .await;
    let mut t = TestDb::migrated("identity_sim").await;
    p.replay_into(&t.config).await;
    let c = t.client();
    for spec in shared::catalogue::select(objects).unwrap() {
        let distinct: HashSet<String> = p
            .sim
            .ground_truth(spec.path)
            .iter()
            .map(|r| shared::identity::row_key(spec, r, || r.clone()))
            .collect();
        let (live, _, rejected) = tally(c, spec.name).await;
        assert_eq!(rejected, 0, "{}", spec.name);
        assert_eq!(live as usize, distinct.len(), "{}", spec.name);
    }
    let (_, derived, _) = tally(c, "leads_conversoes").await;
    assert!(derived > 0, "no conversion without its id landed");
    t.drop().await;
}
