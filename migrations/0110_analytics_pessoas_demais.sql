-- The filters by broker, team and agency on the remaining sales metrics (issue #21, item 7):
-- `analytics.kpis`, `vendas_por_corretor`, `comissoes_por_corretor`, `prosoluto_analise`,
-- `vendas_ano_atual_vs_passado` and `tabela_geral` (with its row count) gain the cockpit's
-- seven-parameter signature (0104), as overloads beside the four-parameter functions of
-- 0102/0103, which stay what the views and the unfiltered requests read; and
-- `distratos_analise` (0105) is replaced to take the agency as well. Definitions:
-- docs/metrics.md ("Filtros da API").
--
-- A sale's people are those of 0109: the broker of fato_vendas, its team, and the agency of
-- analytics.vendas_imobiliaria. A distrato's are its own broker and agency, else the cancelled
-- sale's, and the sale's team. A commission's broker is the one /api/comissoes-corretores lists
-- it under (the reservation's, else the sale's); its team and agency are its sale's, so a
-- commission without a counted sale passes no team or agency filter. The monthly rollups keep
-- no people, so a request with a people filter reads the facts of the period.

-- Whether no people filter is given: then every overload below is its four-parameter function.
CREATE FUNCTION analytics.sem_pessoas(p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT p_corretor IS NULL AND p_time IS NULL AND p_imobiliaria IS NULL $$;

-- Whether a fact (its tenant, day, development, broker, team, agency) passes the seven filters.
-- Inlined with the bound values, so an absent filter folds away and, with it, the lookup that
-- would have fed it.
CREATE FUNCTION analytics.passa(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                p_corretor bigint, p_time bigint, p_imobiliaria bigint,
                                fato_tenant text, fato_data date, fato_emp bigint,
                                fato_corretor bigint, fato_time bigint, fato_imobiliaria bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT (p_tenant IS NULL OR fato_tenant = p_tenant)
     AND (p_de IS NULL OR fato_data >= p_de) AND (p_ate IS NULL OR fato_data <= p_ate)
     AND (p_emp IS NULL OR fato_emp = p_emp) AND (p_corretor IS NULL OR fato_corretor = p_corretor)
     AND (p_time IS NULL OR fato_time = p_time)
     AND (p_imobiliaria IS NULL OR fato_imobiliaria = p_imobiliaria)
$$;

-- The period's counted vendas, distratos and active commissions of these people, as rows of
-- their facts (commissions dated as there).
CREATE FUNCTION analytics.vendas_das_pessoas(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                             p_corretor bigint, p_time bigint,
                                             p_imobiliaria bigint)
RETURNS SETOF analytics.fato_vendas
LANGUAGE sql STABLE AS $$
  SELECT f.* FROM analytics.fato_vendas f
  WHERE analytics.passa(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time, p_imobiliaria,
          f.tenant, f.data_venda, f.idempreendimento, f.idcorretor, f.idtime,
          (SELECT max(i.idimobiliaria) FROM analytics.vendas_imobiliaria i
           WHERE i.tenant = f.tenant AND i.idreserva = f.idreserva))
$$;
CREATE FUNCTION analytics.distratos_das_pessoas(
  p_tenant text, p_de date, p_ate date, p_emp bigint, p_corretor bigint, p_time bigint,
  p_imobiliaria bigint)
RETURNS SETOF analytics.fato_distratos LANGUAGE sql STABLE AS $$
  SELECT d.* FROM analytics.fato_distratos d
  WHERE analytics.passa(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time, p_imobiliaria,
          d.tenant, d.data, d.idempreendimento, d.idcorretor, d.idtime,
          coalesce((SELECT di.idimobiliaria FROM analytics.distratos_imobiliaria di
                    WHERE di.tenant = d.tenant AND di.idreserva = d.idreserva),
                   (SELECT max(vi.idimobiliaria) FROM analytics.vendas_imobiliaria vi
                    WHERE vi.tenant = d.tenant AND vi.idreserva = d.idreserva)))
$$;
CREATE FUNCTION analytics.comissoes_das_pessoas(p_tenant text, p_de date, p_ate date,
                                                p_emp bigint, p_corretor bigint, p_time bigint,
                                                p_imobiliaria bigint)
RETURNS SETOF analytics.fato_comissoes
LANGUAGE sql STABLE AS $$
  SELECT c.* FROM analytics.fato_comissoes c
  WHERE analytics.passa(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time, p_imobiliaria,
          c.tenant, c.data, c.idempreendimento, c.idcorretor,
          (SELECT max(v.idtime) FROM analytics.fato_vendas v
           WHERE v.tenant = c.tenant AND v.idreserva = c.idreserva),
          (SELECT max(i.idimobiliaria) FROM analytics.vendas_imobiliaria i
           WHERE i.tenant = c.tenant AND i.idreserva = c.idreserva))
$$;

-- The offer of a period per tenant, as the KPI card's VSO counts it (0103): the stock on the
-- day `de` (each development's stock at the start of de's month, plus that month's entries,
-- minus its net units sold in that month before `de`) plus the entries of the later months.
-- The offer is the developments' stock, so it takes no people filter: under one, the card's
-- VSO is those people's net units over the whole offer, their share of it.
CREATE FUNCTION analytics.oferta_periodo(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, oferta numeric)
LANGUAGE sql STABLE AS $$
  SELECT s.tenant,
         sum(s.estoque_inicial) FILTER (WHERE s.primeiro) + sum(s.entradas)
           - coalesce(max(vendidas.n), 0)
  FROM (SELECT m.tenant, m.estoque_inicial, m.entradas,
               m.mes = min(m.mes) OVER (PARTITION BY m.tenant, m.idempreendimento) AS primeiro
        FROM analytics.vso_mensal(p_tenant, p_de, p_ate, p_emp) m) s
  LEFT JOIN (
    SELECT e.tenant, sum(e.vu - e.du) AS n
    FROM analytics.periodo_pessoas(p_tenant, date_trunc('month', p_de::timestamp)::date,
                                   p_de - 1, p_emp, NULL, NULL, NULL) e
    WHERE p_de IS NOT NULL AND e.idempreendimento IS NOT NULL
    GROUP BY e.tenant
  ) vendidas ON vendidas.tenant = s.tenant
  GROUP BY s.tenant
$$;

-- KPIs of a period under the people filters (without one, exactly the four-parameter function).
CREATE FUNCTION analytics.kpis(p_tenant text, p_de date, p_ate date, p_emp bigint,
                               p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, vendas_unidades bigint, vendas_valor numeric, distratos_unidades bigint,
               distratos_valor numeric, liquidas_unidades bigint, liquidas_valor numeric, vgv numeric,
               ticket_medio numeric, comissao_valor numeric, comissao_paga numeric, vso numeric,
               prosoluto_valor numeric, prosoluto_pct numeric)
LANGUAGE sql STABLE AS $$
  SELECT * FROM analytics.kpis(p_tenant, p_de, p_ate, p_emp) k
  WHERE analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
  UNION ALL
  SELECT y.tenant, y.vu, y.vs, y.du, y.ds, y.vu - y.du, y.vs - y.ds, y.vs,
         round(y.vs / nullif(y.vu, 0), 2), y.cv, y.cp,
         round((y.vu - y.du)::numeric / nullif(y.oferta, 0), 6), y.pv,
         round(100 * y.pv / nullif(y.vs, 0), 4)
  FROM (
    SELECT x.tenant, sum(x.vu)::bigint AS vu, coalesce(sum(x.vs), 0) AS vs,
           sum(x.du)::bigint AS du, coalesce(sum(x.ds), 0) AS ds, coalesce(sum(x.cv), 0) AS cv,
           coalesce(sum(x.cp), 0) AS cp, coalesce(sum(x.pv), 0) AS pv, max(x.oferta) AS oferta
    FROM (
      SELECT v.tenant, 1 AS vu, v.valor_contrato AS vs, 0 AS du, 0 AS ds, 0 AS cv, 0 AS cp,
             v.valor_prosoluto AS pv, NULL::numeric AS oferta
      FROM analytics.vendas_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                        p_imobiliaria) v
      UNION ALL
      SELECT d.tenant, 0, 0, 1, d.valor, 0, 0, NULL, NULL
      FROM analytics.distratos_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                           p_imobiliaria) d
      UNION ALL
      SELECT c.tenant, 0, 0, 0, 0, c.valor_comissao, c.valor_pago, NULL, NULL
      FROM analytics.comissoes_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                           p_imobiliaria) c
      UNION ALL
      SELECT o.tenant, 0, 0, 0, 0, 0, 0, NULL, o.oferta
      FROM analytics.oferta_periodo(p_tenant, p_de, p_ate, p_emp) o
    ) x
    WHERE NOT analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
    GROUP BY x.tenant
  ) y
  ORDER BY 1
