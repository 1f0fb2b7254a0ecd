-- The cockpit's stock and open-reservation metrics (issue #21, items 2 and 5), with the filters
-- by broker, team and agency (item 7). Definitions in words: docs/metrics.md ("Estoque",
-- "Reservas em andamento").
--
-- Every cockpit function takes the same seven parameters, bound by the api in this order:
--   (tenant, de, ate, idempreendimento, idcorretor, idtime, idimobiliaria)
-- and ignores those that mean nothing to it (the api refuses them: 400), so one statement shape
-- serves them all. Each `analytics.vw_*` view is its function without filters, for BI tools.
-- They read the typed cvdw tables through views (a view reads with its owner's rights, so the
-- api's read-only role, which has no access to cvdw: 0008_roles.sql, can run them), and
-- fato_vendas / fato_distratos, which follow the cache: one pass over the tenant's /unidades or
-- /reservas.

-- Units by development and tipologia as CVDW flags them now. A unit (not deleted, ativo not
-- false, with a development) is in exactly one state, first match wins:
--   bloqueada  situacao_bloqueada;
--   vendida    situacao_vendida (the id of the holding sale) present and not 0;
--   reservada  situacao_reservada (the id of the holding reservation) present and not 0;
--   disponivel situacao_para_venda = 1;
--   outra      none of these (e.g. out of the offer without a block).
-- vgv_estoque = Σ /unidades.valor of the available units (CVDW fills `valor` from the unit's
-- price table in force). liquidas_12m = vendas − distratos of the development's units of that
-- tipologia in the 12 months ending on `ate`, else on the tenant's last sale (the series follows
-- the data, not the clock). meses_de_estoque = disponiveis ÷ (liquidas_12m ÷ 12), null when
-- nothing was sold net.
CREATE VIEW analytics.unidades_estado AS
SELECT u.tenant, u.idempreendimento, u.idunidade,
       coalesce(nullif(btrim(u.tipologia), ''), 'Sem tipologia') AS tipologia,
       u.valor,
       CASE WHEN u.situacao_bloqueada THEN 'bloqueada'
            WHEN coalesce(u.situacao_vendida, 0) <> 0 THEN 'vendida'
            WHEN coalesce(u.situacao_reservada, 0) <> 0 THEN 'reservada'
            WHEN u.situacao_para_venda = 1 THEN 'disponivel'
            ELSE 'outra' END AS estado
FROM cvdw.unidades u
WHERE u.deleted_at IS NULL AND u.ativo IS NOT FALSE AND u.idempreendimento IS NOT NULL;

CREATE FUNCTION analytics.estoque(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                  p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, tipologia text,
               unidades bigint, disponiveis bigint, reservadas bigint, vendidas bigint,
               bloqueadas bigint, outras bigint, vgv_estoque numeric, liquidas_12m bigint,
               meses_de_estoque numeric)
LANGUAGE sql STABLE AS $$
  WITH u AS (
    SELECT * FROM analytics.unidades_estado u
    WHERE (p_tenant IS NULL OR u.tenant = p_tenant)
      AND (p_emp IS NULL OR u.idempreendimento = p_emp)
  ), fim AS (
    SELECT t.tenant, coalesce(p_ate, t.ultima_venda) AS fim
    FROM analytics.tenants t WHERE (p_tenant IS NULL OR t.tenant = p_tenant)
  ), un AS (
    -- one row per unit id (a repeated id keeps its first development and tipologia)
    SELECT DISTINCT ON (tenant, idunidade) tenant, idunidade, idempreendimento, tipologia
    FROM u WHERE idunidade IS NOT NULL ORDER BY tenant, idunidade, idempreendimento, tipologia
  ), liq AS (
    SELECT un.tenant, un.idempreendimento, un.tipologia, sum(x.n)::bigint AS n
    FROM (
      SELECT f.tenant, f.idunidade, f.data_venda AS dia, 1 AS n FROM analytics.fato_vendas f
      UNION ALL
      SELECT d.tenant, d.idunidade, d.data, -1 FROM analytics.fato_distratos d
    ) x
    JOIN fim ON fim.tenant = x.tenant
    JOIN un ON un.tenant = x.tenant AND un.idunidade = x.idunidade
    WHERE x.dia > (fim.fim - interval '12 months')::date AND x.dia <= fim.fim
    GROUP BY 1, 2, 3
  ), g AS (
    SELECT u.tenant, u.idempreendimento, u.tipologia, count(*) AS unidades,
           count(*) FILTER (WHERE estado = 'disponivel') AS disponiveis,
           count(*) FILTER (WHERE estado = 'reservada') AS reservadas,
           count(*) FILTER (WHERE estado = 'vendida') AS vendidas,
           count(*) FILTER (WHERE estado = 'bloqueada') AS bloqueadas,
           count(*) FILTER (WHERE estado = 'outra') AS outras,
           coalesce(sum(valor) FILTER (WHERE estado = 'disponivel'), 0) AS vgv_estoque
    FROM u GROUP BY 1, 2, 3
  )
  SELECT g.tenant, g.idempreendimento, e.nome, g.tipologia, g.unidades, g.disponiveis,
         g.reservadas, g.vendidas, g.bloqueadas, g.outras, g.vgv_estoque,
         coalesce(l.n, 0),
         CASE WHEN coalesce(l.n, 0) > 0 THEN round(g.disponiveis * 12.0 / l.n, 2) END
  FROM g
  LEFT JOIN liq l USING (tenant, idempreendimento, tipologia)
  LEFT JOIN analytics.empreendimentos e USING (tenant, idempreendimento)
  ORDER BY g.tenant, e.nome, g.idempreendimento, g.tipologia
