-- Three metric fixes found by re-computing every metric from the raw pages (docs/metrics.md).
-- Each replaces one object of 0102 with the same signature and columns, so the views, cache
-- tables and functions built on them stay as they are.

-- 1. VSO entry into the offer: the earliest data_vigencia_de of ALL the unit's /unidades/precos
--    rows that still exist at the source, active or not. `ativo = 'N'` on a price row means the
--    price table is no longer in force, not that the unit was never offered under it: skipping
--    such rows would move a unit's entry forward (or, with no other row, to "before the first
--    month") whenever a table is withdrawn, and rewrite the stock of months long closed.
--    Rows deleted at the source (deleted_at) still do not count.
CREATE OR REPLACE VIEW analytics.vivo_entradas AS
WITH precos AS (
  SELECT o.tenant, (o.payload->>'idunidade')::bigint AS idunidade,
         min(CASE WHEN o.payload->>'data_vigencia_de' ~ '^\d{4}-\d{2}-\d{2}'
                   AND left(o.payload->>'data_vigencia_de', 4) <> '0000'
                  THEN left(o.payload->>'data_vigencia_de', 10)::date END) AS vigencia
  FROM cvdw.objects o
  WHERE o.object = 'unidades_precos' AND o.deleted_at IS NULL
    AND o.payload->>'idunidade' ~ '^\d+$'
  GROUP BY 1, 2
)
SELECT u.tenant, u.idempreendimento, date_trunc('month', p.vigencia)::date AS mes, count(*) AS unidades
FROM cvdw.unidades u
LEFT JOIN precos p ON p.tenant = u.tenant AND p.idunidade = u.idunidade
WHERE u.deleted_at IS NULL AND u.situacao_bloqueada IS NOT TRUE AND u.idempreendimento IS NOT NULL
GROUP BY 1, 2, 3;

-- 2. Team source counts are counts: a sale without a team is neither from the reservation nor
--    from the memberships (0, not NULL). The facts branch of periodo_time is what a development
--    filter or a period inside one month reads, so the comparison must not yield NULL there.
CREATE OR REPLACE FUNCTION analytics.periodo_time(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes date, idtime bigint, nome_v text, vu bigint, vs numeric,
               por_reserva bigint, por_integrantes bigint, nome_d text, du bigint, ds numeric)
LANGUAGE sql STABLE AS $$
  SELECT r.tenant, r.mes, r.idtime, r.nome_v, r.vu, r.vs, r.por_reserva, r.por_integrantes,
         r.nome_d, r.du, r.ds
  FROM analytics.mes_time r
  WHERE p_emp IS NULL AND (p_tenant IS NULL OR r.tenant = p_tenant)
    AND r.mes >= analytics.mes_cheio_de(p_de) AND r.mes <= analytics.mes_cheio_ate(p_ate)
  UNION ALL
  SELECT f.tenant, f.mes, f.idtime, f.nome_time, 1, f.valor_contrato,
         (f.origem_time IS NOT DISTINCT FROM 'reserva')::int,
         (f.origem_time IS NOT DISTINCT FROM 'integrantes')::int, NULL, 0, 0
  FROM analytics.fato_vendas f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant)
    AND ((p_emp IS NULL AND analytics.nas_bordas(f.data_venda, p_de, p_ate))
      OR (p_emp IS NOT NULL AND f.idempreendimento = p_emp
          AND (p_de IS NULL OR f.data_venda >= p_de) AND (p_ate IS NULL OR f.data_venda <= p_ate)))
  UNION ALL
  SELECT f.tenant, f.mes, f.idtime, NULL, 0, 0, 0, 0, f.nome_time, 1, f.valor
  FROM analytics.fato_distratos f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant)
    AND ((p_emp IS NULL AND analytics.nas_bordas(f.data, p_de, p_ate))
      OR (p_emp IS NOT NULL AND f.idempreendimento = p_emp
          AND (p_de IS NULL OR f.data >= p_de) AND (p_ate IS NULL OR f.data <= p_ate)))
$$;

-- 3. The KPI card row has one period: the exact dates de..ate. The period VSO's numerator is
--    the card's own vendas líquidas (exact dates, as printed beside it); its offer is the stock
--    on the day `de` plus the units entering the offer during the period. Entries are monthly
--    (the month of data_vigencia_de, counted from its first day), so the stock on the day `de`
--    = stock at the start of de's month + that month's entries − net units sold in that month
--    before `de`; with whole months this is the stock at the start of the first month.
CREATE OR REPLACE FUNCTION analytics.kpis(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, vendas_unidades bigint, vendas_valor numeric, distratos_unidades bigint,
               distratos_valor numeric, liquidas_unidades bigint, liquidas_valor numeric, vgv numeric,
               ticket_medio numeric, comissao_valor numeric, comissao_paga numeric, vso numeric,
               prosoluto_valor numeric, prosoluto_pct numeric)
LANGUAGE sql STABLE AS $$
  WITH v AS (
    SELECT p.tenant, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs, sum(p.pv) AS pv,
           sum(p.du)::bigint AS du, sum(p.ds) AS ds, sum(p.cv) AS cv, sum(p.cp) AS cp
    FROM analytics.periodo_emp(p_tenant, p_de, p_ate, p_emp) p
    GROUP BY p.tenant
  ), o AS (
    -- stock at the start of each development's first month + the entries of the months
    SELECT tenant, sum(estoque_inicial) FILTER (WHERE primeiro) + sum(entradas) AS oferta
    FROM (SELECT x.*, x.mes = min(x.mes) OVER (PARTITION BY x.tenant, x.idempreendimento) AS primeiro
          FROM analytics.vso_mensal(p_tenant, p_de, p_ate, p_emp) x) x
    GROUP BY tenant
  ), antes AS (
    -- net units of developments sold in de's month before de (they left the stock before `de`)
    SELECT a.tenant, sum(a.n) AS n
    FROM (
      SELECT f.tenant, 1 AS n FROM analytics.fato_vendas f
      WHERE p_de IS NOT NULL AND (p_tenant IS NULL OR f.tenant = p_tenant)
        AND f.idempreendimento IS NOT NULL AND (p_emp IS NULL OR f.idempreendimento = p_emp)
        AND f.data_venda >= date_trunc('month', p_de::timestamp)::date AND f.data_venda < p_de
      UNION ALL
      SELECT f.tenant, -1 FROM analytics.fato_distratos f
      WHERE p_de IS NOT NULL AND (p_tenant IS NULL OR f.tenant = p_tenant)
        AND f.idempreendimento IS NOT NULL AND (p_emp IS NULL OR f.idempreendimento = p_emp)
        AND f.data >= date_trunc('month', p_de::timestamp)::date AND f.data < p_de
    ) a
    GROUP BY a.tenant
  )
  SELECT tenant, coalesce(v.vu, 0), coalesce(v.vs, 0), coalesce(v.du, 0), coalesce(v.ds, 0),
         coalesce(v.vu, 0) - coalesce(v.du, 0), coalesce(v.vs, 0) - coalesce(v.ds, 0), coalesce(v.vs, 0),
         round(v.vs / nullif(v.vu, 0), 2), coalesce(v.cv, 0), coalesce(v.cp, 0),
         round((coalesce(v.vu, 0) - coalesce(v.du, 0))::numeric
               / nullif(o.oferta - coalesce(antes.n, 0), 0), 6),
         coalesce(v.pv, 0), round(100 * coalesce(v.pv, 0) / nullif(v.vs, 0), 4)
  FROM v FULL JOIN o USING (tenant) LEFT JOIN antes USING (tenant)
  ORDER BY tenant
$$;