$$;

-- The period's vendas, distratos and commissions of these people per broker, in the units of
-- analytics.periodo_corretor.
CREATE FUNCTION analytics.periodo_corretor_pessoas(p_tenant text, p_de date, p_ate date,
                                                   p_emp bigint, p_corretor bigint,
                                                   p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, idcorretor bigint, nome_v text, vu bigint, vs numeric, nome_d text,
               du bigint, ds numeric, nome_c text, cn bigint, cv numeric, cp numeric)
LANGUAGE sql STABLE AS $$
  SELECT v.tenant, v.idcorretor, v.corretor, 1::bigint, v.valor_contrato, NULL, 0::bigint, 0::numeric,
         NULL, 0::bigint, 0::numeric, 0::numeric
  FROM analytics.vendas_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                    p_imobiliaria) v
  UNION ALL
  SELECT d.tenant, d.idcorretor, NULL, 0, 0, d.corretor, 1, d.valor, NULL, 0, 0, 0
  FROM analytics.distratos_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                       p_imobiliaria) d
  UNION ALL
  SELECT c.tenant, c.idcorretor, NULL, 0, 0, NULL, 0, 0, c.corretor, 1, c.valor_comissao,
         c.valor_pago
  FROM analytics.comissoes_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                       p_imobiliaria) c
