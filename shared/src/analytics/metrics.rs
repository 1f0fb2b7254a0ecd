//! The metric catalogue: every endpoint's path, the SQL function it runs, its view for BI and
//! its columns (name, kind, meaning). The router, the OpenAPI document and the CSV writer all
//! read [`METRICS`], so they cannot disagree. Also the shape of an answer ([`Rows`]).

use serde::Serialize;
use serde_json::Value;

use super::filters::{Filter, LEAD_FILTERS, PEOPLE_FILTERS, PERIOD_FILTERS};

/// The kind of a metric column (drives JSON schema, CSV formatting and the OpenAPI document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ColType {
    Text,
    Int,
    /// Money in R$ (two decimals in CSV).
    Money,
    /// A ratio or percentage (up to six decimals in CSV).
    Decimal,
    Date,
    Timestamp,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub description: &'static str,
}

const fn col(name: &'static str, ty: ColType, description: &'static str) -> Column {
    Column {
        name,
        ty,
        description,
    }
}

/// Which SQL a metric runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `analytics.<fn>($tenant, $de, $ate, $emp)`.
    Function(&'static str),
    /// `analytics.tabela_geral(<the seven filters>, $limit, $offset)` plus its count
    /// (`analytics.tabela_geral_total`).
    Paged,
    /// `analytics.vw_etl_status` filtered by tenant only.
    EtlStatus,
    /// `analytics.<fn>($tenant, $de, $ate, $emp, $corretor, $time, $imobiliaria)`: the
    /// cockpit's functions, which all take the seven filters (migrations/0104+).
    Cockpit(&'static str),
}

/// One metric endpoint: its path under `/api`, the SQL it runs and its columns.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Path under `/api/` (e.g. `vendas-mensais`).
    pub path: &'static str,
    pub summary: &'static str,
    pub source: Source,
    /// The query filters it takes; any other is a 400.
    pub filters: &'static [Filter],
    /// The view BI tools read for the same numbers.
    pub view: &'static str,
    pub columns: &'static [Column],
}

use ColType::*;

const C_TENANT: Column = col("tenant", Text, "Tenant (CV CRM account) the row belongs to");
const C_VU: Column = col("vendas_unidades", Int, "Vendas (units), by data_venda");
const C_VS: Column = col("vendas_valor", Money, "Σ valor_contrato of the vendas (R$)");
const C_DU: Column = col(
    "distratos_unidades",
    Int,
    "Distratos (units), by situacao_data",
);
const C_DS: Column = col(
    "distratos_valor",
    Money,
    "Σ valor_contrato of the distratos (R$)",
);
const C_LU: Column = col(
    "liquidas_unidades",
    Int,
    "Vendas líquidas = vendas − distratos (units)",
);
const C_LS: Column = col(
    "liquidas_valor",
    Money,
    "Vendas líquidas = vendas − distratos (R$)",
);
const C_VGV: Column = col(
    "vgv",
    Money,
    "VGV: Σ valor_contrato of the vendas, before distratos (R$)",
);
const C_TM: Column = col("ticket_medio", Money, "Ticket médio = VGV ÷ vendas (R$)");
const C_EMP: Column = col("idempreendimento", Int, "Development id");
const C_EMPN: Column = col("empreendimento", Text, "Development name");
const C_MES: Column = col("mes", Date, "First day of the month");

const SALES: [Column; 8] = [C_VU, C_VS, C_DU, C_DS, C_LU, C_LS, C_VGV, C_TM];

/// Concatenate column lists at compile time (`N` is the declared length).
const fn join<const N: usize>(a: &[Column], b: &[Column], c: &[Column]) -> [Column; N] {
    let mut out = [C_TENANT; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[i + j] = b[j];
        j += 1;
    }
    let mut k = 0;
    while k < c.len() {
        out[i + j + k] = c[k];
        k += 1;
    }
    out
}

