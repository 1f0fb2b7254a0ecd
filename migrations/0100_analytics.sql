-- 0100: schema `analytics` — the sales metrics the dashboard, the API and BI tools read.
--
-- Definitions (docs/metrics.md says the same in Portuguese and English):
--   venda     a /vendas row that is not deleted, not inactive (ativo IS NOT FALSE) and has a
--             data_venda; dated by data_venda, valued by valor_contrato.
--   distrato  a /distratos row that is not deleted/inactive and has a situacao_data; dated by
--             situacao_data, valued by its valor_contrato (else the sale's). A sale later
--             cancelled counts in its sale month AND as a distrato in the distrato month.
--   líquidas  vendas − distratos, in units and in R$.
--   VGV       Σ valor_contrato of the vendas (gross, before distratos); ticket médio = VGV ÷ vendas.
--   time      /reservas.idtime/nome_time of the sale's reservation; when absent, the broker's
--             membership in /atendimentos/times/integrantes (idusuario = idcorretor) that started
--             on or before the sale (latest data_cad); else no team.
--
-- Each metric is a set-returning SQL function taking the API's filters
-- (tenant, de, ate, idempreendimento; NULL = no filter), and each `vw_*` view is that function
-- with no filter. The API calls the functions, BI tools read the views: one definition.

CREATE SCHEMA IF NOT EXISTS analytics;

-- Indexes the metric queries use (the loader's tables only carry their primary keys).
CREATE INDEX IF NOT EXISTS analytics_vendas_data ON cvdw.vendas (tenant, data_venda);
CREATE INDEX IF NOT EXISTS analytics_vendas_idreserva ON cvdw.vendas (tenant, idreserva);
CREATE INDEX IF NOT EXISTS analytics_distratos_idreserva ON cvdw.distratos (tenant, idreserva);
CREATE INDEX IF NOT EXISTS analytics_reservas_idreserva ON cvdw.reservas (tenant, idreserva);
CREATE INDEX IF NOT EXISTS analytics_comissoes_idreserva ON cvdw.comissoes (tenant, idreserva);
CREATE INDEX IF NOT EXISTS analytics_integrantes_usuario
  ON cvdw.atendimentos_times_integrantes (tenant, idusuario);
CREATE INDEX IF NOT EXISTS analytics_condicoes_idreserva ON cvdw.reservas_condicoes (tenant, idreserva);

-- ---------------------------------------------------------------------------------------------
-- Facts: one row per venda, distrato, comissão.

CREATE VIEW analytics.fato_vendas AS
SELECT v.tenant,
       v.idreserva,
       v.data_venda::date AS data,
       date_trunc('month', v.data_venda)::date AS mes,
       coalesce(v.idempreendimento, r.idempreendimento) AS idempreendimento,
       coalesce(v.empreendimento, r.empreendimento) AS empreendimento,
       coalesce(v.etapa, r.etapa) AS etapa,
       coalesce(v.bloco, r.bloco) AS bloco,
       coalesce(v.idunidade, r.idunidade) AS idunidade,
       coalesce(v.unidade, r.unidade) AS unidade,
       coalesce(v.cliente, r.cliente) AS cliente,
       coalesce(v.idcorretor, r.idcorretor) AS idcorretor,
       coalesce(v.corretor, r.corretor) AS corretor,
       coalesce(v.imobiliaria, r.imobiliaria) AS imobiliaria,
       coalesce(v.valor_contrato, r.valor_contrato, 0) AS valor,
       r.vgv_tabela,
       CASE WHEN r.idtime IS NOT NULL THEN r.idtime
            ELSE (SELECT i.idtime FROM cvdw.atendimentos_times_integrantes i
                  WHERE i.tenant = v.tenant AND i.idusuario = coalesce(v.idcorretor, r.idcorretor)
                    AND i.deleted_at IS NULL AND i.ativo IS NOT FALSE AND i.idtime IS NOT NULL
                    AND (i.data_cad IS NULL OR i.data_cad <= v.data_venda)
                  ORDER BY i.data_cad DESC NULLS LAST, i.idtime LIMIT 1)
       END AS idtime,
       CASE WHEN r.idtime IS NOT NULL THEN 'reserva' END AS origem_time_reserva,
       r.nome_time AS nome_time_reserva
FROM cvdw.vendas v
LEFT JOIN cvdw.reservas r
  ON r.tenant = v.tenant AND r.idreserva = v.idreserva AND r.deleted_at IS NULL
WHERE v.deleted_at IS NULL AND v.ativo IS NOT FALSE AND v.data_venda IS NOT NULL;

-- Team names: the reservation's own name when it gave the team, else the team object, else the
-- name members carry.
CREATE VIEW analytics.times AS
SELECT tenant, idtime,
       (array_agg(nome ORDER BY prio) FILTER (WHERE nome IS NOT NULL))[1] AS nome
FROM (
  SELECT tenant, idtime, nome, 1 AS prio FROM cvdw.atendimentos_times
  WHERE deleted_at IS NULL AND idtime IS NOT NULL
  UNION ALL
  SELECT tenant, idtime, "time", 2 FROM cvdw.atendimentos_times_integrantes
  WHERE deleted_at IS NULL AND idtime IS NOT NULL
) t
GROUP BY tenant, idtime;

CREATE VIEW analytics.fato_vendas_times AS
SELECT f.tenant, f.idreserva, f.data, f.mes, f.idempreendimento, f.empreendimento, f.etapa,
       f.bloco, f.idunidade, f.unidade, f.cliente, f.idcorretor, f.corretor, f.imobiliaria,
       f.valor, f.vgv_tabela, f.idtime,
       coalesce(CASE WHEN f.origem_time_reserva IS NOT NULL THEN f.nome_time_reserva END, t.nome,
                CASE WHEN f.idtime IS NOT NULL THEN 'Time ' || f.idtime END) AS nome_time,
       CASE WHEN f.origem_time_reserva IS NOT NULL THEN 'reserva'
            WHEN f.idtime IS NOT NULL THEN 'integrantes' END AS origem_time
FROM analytics.fato_vendas f
LEFT JOIN analytics.times t ON t.tenant = f.tenant AND t.idtime = f.idtime;

CREATE VIEW analytics.fato_distratos AS
SELECT d.tenant,
       d.idreserva,
       d.situacao_data::date AS data,
       date_trunc('month', d.situacao_data)::date AS mes,
       coalesce(d.idempreendimento, f.idempreendimento) AS idempreendimento,
       coalesce(d.empreendimento, f.empreendimento) AS empreendimento,
       coalesce(d.idunidade, f.idunidade) AS idunidade,
       coalesce(d.idcorretor, f.idcorretor) AS idcorretor,
       coalesce(d.corretor, f.corretor) AS corretor,
       coalesce(d.valor_contrato, f.valor, 0) AS valor,
       f.idtime,
       f.nome_time,
       f.data AS data_venda
FROM cvdw.distratos d
LEFT JOIN analytics.fato_vendas_times f ON f.tenant = d.tenant AND f.idreserva = d.idreserva
WHERE d.deleted_at IS NULL AND d.ativo IS NOT FALSE AND d.situacao_data IS NOT NULL;

-- Commissions: /comissoes has broker and development names only, so ids come from the
-- reservation (and the sale). Dated by the commission's data_cad (else the sale date).
CREATE VIEW analytics.fato_comissoes AS
SELECT c.tenant,
       c.idcomissao,
       c.idreserva,
       coalesce(c.data_cad, v.data_venda, r.data_venda)::date AS data,
       coalesce(r.idempreendimento, v.idempreendimento) AS idempreendimento,
       coalesce(r.idcorretor, v.idcorretor) AS idcorretor,
       coalesce(c.corretor, r.corretor, v.corretor) AS corretor,
       coalesce(c.valor_comissao, 0) AS valor_comissao,
       coalesce(c.valor_pagamento, 0) AS valor_pago
FROM cvdw.comissoes c
LEFT JOIN cvdw.reservas r ON r.tenant = c.tenant AND r.idreserva = c.idreserva AND r.deleted_at IS NULL
LEFT JOIN cvdw.vendas v ON v.tenant = c.tenant AND v.idreserva = c.idreserva AND v.deleted_at IS NULL
WHERE c.deleted_at IS NULL AND c.ativo IS NOT FALSE;

-- Development names: the newest name seen in the sales facts, else the units.
CREATE VIEW analytics.empreendimentos AS
SELECT tenant, idempreendimento,
       (array_agg(nome ORDER BY prio) FILTER (WHERE nome IS NOT NULL))[1] AS nome
FROM (
  SELECT tenant, idempreendimento, nome_empreendimento AS nome, 1 AS prio
  FROM cvdw.unidades WHERE deleted_at IS NULL AND idempreendimento IS NOT NULL
  UNION ALL
  SELECT tenant, idempreendimento, empreendimento, 2
  FROM cvdw.vendas WHERE deleted_at IS NULL AND idempreendimento IS NOT NULL
) e
GROUP BY tenant, idempreendimento;

-- ---------------------------------------------------------------------------------------------
-- Metric functions. Filters: p_tenant, p_de, p_ate (inclusive dates), p_emp (idempreendimento).

CREATE FUNCTION analytics.vendas_mensais(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes date, vendas_unidades bigint, vendas_valor numeric,
               distratos_unidades bigint, distratos_valor numeric, liquidas_unidades bigint,
               liquidas_valor numeric, vgv numeric, ticket_medio numeric)
LANGUAGE sql STABLE AS $$
  WITH v AS (
    SELECT f.tenant, f.mes, count(*) AS u, sum(f.valor) AS s FROM analytics.fato_vendas f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY f.tenant, f.mes
  ), d AS (
    SELECT f.tenant, f.mes, count(*) AS u, sum(f.valor) AS s FROM analytics.fato_distratos f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY f.tenant, f.mes
  )
  SELECT tenant, mes, coalesce(v.u, 0), coalesce(v.s, 0), coalesce(d.u, 0), coalesce(d.s, 0),
         coalesce(v.u, 0) - coalesce(d.u, 0), coalesce(v.s, 0) - coalesce(d.s, 0),
         coalesce(v.s, 0), round(v.s / nullif(v.u, 0), 2)
  FROM v FULL JOIN d USING (tenant, mes)
  ORDER BY tenant, mes
$$;

CREATE FUNCTION analytics.vendas_por_empreendimento(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric)
LANGUAGE sql STABLE AS $$
  WITH v AS (
    SELECT f.tenant, coalesce(f.idempreendimento, -1) AS k, count(*) AS u, sum(f.valor) AS s FROM analytics.fato_vendas f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  ), d AS (
    SELECT f.tenant, coalesce(f.idempreendimento, -1) AS k, count(*) AS u, sum(f.valor) AS s FROM analytics.fato_distratos f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  )
  -- NULL ids are keyed -1 so a FULL JOIN pairs them (NULL never equals NULL).
  SELECT coalesce(v.tenant, d.tenant), nullif(coalesce(v.k, d.k), -1), e.nome, coalesce(v.u, 0), coalesce(v.s, 0), coalesce(d.u, 0),
         coalesce(d.s, 0), coalesce(v.u, 0) - coalesce(d.u, 0), coalesce(v.s, 0) - coalesce(d.s, 0),
         coalesce(v.s, 0), round(v.s / nullif(v.u, 0), 2)
  FROM v FULL JOIN d USING (tenant, k)
  LEFT JOIN analytics.empreendimentos e
    ON e.tenant = coalesce(v.tenant, d.tenant) AND e.idempreendimento = coalesce(v.k, d.k)
  ORDER BY 1, coalesce(v.s, 0) - coalesce(d.s, 0) DESC, 2
$$;

CREATE FUNCTION analytics.vendas_por_corretor(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idcorretor bigint, corretor text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric,
               comissao_valor numeric, comissao_paga numeric)
LANGUAGE sql STABLE AS $$
  WITH v AS (
    SELECT f.tenant, coalesce(f.idcorretor, -1) AS k, max(f.corretor) AS nome, count(*) AS u, sum(f.valor) AS s
    FROM analytics.fato_vendas f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  ), d AS (
    SELECT f.tenant, coalesce(f.idcorretor, -1) AS k, max(f.corretor) AS nome, count(*) AS u, sum(f.valor) AS s
    FROM analytics.fato_distratos f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  ), c AS (
    SELECT f.tenant, coalesce(f.idcorretor, -1) AS k, max(f.corretor) AS nome, sum(f.valor_comissao) AS s,
           sum(f.valor_pago) AS p
    FROM analytics.fato_comissoes f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  )
  SELECT tenant, nullif(k, -1), coalesce(v.nome, d.nome, c.nome), coalesce(v.u, 0), coalesce(v.s, 0),
         coalesce(d.u, 0), coalesce(d.s, 0), coalesce(v.u, 0) - coalesce(d.u, 0),
         coalesce(v.s, 0) - coalesce(d.s, 0), coalesce(v.s, 0), round(v.s / nullif(v.u, 0), 2),
         coalesce(c.s, 0), coalesce(c.p, 0)
  FROM v FULL JOIN d USING (tenant, k) FULL JOIN c USING (tenant, k)
  ORDER BY tenant, coalesce(v.s, 0) - coalesce(d.s, 0) DESC, k
$$;

CREATE FUNCTION analytics.comissoes_por_corretor(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idcorretor bigint, corretor text, comissoes bigint,
               comissao_valor numeric, comissao_paga numeric, comissao_a_pagar numeric)
LANGUAGE sql STABLE AS $$
  SELECT f.tenant, f.idcorretor, max(f.corretor), count(*), sum(f.valor_comissao), sum(f.valor_pago),
         sum(f.valor_comissao) - sum(f.valor_pago)
  FROM analytics.fato_comissoes f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
    AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
  GROUP BY f.tenant, f.idcorretor
  ORDER BY f.tenant, sum(f.valor_comissao) DESC, f.idcorretor
$$;

CREATE FUNCTION analytics.vendas_por_time(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idtime bigint, nome_time text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric,
               vendas_time_da_reserva bigint, vendas_time_dos_integrantes bigint)
LANGUAGE sql STABLE AS $$
  WITH v AS (
    SELECT f.tenant, coalesce(f.idtime, -1) AS k, max(f.nome_time) AS nome, count(*) AS u, sum(f.valor) AS s,
           count(*) FILTER (WHERE f.origem_time = 'reserva') AS por_reserva,
           count(*) FILTER (WHERE f.origem_time = 'integrantes') AS por_integrantes
    FROM analytics.fato_vendas_times f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  ), d AS (
    SELECT f.tenant, coalesce(f.idtime, -1) AS k, max(f.nome_time) AS nome, count(*) AS u, sum(f.valor) AS s
    FROM analytics.fato_distratos f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
      AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    GROUP BY 1, 2
  )
  SELECT tenant, nullif(k, -1), coalesce(v.nome, d.nome, 'Sem time'), coalesce(v.u, 0), coalesce(v.s, 0),
         coalesce(d.u, 0), coalesce(d.s, 0), coalesce(v.u, 0) - coalesce(d.u, 0),
         coalesce(v.s, 0) - coalesce(d.s, 0), coalesce(v.s, 0), round(v.s / nullif(v.u, 0), 2),
         coalesce(v.por_reserva, 0), coalesce(v.por_integrantes, 0)
  FROM v FULL JOIN d USING (tenant, k)
  ORDER BY tenant, coalesce(v.s, 0) - coalesce(d.s, 0) DESC, nullif(k, -1) NULLS LAST
$$;

-- VSO (venda sobre oferta) per development and month:
--   vso = (vendas − distratos in the month, units) ÷ (estoque_inicial + entradas)
--   entradas(m)        units of the development that entered the offer in month m: the
--                      earliest data_vigencia_de of the unit's /unidades/precos rows (the first
--                      price table it was offered in); units with no price row count as in the
--                      offer before the first month.
--   estoque_inicial(m) units that entered before m, minus net units sold before m.
--   Units blocked now (/unidades.situacao_bloqueada) are out of the offer. A distrato returns its
--   unit to stock because it subtracts from the net sales that consumed the stock.
-- The month series runs from the development's first entry or sale month to the tenant's last
-- sale/distrato month. Filters: p_de/p_ate select whole months (the stock always comes from the
-- full history); p_emp the development.
CREATE FUNCTION analytics.vso_mensal(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, mes date,
               estoque_inicial bigint, entradas bigint, vendas_unidades bigint,
               distratos_unidades bigint, liquidas_unidades bigint, oferta bigint, vso numeric)
LANGUAGE sql STABLE AS $$
  WITH precos AS (
    SELECT o.tenant, (o.payload->>'idunidade')::bigint AS idunidade,
           min(CASE WHEN o.payload->>'data_vigencia_de' ~ '^\d{4}-\d{2}-\d{2}'
                     AND left(o.payload->>'data_vigencia_de', 4) <> '0000'
                    THEN left(o.payload->>'data_vigencia_de', 10)::date END) AS vigencia
    FROM cvdw.objects o
    WHERE o.object = 'unidades_precos' AND o.deleted_at IS NULL
      AND (p_tenant IS NULL OR o.tenant = p_tenant)
      AND o.payload->>'idunidade' ~ '^\d+$' AND o.payload->>'ativo' IS DISTINCT FROM 'N'
    GROUP BY 1, 2
  ), unidades AS (
    SELECT u.tenant, u.idempreendimento, date_trunc('month', p.vigencia)::date AS mes_entrada
    FROM cvdw.unidades u
    LEFT JOIN precos p ON p.tenant = u.tenant AND p.idunidade = u.idunidade
    WHERE u.deleted_at IS NULL AND u.situacao_bloqueada IS NOT TRUE AND u.idempreendimento IS NOT NULL
      AND (p_tenant IS NULL OR u.tenant = p_tenant) AND (p_emp IS NULL OR u.idempreendimento = p_emp)
  ), vendas AS (
    SELECT f.tenant, f.idempreendimento, f.mes, count(*) AS u FROM analytics.fato_vendas f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
      AND f.idempreendimento IS NOT NULL
    GROUP BY 1, 2, 3
  ), distratos AS (
    SELECT f.tenant, f.idempreendimento, f.mes, count(*) AS u FROM analytics.fato_distratos f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
      AND f.idempreendimento IS NOT NULL
    GROUP BY 1, 2, 3
  ), ultimo AS (
    SELECT tenant, max(mes) AS mes FROM (
      SELECT tenant, mes FROM vendas UNION ALL SELECT tenant, mes FROM distratos) x
    GROUP BY tenant
  ), inicio AS (
    SELECT tenant, idempreendimento, min(mes) AS mes FROM (
      SELECT tenant, idempreendimento, mes_entrada AS mes FROM unidades WHERE mes_entrada IS NOT NULL
      UNION ALL SELECT tenant, idempreendimento, mes FROM vendas
      UNION ALL SELECT tenant, idempreendimento, mes FROM distratos) x
    GROUP BY tenant, idempreendimento
  ), serie AS (
    SELECT i.tenant, i.idempreendimento, gs::date AS mes
    FROM inicio i JOIN ultimo l ON l.tenant = i.tenant
    CROSS JOIN LATERAL generate_series(i.mes, l.mes, interval '1 month') gs
  ), entradas AS (
    SELECT tenant, idempreendimento, coalesce(mes_entrada, '-infinity'::date) AS mes, count(*) AS u
    FROM unidades GROUP BY 1, 2, 3
  ), base AS (
    SELECT s.tenant, s.idempreendimento, s.mes,
           coalesce((SELECT sum(e.u) FROM entradas e WHERE e.tenant = s.tenant
                     AND e.idempreendimento = s.idempreendimento AND e.mes < s.mes), 0)::bigint AS entrou_antes,
           coalesce((SELECT sum(e.u) FROM entradas e WHERE e.tenant = s.tenant
                     AND e.idempreendimento = s.idempreendimento AND e.mes = s.mes), 0)::bigint AS entradas,
           coalesce(v.u, 0) AS vu, coalesce(d.u, 0) AS du
    FROM serie s
    LEFT JOIN vendas v ON v.tenant = s.tenant AND v.idempreendimento = s.idempreendimento AND v.mes = s.mes
    LEFT JOIN distratos d ON d.tenant = s.tenant AND d.idempreendimento = s.idempreendimento AND d.mes = s.mes
  ), acum AS (
    SELECT b.*,
           coalesce(sum(b.vu - b.du) OVER (PARTITION BY b.tenant, b.idempreendimento ORDER BY b.mes
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS liquidas_antes
    FROM base b
  )
  SELECT a.tenant, a.idempreendimento, e.nome, a.mes,
         a.entrou_antes - a.liquidas_antes, a.entradas, a.vu, a.du, a.vu - a.du,
         a.entrou_antes - a.liquidas_antes + a.entradas,
         round((a.vu - a.du)::numeric / nullif(a.entrou_antes - a.liquidas_antes + a.entradas, 0), 6)
  FROM acum a
  LEFT JOIN analytics.empreendimentos e ON e.tenant = a.tenant AND e.idempreendimento = a.idempreendimento
  WHERE (p_de IS NULL OR a.mes >= date_trunc('month', p_de)::date) AND (p_ate IS NULL OR a.mes <= p_ate)
  ORDER BY a.tenant, a.idempreendimento, a.mes
$$;

-- Pró-soluto per development and sale month, from the load rule (view cvdw.prosoluto), over the
-- month's vendas (gross); % of VGV = pró-soluto ÷ VGV × 100.
CREATE FUNCTION analytics.prosoluto_analise(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, mes date,
               vendas_unidades bigint, vgv numeric, prosoluto_valor numeric, prosoluto_pct numeric,
               vendas_com_prosoluto bigint)
LANGUAGE sql STABLE AS $$
  SELECT f.tenant, f.idempreendimento, max(e.nome), f.mes, count(*), sum(f.valor),
         coalesce(sum(p.valor_prosoluto), 0),
         round(100 * coalesce(sum(p.valor_prosoluto), 0) / nullif(sum(f.valor), 0), 4),
         count(*) FILTER (WHERE p.valor_prosoluto > 0)
  FROM analytics.fato_vendas f
  LEFT JOIN cvdw.prosoluto p ON p.tenant = f.tenant AND p.idreserva = f.idreserva
  LEFT JOIN analytics.empreendimentos e ON e.tenant = f.tenant AND e.idempreendimento = f.idempreendimento
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_de IS NULL OR f.data >= p_de)
    AND (p_ate IS NULL OR f.data <= p_ate) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
  GROUP BY f.tenant, f.idempreendimento, f.mes
  ORDER BY f.tenant, f.idempreendimento, f.mes
$$;

-- This year against last year, month by month. The year is p_ate's (else today's); p_de is not
-- used (the comparison is always January–December of both years).
CREATE FUNCTION analytics.vendas_ano_atual_vs_passado(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes integer, ano_atual integer, ano_passado integer,
               liquidas_unidades_atual bigint, liquidas_unidades_passado bigint,
               liquidas_valor_atual numeric, liquidas_valor_passado numeric,
               vgv_atual numeric, vgv_passado numeric)
LANGUAGE sql STABLE AS $$
  WITH ano AS (SELECT extract(year FROM coalesce(p_ate, current_date))::int AS a),
  m AS (
    SELECT v.tenant, v.mes, v.liquidas_unidades, v.liquidas_valor, v.vgv
    FROM ano, analytics.vendas_mensais(p_tenant, make_date(ano.a - 1, 1, 1), make_date(ano.a, 12, 31), p_emp) v
  ), t AS (SELECT DISTINCT m.tenant FROM m)
  SELECT t.tenant, k.mes, ano.a, ano.a - 1,
         coalesce(c.liquidas_unidades, 0), coalesce(p.liquidas_unidades, 0),
         coalesce(c.liquidas_valor, 0), coalesce(p.liquidas_valor, 0),
         coalesce(c.vgv, 0), coalesce(p.vgv, 0)
  FROM ano CROSS JOIN t CROSS JOIN generate_series(1, 12) AS k(mes)
  LEFT JOIN m c ON c.tenant = t.tenant AND c.mes = make_date(ano.a, k.mes, 1)
  LEFT JOIN m p ON p.tenant = t.tenant AND p.mes = make_date(ano.a - 1, k.mes, 1)
  ORDER BY t.tenant, k.mes
$$;

-- One line per venda, with its distrato (if any), pró-soluto and commission.
CREATE VIEW analytics.vw_tabela_geral_vendas AS
SELECT f.tenant, f.idreserva, f.data AS data_venda, f.idempreendimento, f.empreendimento, f.etapa,
       f.bloco, f.unidade, f.cliente, f.idcorretor, f.corretor, f.imobiliaria, f.idtime, f.nome_time,
       f.valor AS valor_contrato, f.vgv_tabela, p.valor_prosoluto,
       d.data AS data_distrato,
       CASE WHEN d.idreserva IS NULL THEN 'Ativa' ELSE 'Distratada' END AS situacao,
       c.valor_comissao
FROM analytics.fato_vendas_times f
LEFT JOIN analytics.fato_distratos d ON d.tenant = f.tenant AND d.idreserva = f.idreserva
LEFT JOIN cvdw.prosoluto p ON p.tenant = f.tenant AND p.idreserva = f.idreserva
LEFT JOIN (SELECT tenant, idreserva, sum(valor_comissao) AS valor_comissao FROM analytics.fato_comissoes
           GROUP BY tenant, idreserva) c ON c.tenant = f.tenant AND c.idreserva = f.idreserva;

-- KPIs of a period (one row per tenant).
CREATE FUNCTION analytics.kpis(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, vendas_unidades bigint, vendas_valor numeric, distratos_unidades bigint,
               distratos_valor numeric, liquidas_unidades bigint, liquidas_valor numeric, vgv numeric,
               ticket_medio numeric, comissao_valor numeric, comissao_paga numeric, vso numeric,
               prosoluto_valor numeric, prosoluto_pct numeric)
LANGUAGE sql STABLE AS $$
  WITH m AS (
    SELECT tenant, sum(vendas_unidades)::bigint AS vu, sum(vendas_valor) AS vs,
           sum(distratos_unidades)::bigint AS du, sum(distratos_valor) AS ds
    FROM analytics.vendas_mensais(p_tenant, p_de, p_ate, p_emp) GROUP BY tenant
  ), c AS (
    SELECT tenant, sum(comissao_valor) AS cv, sum(comissao_paga) AS cp
    FROM analytics.comissoes_por_corretor(p_tenant, p_de, p_ate, p_emp) GROUP BY tenant
  ), o AS (
    -- offer of the period = stock at the start of its first month + entries during it
    SELECT tenant, sum(liquidas_unidades) AS liq,
           sum(estoque_inicial) FILTER (WHERE primeiro) + sum(entradas) AS oferta
    FROM (SELECT v.*, v.mes = min(v.mes) OVER (PARTITION BY v.tenant, v.idempreendimento) AS primeiro
          FROM analytics.vso_mensal(p_tenant, p_de, p_ate, p_emp) v) x
    GROUP BY tenant
  ), p AS (
    SELECT tenant, sum(prosoluto_valor) AS pv FROM analytics.prosoluto_analise(p_tenant, p_de, p_ate, p_emp)
    GROUP BY tenant
  )
  SELECT tenant, coalesce(m.vu, 0), coalesce(m.vs, 0), coalesce(m.du, 0), coalesce(m.ds, 0),
         coalesce(m.vu, 0) - coalesce(m.du, 0), coalesce(m.vs, 0) - coalesce(m.ds, 0), coalesce(m.vs, 0),
         round(m.vs / nullif(m.vu, 0), 2), coalesce(c.cv, 0), coalesce(c.cp, 0),
         round(o.liq / nullif(o.oferta, 0), 6), coalesce(p.pv, 0),
         round(100 * coalesce(p.pv, 0) / nullif(m.vs, 0), 4)
  FROM m FULL JOIN c USING (tenant) FULL JOIN o USING (tenant) FULL JOIN p USING (tenant)
  ORDER BY tenant
$$;

CREATE FUNCTION analytics.tabela_geral(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                       p_limit integer, p_offset integer)
RETURNS SETOF analytics.vw_tabela_geral_vendas
LANGUAGE sql STABLE AS $$
  SELECT * FROM analytics.vw_tabela_geral_vendas t
  WHERE (p_tenant IS NULL OR t.tenant = p_tenant) AND (p_de IS NULL OR t.data_venda >= p_de)
    AND (p_ate IS NULL OR t.data_venda <= p_ate) AND (p_emp IS NULL OR t.idempreendimento = p_emp)
  ORDER BY t.data_venda DESC, t.tenant, t.idreserva DESC
  LIMIT p_limit OFFSET p_offset
$$;

-- The views BI tools read: the functions with no filter.
CREATE VIEW analytics.vw_vendas_mensais AS
  SELECT * FROM analytics.vendas_mensais(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_vendas_ano_atual_vs_passado AS
  SELECT * FROM analytics.vendas_ano_atual_vs_passado(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_vendas_por_empreendimento AS
  SELECT * FROM analytics.vendas_por_empreendimento(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_vendas_por_corretor AS
  SELECT * FROM analytics.vendas_por_corretor(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_comissoes_por_corretor AS
  SELECT * FROM analytics.comissoes_por_corretor(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_vendas_por_time AS
  SELECT * FROM analytics.vendas_por_time(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_vso_mensal AS
  SELECT * FROM analytics.vso_mensal(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_prosoluto_analise AS
  SELECT * FROM analytics.prosoluto_analise(NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_kpis AS
  SELECT * FROM analytics.kpis(NULL, NULL, NULL, NULL);

-- ETL health: the last run per tenant and object, and the tenant's freshness.
CREATE VIEW analytics.vw_etl_status AS
SELECT DISTINCT ON (r.tenant, r.object)
       r.tenant, r.object, r.run_id AS ultimo_run, r.mode, r.pages, r.rows, r.rejected,
       r.last_fetched_at, r.last_loaded_at, r.manifest_state,
       (SELECT count(*) FROM etl.rejected_rows x WHERE x.tenant = r.tenant AND x.object = r.object) AS rejeitadas_total,
       (SELECT count(*) FROM etl.failed_pages f
         WHERE f.tenant = r.tenant AND f.object = r.object AND f.resolved_at IS NULL) AS falhas_abertas,
       extract(epoch FROM now() - r.last_fetched_at)::bigint AS idade_segundos
FROM etl.runs r
ORDER BY r.tenant, r.object, r.last_fetched_at DESC, r.run_id DESC;
