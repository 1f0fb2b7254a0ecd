//! Helpers shared by the `api*` and `browser*` tests: a CVDW-shaped sales dataset (deterministic,
//! with the cases the metrics must get right), loaded through the real loader into a fresh
//! database, and the router served on a local port.
//!
//! The dataset is made of CVDW rows exactly as the API sends them (strings for dates, 'S'/'N',
//! zero dates, numeric strings on /unidades), so the loader's coercions are on the path. It has:
//! distratos (months with both sales and distratos), units returned to stock by a distrato and
//! sold again, inactive and zero-dated vendas that must not count, reservations without team
//! fields (the membership fallback), a broker whose membership starts mid-history, blocked
//! units, a development launched mid-history (entries), reservations with and without payment
//! conditions (both pró-soluto rules), inactive commissions, and a second tenant.

use crate::load_support;
pub mod sim;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use shared::analytics::reference::own_parse::int_of;
use shared::api::{self, ApiConfig, AppState, Database};
use shared::landing::Mode;

pub use load_support::TestDb;

pub const KEY: &str = "chave-de-teste-1";

/// Every query parameter a paged metric takes (`/api/tabela-geral`'s), in the order the
/// OpenAPI document lists them: the filters, paging, the format.
pub fn paged_metric_params() -> Vec<&'static str> {
    let params = "tenant de ate empreendimento corretor time imobiliaria page per_page format";
    params.split(' ').collect()
}

/// The CVDW rows of one tenant, by object path.
#[derive(Debug, Default, Clone)]
pub struct Dataset {
    pub tenant: String,
    pub objects: BTreeMap<&'static str, Vec<Value>>,
}

impl Dataset {
    pub fn rows(&self, path: &str) -> &[Value] {
        self.objects.get(path).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn source(&self) -> shared::analytics::reference::Source<'_> {
        shared::analytics::reference::Source {
            vendas: self.rows("/vendas"),
            distratos: self.rows("/distratos"),
            reservas: self.rows("/reservas"),
            reservas_condicoes: self.rows("/reservas/condicoes"),
            comissoes: self.rows("/comissoes"),
            unidades: self.rows("/unidades"),
            unidades_precos: self.rows("/unidades/precos"),
            times: self.rows("/atendimentos/times"),
            times_integrantes: self.rows("/atendimentos/times/integrantes"),
            leads: self.rows("/leads"),
            leads_visitas: self.rows("/leads/visitas"),
        }
    }
}

/// A development's name, the same in every object (as CV CRM sends it), so the dashboard's
/// charts and tables name it alike.
fn empreendimento(id: i64) -> String {
    let names = ["Aurora", "Bosque", "Cais", "Duna"];
    format!(
        "Residencial {}",
        names[(id - 1).rem_euclid(names.len() as i64) as usize]
    )
}

