//! The SQL side of the metrics: the statement each metric runs, run with bound parameters
//! (function and view names come from the static [`super::METRICS`] table, never from input),
//! and the small lookups the dashboard needs (tenants' freshness, developments).

use super::*;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

/// The statement a metric runs and its parameters (also used by `cvdw bench api` to time
/// the same SQL directly).
pub fn statement(metric: &Metric) -> String {
    // Function and view names come from the static METRICS table, never from input.
    match metric.source {
        Source::Function(f) => {
            format!("SELECT to_jsonb(t)::text FROM analytics.{f}($1::text, $2::date, $3::date, $4::bigint) t")
        }
        Source::Paged => "SELECT to_jsonb(t)::text FROM analytics.tabela_geral($1::text, $2::date, $3::date, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::int, $9::int) t".to_string(),
        Source::EtlStatus => "SELECT to_jsonb(t)::text FROM analytics.vw_etl_status t WHERE ($1::text IS NULL OR t.tenant = $1) ORDER BY t.tenant, t.object".to_string(),
        Source::Cockpit(f) if metric.filters.contains(&Filter::Dias) => format!(
            "SELECT to_jsonb(t)::text FROM analytics.{f}($1::text, $2::date, $3::date, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::int) t"
        ),
        Source::Cockpit(f) => format!(
            "SELECT to_jsonb(t)::text FROM analytics.{f}($1::text, $2::date, $3::date, $4::bigint, $5::bigint, $6::bigint, $7::bigint) t"
        ),
    }
}

/// Rows of `tabela-geral` without a people filter: its vendas, counted from the monthly rollup
/// (plus the partial months), not by scanning the period's sales. Written here rather than
/// through `analytics.tabela_geral_total`: a function with sub-selects is not inlined, so its
/// filters stay generic parameters and the rollup's indexes go unused (300 ms instead of 5 at
/// a million sales).
pub const COUNT_TABELA: &str = "SELECT coalesce(sum(p.vu), 0)::bigint \
    FROM analytics.periodo_emp($1::text, $2::date, $3::date, $4::bigint) p";

/// Rows of `tabela-geral` under a people filter: the period's sales of those people.
pub const COUNT_TABELA_PESSOAS: &str = "SELECT analytics.tabela_geral_total($1::text, $2::date, \
    $3::date, $4::bigint, $5::bigint, $6::bigint, $7::bigint)";

/// The parameters of a cockpit function, in its signature's order: the seven filters, and
/// `dias` for the functions that take it.
fn cockpit_params<'a>(metric: &Metric, f: &'a Filters) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    let mut params: Vec<(&'a (dyn ToSql + Sync), Type)> = vec![
        (&f.tenant, Type::TEXT),
        (&f.de, Type::DATE),
        (&f.ate, Type::DATE),
        (&f.empreendimento, Type::INT8),
        (&f.corretor, Type::INT8),
        (&f.time, Type::INT8),
        (&f.imobiliaria, Type::INT8),
    ];
    if metric.filters.contains(&Filter::Dias) {
        params.push((&f.dias, Type::INT4));
    }
    params
}

/// Run a metric with bound parameters. `query_typed` sends parse, bind and execute at once
/// (one round trip instead of three for prepare/execute/close, and no named statement, so
/// it also works behind a transaction pooler); the page count of `tabela-geral` is
/// pipelined with the page itself.
pub async fn run(
    client: &Client,
    metric: &Metric,
    f: &Filters,
    page: Page,
) -> Result<Rows, tokio_postgres::Error> {
    let stmt = statement(metric);
    let limit = page.per_page as i32;
    let offset = page
        .offset
        .unwrap_or((page.page - 1) * page.per_page)
        .min(i32::MAX as i64) as i32;
    let four: [(&(dyn ToSql + Sync), Type); 4] = [
        (&f.tenant, Type::TEXT),
        (&f.de, Type::DATE),
        (&f.ate, Type::DATE),
        (&f.empreendimento, Type::INT8),
    ];
    let (rows, total) = match metric.source {
        Source::Function(_) => (client.query_typed(&stmt, &four).await?, None),
        Source::Cockpit(_) => (
            client
                .query_typed(&stmt, &cockpit_params(metric, f))
                .await?,
            None,
        ),
        Source::Paged => {
            let filters = cockpit_params(metric, f);
            let mut paged = filters.clone();
            paged.extend([
                (&limit as &(dyn ToSql + Sync), Type::INT4),
                (&offset, Type::INT4),
            ]);
            let count = if f.names_people() {
                client.query_typed_one(COUNT_TABELA_PESSOAS, &filters)
            } else {
                client.query_typed_one(COUNT_TABELA, &filters[..4])
            };
            let (rows, count) =
                futures::future::try_join(client.query_typed(&stmt, &paged), count).await?;
            (rows, Some(count.get::<_, i64>(0)))
        }
        Source::EtlStatus => (
            client
                .query_typed(&stmt, &[(&f.tenant, Type::TEXT)])
                .await?,
            None,
        ),
    };
    let rows = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    Ok(Rows { rows, total })
}

/// Tenants and their freshness (for `/health` and the dashboard's tenant list): the last
/// time a page of the tenant was fetched and loaded. No data values.
pub async fn freshness(client: &Client) -> Result<Vec<Freshness>, tokio_postgres::Error> {
    let rows = client
        .query_typed(
            "SELECT tenant, max(fetched_at), max(loaded_at), \
             extract(epoch FROM now() - max(fetched_at))::bigint \
             FROM etl.pages GROUP BY tenant ORDER BY tenant",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Freshness {
            tenant: r.get(0),
            last_fetched_at: r.get(1),
            last_loaded_at: r.get(2),
            age_seconds: r.get(3),
        })
        .collect())
}

/// Development ids and names (for the dashboard's filter).
pub async fn empreendimentos(
    client: &Client,
    tenant: Option<&str>,
) -> Result<Vec<(String, i64, Option<String>)>, tokio_postgres::Error> {
    let rows = client
        .query_typed(
            "SELECT tenant, idempreendimento, nome FROM analytics.empreendimentos \
             WHERE ($1::text IS NULL OR tenant = $1) ORDER BY tenant, nome, idempreendimento",
            &[(&tenant, Type::TEXT)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Every row of a metric for the filters, as PostgreSQL's JSON text, streamed: rows arrive as
/// the caller reads them (tokio-postgres asks the socket for more only when the previous
/// message was taken), so an export of any size holds one batch in memory, not the result.
/// A paged metric is read whole (no `LIMIT`), in the order of its pages.
pub async fn stream(
    client: &Client,
    metric: &Metric,
    f: &Filters,
) -> Result<tokio_postgres::RowStream, tokio_postgres::Error> {
    let stmt = statement(metric);
    let no_limit: Option<i32> = None;
    let from_start: i32 = 0;
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![(&f.tenant, Type::TEXT)];
    match metric.source {
        Source::Function(_) => params.extend([
            (&f.de as &(dyn ToSql + Sync), Type::DATE),
            (&f.ate, Type::DATE),
            (&f.empreendimento, Type::INT8),
        ]),
        Source::Paged => {
            params = cockpit_params(metric, f);
            params.extend([
                (&no_limit as &(dyn ToSql + Sync), Type::INT4),
                (&from_start, Type::INT4),
            ]);
        }
        Source::EtlStatus => {}
        Source::Cockpit(_) => params = cockpit_params(metric, f),
    }
    client.query_typed_raw(&stmt, params).await
}
