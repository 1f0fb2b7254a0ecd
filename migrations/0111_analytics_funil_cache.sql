-- 0111: the funnel read from the analytics cache.
--
-- Why: `analytics.funil` (0108) reads every lead, visit and reservation of the tenant live on
-- each request. At 100 000 sales and 200 000 leads that is about two seconds with hash joins,
-- and the planner, misled by the row estimates of the CASE-derived lead ids, may choose nested
-- loops that take minutes. The funnel's items (one row per lead, or per reservation or sale whose
-- lead is unknown, with the day it reached each stage) change only when a page is loaded, like
-- the other facts, so they join the cache of 0102:
--   - `analytics.cache_funil_itens` holds `analytics.vivo_funil_itens` (0108's `funil_itens`
--     view, renamed: still THE definition), sorted and indexed for the lead-entry period;
--   - `analytics.funil_itens` is now the gate every fact has: the cache while it is valid, the
--     live definition otherwise, so `analytics.funil` reads the cache without being redefined
--     (a SQL function resolves the names in its body when it runs);
--   - `analytics.atualizar` refreshes the funnel after the facts, in the same transaction, so
--     the cache is valid for both or neither; the 0102 function stays as
--     `analytics.atualizar_fatos` and is called first;
--   - the leads and their visits join the objects whose loads make the cache stale.

ALTER VIEW analytics.funil_itens RENAME TO vivo_funil_itens;

CREATE UNLOGGED TABLE analytics.cache_funil_itens (LIKE analytics.vivo_funil_itens);
CREATE INDEX ON analytics.cache_funil_itens (tenant, data_entrada);

-- The live fallback; `SET` keeps it from being inlined, so a query on a valid cache does not
-- plan it. Hash joins only: the lead id is a CASE over text, whose estimates mislead the planner
-- into nested loops over every reservation.
CREATE FUNCTION analytics.vivo_funil_itens() RETURNS SETOF analytics.vivo_funil_itens
LANGUAGE sql STABLE SET jit = off SET enable_nestloop = off AS $$
  SELECT * FROM analytics.vivo_funil_itens
$$;

CREATE VIEW analytics.funil_itens AS
  SELECT * FROM analytics.cache_funil_itens WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_funil_itens() WHERE NOT analytics.cache_valida();

CREATE OR REPLACE FUNCTION analytics.objetos_fonte() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['vendas', 'reservas', 'distratos', 'comissoes', 'reservas_condicoes', 'unidades',
               'unidades_precos', 'atendimentos_times', 'atendimentos_times_integrantes',
               'leads', 'leads_visitas']
$$;

ALTER FUNCTION analytics.atualizar(boolean) RENAME TO atualizar_fatos;

-- Refresh the cache if it is stale (0102's contract: one refresh at a time; whether this call
-- rebuilt it). The funnel's items are built from the live definition while the facts just
-- cached are valid, so the reservations' net sales come from the cache.
CREATE FUNCTION analytics.atualizar(p_esperar boolean DEFAULT true) RETURNS boolean
LANGUAGE plpgsql SET jit = off SET enable_nestloop = off SET work_mem = '64MB' AS $$
BEGIN
  IF NOT analytics.atualizar_fatos(p_esperar) THEN
    RETURN false;
  END IF;
  DELETE FROM analytics.cache_funil_itens;
  INSERT INTO analytics.cache_funil_itens
    SELECT * FROM analytics.vivo_funil_itens ORDER BY tenant, data_entrada;
  ANALYZE analytics.cache_funil_itens;
  RETURN true;
END
$$;