$$;

CREATE FUNCTION analytics.vendas_por_corretor(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                              p_corretor bigint, p_time bigint,
                                              p_imobiliaria bigint)
RETURNS TABLE (tenant text, idcorretor bigint, corretor text,
               vendas_unidades bigint, vendas_valor numeric,
               distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric,
               vgv numeric, ticket_medio numeric, comissao_valor numeric, comissao_paga numeric)
LANGUAGE sql STABLE AS $$
  -- with a people filter, from the facts; without, the four-parameter function
  SELECT * FROM (
    SELECT p.tenant, p.idcorretor, coalesce(max(p.nome_v), max(p.nome_d), max(p.nome_c)),
           sum(p.vu)::bigint, sum(p.vs), sum(p.du)::bigint, sum(p.ds), sum(p.vu - p.du)::bigint,
           sum(p.vs - p.ds) AS liquidas_valor, sum(p.vs),
           round(sum(p.vs) / nullif(sum(p.vu), 0), 2), sum(p.cv), sum(p.cp)
    FROM analytics.periodo_corretor_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                            p_imobiliaria) p
    WHERE NOT analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
    GROUP BY p.tenant, p.idcorretor
    UNION ALL
    SELECT * FROM analytics.vendas_por_corretor(p_tenant, p_de, p_ate, p_emp) t
    WHERE analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
  ) y
  ORDER BY y.tenant, y.liquidas_valor DESC, coalesce(y.idcorretor, -1)
$$;

CREATE FUNCTION analytics.comissoes_por_corretor(p_tenant text, p_de date, p_ate date,
                                                 p_emp bigint, p_corretor bigint, p_time bigint,
                                                 p_imobiliaria bigint)
RETURNS TABLE (tenant text, idcorretor bigint, corretor text, comissoes bigint,
               comissao_valor numeric, comissao_paga numeric, comissao_a_pagar numeric)
LANGUAGE sql STABLE AS $$
  SELECT * FROM (
    SELECT * FROM analytics.comissoes_por_corretor(p_tenant, p_de, p_ate, p_emp) t
    WHERE analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
    UNION ALL
    SELECT c.tenant, c.idcorretor, max(c.corretor), count(*), sum(c.valor_comissao),
           sum(c.valor_pago), sum(c.valor_comissao) - sum(c.valor_pago)
    FROM analytics.comissoes_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                         p_imobiliaria) c
    WHERE NOT analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
    GROUP BY c.tenant, c.idcorretor
  ) y
  ORDER BY y.tenant, y.comissao_valor DESC, y.idcorretor
$$;

CREATE FUNCTION analytics.prosoluto_analise(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                            p_corretor bigint, p_time bigint,
                                            p_imobiliaria bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, mes date,
               vendas_unidades bigint, vgv numeric, prosoluto_valor numeric, prosoluto_pct numeric,
               vendas_com_prosoluto bigint)
