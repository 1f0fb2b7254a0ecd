-- The cockpit's sales funnel (issue #21, item 1): leads → atendimento/visita → reserva → venda
-- líquida, by the lead's month of entry (cohort), development, mídia and broker, with the
-- conversion between consecutive stages and the median days between them. Definitions in words:
-- docs/metrics.md ("Funil comercial"). Same seven-parameter signature as 0104; `time` means
-- nothing here (a lead carries no team) and the api refuses it.
--
-- Which CVDW objects define each stage (`/atendimentos` is the after-sales desk, not pre-sales:
-- docs/cvdw-api.md, so it is not read):
--   lead         a /leads row (not deleted, ativo not 'N', with idlead), entering on data_cad;
--                its development (idempreendimento, a string in CVDW), broker, agency and mídia
--                (midia_original, else origem) are the lead's, and every later stage is credited
--                to them: the funnel follows the lead.
--   atendimento  the lead has a /leads/visitas row (idlead; dated by its data_cad, the day CV
--                CRM recorded the visit), or reached the reserva stage (a reservation implies the
--                lead was attended); its day is the earlier of the first visit and the first
--                reservation.
--   reserva      a /reservas row (not deleted, ativo not 'N') whose lead is this one: the FIRST
--                id of /reservas.idlead (a comma-separated list; the others are co-buyers'
--                leads); its day is the first reservation's data_cad.
--   venda        one of those reservations is a counted venda (analytics.fato_vendas) that no
--                counted distrato cancelled: vendas líquidas, as everywhere else; its day is the
--                first such sale's data_venda.
-- Dirt is counted, never dropped: a lead without data_cad counts in every dimension and under
-- mes NULL ('Sem data'), and drops out only when `de` or `ate` is given; a reservation whose
-- lead is not a counted lead (no idlead, or an unknown or inactive one), and a net sale whose
-- reservation is not a counted /reservas row, go to the dimension 'sem_lead'.

-- The net sales by reservation (a counted venda no counted distrato cancelled), with the
-- sale's day, development and broker. Views rather than CTEs throughout: the planner sees the
-- tables' statistics through a view, and joins by hash instead of rescanning a CTE per lead.
CREATE VIEW analytics.funil_liquidas AS
SELECT f.tenant, f.idreserva, min(f.data_venda) AS data, min(f.idempreendimento) AS idempreendimento,
       min(f.idcorretor) AS idcorretor, min(f.corretor) AS corretor
FROM analytics.fato_vendas f
WHERE f.idreserva IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM analytics.fato_distratos d
                  WHERE d.tenant = f.tenant AND d.idreserva = f.idreserva)
GROUP BY 1, 2;

-- The counted leads.
CREATE VIEW analytics.funil_leads AS
SELECT l.tenant, l.idlead, l.data_cad::date AS data_lead,
       CASE WHEN btrim(l.idempreendimento) ~ '^[0-9]{1,18}$'
            THEN btrim(l.idempreendimento)::bigint END AS idempreendimento,
       l.idcorretor, l.corretor, l.idimobiliaria,
       coalesce(nullif(btrim(l.midia_original), ''), nullif(btrim(l.origem), ''),
                'Sem mídia') AS midia
FROM cvdw.leads l
WHERE l.deleted_at IS NULL AND l.ativo IS NOT FALSE AND l.idlead IS NOT NULL;

-- Each counted reservation with its lead (the first id of idlead), whether that lead is a
-- counted one, and its net sale.
CREATE VIEW analytics.funil_reservas AS
SELECT r.tenant, r.idreserva, r.data, r.idempreendimento, r.idcorretor, r.corretor,
       r.idimobiliaria, r.idlead, v.data AS data_venda,
       EXISTS (SELECT 1 FROM analytics.funil_leads l
               WHERE l.tenant = r.tenant AND l.idlead = r.idlead) AS lead_conhecido
FROM (
  SELECT r.tenant, r.idreserva, r.data_cad::date AS data, r.idempreendimento, r.idcorretor,
         r.corretor, r.idimobiliaria,
         CASE WHEN btrim(split_part(r.idlead, ',', 1)) ~ '^[0-9]{1,18}$'
              THEN btrim(split_part(r.idlead, ',', 1))::bigint END AS idlead
  FROM cvdw.reservas r
  WHERE r.deleted_at IS NULL AND r.ativo IS NOT FALSE AND r.idreserva IS NOT NULL
) r
LEFT JOIN analytics.funil_liquidas v ON v.tenant = r.tenant AND v.idreserva = r.idreserva;