$$;

-- Open reservations by situação and age. Open: a /reservas row (not deleted, ativo not false,
-- with a data_cad on or before the day ages are counted from) that is not a sale (venda not
-- true, no data_venda, no live /vendas row for its idreserva), not cancelled (no
-- data_cancelamento) and has no live /distratos row. Ages are days from data_cad to `ate`, else
-- to today: the state is CVDW's current one, `ate` only moves the day ages are counted from.
-- Bands: 0–7, 8–30, 31–60, 61–90, 91+ days. valor = Σ valor_contrato (0 when absent).
CREATE VIEW analytics.reservas_abertas AS
SELECT r.tenant, r.idreserva, r.data_cad::date AS data_cad,
       coalesce(nullif(btrim(r.situacao), ''), 'Sem situação') AS situacao,
       coalesce(r.valor_contrato, 0) AS valor,
       r.idempreendimento, r.idcorretor, r.idtime, r.idimobiliaria
FROM cvdw.reservas r
WHERE r.deleted_at IS NULL AND r.ativo IS NOT FALSE AND r.data_cad IS NOT NULL
  AND r.venda IS NOT TRUE AND r.data_venda IS NULL AND r.data_cancelamento IS NULL
  AND NOT EXISTS (SELECT 1 FROM cvdw.vendas v
                  WHERE v.tenant = r.tenant AND v.idreserva = r.idreserva
                    AND v.deleted_at IS NULL AND v.ativo IS NOT FALSE)
  AND NOT EXISTS (SELECT 1 FROM cvdw.distratos d
                  WHERE d.tenant = r.tenant AND d.idreserva = r.idreserva
                    AND d.deleted_at IS NULL AND d.ativo IS NOT FALSE);

CREATE FUNCTION analytics.reservas_em_andamento(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                                p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, situacao text, faixa_idade text, reservas bigint, valor numeric,
               idade_media_dias numeric, idade_max_dias integer)
LANGUAGE sql STABLE AS $$
  WITH r AS (
    SELECT r.tenant, r.situacao, coalesce(p_ate, current_date) - r.data_cad AS idade, r.valor
    FROM analytics.reservas_abertas r
    WHERE r.data_cad <= coalesce(p_ate, current_date)
      AND (p_tenant IS NULL OR r.tenant = p_tenant)
      AND (p_emp IS NULL OR r.idempreendimento = p_emp)
      AND (p_corretor IS NULL OR r.idcorretor = p_corretor)
      AND (p_time IS NULL OR r.idtime = p_time)
      AND (p_imobiliaria IS NULL OR r.idimobiliaria = p_imobiliaria)
  ), b AS (
    SELECT r.*, CASE WHEN idade <= 7 THEN '0-7' WHEN idade <= 30 THEN '8-30'
                     WHEN idade <= 60 THEN '31-60' WHEN idade <= 90 THEN '61-90'
                     ELSE '91+' END AS faixa,
           CASE WHEN idade <= 7 THEN 1 WHEN idade <= 30 THEN 2 WHEN idade <= 60 THEN 3
                WHEN idade <= 90 THEN 4 ELSE 5 END AS ordem
    FROM r
  )
  SELECT tenant, situacao, faixa, count(*), sum(valor), round(avg(idade), 1), max(idade)
  FROM b GROUP BY tenant, situacao, faixa, ordem
  ORDER BY tenant, situacao, ordem
$$;

CREATE VIEW analytics.vw_estoque AS
  SELECT * FROM analytics.estoque(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE VIEW analytics.vw_reservas_em_andamento AS
  SELECT * FROM analytics.reservas_em_andamento(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