const KPIS: [Column; 14] = join(
    &[C_TENANT],
    &SALES,
    &[
        col(
            "comissao_valor",
            Money,
            "Σ valor_comissao of active /comissoes dated in the period (R$)",
        ),
        col(
            "comissao_paga",
            Money,
            "Σ valor_pagamento of those commissions (R$)",
        ),
        col(
            "vso",
            Decimal,
            "VSO of the period: its net units (liquidas_unidades) ÷ (stock on the day `de` + entries during the period), 0–1",
        ),
        col(
            "prosoluto_valor",
            Money,
            "Pró-soluto of the period's vendas (R$)",
        ),
        col("prosoluto_pct", Decimal, "Pró-soluto as % of VGV"),
    ],
);
const MENSAIS: [Column; 10] = join(&[C_TENANT, C_MES], &SALES, &[]);
const EMPS: [Column; 11] = join(&[C_TENANT, C_EMP, C_EMPN], &SALES, &[]);
const CORRETORES: [Column; 13] = join(
    &[
        C_TENANT,
        col("idcorretor", Int, "Broker id"),
        col("corretor", Text, "Broker name"),
    ],
    &SALES,
    &[
        col(
            "comissao_valor",
            Money,
            "Σ valor_comissao of the broker's active commissions (R$)",
        ),
        col(
            "comissao_paga",
            Money,
            "Σ valor_pagamento of those commissions (R$)",
        ),
    ],
);
const TIMES: [Column; 13] = join(
    &[
        C_TENANT,
        col("idtime", Int, "Team id (null: no team)"),
        col("nome_time", Text, "Team name"),
    ],
    &SALES,
    &[
        col(
            "vendas_time_da_reserva",
            Int,
            "Vendas whose team came from /reservas.idtime",
        ),
        col(
            "vendas_time_dos_integrantes",
            Int,
            "Vendas whose team came from the broker's membership (fallback)",
        ),
    ],
);

