-- 0003: the relations users of the old system know, derived from real CVDW objects
-- (cvdw-api.md §7.3: CVDW has no empreendimentos/tipologia/prosoluto/valores_reservas endpoint).
-- Views exclude deleted rows (deleted_at IS NOT NULL). Rows with ativo = false are kept with
-- their `ativo` column so analytics can decide.

-- Developments: the dimension is denormalised into units and the sales objects. Names come
-- from `unidades` first (the only object describing the development itself), then vendas,
-- reservas, distratos, repasses; within one source the newest observation wins.
CREATE VIEW cvdw.empreendimentos AS
WITH src AS (
  SELECT tenant, idempreendimento, nome_empreendimento AS nome, tipo_empreendimento,
         NULL::text AS regiao, NULL::text AS codigointerno, etapa, bloco, idunidade,
         1 AS prio, fetched_at
  FROM cvdw.unidades WHERE deleted_at IS NULL
  UNION ALL
  SELECT tenant, idempreendimento, empreendimento, NULL, regiao, codigointerno_empreendimento,
         etapa, bloco, NULL, 2, fetched_at
  FROM cvdw.vendas WHERE deleted_at IS NULL
  UNION ALL
  SELECT tenant, idempreendimento, empreendimento, NULL, regiao, NULL, etapa, bloco, NULL, 3, fetched_at
  FROM cvdw.reservas WHERE deleted_at IS NULL
  UNION ALL
  SELECT tenant, idempreendimento, empreendimento, NULL, regiao, NULL, etapa, bloco, NULL, 4, fetched_at
  FROM cvdw.distratos WHERE deleted_at IS NULL
  UNION ALL
  SELECT tenant, idempreendimento, empreendimento, NULL, regiao, NULL, etapa, bloco, NULL, 5, fetched_at
  FROM cvdw.repasses WHERE deleted_at IS NULL
)
SELECT tenant,
       idempreendimento,
       (array_agg(nome ORDER BY prio, fetched_at DESC) FILTER (WHERE nome IS NOT NULL))[1] AS nome,
       (array_agg(tipo_empreendimento ORDER BY prio, fetched_at DESC)
          FILTER (WHERE tipo_empreendimento IS NOT NULL))[1] AS tipo_empreendimento,
       (array_agg(regiao ORDER BY prio, fetched_at DESC) FILTER (WHERE regiao IS NOT NULL))[1] AS regiao,
       (array_agg(codigointerno ORDER BY prio, fetched_at DESC)
          FILTER (WHERE codigointerno IS NOT NULL))[1] AS codigointerno,
       count(DISTINCT idunidade) FILTER (WHERE prio = 1) AS unidades,
       count(DISTINCT etapa) FILTER (WHERE prio = 1) AS etapas,
       count(DISTINCT bloco) FILTER (WHERE prio = 1) AS blocos
FROM src
WHERE idempreendimento IS NOT NULL
GROUP BY tenant, idempreendimento;

-- Typologies: the free-text `unidades.tipologia`, per development.
CREATE VIEW cvdw.tipologia_unidades AS
SELECT tenant, idempreendimento,
       (array_agg(nome_empreendimento ORDER BY fetched_at DESC)
          FILTER (WHERE nome_empreendimento IS NOT NULL))[1] AS nome_empreendimento,
       tipologia,
       count(*) AS unidades,
       min(area_privativa) AS area_privativa_min,
       max(area_privativa) AS area_privativa_max,
       min(valor) AS valor_min,
       max(valor) AS valor_max
FROM cvdw.unidades
WHERE deleted_at IS NULL AND tipologia IS NOT NULL
GROUP BY tenant, idempreendimento, tipologia;

-- The old `valores_reservas` is exactly `/reservas/condicoes`: one row per payment series.
CREATE VIEW cvdw.valores_reservas AS
SELECT tenant, natural_key, idreservascondicoes, idreserva, serie, parcela_quantidade, valor,
       valor_com_juros, valor_com_comissao_fora_do_contrato, valor_sem_comissao, vencimento,
       portador, indexador, data_reservas_condicoes, data_modificacao, ativo, referencia_data
FROM cvdw.reservas_condicoes
WHERE deleted_at IS NULL;

-- Pró-soluto per reservation: the part of the price the developer finances itself (not the bank).
-- Rule (CVDW has no pró-soluto field, §7.3):
--   1. when the reservation has payment conditions, pró-soluto = sum of `valor` of its active
--      /reservas/condicoes series whose name is not a bank series, i.e. does not match
--      Financiamento / FGTS / Subsídio (case- and accent-insensitive on "subsídio");
--   2. otherwise pró-soluto = valor_contrato − valor_financiamento − valor_fgts − valor_subsidio
--      from /reservas (missing parts count as 0).
-- `origem` says which rule gave the value.
CREATE VIEW cvdw.prosoluto AS
WITH cond AS (
  SELECT tenant, idreserva,
         sum(valor) FILTER (WHERE NOT bank) AS prosoluto,
         sum(valor) FILTER (WHERE bank) AS financiado,
         count(*) AS series
  FROM (
    SELECT tenant, idreserva, coalesce(valor, 0) AS valor,
           coalesce(serie, '') ~* '(financ|fgts|subs[ií]dio)' AS bank
    FROM cvdw.reservas_condicoes
    WHERE deleted_at IS NULL AND ativo IS NOT FALSE AND idreserva IS NOT NULL
  ) c
  GROUP BY tenant, idreserva
), res AS (
  SELECT tenant, idreserva, valor_contrato, valor_financiamento, valor_fgts, valor_subsidio
  FROM cvdw.reservas
  WHERE deleted_at IS NULL AND idreserva IS NOT NULL
)
SELECT coalesce(r.tenant, c.tenant) AS tenant,
       coalesce(r.idreserva, c.idreserva) AS idreserva,
       CASE WHEN c.idreserva IS NOT NULL THEN coalesce(c.prosoluto, 0)
            ELSE r.valor_contrato - coalesce(r.valor_financiamento, 0)
                 - coalesce(r.valor_fgts, 0) - coalesce(r.valor_subsidio, 0)
       END AS valor_prosoluto,
       CASE WHEN c.idreserva IS NOT NULL THEN 'condicoes' ELSE 'reserva' END AS origem,
       c.series AS series_condicoes,
       c.financiado AS valor_financiado_condicoes,
       r.valor_contrato, r.valor_financiamento, r.valor_fgts, r.valor_subsidio
FROM res r
FULL JOIN cond c ON c.tenant = r.tenant AND c.idreserva = r.idreserva;
