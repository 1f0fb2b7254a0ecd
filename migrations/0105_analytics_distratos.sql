-- The cockpit's distrato analysis (issue #21, item 3): the rate distratos ÷ vendas by motive,
-- development and broker, and the days from sale to distrato. Definitions: docs/metrics.md
-- ("Distratos"). Same seven-parameter signature as 0104; `imobiliaria` means nothing here (the
-- facts carry no agency id) and the api refuses it.

-- Each counted distrato (the rules of analytics.vivo_distratos) with its motive and the
-- cancelled sale's day and team; a view over cvdw, so it runs with the owner's rights.
CREATE VIEW analytics.distratos_motivo AS
SELECT d.tenant, d.idreserva, d.situacao_data::date AS data,
       coalesce(nullif(btrim(d.motivo_distrato), ''), 'Sem motivo') AS motivo,
       coalesce(d.idempreendimento, f.idempreendimento) AS idempreendimento,
       coalesce(d.idcorretor, f.idcorretor) AS idcorretor,
       coalesce(d.corretor, f.corretor) AS corretor,
       f.idtime, f.data_venda
FROM cvdw.distratos d
LEFT JOIN analytics.fato_vendas f ON f.tenant = d.tenant AND f.idreserva = d.idreserva
WHERE d.deleted_at IS NULL AND d.ativo IS NOT FALSE AND d.situacao_data IS NOT NULL;

-- One row per (dimensao, value): dimensao 'motivo' (nome = the motive; vendas = all the
-- period's sales, so the rates of the motives add up to the overall rate), 'empreendimento'
-- and 'corretor' (id = the id; vendas and distratos of that development or broker). Sales are
-- dated by data_venda, distratos by situacao_data, both within de..ate; filters by
-- development, broker and team apply to both. dias_* = days from the sale to the distrato, over
-- the distratos whose sale counts.
CREATE FUNCTION analytics.distratos_analise(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                            p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, dimensao text, id bigint, nome text, vendas bigint, distratos bigint,
               taxa numeric, dias_medio numeric, dias_mediana numeric)
LANGUAGE sql STABLE AS $$
  WITH v AS (
    SELECT f.tenant, f.idempreendimento, f.idcorretor, f.corretor
    FROM analytics.fato_vendas f
    WHERE (p_tenant IS NULL OR f.tenant = p_tenant)
      AND (p_de IS NULL OR f.data_venda >= p_de) AND (p_ate IS NULL OR f.data_venda <= p_ate)
      AND (p_emp IS NULL OR f.idempreendimento = p_emp)
      AND (p_corretor IS NULL OR f.idcorretor = p_corretor)
      AND (p_time IS NULL OR f.idtime = p_time)
  ), d AS (
    SELECT x.*, x.data - x.data_venda AS dias
    FROM analytics.distratos_motivo x
    WHERE (p_tenant IS NULL OR x.tenant = p_tenant)
      AND (p_de IS NULL OR x.data >= p_de) AND (p_ate IS NULL OR x.data <= p_ate)
      AND (p_emp IS NULL OR x.idempreendimento = p_emp)
      AND (p_corretor IS NULL OR x.idcorretor = p_corretor)
      AND (p_time IS NULL OR x.idtime = p_time)
  ), dist AS (
    SELECT tenant, 'motivo' AS dimensao, NULL::bigint AS id, motivo AS nome, count(*) AS n,
           avg(dias) AS medio, percentile_cont(0.5) WITHIN GROUP (ORDER BY dias) AS mediana
    FROM d GROUP BY tenant, motivo
    UNION ALL
    SELECT tenant, 'empreendimento', idempreendimento, NULL, count(*), avg(dias),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY dias)
    FROM d GROUP BY tenant, idempreendimento
    UNION ALL
    SELECT tenant, 'corretor', idcorretor, max(corretor), count(*), avg(dias),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY dias)
    FROM d GROUP BY tenant, idcorretor
  ), vend AS (
    SELECT tenant, 'empreendimento' AS dimensao, idempreendimento AS id, NULL::text AS nome,
           count(*) AS n
    FROM v GROUP BY tenant, idempreendimento
    UNION ALL
    SELECT tenant, 'corretor', idcorretor, max(corretor), count(*) FROM v GROUP BY tenant, idcorretor
  ), total AS (
    SELECT tenant, count(*) AS n FROM v GROUP BY tenant
  ), linhas AS (
    SELECT dist.tenant, dist.dimensao, dist.id, dist.nome, coalesce(total.n, 0) AS vendas,
           dist.n AS distratos, dist.medio, dist.mediana
    FROM dist LEFT JOIN total USING (tenant) WHERE dist.dimensao = 'motivo'
    UNION ALL
    SELECT coalesce(x.tenant, y.tenant), coalesce(x.dimensao, y.dimensao), coalesce(x.id, y.id),
           coalesce(y.nome, x.nome), coalesce(y.n, 0), coalesce(x.n, 0), x.medio, x.mediana
    FROM (SELECT * FROM dist WHERE dimensao <> 'motivo') x
    FULL JOIN vend y ON y.tenant = x.tenant AND y.dimensao = x.dimensao
                    AND y.id IS NOT DISTINCT FROM x.id
  )
  SELECT l.tenant, l.dimensao, l.id,
         CASE WHEN l.dimensao = 'empreendimento' THEN e.nome ELSE l.nome END,
         l.vendas, l.distratos, round(l.distratos::numeric / nullif(l.vendas, 0), 4),
         round(l.medio, 1), round(l.mediana::numeric, 1)
  FROM linhas l
  LEFT JOIN analytics.empreendimentos e
    ON l.dimensao = 'empreendimento' AND e.tenant = l.tenant AND e.idempreendimento = l.id
  ORDER BY l.tenant, l.dimensao, l.distratos DESC, l.id, 4
$$;

CREATE VIEW analytics.vw_distratos AS
  SELECT * FROM analytics.distratos_analise(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
