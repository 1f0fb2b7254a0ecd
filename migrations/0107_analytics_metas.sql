-- The cockpit's goals against what was sold (issue #21, item 8): per goal (etl.metas,
-- migrations/0011), the month's net sales of that development, team or broker. Definitions:
-- docs/metrics.md ("Metas × realizado"). The cockpit's seven-parameter signature; the api
-- takes tenant, de and ate here (goal months within the period).

-- The goals, through a view (owner's rights: the api's role reads no etl table but a few
-- ledger columns).
CREATE VIEW analytics.metas AS
SELECT tenant, mes, escopo, id, unidades, valor FROM etl.metas;

-- realizado = vendas − distratos of the goal's month (sales by data_venda, distratos by
-- situacao_data, as everywhere), in units and R$, of the goal's development, team (the sale's
-- team) or broker; progresso = realizado ÷ meta (null for a zero goal).
CREATE FUNCTION analytics.metas_realizado(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                          p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, mes date, escopo text, id bigint, meta_unidades integer,
               meta_valor numeric, realizado_unidades bigint, realizado_valor numeric,
               progresso_unidades numeric, progresso_valor numeric)
LANGUAGE sql STABLE AS $$
  WITH m AS (
    SELECT * FROM analytics.metas g
    WHERE (p_tenant IS NULL OR g.tenant = p_tenant)
      AND (p_de IS NULL OR g.mes >= date_trunc('month', p_de)::date)
      AND (p_ate IS NULL OR g.mes <= p_ate)
  ), ev AS (
    -- one pass over the facts of the goals' tenants and months
    SELECT f.tenant, f.mes, f.idempreendimento, f.idtime, f.idcorretor, 1 AS u, f.valor_contrato AS v
    FROM analytics.fato_vendas f
    WHERE f.tenant IN (SELECT tenant FROM m)
      AND f.mes BETWEEN (SELECT min(mes) FROM m) AND (SELECT max(mes) FROM m)
    UNION ALL
    SELECT d.tenant, d.mes, d.idempreendimento, d.idtime, d.idcorretor, -1, -d.valor
    FROM analytics.fato_distratos d
    WHERE d.tenant IN (SELECT tenant FROM m)
      AND d.mes BETWEEN (SELECT min(mes) FROM m) AND (SELECT max(mes) FROM m)
  ), r AS (
    SELECT tenant, mes, 'empreendimento' AS escopo, idempreendimento AS id,
           sum(u)::bigint AS u, sum(v) AS v
    FROM ev GROUP BY tenant, mes, idempreendimento
    UNION ALL
    SELECT tenant, mes, 'time', idtime, sum(u)::bigint, sum(v) FROM ev GROUP BY tenant, mes, idtime
    UNION ALL
    SELECT tenant, mes, 'corretor', idcorretor, sum(u)::bigint, sum(v) FROM ev
    GROUP BY tenant, mes, idcorretor
  )
  SELECT m.tenant, m.mes, m.escopo, m.id, m.unidades, m.valor,
         coalesce(r.u, 0), coalesce(r.v, 0),
         round(coalesce(r.u, 0) / nullif(m.unidades, 0)::numeric, 4),
         round(coalesce(r.v, 0) / nullif(m.valor, 0), 4)
  FROM m
  LEFT JOIN r ON r.tenant = m.tenant AND r.mes = m.mes AND r.escopo = m.escopo AND r.id = m.id
  ORDER BY m.tenant, m.mes, m.escopo, m.id
$$;

CREATE VIEW analytics.vw_metas_realizado AS
  SELECT * FROM analytics.metas_realizado(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