-- One row per funnel item: a counted lead (lead_conhecido) with the day it reached each stage,
-- or a reservation / net sale whose lead is unknown. Views over cvdw, so they run with the
-- owner's rights (the api's role reads no cvdw table: 0008_roles.sql).
CREATE VIEW analytics.funil_itens AS
SELECT l.tenant, true AS lead_conhecido, l.idlead, l.data_lead AS data_entrada,
       l.idempreendimento, l.idcorretor, l.corretor, l.idimobiliaria, l.midia,
       (x.idlead IS NOT NULL OR p.idlead IS NOT NULL) AS tem_atendimento,
       least(x.data, p.data_reserva) AS data_atendimento,
       p.idlead IS NOT NULL AS tem_reserva, p.data_reserva,
       coalesce(p.tem_venda, false) AS tem_venda, p.data_venda
FROM analytics.funil_leads l
LEFT JOIN (
  SELECT o.tenant, btrim(o.payload->>'idlead')::bigint AS idlead,
         min(CASE WHEN o.payload->>'data_cad' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
                   AND left(o.payload->>'data_cad', 4) <> '0000'
                  THEN left(o.payload->>'data_cad', 10)::date END) AS data
  FROM cvdw.objects o
  WHERE o.object = 'leads_visitas' AND o.deleted_at IS NULL AND o.ativo IS NOT FALSE
    AND btrim(o.payload->>'idlead') ~ '^[0-9]{1,18}$'
  GROUP BY 1, 2
) x ON x.tenant = l.tenant AND x.idlead = l.idlead
LEFT JOIN (
  SELECT r.tenant, r.idlead, min(r.data) AS data_reserva, min(r.data_venda) AS data_venda,
         bool_or(r.data_venda IS NOT NULL) AS tem_venda
  FROM analytics.funil_reservas r WHERE r.lead_conhecido GROUP BY 1, 2
) p ON p.tenant = l.tenant AND p.idlead = l.idlead
UNION ALL
SELECT r.tenant, false, NULL, r.data, r.idempreendimento, r.idcorretor, r.corretor,
       r.idimobiliaria, NULL, false, NULL, true, r.data, r.data_venda IS NOT NULL, r.data_venda
FROM analytics.funil_reservas r WHERE NOT r.lead_conhecido
UNION ALL
SELECT v.tenant, false, NULL, v.data, v.idempreendimento, v.idcorretor, v.corretor, NULL,
       NULL, false, NULL, false, NULL, true, v.data
FROM analytics.funil_liquidas v
WHERE NOT EXISTS (SELECT 1 FROM cvdw.reservas r
                  WHERE r.tenant = v.tenant AND r.idreserva = v.idreserva
                    AND r.deleted_at IS NULL AND r.ativo IS NOT FALSE);

