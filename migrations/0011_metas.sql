-- 0011: monthly sales goals (metas), our own table (issue #21, item 8).
--
-- One goal per tenant, month, scope and id: units and R$ for a development, a sales team or a
-- broker. Written by `cvdw metas import` (pt-BR CSV, one transaction: a bad file changes
-- nothing); nothing the loader writes depends on it.
CREATE TABLE etl.metas (
  tenant text NOT NULL,
  mes date NOT NULL CHECK (mes = date_trunc('month', mes)::date),
  escopo text NOT NULL CHECK (escopo IN ('empreendimento', 'time', 'corretor')),
  id bigint NOT NULL CHECK (id > 0),
  unidades integer NOT NULL CHECK (unidades >= 0),
  valor numeric(16, 2) NOT NULL CHECK (valor >= 0),
  atualizado_em timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, mes, escopo, id)
);
