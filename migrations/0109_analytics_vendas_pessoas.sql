-- The filters by broker, team and agency on the monthly and per-development sales (issue #21,
-- item 7): `analytics.vendas_mensais`, `vendas_por_empreendimento` and `vendas_por_time` gain the cockpit's
-- seven-parameter signature (0104), as overloads beside the four-parameter functions of 0102,
-- which stay what the views and the unfiltered requests read. Definitions: docs/metrics.md
-- ("Filtros da API").
--
-- The monthly rollups behind the fast path keep no people, so a request with a people filter
-- reads the facts of the period instead. A sale's people are its own: the broker of
-- /vendas (else its reservation's), the team of fato_vendas (the reservation's, else the
-- broker's membership), the agency of /vendas (else its reservation's). A distrato's are the
-- cancelled sale's, except the broker and agency the distrato row names itself.

-- The agency of every counted sale (fato_vendas keeps its name only).
CREATE VIEW analytics.vendas_imobiliaria AS
SELECT v.tenant, v.idreserva, coalesce(v.idimobiliaria, r.idimobiliaria) AS idimobiliaria
FROM cvdw.vendas v
LEFT JOIN cvdw.reservas r
  ON r.tenant = v.tenant AND r.idreserva = v.idreserva AND r.deleted_at IS NULL
WHERE v.deleted_at IS NULL AND v.ativo IS NOT FALSE AND v.data_venda IS NOT NULL;

-- The agency named by each counted distrato row.
CREATE VIEW analytics.distratos_imobiliaria AS
SELECT d.tenant, d.idreserva, max(d.idimobiliaria) AS idimobiliaria
FROM cvdw.distratos d
WHERE d.deleted_at IS NULL AND d.ativo IS NOT FALSE AND d.situacao_data IS NOT NULL
GROUP BY 1, 2;

-- The period's vendas (+1) and distratos (−1) of a broker, team or agency, per development and
-- month, from the facts.
CREATE FUNCTION analytics.periodo_pessoas(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                          p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, mes date, idempreendimento bigint, vu bigint, vs numeric, du bigint,
               ds numeric, idtime bigint, nome_time text, por_reserva bigint,
               por_integrantes bigint)
LANGUAGE sql STABLE AS $$
  SELECT f.tenant, f.mes, f.idempreendimento, 1::bigint, f.valor_contrato, 0::bigint, 0::numeric,
         f.idtime, f.nome_time, (f.origem_time = 'reserva')::int::bigint,
         (f.origem_time = 'integrantes')::int::bigint
  FROM analytics.fato_vendas f
  LEFT JOIN analytics.vendas_imobiliaria i ON i.tenant = f.tenant AND i.idreserva = f.idreserva
  WHERE (p_tenant IS NULL OR f.tenant = p_tenant) AND (p_emp IS NULL OR f.idempreendimento = p_emp)
    AND (p_de IS NULL OR f.data_venda >= p_de) AND (p_ate IS NULL OR f.data_venda <= p_ate)
    AND (p_corretor IS NULL OR f.idcorretor = p_corretor) AND (p_time IS NULL OR f.idtime = p_time)
    AND (p_imobiliaria IS NULL OR i.idimobiliaria = p_imobiliaria)
  UNION ALL
  SELECT d.tenant, d.mes, d.idempreendimento, 0, 0, 1, d.valor, d.idtime, d.nome_time, 0, 0
  FROM analytics.fato_distratos d
  LEFT JOIN analytics.distratos_imobiliaria di ON di.tenant = d.tenant AND di.idreserva = d.idreserva
  LEFT JOIN analytics.vendas_imobiliaria vi ON vi.tenant = d.tenant AND vi.idreserva = d.idreserva
  WHERE (p_tenant IS NULL OR d.tenant = p_tenant) AND (p_emp IS NULL OR d.idempreendimento = p_emp)
    AND (p_de IS NULL OR d.data >= p_de) AND (p_ate IS NULL OR d.data <= p_ate)
    AND (p_corretor IS NULL OR d.idcorretor = p_corretor) AND (p_time IS NULL OR d.idtime = p_time)
    AND (p_imobiliaria IS NULL OR coalesce(di.idimobiliaria, vi.idimobiliaria) = p_imobiliaria)
$$;

