-- 0101: analytics.vso_mensal without correlated subqueries: entries and net sales before each
-- month are running sums over the month series (same results, checked by the same tests; the
-- 0100 version re-scanned the entries for every development-month). Same signature, so the
-- views built on it (vw_vso_mensal, kpis) keep working.

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
CREATE OR REPLACE FUNCTION analytics.vso_mensal(p_tenant text, p_de date, p_ate date, p_emp bigint)
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
    SELECT tenant, idempreendimento, mes_entrada AS mes, count(*) AS u
    FROM unidades WHERE mes_entrada IS NOT NULL GROUP BY 1, 2, 3
  ), previas AS (
    -- units with no price row: in the offer before the first month
    SELECT tenant, idempreendimento, count(*) AS u FROM unidades WHERE mes_entrada IS NULL GROUP BY 1, 2
  ), base AS (
    SELECT s.tenant, s.idempreendimento, s.mes, coalesce(p.u, 0) AS previas,
           coalesce(e.u, 0) AS entradas, coalesce(v.u, 0) AS vu, coalesce(d.u, 0) AS du
    FROM serie s
    LEFT JOIN previas p ON p.tenant = s.tenant AND p.idempreendimento = s.idempreendimento
    LEFT JOIN entradas e ON e.tenant = s.tenant AND e.idempreendimento = s.idempreendimento AND e.mes = s.mes
    LEFT JOIN vendas v ON v.tenant = s.tenant AND v.idempreendimento = s.idempreendimento AND v.mes = s.mes
    LEFT JOIN distratos d ON d.tenant = s.tenant AND d.idempreendimento = s.idempreendimento AND d.mes = s.mes
  ), acum AS (
    -- running sums over the months before each month (the series starts at the first entry)
    SELECT b.*,
           (b.previas + coalesce(sum(b.entradas) OVER antes, 0))::bigint AS entrou_antes,
           coalesce(sum(b.vu - b.du) OVER antes, 0)::bigint AS liquidas_antes
    FROM base b
    WINDOW antes AS (PARTITION BY b.tenant, b.idempreendimento ORDER BY b.mes
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
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

