-- 0102: the analytics schema rebuilt for speed at 100k+ sales, same metrics, same view names.
--
-- Why: the 0100/0101 metric functions recomputed every fact (the sale's team, names, pró-soluto,
-- the whole unit stock for VSO) from the loader's tables on every request. At 100k sales that
-- was seconds per endpoint (/api/kpis ~24 s), and it grows with the history, not the period.
--
-- Design (docs/metrics.md, "Como é calculado"):
--   1. `analytics.vivo_*` views: THE definitions of the facts, set-based (no per-row
--      subqueries), read straight from the `cvdw` tables. Always current, costly.
--   2. `analytics.cache_*` tables: those same views materialised by `analytics.atualizar()`,
--      with the indexes the API's filters need (tenant + date, tenant + development), plus the
--      full VSO month series per development (so a request never rebuilds the unit stock) and
--      monthly rollups per development, broker and team: a period is read as its whole months
--      from the rollups and its partial first/last months from the facts, so the cost of a
--      request follows the number of months and developments, not of sales.
--   3. `analytics.fato_*` (and `empreendimentos`, `vso_serie`, `tenants`): what every metric
--      reads. Each is `cache WHERE cache is valid UNION ALL vivo WHERE NOT valid`. The test is a
--      one-time filter, so exactly one branch runs, and the live branch is a non-inlined
--      function, so a request on a valid cache does not even plan it. A stale cache therefore
--      never shows a wrong number: it only makes that query slow until the next refresh.
--   4. Validity needs no loader hook. Every change the loader makes to `cvdw` happens in a
--      transaction that also upserts its page in `etl.pages` (bumping `loads`, `loaded_at =
--      now()`) or applies a manifest (`etl.manifests.applied_at = now()`). `atualizar()` first
--      records a signature of the ledger, then reads the data: count(*) and Σ loads of the
--      pages, and count(*) of the applied manifests, whose timestamp is at or after
--      `janela_desde` = refresh time − 30 min. Any page or manifest committed after that
--      signature changes it: a new row adds to the count, a re-load adds to Σ loads, whatever
--      the order in which deliveries commit. The 30 min window (instead of "max(loaded_at)
--      grew") is what makes it order-proof: `loaded_at` is the load transaction's START time,
--      so a load that began before the refresh but committed after it has an older
--      `loaded_at` than the newest one the refresh saw. The assumption is that no page
--      transaction lasts 30 minutes (a Lambda lasts at most 15).
--   5. Who refreshes: the api (shared::api), before answering, when it finds the cache stale
--      (checked at most every ~2 s per process, one refresh at a time across
--      processes via an advisory lock); anyone else may call `SELECT analytics.atualizar()`,
--      e.g. after a load.
--
-- The metric functions keep their 0100 signatures and columns, and every `vw_*` view is still
-- its function with no filter, so BI tools and the API read one definition.

DROP SCHEMA analytics CASCADE;
CREATE SCHEMA analytics;

-- The ledger lookups the validity signature makes (see 4.).
CREATE INDEX IF NOT EXISTS analytics_pages_loaded_at ON etl.pages (loaded_at) INCLUDE (object, loads);
CREATE INDEX IF NOT EXISTS analytics_manifests_applied_at ON etl.manifests (applied_at)
  INCLUDE (object) WHERE applied_at IS NOT NULL;

-- The objects the analytics read; pages of other objects do not stale the cache.
CREATE FUNCTION analytics.objetos_fonte() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['vendas', 'reservas', 'distratos', 'comissoes', 'reservas_condicoes', 'unidades',
               'unidades_precos', 'atendimentos_times', 'atendimentos_times_integrantes']
$$;

-- ---------------------------------------------------------------------------------------------
-- 1. The definitions (live). Same rules as 0100 (docs/metrics.md):
--   venda     a /vendas row that is not deleted, not inactive (ativo IS NOT FALSE) and has a
--             data_venda; dated by data_venda, valued by valor_contrato (else the reservation's).
--   distrato  a /distratos row that is not deleted/inactive and has a situacao_data; dated by
--             situacao_data, valued by its valor_contrato (else the sale's).
--   time      /reservas.idtime/nome_time of the sale's reservation; when absent, the broker's
--             membership in /atendimentos/times/integrantes (idusuario = idcorretor), active,
--             not deleted, started on or before the sale (latest data_cad; undated = oldest;
--             ties: lowest idtime); else no team.

-- Team names: the team object's name, else the name members carry.
CREATE VIEW analytics.vivo_times AS
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

-- One row per venda, with everything the metrics and the general table show.
CREATE VIEW analytics.vivo_vendas AS
WITH v AS (
  SELECT v.tenant,
         v.idreserva,
         v.data_venda,
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
         r.idtime AS idtime_reserva,
         r.nome_time AS nome_time_reserva
  FROM cvdw.vendas v
  LEFT JOIN cvdw.reservas r
    ON r.tenant = v.tenant AND r.idreserva = v.idreserva AND r.deleted_at IS NULL
  WHERE v.deleted_at IS NULL AND v.ativo IS NOT FALSE AND v.data_venda IS NOT NULL
), membro AS (
  -- the fallback team, for the sales whose reservation has none (one pass, no per-row lookup)
  SELECT DISTINCT ON (v.tenant, v.idreserva) v.tenant, v.idreserva, i.idtime
  FROM v
  JOIN cvdw.atendimentos_times_integrantes i
    ON i.tenant = v.tenant AND i.idusuario = v.idcorretor
  WHERE v.idtime_reserva IS NULL
    AND i.deleted_at IS NULL AND i.ativo IS NOT FALSE AND i.idtime IS NOT NULL
    AND (i.data_cad IS NULL OR i.data_cad <= v.data_venda)
  ORDER BY v.tenant, v.idreserva, i.data_cad DESC NULLS LAST, i.idtime
), com AS (
  SELECT c.tenant, c.idreserva, sum(coalesce(c.valor_comissao, 0)) AS valor_comissao
  FROM cvdw.comissoes c
  WHERE c.deleted_at IS NULL AND c.ativo IS NOT FALSE
  GROUP BY c.tenant, c.idreserva
), d AS (
  SELECT d.tenant, d.idreserva, min(d.situacao_data)::date AS data
  FROM cvdw.distratos d
  WHERE d.deleted_at IS NULL AND d.ativo IS NOT FALSE AND d.situacao_data IS NOT NULL
  GROUP BY d.tenant, d.idreserva
)
SELECT v.tenant,
       v.idreserva,
       v.data_venda::date AS data_venda,
       v.idempreendimento,
       v.empreendimento,
       v.etapa,
       v.bloco,
       v.unidade,
       v.cliente,
       v.idcorretor,
       v.corretor,
       v.imobiliaria,
       coalesce(v.idtime_reserva, m.idtime) AS idtime,
       coalesce(CASE WHEN v.idtime_reserva IS NOT NULL THEN v.nome_time_reserva END, t.nome,
                'Time ' || coalesce(v.idtime_reserva, m.idtime)) AS nome_time,
       v.valor AS valor_contrato,
       v.vgv_tabela,
       p.valor_prosoluto,
       d.data AS data_distrato,
       CASE WHEN d.idreserva IS NULL THEN 'Ativa' ELSE 'Distratada' END AS situacao,
       com.valor_comissao,
       -- columns the metrics use that the general table does not show
       date_trunc('month', v.data_venda)::date AS mes,
       v.idunidade,
       CASE WHEN v.idtime_reserva IS NOT NULL THEN 'reserva'
            WHEN m.idtime IS NOT NULL THEN 'integrantes' END AS origem_time
FROM v
LEFT JOIN membro m ON m.tenant = v.tenant AND m.idreserva = v.idreserva
LEFT JOIN analytics.vivo_times t ON t.tenant = v.tenant AND t.idtime = coalesce(v.idtime_reserva, m.idtime)
LEFT JOIN cvdw.prosoluto p ON p.tenant = v.tenant AND p.idreserva = v.idreserva
LEFT JOIN d ON d.tenant = v.tenant AND d.idreserva = v.idreserva
LEFT JOIN com ON com.tenant = v.tenant AND com.idreserva = v.idreserva;

-- Commissions: /comissoes has broker and development names only, so ids come from the
-- reservation (and the sale). Dated by the commission's data_cad (else the sale date).
CREATE VIEW analytics.vivo_comissoes AS
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

-- Development names: the units' name first, else the sales' (the greatest, so it is stable).
CREATE VIEW analytics.vivo_empreendimentos AS
SELECT coalesce(u.tenant, v.tenant) AS tenant,
       coalesce(u.idempreendimento, v.idempreendimento) AS idempreendimento,
       coalesce(u.nome, v.nome) AS nome
FROM (SELECT tenant, idempreendimento, max(nome_empreendimento) AS nome FROM cvdw.unidades
      WHERE deleted_at IS NULL AND idempreendimento IS NOT NULL GROUP BY 1, 2) u
FULL JOIN (SELECT tenant, idempreendimento, max(empreendimento) AS nome FROM cvdw.vendas
           WHERE deleted_at IS NULL AND idempreendimento IS NOT NULL GROUP BY 1, 2) v
  ON v.tenant = u.tenant AND v.idempreendimento = u.idempreendimento;

-- VSO stock entries: per development and month, the (not blocked) units that entered the offer
-- (the earliest data_vigencia_de of the unit's /unidades/precos rows); mes NULL = units with no
-- price row, in the offer before the first month.
CREATE VIEW analytics.vivo_entradas AS
WITH precos AS (
  SELECT o.tenant, (o.payload->>'idunidade')::bigint AS idunidade,
         min(CASE WHEN o.payload->>'data_vigencia_de' ~ '^\d{4}-\d{2}-\d{2}'
                   AND left(o.payload->>'data_vigencia_de', 4) <> '0000'
                  THEN left(o.payload->>'data_vigencia_de', 10)::date END) AS vigencia
  FROM cvdw.objects o
  WHERE o.object = 'unidades_precos' AND o.deleted_at IS NULL
    AND o.payload->>'idunidade' ~ '^\d+$' AND o.payload->>'ativo' IS DISTINCT FROM 'N'
  GROUP BY 1, 2
)
SELECT u.tenant, u.idempreendimento, date_trunc('month', p.vigencia)::date AS mes, count(*) AS unidades
FROM cvdw.unidades u
LEFT JOIN precos p ON p.tenant = u.tenant AND p.idunidade = u.idunidade
WHERE u.deleted_at IS NULL AND u.situacao_bloqueada IS NOT TRUE AND u.idempreendimento IS NOT NULL
GROUP BY 1, 2, 3;

-- Tenants with sales, and their newest sale date ("ano atual" follows the data).
CREATE VIEW analytics.vivo_tenants AS
SELECT tenant, max(data_venda) AS ultima_venda FROM analytics.vivo_vendas GROUP BY tenant;

-- ---------------------------------------------------------------------------------------------
-- 2. The cache: the live views materialised, plus the VSO series.

CREATE UNLOGGED TABLE analytics.cache_vendas (LIKE analytics.vivo_vendas);
CREATE INDEX ON analytics.cache_vendas (tenant, data_venda, idreserva);
CREATE INDEX ON analytics.cache_vendas (tenant, idempreendimento, data_venda);
CREATE UNLOGGED TABLE analytics.cache_comissoes (LIKE analytics.vivo_comissoes);
CREATE INDEX ON analytics.cache_comissoes (tenant, data);
CREATE UNLOGGED TABLE analytics.cache_empreendimentos (LIKE analytics.vivo_empreendimentos);
CREATE INDEX ON analytics.cache_empreendimentos (tenant, idempreendimento);
CREATE UNLOGGED TABLE analytics.cache_tenants (LIKE analytics.vivo_tenants);
CREATE UNLOGGED TABLE analytics.cache_entradas (LIKE analytics.vivo_entradas);

-- The state of the cache: the ledger signature it was built from (see 4. above).
CREATE UNLOGGED TABLE analytics.cache_estado (
  unica boolean PRIMARY KEY DEFAULT true CHECK (unica),
  janela_desde timestamptz NOT NULL,
  assinatura text NOT NULL,
  atualizado_em timestamptz NOT NULL,
  duracao_ms integer NOT NULL
);

-- The ledger signature from `p_desde` on: pages (count, Σ loads) and applied manifests of the
-- objects the analytics read. PL/pgSQL rather than SQL: its plans are cached per session, and a
-- metric query evaluates the validity test once per fact it reads (about ten for kpis).
CREATE FUNCTION analytics.assinatura_fonte(p_desde timestamptz) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  paginas text;
  manifestos bigint;
BEGIN
  SELECT count(*) || '/' || coalesce(sum(p.loads), 0) INTO paginas FROM etl.pages p
   WHERE p.loaded_at >= p_desde AND p.object = ANY (analytics.objetos_fonte());
  SELECT count(*) INTO manifestos FROM etl.manifests m
   WHERE m.applied_at >= p_desde AND m.object = ANY (analytics.objetos_fonte());
  RETURN paginas || '/' || manifestos;
END
$$;

-- Whether the cache holds exactly what the live views would return now.
CREATE FUNCTION analytics.cache_valida() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
  e record;
BEGIN
  SELECT janela_desde, assinatura INTO e FROM analytics.cache_estado;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  RETURN e.assinatura = analytics.assinatura_fonte(e.janela_desde);
END
$$;

-- The live fallbacks. `SET` keeps them from being inlined, so a query on a valid cache does not
-- plan them (and JIT, which cost seconds of compilation on these plans, stays off).
CREATE FUNCTION analytics.vivo_vendas() RETURNS SETOF analytics.vivo_vendas
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_vendas $$;
CREATE FUNCTION analytics.vivo_comissoes() RETURNS SETOF analytics.vivo_comissoes
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_comissoes $$;
CREATE FUNCTION analytics.vivo_empreendimentos() RETURNS SETOF analytics.vivo_empreendimentos
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_empreendimentos $$;
CREATE FUNCTION analytics.vivo_tenants() RETURNS SETOF analytics.vivo_tenants
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_tenants $$;
CREATE FUNCTION analytics.vivo_entradas() RETURNS SETOF analytics.vivo_entradas
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_entradas $$;

-- ---------------------------------------------------------------------------------------------
-- 3. What the metrics read: the cache when valid, else the live definition.

CREATE VIEW analytics.fato_vendas AS
  SELECT * FROM analytics.cache_vendas WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_vendas() WHERE NOT analytics.cache_valida();
CREATE VIEW analytics.fato_comissoes AS
  SELECT * FROM analytics.cache_comissoes WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_comissoes() WHERE NOT analytics.cache_valida();
CREATE VIEW analytics.empreendimentos AS
  SELECT * FROM analytics.cache_empreendimentos WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_empreendimentos() WHERE NOT analytics.cache_valida();
CREATE VIEW analytics.tenants AS
  SELECT * FROM analytics.cache_tenants WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_tenants() WHERE NOT analytics.cache_valida();
CREATE VIEW analytics.entradas AS
  SELECT * FROM analytics.cache_entradas WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_entradas() WHERE NOT analytics.cache_valida();

-- One row per distrato; what it lacks comes from the cancelled sale (through fato_vendas: the
-- cached sales when valid, which is what lets the refresh build distratos from the new cache).
CREATE VIEW analytics.vivo_distratos AS
SELECT d.tenant,
       d.idreserva,
       d.situacao_data::date AS data,
       date_trunc('month', d.situacao_data)::date AS mes,
       coalesce(d.idempreendimento, f.idempreendimento) AS idempreendimento,
       coalesce(d.empreendimento, f.empreendimento) AS empreendimento,
       coalesce(d.idunidade, f.idunidade) AS idunidade,
       coalesce(d.idcorretor, f.idcorretor) AS idcorretor,
       coalesce(d.corretor, f.corretor) AS corretor,
       coalesce(d.valor_contrato, f.valor_contrato, 0) AS valor,
       f.idtime,
       f.nome_time,
       f.data_venda
FROM cvdw.distratos d
LEFT JOIN analytics.fato_vendas f ON f.tenant = d.tenant AND f.idreserva = d.idreserva
WHERE d.deleted_at IS NULL AND d.ativo IS NOT FALSE AND d.situacao_data IS NOT NULL;

CREATE UNLOGGED TABLE analytics.cache_distratos (LIKE analytics.vivo_distratos);
CREATE INDEX ON analytics.cache_distratos (tenant, data);
CREATE FUNCTION analytics.vivo_distratos() RETURNS SETOF analytics.vivo_distratos
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_distratos $$;
CREATE VIEW analytics.fato_distratos AS
  SELECT * FROM analytics.cache_distratos WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_distratos() WHERE NOT analytics.cache_valida();

-- VSO (venda sobre oferta) series per development and month, whole history:
--   vso = (vendas − distratos in the month, units) ÷ (estoque_inicial + entradas)
--   entradas(m)        units that entered the offer in month m (analytics.entradas);
--   estoque_inicial(m) units that entered before m (units without a price row count as always
--                      there), minus net units sold before m.
--   Units blocked now (/unidades.situacao_bloqueada) are out of the offer. A distrato returns its
--   unit to stock because it subtracts from the net sales that consumed the stock.
-- The series runs from the development's first entry or sale month to the tenant's last
-- sale/distrato month. It is built from monthly counts (hundreds of rows per development), so
-- even the live path costs one pass over the facts.
CREATE VIEW analytics.vso_serie AS
WITH vendas AS (
  SELECT tenant, idempreendimento, mes, count(*) AS u FROM analytics.fato_vendas
  WHERE idempreendimento IS NOT NULL GROUP BY 1, 2, 3
), distratos AS (
  SELECT tenant, idempreendimento, mes, count(*) AS u FROM analytics.fato_distratos
  WHERE idempreendimento IS NOT NULL GROUP BY 1, 2, 3
), entradas AS (
  SELECT tenant, idempreendimento, mes, unidades AS u FROM analytics.entradas
), ultimo AS (
  SELECT tenant, max(mes) AS mes FROM (
    SELECT tenant, mes FROM vendas UNION ALL SELECT tenant, mes FROM distratos) x
  GROUP BY tenant
), inicio AS (
  SELECT tenant, idempreendimento, min(mes) AS mes FROM (
    SELECT tenant, idempreendimento, mes FROM entradas WHERE mes IS NOT NULL
    UNION ALL SELECT tenant, idempreendimento, mes FROM vendas
    UNION ALL SELECT tenant, idempreendimento, mes FROM distratos) x
  GROUP BY tenant, idempreendimento
), serie AS (
  SELECT i.tenant, i.idempreendimento, gs::date AS mes
  FROM inicio i JOIN ultimo l ON l.tenant = i.tenant
  CROSS JOIN LATERAL generate_series(i.mes, l.mes, interval '1 month') gs
), base AS (
  SELECT s.tenant, s.idempreendimento, s.mes, coalesce(p.u, 0) AS previas,
         coalesce(e.u, 0) AS entradas, coalesce(v.u, 0) AS vu, coalesce(d.u, 0) AS du
  FROM serie s
  LEFT JOIN entradas p ON p.tenant = s.tenant AND p.idempreendimento = s.idempreendimento AND p.mes IS NULL
  LEFT JOIN entradas e ON e.tenant = s.tenant AND e.idempreendimento = s.idempreendimento AND e.mes = s.mes
  LEFT JOIN vendas v ON v.tenant = s.tenant AND v.idempreendimento = s.idempreendimento AND v.mes = s.mes
  LEFT JOIN distratos d ON d.tenant = s.tenant AND d.idempreendimento = s.idempreendimento AND d.mes = s.mes
), acum AS (
  SELECT b.*,
         (b.previas + coalesce(sum(b.entradas) OVER antes, 0))::bigint AS entrou_antes,
         coalesce(sum(b.vu - b.du) OVER antes, 0)::bigint AS liquidas_antes
  FROM base b
  WINDOW antes AS (PARTITION BY b.tenant, b.idempreendimento ORDER BY b.mes
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT a.tenant, a.idempreendimento, a.mes,
       a.entrou_antes - a.liquidas_antes AS estoque_inicial,
       a.entradas::bigint AS entradas, a.vu::bigint AS vendas_unidades,
       a.du::bigint AS distratos_unidades
FROM acum a;

CREATE UNLOGGED TABLE analytics.cache_vso (LIKE analytics.vso_serie);
CREATE INDEX ON analytics.cache_vso (tenant, idempreendimento, mes);
CREATE FUNCTION analytics.vivo_vso() RETURNS SETOF analytics.vso_serie
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vso_serie $$;
CREATE VIEW analytics.vso AS
  SELECT * FROM analytics.cache_vso WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_vso() WHERE NOT analytics.cache_valida();

-- Monthly rollups of the facts, so that a request over whole months (the dashboard opens on the
-- whole history) reads a few thousand rows instead of every sale. Months are each fact's own
-- (sale, distrato, commission date). Per development: everything; per broker and per team:
-- without the development (with an `empreendimento` filter the metrics read the facts, which
-- that filter already narrows).
CREATE VIEW analytics.vivo_mes_emp AS
SELECT tenant, mes, idempreendimento,
       sum(vu)::bigint AS vu, sum(vs) AS vs, sum(pv) AS pv, sum(pn)::bigint AS pn,
       sum(du)::bigint AS du, sum(ds) AS ds, sum(cv) AS cv, sum(cp) AS cp
FROM (
  SELECT tenant, mes, idempreendimento, count(*) AS vu, sum(valor_contrato) AS vs,
         sum(valor_prosoluto) AS pv, count(*) FILTER (WHERE valor_prosoluto > 0) AS pn,
         0 AS du, 0 AS ds, 0 AS cv, 0 AS cp
  FROM analytics.fato_vendas GROUP BY 1, 2, 3
  UNION ALL
  SELECT tenant, mes, idempreendimento, 0, 0, NULL, 0, count(*), sum(valor), 0, 0
  FROM analytics.fato_distratos GROUP BY 1, 2, 3
  UNION ALL
  SELECT tenant, date_trunc('month', data::timestamp)::date, idempreendimento, 0, 0, NULL, 0, 0, 0,
         sum(valor_comissao), sum(valor_pago)
  FROM analytics.fato_comissoes GROUP BY 1, 2, 3
) x
GROUP BY 1, 2, 3;

CREATE VIEW analytics.vivo_mes_corretor AS
SELECT tenant, mes, idcorretor,
       max(nome_v) AS nome_v, sum(vu)::bigint AS vu, sum(vs) AS vs,
       max(nome_d) AS nome_d, sum(du)::bigint AS du, sum(ds) AS ds,
       max(nome_c) AS nome_c, sum(cn)::bigint AS cn, sum(cv) AS cv, sum(cp) AS cp
FROM (
  SELECT tenant, mes, idcorretor, max(corretor) AS nome_v, count(*) AS vu, sum(valor_contrato) AS vs,
         NULL::text AS nome_d, 0 AS du, 0 AS ds, NULL::text AS nome_c, 0 AS cn, 0 AS cv, 0 AS cp
  FROM analytics.fato_vendas GROUP BY 1, 2, 3
  UNION ALL
  SELECT tenant, mes, idcorretor, NULL, 0, 0, max(corretor), count(*), sum(valor), NULL, 0, 0, 0
  FROM analytics.fato_distratos GROUP BY 1, 2, 3
  UNION ALL
  SELECT tenant, date_trunc('month', data::timestamp)::date, idcorretor, NULL, 0, 0, NULL, 0, 0,
         max(corretor), count(*), sum(valor_comissao), sum(valor_pago)
  FROM analytics.fato_comissoes GROUP BY 1, 2, 3
) x
GROUP BY 1, 2, 3;

CREATE VIEW analytics.vivo_mes_time AS
SELECT tenant, mes, idtime,
       max(nome_v) AS nome_v, sum(vu)::bigint AS vu, sum(vs) AS vs,
       sum(por_reserva)::bigint AS por_reserva, sum(por_integrantes)::bigint AS por_integrantes,
       max(nome_d) AS nome_d, sum(du)::bigint AS du, sum(ds) AS ds
FROM (
  SELECT tenant, mes, idtime, max(nome_time) AS nome_v, count(*) AS vu, sum(valor_contrato) AS vs,
         count(*) FILTER (WHERE origem_time = 'reserva') AS por_reserva,
         count(*) FILTER (WHERE origem_time = 'integrantes') AS por_integrantes,
         NULL::text AS nome_d, 0 AS du, 0 AS ds
  FROM analytics.fato_vendas GROUP BY 1, 2, 3
  UNION ALL
  SELECT tenant, mes, idtime, NULL, 0, 0, 0, 0, max(nome_time), count(*), sum(valor)
  FROM analytics.fato_distratos GROUP BY 1, 2, 3
) x
GROUP BY 1, 2, 3;

CREATE UNLOGGED TABLE analytics.cache_mes_emp (LIKE analytics.vivo_mes_emp);
CREATE INDEX ON analytics.cache_mes_emp (tenant, mes);
CREATE UNLOGGED TABLE analytics.cache_mes_corretor (LIKE analytics.vivo_mes_corretor);
CREATE INDEX ON analytics.cache_mes_corretor (tenant, mes);
CREATE UNLOGGED TABLE analytics.cache_mes_time (LIKE analytics.vivo_mes_time);
CREATE INDEX ON analytics.cache_mes_time (tenant, mes);
CREATE FUNCTION analytics.vivo_mes_emp() RETURNS SETOF analytics.vivo_mes_emp
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_mes_emp $$;
CREATE FUNCTION analytics.vivo_mes_corretor() RETURNS SETOF analytics.vivo_mes_corretor
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_mes_corretor $$;
CREATE FUNCTION analytics.vivo_mes_time() RETURNS SETOF analytics.vivo_mes_time
LANGUAGE sql STABLE SET jit = off AS $$ SELECT * FROM analytics.vivo_mes_time $$;
CREATE VIEW analytics.mes_emp AS
  SELECT * FROM analytics.cache_mes_emp WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_mes_emp() WHERE NOT analytics.cache_valida();
CREATE VIEW analytics.mes_corretor AS
  SELECT * FROM analytics.cache_mes_corretor WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_mes_corretor() WHERE NOT analytics.cache_valida();
CREATE VIEW analytics.mes_time AS
  SELECT * FROM analytics.cache_mes_time WHERE analytics.cache_valida()
  UNION ALL
  SELECT * FROM analytics.vivo_mes_time() WHERE NOT analytics.cache_valida();

-- A period [p_de, p_ate] (inclusive dates, NULL = open) is read as its whole months, from the
-- rollups, plus its partial first and last months ("bordas"), from the facts:
--   mes_cheio_de(p_de)   first day of the first month wholly inside the period;
--   mes_cheio_ate(p_ate) first day of the last month wholly inside the period;
--   nas_bordas(d, ...)   d is in the period but not in a whole month of it: before
--                        mes_cheio_de, or from the month after mes_cheio_ate (never twice).
-- IMMUTABLE and inlined: with the API's bound values they fold to constants, so the rollups are
-- filtered by month and the facts by two index ranges at most.
CREATE FUNCTION analytics.mes_cheio_de(p_de date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_de IS NULL THEN '-infinity'::date
              WHEN extract(day FROM p_de) = 1 THEN p_de
              ELSE (date_trunc('month', p_de::timestamp) + interval '1 month')::date END
$$;
CREATE FUNCTION analytics.mes_cheio_ate(p_ate date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_ate IS NULL THEN 'infinity'::date
              WHEN extract(day FROM p_ate + 1) = 1 THEN date_trunc('month', p_ate::timestamp)::date
              ELSE (date_trunc('month', p_ate::timestamp) - interval '1 month')::date END
$$;
CREATE FUNCTION analytics.nas_bordas(d date, p_de date, p_ate date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT (d >= p_de AND d < analytics.mes_cheio_de(p_de) AND (p_ate IS NULL OR d <= p_ate))
      OR (d >= greatest((analytics.mes_cheio_ate(p_ate) + interval '1 month')::date,
                        analytics.mes_cheio_de(p_de))
          AND d <= p_ate AND (p_de IS NULL OR d >= p_de))
$$;

-- The period's sales, distratos and commissions per development and month, in the units of
-- analytics.mes_emp: whole months from the rollup, the partial ones from the facts.
CREATE FUNCTION analytics.periodo_emp(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes date, idempreendimento bigint, vu bigint, vs numeric, pv numeric,
               pn bigint, du bigint, ds numeric, cv numeric, cp numeric)
LANGUAGE sql STABLE AS $$
  SELECT r.tenant, r.mes, r.idempreendimento, r.vu, r.vs, r.pv, r.pn, r.du, r.ds, r.cv, r.cp
  FROM analytics.mes_emp r
  WHERE (p_tenant IS NULL OR r.tenant = p_tenant) AND (p_emp IS NULL OR r.idempreendimento = p_emp)
    AND r.mes >= analytics.mes_cheio_de(p_de) AND r.mes <= analytics.mes_cheio_ate(p_ate)
  UNION ALL
  SELECT f.tenant, f.mes, f.idempreendimento, 1, f.valor_contrato, f.valor_prosoluto,
         (f.valor_prosoluto > 0)::int, 0, 0, 0, 0
  FROM analytics.fato_vendas f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    AND analytics.nas_bordas(f.data_venda, p_de, p_ate)
  UNION ALL
  SELECT f.tenant, f.mes, f.idempreendimento, 0, 0, NULL, 0, 1, f.valor, 0, 0
  FROM analytics.fato_distratos f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    AND analytics.nas_bordas(f.data, p_de, p_ate)
  UNION ALL
  SELECT f.tenant, date_trunc('month', f.data::timestamp)::date, f.idempreendimento, 0, 0, NULL, 0,
         0, 0, f.valor_comissao, f.valor_pago
  FROM analytics.fato_comissoes f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    AND analytics.nas_bordas(f.data, p_de, p_ate)
$$;

-- The same per broker (analytics.mes_corretor's units). With a development filter: all facts.
CREATE FUNCTION analytics.periodo_corretor(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes date, idcorretor bigint, nome_v text, vu bigint, vs numeric,
               nome_d text, du bigint, ds numeric, nome_c text, cn bigint, cv numeric, cp numeric)
LANGUAGE sql STABLE AS $$
  SELECT r.tenant, r.mes, r.idcorretor, r.nome_v, r.vu, r.vs, r.nome_d, r.du, r.ds, r.nome_c, r.cn,
         r.cv, r.cp
  FROM analytics.mes_corretor r
  WHERE p_emp IS NULL AND (p_tenant IS NULL OR r.tenant = p_tenant)
    AND r.mes >= analytics.mes_cheio_de(p_de) AND r.mes <= analytics.mes_cheio_ate(p_ate)
  UNION ALL
  SELECT f.tenant, f.mes, f.idcorretor, f.corretor, 1, f.valor_contrato, NULL, 0, 0, NULL, 0, 0, 0
  FROM analytics.fato_vendas f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant)
    AND ((p_emp IS NULL AND analytics.nas_bordas(f.data_venda, p_de, p_ate))
      OR (p_emp IS NOT NULL AND f.idempreendimento = p_emp
          AND (p_de IS NULL OR f.data_venda >= p_de) AND (p_ate IS NULL OR f.data_venda <= p_ate)))
  UNION ALL
  SELECT f.tenant, f.mes, f.idcorretor, NULL, 0, 0, f.corretor, 1, f.valor, NULL, 0, 0, 0
  FROM analytics.fato_distratos f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant)
    AND ((p_emp IS NULL AND analytics.nas_bordas(f.data, p_de, p_ate))
      OR (p_emp IS NOT NULL AND f.idempreendimento = p_emp
          AND (p_de IS NULL OR f.data >= p_de) AND (p_ate IS NULL OR f.data <= p_ate)))
  UNION ALL
  SELECT f.tenant, date_trunc('month', f.data::timestamp)::date, f.idcorretor, NULL, 0, 0, NULL, 0, 0,
         f.corretor, 1, f.valor_comissao, f.valor_pago
  FROM analytics.fato_comissoes f
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant)
    AND ((p_emp IS NULL AND analytics.nas_bordas(f.data, p_de, p_ate))
      OR (p_emp IS NOT NULL AND f.idempreendimento = p_emp
          AND (p_de IS NULL OR f.data >= p_de) AND (p_ate IS NULL OR f.data <= p_ate)))
$$;

-- The same per team (analytics.mes_time's units). With a development filter: all facts.
CREATE FUNCTION analytics.periodo_time(p_tenant text, p_de date, p_ate date, p_emp bigint)
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
         (f.origem_time = 'reserva')::int, (f.origem_time = 'integrantes')::int, NULL, 0, 0
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

-- Refresh the cache if it is stale. One refresh at a time (advisory lock); `p_esperar = false`
-- returns at once when another one is running. Returns whether this call rebuilt the cache.
-- The signature is taken BEFORE the data is read (each statement below sees a newer snapshot),
-- so the cache may hold more than its signature says, never less: a page that commits in
-- between only makes the next check ask for one more refresh.
CREATE FUNCTION analytics.atualizar(p_esperar boolean DEFAULT true) RETURNS boolean
LANGUAGE plpgsql SET jit = off SET work_mem = '64MB' AS $$
DECLARE
  inicio timestamptz := clock_timestamp();
  desde timestamptz := now() - interval '30 minutes';
  assinatura text;
BEGIN
  -- 'cvdwcach' in ASCII
  IF p_esperar THEN
    PERFORM pg_advisory_xact_lock(7166468576858466152);
  ELSIF NOT pg_try_advisory_xact_lock(7166468576858466152) THEN
    RETURN false;
  END IF;
  IF analytics.cache_valida() THEN
    RETURN false;
  END IF;
  assinatura := analytics.assinatura_fonte(desde);
  DELETE FROM analytics.cache_estado;
  DELETE FROM analytics.cache_vendas;
  DELETE FROM analytics.cache_distratos;
  DELETE FROM analytics.cache_comissoes;
  DELETE FROM analytics.cache_empreendimentos;
  DELETE FROM analytics.cache_tenants;
  DELETE FROM analytics.cache_entradas;
  DELETE FROM analytics.cache_vso;
  DELETE FROM analytics.cache_mes_emp;
  DELETE FROM analytics.cache_mes_corretor;
  DELETE FROM analytics.cache_mes_time;
  -- From here on THIS transaction sees the cache as valid (unless a page commits meanwhile:
  -- then the gated views read the live definitions, still correct), so each step below builds
  -- on the tables the previous steps filled: distratos on the cached sales, the VSO series on
  -- the cached facts, instead of recomputing them.
  INSERT INTO analytics.cache_estado (janela_desde, assinatura, atualizado_em, duracao_ms)
    VALUES (desde, assinatura, now(), 0);
  -- Sorted by the index the period filters use, so a period is a few contiguous pages.
  INSERT INTO analytics.cache_vendas SELECT * FROM analytics.vivo_vendas ORDER BY tenant, data_venda;
  INSERT INTO analytics.cache_distratos SELECT * FROM analytics.vivo_distratos ORDER BY tenant, data;
  INSERT INTO analytics.cache_comissoes SELECT * FROM analytics.vivo_comissoes ORDER BY tenant, data;
  INSERT INTO analytics.cache_empreendimentos SELECT * FROM analytics.vivo_empreendimentos;
  INSERT INTO analytics.cache_tenants
    SELECT tenant, max(data_venda) FROM analytics.cache_vendas GROUP BY tenant;
  INSERT INTO analytics.cache_entradas SELECT * FROM analytics.vivo_entradas;
  INSERT INTO analytics.cache_vso SELECT * FROM analytics.vso_serie;
  INSERT INTO analytics.cache_mes_emp SELECT * FROM analytics.vivo_mes_emp;
  INSERT INTO analytics.cache_mes_corretor SELECT * FROM analytics.vivo_mes_corretor;
  INSERT INTO analytics.cache_mes_time SELECT * FROM analytics.vivo_mes_time;
  UPDATE analytics.cache_estado
     SET duracao_ms = (extract(epoch FROM clock_timestamp() - inicio) * 1000)::integer;
  ANALYZE analytics.cache_vendas, analytics.cache_distratos, analytics.cache_comissoes,
          analytics.cache_empreendimentos, analytics.cache_tenants, analytics.cache_entradas,
          analytics.cache_vso, analytics.cache_mes_emp, analytics.cache_mes_corretor,
          analytics.cache_mes_time;
  RETURN true;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Metric functions (signatures and columns of 0100). Filters: p_tenant, p_de, p_ate (inclusive
-- dates), p_emp (idempreendimento); NULL = no filter. They are inlined into the API's query, so
-- with the filter values bound the NULL tests fold away and the filters reach the indexes.

CREATE FUNCTION analytics.vendas_mensais(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes date, vendas_unidades bigint, vendas_valor numeric,
               distratos_unidades bigint, distratos_valor numeric, liquidas_unidades bigint,
               liquidas_valor numeric, vgv numeric, ticket_medio numeric)
LANGUAGE sql STABLE AS $$
  SELECT x.tenant, x.mes, x.vu, x.vs, x.du, x.ds, x.vu - x.du, x.vs - x.ds, x.vs,
         round(x.vs / nullif(x.vu, 0), 2)
  FROM (
    SELECT p.tenant, p.mes, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs, sum(p.du)::bigint AS du,
           sum(p.ds) AS ds
    FROM analytics.periodo_emp(p_tenant, p_de, p_ate, p_emp) p
    GROUP BY p.tenant, p.mes
    HAVING sum(p.vu) > 0 OR sum(p.du) > 0
  ) x
  ORDER BY x.tenant, x.mes
$$;

CREATE FUNCTION analytics.vendas_por_empreendimento(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric)
LANGUAGE sql STABLE AS $$
  SELECT x.tenant, x.idempreendimento, e.nome, x.vu, x.vs, x.du, x.ds, x.vu - x.du, x.vs - x.ds,
         x.vs, round(x.vs / nullif(x.vu, 0), 2)
  FROM (
    SELECT p.tenant, p.idempreendimento, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs,
           sum(p.du)::bigint AS du, sum(p.ds) AS ds
    FROM analytics.periodo_emp(p_tenant, p_de, p_ate, p_emp) p
    GROUP BY p.tenant, p.idempreendimento
    HAVING sum(p.vu) > 0 OR sum(p.du) > 0
  ) x
  LEFT JOIN analytics.empreendimentos e
    ON e.tenant = x.tenant AND e.idempreendimento = x.idempreendimento
  ORDER BY x.tenant, x.vs - x.ds DESC, x.idempreendimento
$$;

CREATE FUNCTION analytics.vendas_por_corretor(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idcorretor bigint, corretor text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric,
               comissao_valor numeric, comissao_paga numeric)
LANGUAGE sql STABLE AS $$
  SELECT x.tenant, x.idcorretor, coalesce(x.nome_v, x.nome_d, x.nome_c), x.vu, x.vs, x.du, x.ds,
         x.vu - x.du, x.vs - x.ds, x.vs, round(x.vs / nullif(x.vu, 0), 2), x.cv, x.cp
  FROM (
    SELECT p.tenant, p.idcorretor, max(p.nome_v) AS nome_v, max(p.nome_d) AS nome_d,
           max(p.nome_c) AS nome_c, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs,
           sum(p.du)::bigint AS du, sum(p.ds) AS ds, sum(p.cv) AS cv, sum(p.cp) AS cp
    FROM analytics.periodo_corretor(p_tenant, p_de, p_ate, p_emp) p
    GROUP BY p.tenant, p.idcorretor
    HAVING sum(p.vu) > 0 OR sum(p.du) > 0 OR sum(p.cn) > 0
  ) x
  ORDER BY x.tenant, x.vs - x.ds DESC, coalesce(x.idcorretor, -1)
$$;

CREATE FUNCTION analytics.comissoes_por_corretor(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idcorretor bigint, corretor text, comissoes bigint,
               comissao_valor numeric, comissao_paga numeric, comissao_a_pagar numeric)
LANGUAGE sql STABLE AS $$
  SELECT p.tenant, p.idcorretor, max(p.nome_c), sum(p.cn)::bigint, sum(p.cv), sum(p.cp),
         sum(p.cv) - sum(p.cp)
  FROM analytics.periodo_corretor(p_tenant, p_de, p_ate, p_emp) p
  GROUP BY p.tenant, p.idcorretor
  HAVING sum(p.cn) > 0
  ORDER BY p.tenant, sum(p.cv) DESC, p.idcorretor
$$;

CREATE FUNCTION analytics.vendas_por_time(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idtime bigint, nome_time text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric,
               vendas_time_da_reserva bigint, vendas_time_dos_integrantes bigint)
LANGUAGE sql STABLE AS $$
  SELECT x.tenant, x.idtime, coalesce(x.nome_v, x.nome_d, 'Sem time'), x.vu, x.vs, x.du, x.ds,
         x.vu - x.du, x.vs - x.ds, x.vs, round(x.vs / nullif(x.vu, 0), 2), x.por_reserva,
         x.por_integrantes
  FROM (
    SELECT p.tenant, p.idtime, max(p.nome_v) AS nome_v, max(p.nome_d) AS nome_d,
           sum(p.vu)::bigint AS vu, sum(p.vs) AS vs, sum(p.du)::bigint AS du, sum(p.ds) AS ds,
           sum(p.por_reserva)::bigint AS por_reserva, sum(p.por_integrantes)::bigint AS por_integrantes
    FROM analytics.periodo_time(p_tenant, p_de, p_ate, p_emp) p
    GROUP BY p.tenant, p.idtime
    HAVING sum(p.vu) > 0 OR sum(p.du) > 0
  ) x
  ORDER BY x.tenant, x.vs - x.ds DESC, x.idtime NULLS LAST
$$;

-- VSO per development and month (analytics.vso). Filters: p_de/p_ate select whole months (the
-- stock always comes from the full history); p_emp the development.
CREATE FUNCTION analytics.vso_mensal(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, mes date,
               estoque_inicial bigint, entradas bigint, vendas_unidades bigint,
               distratos_unidades bigint, liquidas_unidades bigint, oferta bigint, vso numeric)
LANGUAGE sql STABLE AS $$
  SELECT s.tenant, s.idempreendimento, e.nome, s.mes, s.estoque_inicial, s.entradas,
         s.vendas_unidades, s.distratos_unidades, s.vendas_unidades - s.distratos_unidades,
         s.estoque_inicial + s.entradas,
         round((s.vendas_unidades - s.distratos_unidades)::numeric
               / nullif(s.estoque_inicial + s.entradas, 0), 6)
  FROM analytics.vso s
  LEFT JOIN analytics.empreendimentos e ON e.tenant = s.tenant AND e.idempreendimento = s.idempreendimento
  WHERE (p_tenant IS NULL OR s.tenant = p_tenant) AND (p_emp IS NULL OR s.idempreendimento = p_emp)
    AND (p_de IS NULL OR s.mes >= date_trunc('month', p_de::timestamp)::date)
    AND (p_ate IS NULL OR s.mes <= p_ate)
  ORDER BY s.tenant, s.idempreendimento, s.mes
$$;

-- Pró-soluto per development and sale month, from the load rule (view cvdw.prosoluto), over the
-- month's vendas (gross); % of VGV = pró-soluto ÷ VGV × 100.
CREATE FUNCTION analytics.prosoluto_analise(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, mes date,
               vendas_unidades bigint, vgv numeric, prosoluto_valor numeric, prosoluto_pct numeric,
               vendas_com_prosoluto bigint)
LANGUAGE sql STABLE AS $$
  SELECT x.tenant, x.idempreendimento, e.nome, x.mes, x.vu, x.vs, x.pv,
         round(100 * x.pv / nullif(x.vs, 0), 4), x.pn
  FROM (
    SELECT p.tenant, p.idempreendimento, p.mes, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs,
           coalesce(sum(p.pv), 0) AS pv, sum(p.pn)::bigint AS pn
    FROM analytics.periodo_emp(p_tenant, p_de, p_ate, p_emp) p
    GROUP BY p.tenant, p.idempreendimento, p.mes
    HAVING sum(p.vu) > 0
  ) x
  LEFT JOIN analytics.empreendimentos e ON e.tenant = x.tenant AND e.idempreendimento = x.idempreendimento
  ORDER BY x.tenant, x.idempreendimento, x.mes
$$;

-- This year against last year, month by month. "This year" is the year of p_ate; without p_ate,
-- the year of the tenant's newest sale (so historic and demo data compare the right years);
-- with no sale at all, today's year. p_de is not used (always January–December of both years).
CREATE FUNCTION analytics.vendas_ano_atual_vs_passado(p_tenant text, p_de date, p_ate date, p_emp bigint)
RETURNS TABLE (tenant text, mes integer, ano_atual integer, ano_passado integer,
               liquidas_unidades_atual bigint, liquidas_unidades_passado bigint,
               liquidas_valor_atual numeric, liquidas_valor_passado numeric,
               vgv_atual numeric, vgv_passado numeric)
LANGUAGE sql STABLE AS $$
  WITH ano AS (
    SELECT t.tenant, extract(year FROM coalesce(p_ate, t.ultima_venda, current_date))::int AS a
    FROM analytics.tenants t
    WHERE (p_tenant IS NULL OR t.tenant = p_tenant)
  ), m AS (
    SELECT v.tenant, v.mes, v.liquidas_unidades, v.liquidas_valor, v.vgv
    FROM analytics.vendas_mensais(p_tenant,
           coalesce(make_date(extract(year FROM p_ate)::int - 1, 1, 1),
                    (SELECT make_date(min(a) - 1, 1, 1) FROM ano)),
           coalesce(make_date(extract(year FROM p_ate)::int, 12, 31),
                    (SELECT make_date(max(a), 12, 31) FROM ano)),
           p_emp) v
  ), t AS (
    SELECT DISTINCT ano.tenant, ano.a FROM ano JOIN m ON m.tenant = ano.tenant
     AND m.mes BETWEEN make_date(ano.a - 1, 1, 1) AND make_date(ano.a, 12, 1)
  )
  SELECT t.tenant, k.mes, t.a, t.a - 1,
         coalesce(c.liquidas_unidades, 0), coalesce(p.liquidas_unidades, 0),
         coalesce(c.liquidas_valor, 0), coalesce(p.liquidas_valor, 0),
         coalesce(c.vgv, 0), coalesce(p.vgv, 0)
  FROM t CROSS JOIN generate_series(1, 12) AS k(mes)
  LEFT JOIN m c ON c.tenant = t.tenant AND c.mes = make_date(t.a, k.mes, 1)
  LEFT JOIN m p ON p.tenant = t.tenant AND p.mes = make_date(t.a - 1, k.mes, 1)
  ORDER BY t.tenant, k.mes
$$;

-- One line per venda, with its distrato (if any), pró-soluto and commission.
CREATE VIEW analytics.vw_tabela_geral_vendas AS
SELECT f.tenant, f.idreserva, f.data_venda, f.idempreendimento, f.empreendimento, f.etapa,
       f.bloco, f.unidade, f.cliente, f.idcorretor, f.corretor, f.imobiliaria, f.idtime, f.nome_time,
       f.valor_contrato, f.vgv_tabela, f.valor_prosoluto, f.data_distrato, f.situacao,
       f.valor_comissao
FROM analytics.fato_vendas f;

-- KPIs of a period (one row per tenant).
CREATE FUNCTION analytics.kpis(p_tenant text, p_de date, p_ate date, p_emp bigint)
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
    -- offer of the period = stock at the start of its first month + entries during it
    SELECT tenant, sum(liquidas_unidades) AS liq,
           sum(estoque_inicial) FILTER (WHERE primeiro) + sum(entradas) AS oferta
    FROM (SELECT x.*, x.mes = min(x.mes) OVER (PARTITION BY x.tenant, x.idempreendimento) AS primeiro
          FROM analytics.vso_mensal(p_tenant, p_de, p_ate, p_emp) x) x
    GROUP BY tenant
  )
  SELECT tenant, coalesce(v.vu, 0), coalesce(v.vs, 0), coalesce(v.du, 0), coalesce(v.ds, 0),
         coalesce(v.vu, 0) - coalesce(v.du, 0), coalesce(v.vs, 0) - coalesce(v.ds, 0), coalesce(v.vs, 0),
         round(v.vs / nullif(v.vu, 0), 2), coalesce(v.cv, 0), coalesce(v.cp, 0),
         round(o.liq / nullif(o.oferta, 0), 6), coalesce(v.pv, 0),
         round(100 * coalesce(v.pv, 0) / nullif(v.vs, 0), 4)
  FROM v FULL JOIN o USING (tenant)
  ORDER BY tenant
$$;

-- A page of the general table, newest first. PL/pgSQL so that a valid cache is read straight
-- from its table, in the order of its (tenant, data_venda, idreserva) index, stopping after the
-- page; through the gated view the planner can only sort the whole period. EXECUTE plans with
-- the bound values, so the NULL tests fold as in the SQL functions.
CREATE FUNCTION analytics.tabela_geral(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                       p_limit integer, p_offset integer)
RETURNS SETOF analytics.vw_tabela_geral_vendas
LANGUAGE plpgsql STABLE AS $$
DECLARE
  origem text := CASE WHEN analytics.cache_valida() THEN 'analytics.cache_vendas'
                      ELSE 'analytics.vw_tabela_geral_vendas' END;
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT t.tenant, t.idreserva, t.data_venda, t.idempreendimento, t.empreendimento, t.etapa,
            t.bloco, t.unidade, t.cliente, t.idcorretor, t.corretor, t.imobiliaria, t.idtime,
            t.nome_time, t.valor_contrato, t.vgv_tabela, t.valor_prosoluto, t.data_distrato,
            t.situacao, t.valor_comissao
     FROM %s t
     WHERE ($1::text IS NULL OR t.tenant = $1) AND ($2::date IS NULL OR t.data_venda >= $2)
       AND ($3::date IS NULL OR t.data_venda <= $3) AND ($4::bigint IS NULL OR t.idempreendimento = $4)
     ORDER BY t.data_venda DESC, t.tenant, t.idreserva DESC
     LIMIT $5 OFFSET $6', origem)
    USING p_tenant, p_de, p_ate, p_emp, p_limit, p_offset;
END
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
