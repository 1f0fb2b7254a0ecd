//! `cvdw bench api`: API latency per endpoint under concurrent load against the same SQL run
//! directly, and the server's start-to-first-response time.
//!
//! 1. A fresh database (next to `DATABASE_URL`'s, default the local server) is migrated and
//!    filled **in SQL** with `--sales` sales (default 100 000) and their reservations, payment
//!    conditions, commissions, distratos (1 in 12), units, price rows, teams, and two leads per
//!    sale with visits for a third (the funnel's) — generating in
//!    the database is what makes 100k+ rows quick; the loader has its own benchmark. Then the
//!    analytics cache is built (`analytics.atualizar()`, timed: what the first dashboard
//!    request after a load waits for), and the live path of `/api/kpis` is timed once (what a
//!    query costs while the cache is stale).
//! 2. `cvdw serve` (this very binary, the router the api Lambda runs) is started as a child
//!    process; start-up = spawn → first `200` from `/health`, the median of `--starts` cold
//!    starts (after `VACUUM (ANALYZE)` and a `CHECKPOINT`, so no background work from the
//!    generation lands on the measurements).
//! 3. For every metric endpoint: `--requests` requests with `--concurrency` in flight through HTTP
//!    (key auth, JSON, `Accept-Encoding` as a browser sends it), then the same statement with
//!    the same parameters directly, `--concurrency` workers each on its own tokio-postgres
//!    connection (the server gets a pool of as many). p50/p99 of each, and the p99 ratio.
//!
//! Last line: `RESULT api p99_vs_sql=<worst ratio> start_ms=<n>` (goals ≤ 1.5 and ≤ 50).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use shared::analytics::{self, Filter, Filters, Page, METRICS};
use shared::db::{self, DbConfig};
use tokio_postgres::types::ToSql;

#[derive(clap::Args)]
pub struct Args {
    /// Sales to generate.
    #[arg(long, default_value_t = 100_000)]
    pub sales: i32,
    /// Requests per endpoint (and as many direct SQL runs). The p99 of 1000 is the 10th-worst
    /// sample; with 100 or 300 it is the 1st–3rd, i.e. one scheduler hiccup on a shared 2-core
    /// machine, and the worst ratio over eleven endpoints swung between 1.5 and 2.2 from run to
    /// run (docs/api-benchmark.md).
    #[arg(long, default_value_t = 1000)]
    pub requests: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Server (admin database) URL; a fresh database is created next to it and dropped after.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    )]
    pub database_url: String,
    /// Cold starts of the server to time (the median is reported).
    #[arg(long, default_value_t = 7)]
    pub starts: usize,
    /// Keep the generated database (prints its name).
    #[arg(long)]
    pub keep: bool,
    /// Only these endpoints (comma-separated paths as printed, e.g. `kpis,vso-mensal`): at a
    /// million sales the uncached cockpit endpoints take seconds a request, so their few
    /// hundred samples and the cached endpoints' thousand are taken in separate runs.
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
}

const TENANT: &str = "bench";
/// API and SQL runs alternate in this many rounds per endpoint.
const ROUNDS: usize = 5;
/// The server refuses keys under 32 characters (128 bits as hex).
const KEY: &str = "bench-key-0123456789abcdef0123456789abcdef";