-- One row per (dimensao, value): 'total' (the tenant), 'mes' (the lead's month of entry; mes
-- NULL = leads without data_cad), 'empreendimento', 'midia' and 'corretor' (the lead's), and
-- 'sem_lead' (the items whose lead is unknown; their period is the reservation's data_cad, else
-- the sale's data_venda, and their development, broker and agency the reservation's, else the
-- sale's). Filters: de..ate on the lead's entry day; development, broker and agency are the
-- lead's. taxa_* = each stage ÷ the one before (taxa_total = vendas ÷ leads); dias_* = the
-- median days between the days the lead reached two consecutive stages, over the leads with both.
CREATE FUNCTION analytics.funil(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, dimensao text, mes date, id bigint, nome text, leads bigint,
               atendimentos bigint, reservas bigint, vendas bigint, taxa_atendimento numeric,
               taxa_reserva numeric, taxa_venda numeric, taxa_total numeric,
               dias_lead_atendimento numeric, dias_atendimento_reserva numeric,
               dias_reserva_venda numeric)
LANGUAGE sql STABLE AS $$
  WITH i AS (
    SELECT x.*,
           x.data_atendimento - x.data_entrada AS d1,
           x.data_reserva - x.data_atendimento AS d2,
           x.data_venda - x.data_reserva AS d3
    FROM analytics.funil_itens x
    -- the lead's entry period, development, broker and agency (the reservation's or sale's for
    -- an item whose lead is unknown)
    WHERE (p_tenant IS NULL OR x.tenant = p_tenant) AND (p_emp IS NULL OR x.idempreendimento = p_emp)
      AND (p_de IS NULL OR x.data_entrada >= p_de) AND (p_ate IS NULL OR x.data_entrada <= p_ate)
      AND (p_corretor IS NULL OR x.idcorretor = p_corretor)
      AND (p_imobiliaria IS NULL OR x.idimobiliaria = p_imobiliaria)
  ), grupos AS (
    SELECT i.tenant, g.dimensao, g.id, g.mes, g.nome, i.d1, i.d2, i.d3, i.lead_conhecido,
           i.tem_atendimento, i.tem_reserva, i.tem_venda
    FROM i
    CROSS JOIN LATERAL (VALUES
      ('total', NULL::bigint, NULL::date, NULL::text),
      ('mes', NULL, date_trunc('month', i.data_entrada)::date, NULL),
      ('empreendimento', i.idempreendimento, NULL, NULL),
      ('midia', NULL, NULL, i.midia),
      ('corretor', i.idcorretor, NULL, NULL)
    ) AS g (dimensao, id, mes, nome)
    WHERE i.lead_conhecido
    UNION ALL
    SELECT i.tenant, 'sem_lead', NULL, NULL, 'Lead desconhecido', i.d1, i.d2, i.d3,
           i.lead_conhecido, i.tem_atendimento, i.tem_reserva, i.tem_venda
    FROM i WHERE NOT i.lead_conhecido
  ), agregado AS (
    SELECT g.tenant, g.dimensao, g.id, g.mes, g.nome,
           count(*) FILTER (WHERE g.lead_conhecido) AS leads,
           count(*) FILTER (WHERE g.tem_atendimento) AS atendimentos,
           count(*) FILTER (WHERE g.tem_reserva) AS reservas,
           count(*) FILTER (WHERE g.tem_venda) AS vendas,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY g.d1) AS m1,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY g.d2) AS m2,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY g.d3) AS m3
    FROM grupos g GROUP BY 1, 2, 3, 4, 5
  ), corretores AS (
    SELECT i.tenant, i.idcorretor, max(i.corretor) AS corretor
    FROM i WHERE i.lead_conhecido AND i.idcorretor IS NOT NULL GROUP BY 1, 2
  )
  SELECT a.tenant, a.dimensao, a.mes, a.id,
         CASE a.dimensao
           WHEN 'empreendimento' THEN coalesce(e.nome, CASE WHEN a.id IS NULL THEN 'Sem empreendimento' END)
           WHEN 'corretor' THEN coalesce(c.corretor, CASE WHEN a.id IS NULL THEN 'Sem corretor' END)
           WHEN 'mes' THEN coalesce(to_char(a.mes, 'YYYY-MM'), 'Sem data')
           ELSE a.nome END,
         a.leads, a.atendimentos, a.reservas, a.vendas,
         round(a.atendimentos::numeric / nullif(a.leads, 0), 4),
         round(a.reservas::numeric / nullif(a.atendimentos, 0), 4),
         round(a.vendas::numeric / nullif(a.reservas, 0), 4),
         round(a.vendas::numeric / nullif(a.leads, 0), 4),
         round(a.m1::numeric, 1), round(a.m2::numeric, 1), round(a.m3::numeric, 1)
  FROM agregado a
  LEFT JOIN analytics.empreendimentos e
    ON a.dimensao = 'empreendimento' AND e.tenant = a.tenant AND e.idempreendimento = a.id
  LEFT JOIN corretores c
    ON a.dimensao = 'corretor' AND c.tenant = a.tenant AND c.idcorretor = a.id
  ORDER BY a.tenant,
           array_position(ARRAY['total', 'mes', 'empreendimento', 'midia', 'corretor', 'sem_lead'],
                          a.dimensao),
           a.mes NULLS LAST, a.leads DESC, a.id, 5
$$;

CREATE VIEW analytics.vw_funil AS
  SELECT * FROM analytics.funil(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
