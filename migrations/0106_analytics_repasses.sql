-- The cockpit's repasse pipeline (issue #21, item 4): per stage (situação), the items, their
-- value, the median days in the stage, the items stuck over N days, and the median days from
-- the sale to the repasse. Definitions: docs/metrics.md ("Repasses"). The seven-parameter
-- cockpit signature plus N (`dias`, default 30); the api takes tenant, ate, empreendimento and
-- dias here (/repasses carries no broker, team or agency).

-- Each live repasse, as the metric reads it; a view over cvdw, so it runs with the owner's
-- rights (the api's role cannot read cvdw).
CREATE VIEW analytics.repasses_estado AS
SELECT r.tenant, r.idrepasse, r.idempreendimento,
       coalesce(nullif(btrim(r.situacao), ''), 'Sem situação') AS situacao,
       r.idsituacao,
       coalesce(r.valor_financiado, r.valor_previsto, 0) AS valor,
       r.data_alteracao_status::date AS desde,
       r.data_venda::date AS data_venda,
       r.data_recurso_liberado AS data_repasse
FROM cvdw.repasses r
WHERE r.deleted_at IS NULL AND r.ativo IS NOT FALSE;

-- Days are counted to `ate`, else today (the stage is CVDW's current one). An item is in its
-- stage since data_alteracao_status; one without that date, or dated after the reference day,
-- has no age and is never stuck. The repasse happened on data_recurso_liberado (the bank
-- released the money); days from sale to repasse over the items with both dates.
CREATE FUNCTION analytics.repasses_pipeline(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                            p_corretor bigint, p_time bigint, p_imobiliaria bigint,
                                            p_dias integer)
RETURNS TABLE (tenant text, situacao text, idsituacao bigint, itens bigint, valor numeric,
               dias_mediana_na_etapa numeric, parados bigint, valor_parado numeric,
               dias_mediana_venda_repasse numeric)
LANGUAGE sql STABLE AS $$
  WITH r AS (
    SELECT x.*, CASE WHEN x.desde <= coalesce(p_ate, current_date)
                     THEN coalesce(p_ate, current_date) - x.desde END AS idade,
           x.data_repasse - x.data_venda AS ate_repasse
    FROM analytics.repasses_estado x
    WHERE (p_tenant IS NULL OR x.tenant = p_tenant)
      AND (p_emp IS NULL OR x.idempreendimento = p_emp)
  )
  SELECT tenant, situacao, min(idsituacao), count(*), sum(valor),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY idade))::numeric, 1),
         count(*) FILTER (WHERE idade > coalesce(p_dias, 30)),
         coalesce(sum(valor) FILTER (WHERE idade > coalesce(p_dias, 30)), 0),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ate_repasse))::numeric, 1)
  FROM r GROUP BY tenant, situacao
  ORDER BY tenant, min(idsituacao) NULLS LAST, situacao
$$;

CREATE VIEW analytics.vw_repasses AS
  SELECT * FROM analytics.repasses_pipeline(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