LANGUAGE sql STABLE AS $$
  SELECT * FROM (
    SELECT * FROM analytics.prosoluto_analise(p_tenant, p_de, p_ate, p_emp) t
    WHERE analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
    UNION ALL
    SELECT v.tenant, v.idempreendimento, max(e.nome), v.mes, count(*), sum(v.valor_contrato),
           coalesce(sum(v.valor_prosoluto), 0),
           round(100 * coalesce(sum(v.valor_prosoluto), 0) / nullif(sum(v.valor_contrato), 0), 4),
           count(*) FILTER (WHERE v.valor_prosoluto > 0)
    FROM analytics.vendas_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                      p_imobiliaria) v
    LEFT JOIN analytics.empreendimentos e
      ON e.tenant = v.tenant AND e.idempreendimento = v.idempreendimento
    WHERE NOT analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria)
    GROUP BY v.tenant, v.idempreendimento, v.mes
  ) y
  ORDER BY y.tenant, y.idempreendimento, y.mes
$$;

-- This year against last year (the rules of 0102) over the sales of these people; without a
-- people filter the seven-parameter vendas_mensais is the four-parameter one, so this is too.
CREATE FUNCTION analytics.vendas_ano_atual_vs_passado(p_tenant text, p_de date, p_ate date,
                                                      p_emp bigint, p_corretor bigint,
                                                      p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, mes integer, ano_atual integer, ano_passado integer,
               liquidas_unidades_atual bigint, liquidas_unidades_passado bigint,
               liquidas_valor_atual numeric, liquidas_valor_passado numeric,
               vgv_atual numeric, vgv_passado numeric)
LANGUAGE sql STABLE AS $$
  WITH anos AS (
    SELECT t.tenant, extract(year FROM coalesce(p_ate, t.ultima_venda, current_date))::int AS atual
    FROM analytics.tenants t WHERE p_tenant IS NULL OR t.tenant = p_tenant
  ), janela AS (
    SELECT make_date(min(atual) - 1, 1, 1) AS de, make_date(max(atual), 12, 31) AS ate FROM anos
  ), meses AS (
    SELECT s.* FROM janela j,
      analytics.vendas_mensais(p_tenant, j.de, j.ate, p_emp, p_corretor, p_time, p_imobiliaria) s
  ), com_dados AS (
    SELECT DISTINCT a.tenant, a.atual FROM anos a
    JOIN meses s ON s.tenant = a.tenant
     AND s.mes >= make_date(a.atual - 1, 1, 1) AND s.mes <= make_date(a.atual, 12, 1)
  )
  SELECT a.tenant, n.mes, a.atual, a.atual - 1,
         coalesce(c.liquidas_unidades, 0), coalesce(p.liquidas_unidades, 0),
         coalesce(c.liquidas_valor, 0), coalesce(p.liquidas_valor, 0),
         coalesce(c.vgv, 0), coalesce(p.vgv, 0)
  FROM com_dados a CROSS JOIN generate_series(1, 12) AS n(mes)
  LEFT JOIN meses c ON c.tenant = a.tenant AND c.mes = make_date(a.atual, n.mes, 1)
  LEFT JOIN meses p ON p.tenant = a.tenant AND p.mes = make_date(a.atual - 1, n.mes, 1)
  ORDER BY a.tenant, n.mes
$$;

-- A page of the general table under the people filters, newest first (without one, exactly
-- the six-parameter function and its index-ordered read of the cache).
CREATE FUNCTION analytics.tabela_geral(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                       p_corretor bigint, p_time bigint, p_imobiliaria bigint,
                                       p_limit integer, p_offset integer)
RETURNS SETOF analytics.vw_tabela_geral_vendas
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria) THEN
    RETURN QUERY SELECT * FROM analytics.tabela_geral(p_tenant, p_de, p_ate, p_emp, p_limit,
                                                      p_offset);
    RETURN;
  END IF;
  RETURN QUERY
    SELECT v.tenant, v.idreserva, v.data_venda, v.idempreendimento, v.empreendimento, v.etapa,
           v.bloco, v.unidade, v.cliente, v.idcorretor, v.corretor, v.imobiliaria, v.idtime,
           v.nome_time, v.valor_contrato, v.vgv_tabela, v.valor_prosoluto, v.data_distrato,
           v.situacao, v.valor_comissao
    FROM analytics.vendas_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                      p_imobiliaria) v
    ORDER BY v.data_venda DESC, v.tenant, v.idreserva DESC
    LIMIT p_limit OFFSET p_offset;
END
$$;

-- The rows of the general table for the filters: without a people filter counted from the
-- monthly rollup (plus the partial months), with one from the period's facts.
CREATE FUNCTION analytics.tabela_geral_total(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                             p_corretor bigint, p_time bigint,
                                             p_imobiliaria bigint)
RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN analytics.sem_pessoas(p_corretor, p_time, p_imobiliaria) THEN
      (SELECT coalesce(sum(p.vu), 0)::bigint FROM analytics.periodo_emp(p_tenant, p_de, p_ate, p_emp) p)
    ELSE
      (SELECT count(*) FROM analytics.vendas_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor,
                                                          p_time, p_imobiliaria))
  END
$$;

-- The distrato analysis of 0105 with the agency filter too (0105 refused it): the same rows,
-- rates and days, with the sales of these people from analytics.vendas_das_pessoas and each
-- distrato's agency as in analytics.distratos_das_pessoas. Each sale and distrato is read once
-- and counted under every dimension it belongs to (a distrato: its motive, development and
-- broker; a sale: its development and broker, and the tenant's total, which every motive's
-- rate divides by).
CREATE OR REPLACE FUNCTION analytics.distratos_analise(p_tenant text, p_de date, p_ate date,
                                                       p_emp bigint, p_corretor bigint,
                                                       p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, dimensao text, id bigint, nome text, vendas bigint, distratos bigint,
               taxa numeric, dias_medio numeric, dias_mediana numeric)
LANGUAGE sql STABLE AS $$
  WITH eventos AS (
    SELECT x.tenant, g.dimensao, g.id, g.nome, 1 AS distrato, x.data - x.data_venda AS dias
    FROM analytics.distratos_motivo x
    LEFT JOIN analytics.distratos_imobiliaria di ON di.tenant = x.tenant AND di.idreserva = x.idreserva
    LEFT JOIN analytics.vendas_imobiliaria vi ON vi.tenant = x.tenant AND vi.idreserva = x.idreserva
    CROSS JOIN LATERAL (VALUES ('motivo', NULL::bigint, x.motivo),
                               ('empreendimento', x.idempreendimento, NULL),
                               ('corretor', x.idcorretor, x.corretor)) AS g (dimensao, id, nome)
    WHERE (p_tenant IS NULL OR x.tenant = p_tenant) AND (p_emp IS NULL OR x.idempreendimento = p_emp)
      AND (p_de IS NULL OR x.data >= p_de) AND (p_ate IS NULL OR x.data <= p_ate)
      AND (p_corretor IS NULL OR x.idcorretor = p_corretor) AND (p_time IS NULL OR x.idtime = p_time)
      AND (p_imobiliaria IS NULL OR coalesce(di.idimobiliaria, vi.idimobiliaria) = p_imobiliaria)
    UNION ALL
    SELECT v.tenant, g.dimensao, g.id, g.nome, 0, NULL
    FROM analytics.vendas_das_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                      p_imobiliaria) v
    CROSS JOIN LATERAL (VALUES ('total', NULL::bigint, NULL::text),
                               ('empreendimento', v.idempreendimento, NULL),
                               ('corretor', v.idcorretor, v.corretor)) AS g (dimensao, id, nome)
  ), grupos AS (
    SELECT e.tenant, e.dimensao, e.id, CASE WHEN e.dimensao = 'motivo' THEN e.nome END AS motivo,
           coalesce(max(e.nome) FILTER (WHERE e.distrato = 0), max(e.nome)) AS nome,
           count(*) FILTER (WHERE e.distrato = 0) AS vendas, sum(e.distrato) AS distratos,
           avg(e.dias) AS medio, percentile_cont(0.5) WITHIN GROUP (ORDER BY e.dias) AS mediana
    FROM eventos e
    GROUP BY 1, 2, 3, 4
  )
  SELECT g.tenant, g.dimensao, g.id,
         CASE WHEN g.dimensao = 'empreendimento' THEN emp.nome ELSE g.nome END,
         CASE WHEN g.dimensao = 'motivo' THEN coalesce(t.vendas, 0) ELSE g.vendas END AS n_vendas,
         g.distratos::bigint,
         round(g.distratos::numeric
               / nullif(CASE WHEN g.dimensao = 'motivo' THEN t.vendas ELSE g.vendas END, 0), 4),
         round(g.medio, 1), round(g.mediana::numeric, 1)
  FROM grupos g
  LEFT JOIN grupos t ON t.tenant = g.tenant AND t.dimensao = 'total'
  LEFT JOIN analytics.empreendimentos emp
    ON g.dimensao = 'empreendimento' AND emp.tenant = g.tenant AND emp.idempreendimento = g.id
  WHERE g.dimensao <> 'total'
  ORDER BY g.tenant, g.dimensao, g.distratos DESC, g.id, 4
$$;