/// Every metric endpoint. The router, the OpenAPI document and the CSV writer all read this
/// table, so they cannot disagree.
pub const METRICS: &[Metric] = &[
    Metric {
        path: "kpis",
        summary: "KPIs of the period per tenant: vendas líquidas, VGV, ticket médio, distratos, comissões, VSO, pró-soluto",
        source: Source::Cockpit("kpis"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_kpis",
        columns: &KPIS,
    },
    Metric {
        path: "vendas-mensais",
        summary: "Vendas, distratos and vendas líquidas per month",
        source: Source::Cockpit("vendas_mensais"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_vendas_mensais",
        columns: &MENSAIS,
    },
    Metric {
        path: "vendas-empreendimentos",
        summary: "Vendas, distratos and vendas líquidas per development",
        source: Source::Cockpit("vendas_por_empreendimento"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_vendas_por_empreendimento",
        columns: &EMPS,
    },
    Metric {
        path: "vendas-corretores",
        summary: "Vendas, distratos, vendas líquidas and commissions per broker",
        source: Source::Cockpit("vendas_por_corretor"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_vendas_por_corretor",
        columns: &CORRETORES,
    },
    Metric {
        path: "comissoes-corretores",
        summary: "Commissions per broker (from /comissoes)",
        source: Source::Cockpit("comissoes_por_corretor"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_comissoes_por_corretor",
        columns: &[
            C_TENANT,
            col("idcorretor", Int, "Broker id (from the reservation)"),
            col("corretor", Text, "Broker name"),
            col("comissoes", Int, "Number of active commissions"),
            col("comissao_valor", Money, "Σ valor_comissao (R$)"),
            col("comissao_paga", Money, "Σ valor_pagamento (R$)"),
            col("comissao_a_pagar", Money, "comissao_valor − comissao_paga (R$)"),
        ],
    },
    Metric {
        path: "vendas-times",
        summary: "Vendas per sales team (team at the time of the sale)",
        source: Source::Cockpit("vendas_por_time"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_vendas_por_time",
        columns: &TIMES,
    },
    Metric {
        path: "vso-mensal",
        summary: "VSO (venda sobre oferta) per development and month",
        source: Source::Function("vso_mensal"),
        filters: PERIOD_FILTERS,
        view: "analytics.vw_vso_mensal",
        columns: &[
            C_TENANT,
            C_EMP,
            C_EMPN,
            C_MES,
            col("estoque_inicial", Int, "Units in stock at the start of the month"),
            col("entradas", Int, "Units that entered the offer in the month"),
            C_VU,
            C_DU,
            C_LU,
            col("oferta", Int, "estoque_inicial + entradas"),
            col("vso", Decimal, "liquidas_unidades ÷ oferta (0–1)"),
        ],
    },
    Metric {
        path: "prosoluto",
        summary: "Pró-soluto per development and month, in R$ and as % of VGV",
        source: Source::Cockpit("prosoluto_analise"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_prosoluto_analise",
        columns: &[
            C_TENANT,
            C_EMP,
            C_EMPN,
            C_MES,
            C_VU,
            C_VGV,
            col("prosoluto_valor", Money, "Σ pró-soluto of the month's vendas (R$)"),
            col("prosoluto_pct", Decimal, "prosoluto_valor ÷ VGV × 100"),
            col("vendas_com_prosoluto", Int, "Vendas with a positive pró-soluto"),
        ],
    },
    Metric {
        path: "ano-atual-vs-passado",
        summary: "Vendas líquidas and VGV month by month: the year of `ate` (else today) against the year before",
        source: Source::Cockpit("vendas_ano_atual_vs_passado"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_vendas_ano_atual_vs_passado",
        columns: &[
            C_TENANT,
            col("mes", Int, "Month number 1–12"),
            col("ano_atual", Int, "The current year"),
            col("ano_passado", Int, "The year before"),
            col("liquidas_unidades_atual", Int, "Vendas líquidas (units), current year"),
            col("liquidas_unidades_passado", Int, "Vendas líquidas (units), year before"),
            col("liquidas_valor_atual", Money, "Vendas líquidas (R$), current year"),
            col("liquidas_valor_passado", Money, "Vendas líquidas (R$), year before"),
            col("vgv_atual", Money, "VGV (R$), current year"),
            col("vgv_passado", Money, "VGV (R$), year before"),
        ],
    },
    Metric {
        path: "tabela-geral",
        summary: "One line per venda (paginated, newest first)",
        source: Source::Paged,
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_tabela_geral_vendas",
        columns: &[
            C_TENANT,
            col("idreserva", Int, "Reservation id of the sale"),
            col("data_venda", Date, "Sale date"),
            C_EMP,
            C_EMPN,
            col("etapa", Text, "Phase"),
            col("bloco", Text, "Block"),
            col("unidade", Text, "Unit"),
            col("cliente", Text, "Customer"),
            col("idcorretor", Int, "Broker id"),
            col("corretor", Text, "Broker"),
            col("imobiliaria", Text, "Agency"),
            col("idtime", Int, "Team id"),
            col("nome_time", Text, "Team"),
            col("valor_contrato", Money, "Contract value (R$)"),
            col("vgv_tabela", Money, "List price of the unit (R$)"),
            col("valor_prosoluto", Money, "Pró-soluto (R$)"),
            col("data_distrato", Date, "Distrato date, if the sale was cancelled"),
            col("situacao", Text, "Ativa or Distratada"),
            col("valor_comissao", Money, "Active commission (R$)"),
        ],
    },
    Metric {
        path: "etl/status",
        summary: "ETL health: last run per object, rows, rejected rows, open failures, freshness",
        source: Source::EtlStatus,
        filters: &[Filter::Tenant],
        view: "analytics.vw_etl_status",
        columns: &[
            C_TENANT,
            col("object", Text, "CVDW object"),
            col("ultimo_run", Text, "Last run id"),
            col("mode", Text, "incremental or full"),
            col("pages", Int, "Pages of that run"),
            col("rows", Int, "Rows of that run"),
            col("rejected", Int, "Rows of that run quarantined"),
            col("last_fetched_at", Timestamp, "When the run's last page was fetched"),
            col("last_loaded_at", Timestamp, "When the run's last page was loaded"),
            col("manifest_state", Text, "applied, pending or no manifest"),
            col("rejeitadas_total", Int, "All quarantined rows of the object"),
            col("falhas_abertas", Int, "Pages that failed to load and are not resolved"),
            col("idade_segundos", Int, "Seconds since the last fetch"),
        ],
    },
    Metric {
        path: "estoque",
        summary: "Stock now per development and tipologia: available, reserved, sold, blocked units, VGV em estoque and months of stock at the trailing 12 months' net sales",
        source: Source::Cockpit("estoque"),
        filters: &[Filter::Tenant, Filter::Ate, Filter::Empreendimento],
        view: "analytics.vw_estoque",
        columns: &[
            C_TENANT,
            C_EMP,
            C_EMPN,
            col("tipologia", Text, "Unit type (/unidades.tipologia; 'Sem tipologia' when blank)"),
            col("unidades", Int, "Units (active, not deleted)"),
            col("disponiveis", Int, "Units for sale now (situacao_para_venda = 1, not blocked, reserved or sold)"),
            col("reservadas", Int, "Units held by a reservation (situacao_reservada), not sold or blocked"),
            col("vendidas", Int, "Units held by a sale (situacao_vendida), not blocked"),
            col("bloqueadas", Int, "Blocked units (situacao_bloqueada)"),
            col("outras", Int, "Units in none of those states"),
            col("vgv_estoque", Money, "VGV em estoque: Σ /unidades.valor of the available units (R$)"),
            col("liquidas_12m", Int, "Net sales (vendas − distratos) of these units in the 12 months ending on `ate` (else the last sale)"),
            col("meses_de_estoque", Decimal, "disponiveis ÷ (liquidas_12m ÷ 12); null when nothing sold net"),
        ],
    },
    Metric {
        path: "reservas-em-andamento",
        summary: "Open reservations (not sold, cancelled or distratadas) by situação and age band, with their value",
        source: Source::Cockpit("reservas_em_andamento"),
        filters: {
            use Filter::*;
            &[Tenant, Ate, Empreendimento, Corretor, Time, Imobiliaria]
        },
        view: "analytics.vw_reservas_em_andamento",
        columns: &[
            C_TENANT,
            col("situacao", Text, "The reservation's situação in CV CRM"),
            col("faixa_idade", Text, "Age band in days since data_cad: 0-7, 8-30, 31-60, 61-90, 91+ (to `ate`, else today)"),
            col("reservas", Int, "Open reservations"),
            col("valor", Money, "Σ valor_contrato (R$)"),
            col("idade_media_dias", Decimal, "Mean age (days)"),
            col("idade_max_dias", Int, "Oldest (days)"),
        ],
    },
    Metric {
        path: "distratos",
        summary: "Distratos ÷ vendas by motive, development and broker, and the days from sale to distrato",
        source: Source::Cockpit("distratos_analise"),
        filters: PEOPLE_FILTERS,
        view: "analytics.vw_distratos",
        columns: &[
            C_TENANT,
            col("dimensao", Text, "What the row groups by: motivo, empreendimento or corretor"),
            col("id", Int, "idempreendimento or idcorretor (null for a motive)"),
            col("nome", Text, "The motive, development or broker name"),
            col("vendas", Int, "Vendas of the period (for a motive: all of them)"),
            col("distratos", Int, "Distratos of the period"),
            col("taxa", Decimal, "distratos ÷ vendas"),
            col("dias_medio", Decimal, "Mean days from the sale to the distrato"),
            col("dias_mediana", Decimal, "Median days from the sale to the distrato"),
        ],
    },
    Metric {
        path: "repasses",
        summary: "The repasse pipeline per stage: items, value, median days in the stage, items stuck over `dias` days, median days from sale to repasse",
        source: Source::Cockpit("repasses_pipeline"),
        filters: &[Filter::Tenant, Filter::Ate, Filter::Empreendimento, Filter::Dias],
        view: "analytics.vw_repasses",
        columns: &[
            C_TENANT,
            col("situacao", Text, "The stage (/repasses.situacao)"),
            col("idsituacao", Int, "The stage's id (the pipeline's order)"),
            col("itens", Int, "Repasses in the stage"),
            col("valor", Money, "Σ valor_financiado (else valor_previsto) (R$)"),
            col("dias_mediana_na_etapa", Decimal, "Median days since data_alteracao_status, to `ate` (else today)"),
            col("parados", Int, "Items over `dias` days in the stage"),
            col("valor_parado", Money, "Their value (R$)"),
            col("dias_mediana_venda_repasse", Decimal, "Median days from data_venda to data_recurso_liberado"),
        ],
    },
    Metric {
        path: "metas",
        summary: "Monthly goals (units and R$) per development, team or broker against the month's net sales (PUT: replace goals, admin keys)",
        source: Source::Cockpit("metas_realizado"),
        filters: &[Filter::Tenant, Filter::De, Filter::Ate],
        view: "analytics.vw_metas_realizado",
        columns: &[
            C_TENANT,
            C_MES,
            col("escopo", Text, "empreendimento, time or corretor"),
            col("id", Int, "idempreendimento, idtime or idcorretor"),
            col("meta_unidades", Int, "Goal (units)"),
            col("meta_valor", Money, "Goal (R$)"),
            col("realizado_unidades", Int, "Net sales of the month (vendas − distratos, units)"),
            col("realizado_valor", Money, "Net sales of the month (R$)"),
            col("progresso_unidades", Decimal, "realizado_unidades ÷ meta_unidades"),
            col("progresso_valor", Decimal, "realizado_valor ÷ meta_valor"),
        ],
    },
    Metric {
        path: "funil",
        summary: "Sales funnel of the leads that entered in the period: leads → atendimento/visita → reserva → venda líquida, by month of entry, development, mídia and broker, with the conversion between stages and the median days between them; reservations and sales whose lead is unknown apart",
        source: Source::Cockpit("funil"),
        filters: LEAD_FILTERS,
        view: "analytics.vw_funil",
        columns: &[
            C_TENANT,
            col("dimensao", Text, "What the row groups by: total, mes, empreendimento, midia, corretor or sem_lead (reservations and net sales whose lead is unknown)"),
            C_MES,
            col("id", Int, "idempreendimento or idcorretor of the lead (null otherwise, or when the lead has none)"),
            col("nome", Text, "The month (YYYY-MM, 'Sem data' for leads without data_cad), development, mídia or broker"),
            col("leads", Int, "Leads (/leads) that entered (data_cad) in the period"),
            col("atendimentos", Int, "Of those, leads with a visit (/leads/visitas) or a reservation"),
            col("reservas", Int, "Of those, leads with a reservation (/reservas whose first idlead is the lead)"),
            col("vendas", Int, "Of those, leads with a net sale (a venda no distrato cancelled)"),
            col("taxa_atendimento", Decimal, "atendimentos ÷ leads"),
            col("taxa_reserva", Decimal, "reservas ÷ atendimentos"),
            col("taxa_venda", Decimal, "vendas ÷ reservas"),
            col("taxa_total", Decimal, "vendas ÷ leads"),
            col("dias_lead_atendimento", Decimal, "Median days from the lead's entry to its first atendimento"),
            col("dias_atendimento_reserva", Decimal, "Median days from the first atendimento to the first reservation"),
            col("dias_reserva_venda", Decimal, "Median days from the first reservation to the first net sale"),
        ],
    },
];

pub fn metric(path: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.path == path)
}

/// A metric's answer: each row as the JSON object PostgreSQL wrote (`to_jsonb(row)::text`),
/// unparsed, and the total row count for paginated metrics. The JSON API copies the rows into
/// the response as they are: numbers stay exactly as PostgreSQL's numerics (no round trip
/// through `f64`), and no CPU goes into parsing and re-serialising what is already JSON.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub rows: Vec<String>,
    pub total: Option<i64>,
}

impl Rows {
    /// The rows parsed into JSON objects (for CSV and tests).
    pub fn objects(&self) -> Vec<serde_json::Map<String, Value>> {
        self.rows
            .iter()
            .map(|r| match serde_json::from_str(r) {
                Ok(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            })
            .collect()
    }
}

/// Data freshness of a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub tenant: String,
    pub last_fetched_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_loaded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub age_seconds: Option<i64>,
}