fn ts(d: NaiveDateTime) -> String {
    d.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A deterministic dataset. `sales` is roughly the number of sales.
pub fn generate(tenant: &str, seed: u64, sales: usize) -> Dataset {
    let mut data = generate_with_repasses(tenant, seed, sales);
    data.objects.remove("/repasses");
    data
}

/// [`generate`] plus `/repasses` for every other lasting sale (an object the analytics cache
/// does not read: a delivery of it leaves the cache valid).
pub fn generate_with_repasses(tenant: &str, seed: u64, sales: usize) -> Dataset {
    let mut rng = SmallRng::seed_from_u64(seed);
    let start = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let days = 540i64; // 2024-01-01 .. 2025-06-23
    let n_emp = 4i64;
    let units_per_emp = (sales as i64 / 2).max(20);
    let mut unidades = Vec::new();
    let mut precos = Vec::new();
    // (idunidade, emp, available_from)
    let mut available: Vec<(i64, i64, NaiveDateTime)> = Vec::new();
    for e in 1..=n_emp {
        // Development 4 is launched mid-history: its units enter the offer in 2024-09.
        let launch = if e == 4 {
            NaiveDate::from_ymd_opt(2024, 9, 10)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        } else {
            NaiveDate::from_ymd_opt(2023, 12, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        for k in 0..units_per_emp {
            let id = e * 10_000 + k;
            let blocked = k % 37 == 5;
            unidades.push(json!({
                "referencia": id, "referencia_data": "2023-11-20 10:00:00",
                "idunidade": id.to_string(), "idempreendimento": e,
                "nome_empreendimento": empreendimento(e),
                "idetapa": e * 10, "etapa": "Única", "idbloco": e * 100, "bloco": "Torre A",
                "nome": format!("APTO {}", 100 + k), "valor": format!("{:.2}", 300000.0 + 1000.0 * k as f64),
                "situacao_bloqueada": if blocked { "S" } else { "N" },
                "situacao_para_venda": if blocked { 0 } else { 1 },
            }));
            // Development 1's first units have no price row: in the offer before the history.
            if !(e == 1 && k < 5) {
                for (tab, de) in [(1, launch.date()), (2, launch.date() + Duration::days(365))] {
                    precos.push(json!({
                        "referencia": format!("{id}_{tab}"), "referencia_data": "0000-00-00 00:00:00", "ativo": "S",
                        "idunidade": id, "idtabela": tab, "idempreendimento": e,
                        "data_vigencia_de": de.format("%Y-%m-%d").to_string(),
                        "valor": 300000.0 + 1000.0 * k as f64,
                    }));
                }
            }
            if !blocked {
                available.push((id, e, launch));
            }
        }
    }
    // Teams and memberships: brokers 1..=10; broker 10 has no team; broker 9 joins team 3
    // only on 2024-09-01; broker 8 left team 1 (inactive membership) and is in team 2.
    let team_names = ["Time Alfa", "Time Beta", "Time Gama"];
    let times: Vec<Value> = (1..=3)
        .map(|t| json!({"referencia": t.to_string(), "referencia_data": "2023-06-01 10:00:00", "ativo": "S",
            "idtime": t, "idgestor": t, "gestor": format!("Gestor {t}"), "nome": team_names[t as usize - 1],
            "data_cad": "2023-06-01 10:00:00"}))
        .collect();
    let mut integrantes = Vec::new();
    let mut member = |id: i64, time: i64, user: i64, cad: &str, ativo: &str| {
        integrantes.push(
            json!({"referencia": id.to_string(), "referencia_data": cad, "ativo": ativo,
            "idintegrante": id, "idtime": time, "time": team_names[time as usize - 1],
            "idusuario": user, "usuario": format!("Corretor {user}"), "data_cad": cad}),
        );
    };
    for b in 1..=7 {
        member(b, (b - 1) % 3 + 1, b, "2023-06-01 10:00:00", "S");
    }
    member(8, 1, 8, "2023-06-01 10:00:00", "N");
    member(9, 2, 8, "2023-07-01 10:00:00", "S");
    member(10, 3, 9, "2024-09-01 00:00:00", "S");
    let team_of = |b: i64| -> Option<i64> {
        match b {
            1..=7 => Some((b - 1) % 3 + 1),
            8 => Some(2),
            9 => Some(3),
            _ => None,
        }
    };

    let mut reservas = Vec::new();
    let mut condicoes = Vec::new();
    let mut vendas = Vec::new();
    let mut distratos = Vec::new();
    let mut comissoes = Vec::new();
    let mut repasses = Vec::new();
    let mut idreserva = 1000i64;
    let mut idcond = 1i64;
    let mut returned: Vec<(i64, i64, NaiveDateTime)> = Vec::new();
    let step = days * 86_400 / sales.max(1) as i64;
    for s in 0..sales as i64 {
        let t = start + Duration::seconds(s * step + rng.random_range(0..3600));
        // Units returned by a distrato come back first (resold).
        let pos = returned.iter().position(|(_, _, from)| *from <= t);
        let (unit, emp) = if let Some(p) = pos {
            let (u, e, _) = returned.remove(p);
            (u, e)
        } else {
            let Some(p) = available.iter().position(|(_, _, from)| *from <= t) else {
                continue;
            };
            let i = (p + rng.random_range(0..available.len().saturating_sub(p).max(1)))
                .min(available.len() - 1);
            if available[i].2 > t {
                continue;
            }
            let (u, e, _) = available.remove(i);
            (u, e)
        };
        idreserva += 1;
        let corretor = rng.random_range(1..=10i64);
        let valor =
            (rng.random_range(250_000..900_000i64) / 100 * 100) as f64 + 0.5 * (s % 2) as f64;
        let fin = if s % 3 == 0 {
            0.0
        } else {
            (valor * 0.6).round()
        };
        let fgts = if s % 4 == 0 { 20_000.0 } else { 0.0 };
        let subs = if s % 5 == 0 { 10_000.0 } else { 0.0 };
        // Team fields on the reservation for most; absent on a third (fallback to membership).
        let res_team = if s % 3 == 1 { None } else { team_of(corretor) };
        let data_venda = t + Duration::days(rng.random_range(1..10));
        reservas.push(json!({
            "referencia": idreserva.to_string(), "referencia_data": ts(data_venda), "ativo": "S",
            "idreserva": idreserva, "data_cad": ts(t), "situacao": "Vendida", "idsituacao": 3,
            "idempreendimento": emp, "empreendimento": empreendimento(emp), "idunidade": unit,
            "unidade": format!("APTO {}", unit % 10_000 + 100),
            "idcorretor": corretor, "corretor": format!("Corretor {corretor}"),
            "valor_contrato": valor, "valor_financiamento": fin, "valor_fgts": fgts, "valor_subsidio": subs,
            "vgv_tabela": valor * 1.05,
            "idtime": res_team, "nome_time": res_team.map(|x| team_names[x as usize - 1]),
            "idgestor_time": res_team,
            // The reservation's lead has the reservation's id ([`leads_of`]).
            "idlead": idreserva.to_string(),
        }));
        if s % 2 == 0 {
            let mut series = vec![
                ("Ato", valor * 0.1),
                ("Mensais", valor - fin - fgts - subs - valor * 0.1),
            ];
            if fin > 0.0 {
                series.push(("Financiamento", fin));
            }
            if fgts > 0.0 {
                series.push(("FGTS", fgts));
            }
            if subs > 0.0 {
                series.push(("Subsídio", subs));
            }
            for (serie, v) in series {
                condicoes.push(
                    json!({"referencia": idcond.to_string(), "referencia_data": ts(t), "ativo": "S",
                    "idreservascondicoes": idcond, "idreserva": idreserva, "serie": serie,
                    "parcela_quantidade": 1, "valor": (v * 100.0).round() / 100.0}),
                );
                idcond += 1;
            }
        }
        // A few sales that must not count: inactive, or with a zero data_venda.
        let ativo = if s % 41 == 7 { "N" } else { "S" };
        let dv = if s % 53 == 11 {
            "0000-00-00 00:00:00".to_string()
        } else {
            ts(data_venda)
        };
        vendas.push(json!({
            "referencia": idreserva.to_string(), "referencia_data": ts(data_venda), "ativo": ativo,
            "idreserva": idreserva, "data_reserva": ts(t), "data_venda": dv, "aprovada": "Sim",
            "valor_contrato": valor, "idcliente": 5000 + s, "cliente": format!("Cliente {s} &amp; Cia"),
            "idcorretor": corretor, "corretor": format!("Corretor {corretor}"),
            "idimobiliaria": 1 + corretor % 2, "imobiliaria": "Imobiliária Sol",
            "idempreendimento": emp, "empreendimento": empreendimento(emp), "etapa": "Única", "bloco": "Torre A",
            "idunidade": unit, "unidade": format!("APTO {}", unit % 10_000 + 100),
        }));
        // Distrato for ~12 %: the unit returns to stock and is sold again later.
        let distrato = s % 8 == 3 && dv != "0000-00-00 00:00:00" && ativo == "S";
        let d_at = data_venda + Duration::days(rng.random_range(20..120));
        if distrato {
            distratos.push(json!({
                "referencia": idreserva.to_string(), "referencia_data": ts(d_at), "ativo": "S",
                "idreserva": idreserva, "situacao_data": ts(d_at), "situacao_atual": "Distrato", "idsituacao": 13,
                "idempreendimento": emp, "empreendimento": empreendimento(emp), "idunidade": unit,
                "idcorretor": corretor, "corretor": format!("Corretor {corretor}"),
                "valor_contrato": valor, "motivo_distrato": "Desistência",
            }));
            returned.push((unit, emp, d_at + Duration::days(1)));
        }
        // A repasse for every other lasting sale, at one of four stages.
        if !distrato && ativo == "S" && s % 2 == 0 {
            let stage = ((s / 2) % 4) as usize;
            let situacoes = [
                "Aguardando documentação",
                "Análise de crédito",
                "Contrato assinado",
                "Concluído",
            ];
            let desde = data_venda + Duration::days(10 + s % 50);
            repasses.push(json!({
                "referencia": idreserva.to_string(), "referencia_data": ts(desde), "ativo": "S",
                "idrepasse": idreserva, "reserva": idreserva, "idsituacao": stage + 1,
                "situacao": situacoes[stage], "idempreendimento": emp,
                "valor_financiado": format!("{:.2}", valor * 0.7), "data_alteracao_status": ts(desde),
                "data_venda": ts(data_venda),
                "data_recurso_liberado": if stage == 3 { (data_venda + Duration::days(90)).format("%Y-%m-%d").to_string() } else { String::new() },
            }));
        }
        let com = (valor * 0.05 * 100.0).round() / 100.0;
        comissoes.push(json!({
            "referencia": (idreserva * 10).to_string(), "referencia_data": ts(data_venda),
            "ativo": if distrato { "N" } else { "S" },
            "idcomissao": idreserva * 10, "idreserva": idreserva, "situacao": "Comissão Gerada (1)",
            "corretor": format!("Corretor {corretor}"), "valor_contrato": valor,
            "valor_comissao": com, "valor_pagamento": if s % 2 == 0 { com } else { 0.0 },
            "data_cad": ts(data_venda),
        }));
    }
    let mut objects: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    objects.insert("/unidades", unidades);
    objects.insert("/unidades/precos", precos);
    objects.insert("/atendimentos/times", times);
    objects.insert("/atendimentos/times/integrantes", integrantes);
    objects.insert("/reservas", reservas);
    objects.insert("/reservas/condicoes", condicoes);
    objects.insert("/vendas", vendas);
    objects.insert("/distratos", distratos);
    objects.insert("/comissoes", comissoes);
    objects.insert("/repasses", repasses);
    Dataset {
        tenant: tenant.to_string(),
        objects,
    }
}

/// GET `path` from the api at `addr`, with `key` as the bearer token (if any) and the extra
/// `headers`; the answer, whatever its status.
pub async fn get_with(
    c: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = c.get(format!("http://{addr}{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// GET `path` with `key` as the bearer token: its JSON body, which must come with a 200.
pub async fn get_json_as(c: &reqwest::Client, addr: SocketAddr, path: &str, key: &str) -> Value {
    let resp = get_with(c, addr, path, Some(key), &[]).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// `/leads` and `/leads/visitas` for a generated dataset's tenant (the funnel's objects): the
/// lead of every reservation (its id is the reservation's, entered 3 to 30 days before it, with
/// a visit on every other), and two leads that never reserved for each one that did (every third
/// of them visited), spread over the same history.
pub fn leads_of(data: &Dataset) -> Dataset {
    let midias = ["Site", "Instagram", "Indicação", "Plantão"];
    let mut leads = Vec::new();
    let mut visitas = Vec::new();
    let mut lead = |id: i64, cad: NaiveDateTime, visit: bool, corretor: &Value, emp: &Value| {
        leads.push(json!({
            "referencia": id.to_string(), "referencia_data": ts(cad), "ativo": "S", "idlead": id,
            "data_cad": ts(cad), "idempreendimento": emp.to_string(), "idcorretor": corretor,
            "midia_original": midias[(id % 4) as usize], "situacao": "Em atendimento",
        }));
        if visit {
            let at = cad + Duration::days(1 + id % 6);
            visitas.push(json!({
                "referencia": (id * 10).to_string(), "referencia_data": ts(at), "ativo": "S",
                "idtarefa": id * 10, "idlead": id, "data_cad": ts(at),
            }));
        }
    };
    for (n, r) in data.rows("/reservas").iter().enumerate() {
        let (Some(id), Some(cad)) = (
            r["idreserva"].as_i64(),
            r["data_cad"]
                .as_str()
                .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").ok()),
        ) else {
            continue;
        };
        let entered = cad - Duration::days(3 + id % 28);
        lead(
            id,
            entered,
            n % 2 == 0,
            &r["idcorretor"],
            &r["idempreendimento"],
        );
        for k in 0..2 {
            let other = 1_000_000 + id * 2 + k;
            lead(
                other,
                entered - Duration::days(k),
                other % 3 == 0,
                &r["idcorretor"],
                &r["idempreendimento"],
            );
        }
    }
    let mut objects: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    objects.insert("/leads", leads);
    objects.insert("/leads/visitas", visitas);
    Dataset {
        tenant: data.tenant.clone(),
        objects,
    }
}

/// Load a dataset through the real loader (pages of 500 rows, one incremental run).
pub async fn load(db: &mut TestDb, data: &Dataset, day: i64) {
    let run = load_support::run_id(day, 1);
    for (path, rows) in &data.objects {
        for p in load_support::run_pages(&data.tenant, path, &run, Mode::Incremental, rows, 500) {
            load_support::deliver(db.client(), &p).await;
        }
    }
    // Fresh tables have no statistics until autovacuum runs; plan with real ones.
    db.client().batch_execute("ANALYZE").await.unwrap();
}

/// A migrated database with the two test tenants loaded.
pub async fn loaded_db(prefix: &str) -> (TestDb, Dataset, Dataset) {
    let mut db = TestDb::migrated(prefix).await;
    let a = generate_with_repasses("acme", 7, 400);
    let b = generate_with_repasses("beta", 8, 60);
    load(&mut db, &a, 0).await;
    load(&mut db, &b, 1).await;
    // Goals for both tenants, so that every endpoint has rows for each.
    let goals = "tenant;mes;escopo;id;unidades;valor\n\
        acme;01/2025;empreendimento;1;8;2500000,00\n\
        acme;02/2025;corretor;2;1;400000,00\n\
        beta;01/2025;empreendimento;2;2;600000,00\n";
    shared::analytics::metas::import(db.client(), goals.as_bytes())
        .await
        .expect("goals");
    (db, a, b)
}

/// GET `path` with the test key.
pub async fn get(c: &reqwest::Client, addr: SocketAddr, path: &str) -> reqwest::Response {
    get_with(c, addr, path, Some(KEY), &[]).await
}

/// The value of id `field` that most of `rows` have (a filter that selects many).
pub fn most_common_id(rows: &[Value], field: &str) -> Option<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for id in rows.iter().filter_map(|r| r.get(field).and_then(int_of)) {
        *counts.entry(id).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(id, _)| id)
}

/// An answer has exactly the lines the reference expects (before their values are compared).
pub fn assert_same_lines<K: std::fmt::Debug + Ord, A, B>(
    got: &BTreeMap<K, A>,
    expected: &BTreeMap<K, B>,
    what: &str,
) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{what}"
    );
}

/// The filters of a query string (`&de=…&corretor=…`), parsed as the api parses them, for the
/// reference.
pub fn filters_of(query: &str) -> shared::analytics::Filters {
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let value = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    shared::analytics::Filters::parse(None, value("de"), value("ate"), value("empreendimento"))
        .and_then(|f| f.with_people(value("corretor"), value("time"), value("imobiliaria")))
        .unwrap()
}

/// Rebuild the analytics cache (a test then checks the cached path answers as the live one).
pub async fn refresh_cache(db: &mut TestDb) {
    db.client()
        .query_one("SELECT analytics.atualizar()", &[])
        .await
        .unwrap();
}

/// Serve the router for a database on 127.0.0.1:<random>.
pub async fn serve(db: &TestDb, config: ApiConfig) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let state = Arc::new(AppState::new(
        Database::new(api::connect_with(db.config.clone())),
        config,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = tokio::spawn(async move {
        let _ = api::serve(listener, api::router(state)).await;
    });
    (addr, h)
}