-- Without a people filter, exactly the four-parameter function; with one, the same columns
-- from analytics.periodo_pessoas.
CREATE FUNCTION analytics.vendas_mensais(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                         p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, mes date, vendas_unidades bigint, vendas_valor numeric,
               distratos_unidades bigint, distratos_valor numeric, liquidas_unidades bigint,
               liquidas_valor numeric, vgv numeric, ticket_medio numeric)
LANGUAGE sql STABLE AS $$
  SELECT * FROM analytics.vendas_mensais(p_tenant, p_de, p_ate, p_emp) t
  WHERE p_corretor IS NULL AND p_time IS NULL AND p_imobiliaria IS NULL
  UNION ALL
  SELECT x.tenant, x.mes, x.vu, x.vs, x.du, x.ds, x.vu - x.du, x.vs - x.ds, x.vs,
         round(x.vs / nullif(x.vu, 0), 2)
  FROM (
    SELECT p.tenant, p.mes, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs, sum(p.du)::bigint AS du,
           sum(p.ds) AS ds
    FROM analytics.periodo_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time, p_imobiliaria) p
    WHERE p_corretor IS NOT NULL OR p_time IS NOT NULL OR p_imobiliaria IS NOT NULL
    GROUP BY p.tenant, p.mes
  ) x
  ORDER BY 1, 2
$$;

CREATE FUNCTION analytics.vendas_por_empreendimento(p_tenant text, p_de date, p_ate date,
                                                    p_emp bigint, p_corretor bigint,
                                                    p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, idempreendimento bigint, empreendimento text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric)
LANGUAGE sql STABLE AS $$
  SELECT * FROM (
    SELECT * FROM analytics.vendas_por_empreendimento(p_tenant, p_de, p_ate, p_emp) t
    WHERE p_corretor IS NULL AND p_time IS NULL AND p_imobiliaria IS NULL
    UNION ALL
    SELECT x.tenant, x.idempreendimento, e.nome, x.vu, x.vs, x.du, x.ds, x.vu - x.du,
           x.vs - x.ds, x.vs, round(x.vs / nullif(x.vu, 0), 2)
    FROM (
      SELECT p.tenant, p.idempreendimento, sum(p.vu)::bigint AS vu, sum(p.vs) AS vs,
             sum(p.du)::bigint AS du, sum(p.ds) AS ds
      FROM analytics.periodo_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                     p_imobiliaria) p
      WHERE p_corretor IS NOT NULL OR p_time IS NOT NULL OR p_imobiliaria IS NOT NULL
      GROUP BY p.tenant, p.idempreendimento
    ) x
    LEFT JOIN analytics.empreendimentos e
      ON e.tenant = x.tenant AND e.idempreendimento = x.idempreendimento
  ) y
  ORDER BY y.tenant, y.liquidas_valor DESC, y.idempreendimento
$$;

CREATE FUNCTION analytics.vendas_por_time(p_tenant text, p_de date, p_ate date, p_emp bigint,
                                          p_corretor bigint, p_time bigint, p_imobiliaria bigint)
RETURNS TABLE (tenant text, idtime bigint, nome_time text, vendas_unidades bigint,
               vendas_valor numeric, distratos_unidades bigint, distratos_valor numeric,
               liquidas_unidades bigint, liquidas_valor numeric, vgv numeric, ticket_medio numeric,
               vendas_time_da_reserva bigint, vendas_time_dos_integrantes bigint)
LANGUAGE sql STABLE AS $$
  SELECT * FROM (
    SELECT * FROM analytics.vendas_por_time(p_tenant, p_de, p_ate, p_emp) t
    WHERE p_corretor IS NULL AND p_time IS NULL AND p_imobiliaria IS NULL
    UNION ALL
    SELECT p.tenant, p.idtime,
           coalesce(max(p.nome_time), 'Sem time'), sum(p.vu)::bigint, sum(p.vs), sum(p.du)::bigint,
           sum(p.ds), sum(p.vu - p.du)::bigint, sum(p.vs - p.ds), sum(p.vs),
           round(sum(p.vs) / nullif(sum(p.vu), 0), 2), sum(p.por_reserva)::bigint,
           sum(p.por_integrantes)::bigint
    FROM analytics.periodo_pessoas(p_tenant, p_de, p_ate, p_emp, p_corretor, p_time,
                                   p_imobiliaria) p
    WHERE p_corretor IS NOT NULL OR p_time IS NOT NULL OR p_imobiliaria IS NOT NULL
    GROUP BY p.tenant, p.idtime
  ) y
  ORDER BY y.tenant, y.liquidas_valor DESC, y.idtime NULLS LAST
$$;