/// Fill the database with `n` sales in SQL (deterministic).
pub async fn generate(c: &tokio_postgres::Client, n: i32) -> anyhow::Result<()> {
    let emps: i32 = 40;
    let book = "'{}'::jsonb, 'r1', 'r1', now(), 'r1', 1, 'bench'";
    let stmts: Vec<String> = vec![
        // Units 1..n are the sales' (held by them), the tenth beyond is the stock.
        format!("INSERT INTO cvdw.unidades (tenant, natural_key, idunidade, idempreendimento, nome_empreendimento, situacao_bloqueada, tipologia, valor, situacao_para_venda, situacao_vendida, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT $1, g::text, g, 1 + g % $3, 'Residencial ' || (1 + g % $3), g % 97 = 5,
                (ARRAY['Studio', '2 quartos', '3 quartos'])[1 + g % 3], 250000 + (g % 500) * 1000,
                (g > $2)::int, CASE WHEN g <= $2 THEN g END, {book}
         FROM generate_series(1, ($2 * 11 / 10)::int) g"),
        format!("INSERT INTO cvdw.objects (tenant, object, natural_key, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT $1, 'unidades_precos', g || '_1',
                jsonb_build_object('idunidade', g, 'idtabela', 1, 'ativo', 'S',
                  'data_vigencia_de', CASE WHEN g % $3 < 4 THEN '2023-06-01' ELSE '2021-12-01' END),
                'r1', 'r1', now(), 'r1', 1, 'bench'
         FROM generate_series(1, ($2 * 11 / 10)::int) g WHERE $3 > 0"),
        format!("INSERT INTO cvdw.atendimentos_times (tenant, natural_key, idtime, nome, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT $1, t::text, t, 'Time ' || t, true, {book} FROM generate_series(1, 20) t WHERE $2 > 0 AND $3 > 0"),
        format!("INSERT INTO cvdw.atendimentos_times_integrantes (tenant, natural_key, idintegrante, idtime, idusuario, ativo, data_cad, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT $1, u::text, u, 1 + u % 20, u, true, '2021-01-01', {book} FROM generate_series(1, 280) u WHERE $2 > 0 AND $3 > 0"),
        format!("INSERT INTO cvdw.reservas (tenant, natural_key, idreserva, idlead, data_cad, idempreendimento, empreendimento, idunidade, idcorretor, corretor, valor_contrato, valor_financiamento, valor_fgts, valor_subsidio, vgv_tabela, idtime, nome_time, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT $1, s::text, s, s::text, '2022-01-01'::timestamp + make_interval(secs => s::double precision * (4 * 365 * 86400) / $2),
                1 + s % $3, 'Emp ' || (1 + s % $3), s, 1 + (s * 7) % 300, 'Corretor ' || (1 + (s * 7) % 300),
                200000 + (s::bigint * 7919) % 600000, CASE WHEN s % 3 <> 0 THEN (120000 + (s::bigint * 7919) % 360000) ELSE 0 END,
                CASE WHEN s % 4 = 0 THEN 20000 ELSE 0 END, 0, 210000 + (s::bigint * 7919) % 600000,
                CASE WHEN s % 3 = 1 THEN NULL ELSE 1 + (1 + (s * 7) % 300) % 20 END,
                CASE WHEN s % 3 = 1 THEN NULL ELSE 'Time ' || (1 + (1 + (s * 7) % 300) % 20) END, true, {book}
         FROM generate_series(1, $2) s"),
        format!("INSERT INTO cvdw.vendas (tenant, natural_key, idreserva, data_venda, valor_contrato, idcorretor, corretor, idempreendimento, empreendimento, idunidade, unidade, cliente, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT r.tenant, r.natural_key, r.idreserva, r.data_cad + interval '3 days', r.valor_contrato, r.idcorretor, r.corretor,
                r.idempreendimento, r.empreendimento, r.idunidade, 'APTO ' || r.idunidade, 'Cliente ' || r.idreserva, r.idreserva % 211 <> 7, {book}
         FROM cvdw.reservas r WHERE r.tenant = $1 AND r.idreserva % 50 <> 11 AND $2 > 0 AND $3 > 0"),
        format!("INSERT INTO cvdw.distratos (tenant, natural_key, idreserva, situacao_data, idempreendimento, idunidade, idcorretor, valor_contrato, motivo_distrato, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT v.tenant, v.natural_key, v.idreserva, v.data_venda + interval '60 days', v.idempreendimento, v.idunidade, v.idcorretor, v.valor_contrato,
                (ARRAY['Desistência', 'Crédito negado', 'Mudança de cidade'])[1 + v.idreserva % 3], true, {book}
         FROM cvdw.vendas v WHERE v.tenant = $1 AND v.idreserva % 12 = 3 AND $2 > 0 AND $3 > 0"),
        // The funnel: two leads per sale (lead s is reservation s's, entered 11 days before
        // it; lead n + s never reserved), every third with a visit.
        format!("INSERT INTO cvdw.leads (tenant, natural_key, idlead, data_cad, idempreendimento, idcorretor, corretor, midia_original, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT $1, l::text, l, '2021-12-21'::timestamp + make_interval(secs => ((l - 1) % $2 + 1)::double precision * (4 * 365 * 86400) / $2),
                (1 + l % $3)::text, 1 + (l * 7) % 300, 'Corretor ' || (1 + (l * 7) % 300),
                (ARRAY['Site', 'Instagram', 'Indicação', 'Plantão'])[1 + l % 4], true, {book}
         FROM generate_series(1, 2 * $2) l WHERE $3 > 0"),
        "INSERT INTO cvdw.objects (tenant, object, natural_key, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT l.tenant, 'leads_visitas', l.natural_key,
                jsonb_build_object('idtarefa', l.idlead, 'idlead', l.idlead, 'ativo', 'S',
                  'data_cad', to_char(l.data_cad + interval '2 days', 'YYYY-MM-DD HH24:MI:SS')),
                'r1', 'r1', now(), 'r1', 1, 'bench'
         FROM cvdw.leads l WHERE l.tenant = $1 AND l.idlead % 3 = 0 AND $2 > 0 AND $3 > 0".to_string(),
        // A repasse for every other sale, at one of five stages; goals per development and month.
        format!("INSERT INTO cvdw.repasses (tenant, natural_key, idrepasse, reserva, idempreendimento, situacao, idsituacao, valor_financiado, data_alteracao_status, data_venda, data_recurso_liberado, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT v.tenant, v.natural_key, v.idreserva, v.idreserva, v.idempreendimento,
                (ARRAY['Aguardando documentação', 'Análise de crédito', 'Contrato assinado', 'Cartório', 'Concluído'])[1 + v.idreserva % 5],
                1 + v.idreserva % 5, round(v.valor_contrato * 0.7, 2), v.data_venda + make_interval(days => (10 + v.idreserva % 80)::int),
                v.data_venda, CASE WHEN v.idreserva % 5 = 4 THEN (v.data_venda + interval '95 days')::date END, true, {book}
         FROM cvdw.vendas v WHERE v.tenant = $1 AND v.idreserva % 2 = 0 AND $2 > 0 AND $3 > 0"),
        "INSERT INTO etl.metas (tenant, mes, escopo, id, unidades, valor)
         SELECT $1, m::date, 'empreendimento', e, 1 + $2 / ($3 * 48), 500000
         FROM generate_series(1, $3) e, generate_series('2022-01-01'::date, '2025-12-01', interval '1 month') m".to_string(),
        format!("INSERT INTO cvdw.comissoes (tenant, natural_key, idcomissao, idreserva, corretor, valor_comissao, valor_pagamento, data_cad, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT v.tenant, v.natural_key, v.idreserva, v.idreserva, v.corretor, round(v.valor_contrato * 0.05, 2),
                CASE WHEN v.idreserva % 2 = 0 THEN round(v.valor_contrato * 0.05, 2) ELSE 0 END, v.data_venda, v.idreserva % 12 <> 3, {book}
         FROM cvdw.vendas v WHERE v.tenant = $1 AND $2 > 0 AND $3 > 0"),
        format!("INSERT INTO cvdw.reservas_condicoes (tenant, natural_key, idreservascondicoes, idreserva, serie, valor, ativo, payload, first_seen_run, last_seen_run, fetched_at, run_id, page, source_key)
         SELECT r.tenant, (r.idreserva * 3 + k)::text, r.idreserva * 3 + k, r.idreserva, (ARRAY['Ato', 'Mensais', 'Financiamento'])[k + 1],
                CASE k WHEN 0 THEN round(r.valor_contrato * 0.1, 2) WHEN 1 THEN round(r.valor_contrato * 0.3, 2) ELSE round(r.valor_contrato * 0.6, 2) END, true, {book}
         FROM cvdw.reservas r CROSS JOIN generate_series(0, 2) k WHERE r.tenant = $1 AND r.idreserva % 2 = 0 AND $2 > 0 AND $3 > 0"),
        "INSERT INTO etl.pages (source_key, tenant, object, run_id, page, mode, fetched_at, sha256, rows, loaded_rows, duplicates, rejected)
         SELECT 'bench/' || o, $1, o, 'r1', 1, 'full', now(), 'x', $2, $2, 0, 0
         FROM unnest(ARRAY['vendas', 'reservas', 'distratos', 'comissoes', 'unidades']) o WHERE $3 > 0".to_string(),
    ];
    for s in &stmts {
        let params: [&(dyn ToSql + Sync); 3] = [&TENANT, &n, &emps];
        c.execute(s.as_str(), &params)
            .await
            .with_context(|| format!("generating: {}", &s[..60.min(s.len())]))?;
    }
    c.batch_execute("ANALYZE").await?;
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Run `f(worker)` `requests` times with `concurrency` workers; the sorted latencies in ms.
async fn timed<F, Fut>(requests: usize, concurrency: usize, f: F) -> anyhow::Result<Vec<f64>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..concurrency.max(1) {
        let f = f.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let t = Instant::now();
                f(worker).await?;
                out.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by(|a, b| a.total_cmp(b));
    Ok(all)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    shared::store::install_crypto_provider();
    if args.sales < 1 {
        bail!("--sales must be positive");
    }
    let admin = DbConfig::from_url(&args.database_url)?;
    let config = db::create_fresh_database(&admin, "bench_api").await?;
    let name = config.dbname().unwrap_or_default().to_string();
    let result = bench(&args, &config).await;
    if args.keep {
        println!("kept database {name}");
    } else {
        let _ = db::drop_database(&admin, &name).await;
    }
    result
}

async fn bench(args: &Args, config: &DbConfig) -> anyhow::Result<()> {
    let mut dbh = db::Db::connect(config).await?;
    db::migrate(dbh.client()).await?;
    let t = Instant::now();
    generate(dbh.client(), args.sales).await?;
    println!(
        "generated {} sales (+ reservations, conditions, commissions, distratos, units) in {:.1} s",
        args.sales,
        t.elapsed().as_secs_f64()
    );
    // While the cache is stale (right after the load), queries take the live path.
    let kpis = analytics::metric("kpis").context("the kpis metric")?;
    let year = Filters::parse(Some(TENANT), Some("2024-01-01"), Some("2024-12-31"), None)?;
    let t = Instant::now();
    analytics::run(dbh.client(), kpis, &year, Page::default()).await?;
    let live_kpis_ms = t.elapsed().as_millis();
    let t = Instant::now();
    dbh.client()
        .execute("SELECT analytics.atualizar()", &[])
        .await
        .context("building the analytics cache")?;
    let refresh_ms = t.elapsed().as_millis();
    println!(
        "analytics cache built in {refresh_ms} ms (kpis on the live path, before: {live_kpis_ms} ms)"
    );

    // Settle the database before timing anything: the bulk generation leaves autovacuum and
    // checkpoint work that would otherwise land on whichever measurement runs next.
    for settle in ["VACUUM (ANALYZE)", "CHECKPOINT"] {
        dbh.client()
            .batch_execute(settle)
            .await
            .with_context(|| format!("settling the database: {settle}"))?;
    }

    // Start `cvdw serve` (this binary) and time spawn → first 200 from /health, several times
    // (one sample is at the mercy of the scheduler); the last server stays up for the load.
    let url = database_url_of(&args.database_url, config.dbname().unwrap_or_default());
    let http = reqwest::Client::new();
    let mut starts = Vec::new();
    let mut server = None;
    for _ in 0..args.starts.max(1) {
        drop(server.take());
        let (child, addr, ms) = start_server(&url, args.concurrency, &http).await?;
        starts.push(ms);
        server = Some((child, addr));
    }
    let Some((child, addr)) = server else {
        bail!("no server started")
    };
    starts.sort_by(|a, b| a.total_cmp(b));
    let start_ms = percentile(&starts, 0.5).round() as u64;
    println!(
        "start-to-first-response (spawn → 200 /health): median {start_ms} ms of {} starts (min {:.0}, max {:.0})",
        starts.len(),
        starts[0],
        starts[starts.len() - 1]
    );

    // One direct connection per worker: the baseline is the SQL with nothing in between.
    let mut clients = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        clients.push(client);
    }
    let clients = Arc::new(clients);
    let page = Page::default();
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "endpoint", "api p50", "api p99", "sql p50", "sql p99", "p99 x"
    );
    let mut worst: f64 = 0.0;
    let chosen = |path: &str| args.endpoints.is_empty() || args.endpoints.iter().any(|e| e == path);
    for m in METRICS.iter().filter(|m| chosen(m.path)) {
        // A typical dashboard request: one tenant, one year, as far as the endpoint takes them.
        let de = m.filters.contains(&Filter::De).then_some("2024-01-01");
        let ate = m.filters.contains(&Filter::Ate).then_some("2024-12-31");
        let mut qs = format!("tenant={TENANT}");
        for (name, value) in [("de", de), ("ate", ate)] {
            if let Some(v) = value {
                qs += &format!("&{name}={v}");
            }
        }
        let filters = Filters::parse(Some(TENANT), de, ate, None)?;
        let api_url = format!("http://{addr}/api/{}?{qs}", m.path);
        // Warm both paths (catalogue caches, every connection open).
        let get = {
            let http = http.clone();
            let u = api_url.clone();
            move |_worker: usize| {
                let http = http.clone();
                let u = u.clone();
                async move {
                    let r = http
                        .get(&u)
                        .bearer_auth(KEY)
                        .header("accept-encoding", "gzip, deflate, br, zstd")
                        .send()
                        .await?;
                    if !r.status().is_success() {
                        bail!("{u} answered {}", r.status());
                    }
                    r.bytes().await?;
                    Ok(())
                }
            }
        };
        let sql = {
            let clients = clients.clone();
            let f = filters.clone();
            move |worker: usize| {
                let clients = clients.clone();
                let f = f.clone();
                async move {
                    analytics::run(&clients[worker % clients.len()], m, &f, page).await?;
                    Ok(())
                }
            }
        };
        let warm = args.concurrency.max(1);
        timed(warm, warm, get.clone()).await?;
        timed(warm, warm, sql.clone()).await?;

        // Alternate API and SQL in rounds, so that both see the same machine (other work on a
        // shared machine comes and goes); the percentiles are over all rounds.
        let (mut api, mut sql_ms) = (Vec::new(), Vec::new());
        let per_round = args.requests.div_ceil(ROUNDS);
        for _ in 0..ROUNDS {
            api.extend(timed(per_round, args.concurrency, get.clone()).await?);
            sql_ms.extend(timed(per_round, args.concurrency, sql.clone()).await?);
        }
        api.sort_by(|a, b| a.total_cmp(b));
        sql_ms.sort_by(|a, b| a.total_cmp(b));
        let sql = sql_ms;
        let (a50, a99) = (percentile(&api, 0.5), percentile(&api, 0.99));
        let (s50, s99) = (percentile(&sql, 0.5), percentile(&sql, 0.99));
        let ratio = a99 / s99.max(0.001);
        worst = worst.max(ratio);
        println!(
            "{:<24} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.2}",
            m.path, a50, a99, s50, s99, ratio
        );
    }
    drop(child);
    println!(
        "{} sales, {} requests per endpoint, {} in flight; baseline = the same SQL, one direct connection per worker",
        args.sales, args.requests, args.concurrency
    );
    println!("RESULT api p99_vs_sql={worst:.2} start_ms={start_ms}");
    Ok(())
}

/// Spawn `cvdw serve` (this binary) on a free port; returns it, its address and the time from
/// spawn to the first `200` from `/health`, in ms.
async fn start_server(
    url: &str,
    concurrency: usize,
    http: &reqwest::Client,
) -> anyhow::Result<(KillOnDrop, String, f64)> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut child = std::process::Command::new(exe)
        .args(["serve", "--port", "0"])
        .env("DATABASE_URL", url)
        .env("CVDW_API_KEY", KEY)
        .env("DB_POOL_SIZE", concurrency.max(1).to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting cvdw serve")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let child = KillOnDrop(child);
    // The server prints its address on its first line; read it off the async runtime.
    let addr = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(rest) = line.split("http://").nth(1) {
                return Ok(rest.split('/').next().unwrap_or_default().to_string());
            }
        }
        bail!("cvdw serve exited before listening")
    })
    .await??;
    let health = format!("http://{addr}/health");
    loop {
        if let Ok(r) = http.get(&health).send().await {
            if r.status().is_success() {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("no 200 from /health within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok((child, addr, started.elapsed().as_secs_f64() * 1000.0))
}

/// Ends the child server however the benchmark exits.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server URL with another database name (the generated one).
fn database_url_of(base: &str, dbname: &str) -> String {
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let query = tail
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{scheme}://{authority}/{dbname}{query}")
        }
        // key=value form
        None => format!("{base} dbname={dbname}"),
    }
}
