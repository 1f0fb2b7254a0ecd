-- 0008: a read-only role for the api.
--
-- `cvdw_reader` (NOLOGIN) is what the api's login is granted (docs/deploy.md, "Database roles
-- on Neon"): it reads the analytics objects and the few ledger columns their freshness and
-- cache-validity checks need, and refreshes the analytics cache only through
-- `etl.atualizar_analytics`, a SECURITY DEFINER wrapper around `analytics.atualizar`. It can
-- write nothing else. The loader keeps the owner login (it runs migrations, which need DDL).
--
-- Roles are cluster-wide and several databases of one cluster may migrate at once (tests), so
-- creation tolerates a concurrent twin. The grants themselves are re-applied by the code after
-- every migration run (`etl.conceder_leitura()`, called by shared::db::migrate), because later
-- migrations drop and recreate analytics objects, and with them their grants.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cvdw_reader') THEN
    CREATE ROLE cvdw_reader NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

-- The cache refresh, with the owner's rights. search_path is pinned so that a caller cannot
-- put its own objects in front of the ones the function means.
CREATE OR REPLACE FUNCTION etl.atualizar_analytics(p_esperar boolean DEFAULT true) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN analytics.atualizar(p_esperar);
END
$$;
REVOKE ALL ON FUNCTION etl.atualizar_analytics(boolean) FROM PUBLIC;

-- What cvdw_reader may read. Idempotent; a schema that does not exist yet is skipped.
CREATE OR REPLACE FUNCTION etl.conceder_leitura() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  GRANT USAGE ON SCHEMA etl TO cvdw_reader;
  GRANT EXECUTE ON FUNCTION etl.atualizar_analytics(boolean) TO cvdw_reader;
  -- Freshness (/health) and the cache-validity signature read these columns only; the pages'
  -- payloads (personal data) stay out of reach.
  GRANT SELECT (tenant, object, fetched_at, loaded_at, loads) ON etl.pages TO cvdw_reader;
  GRANT SELECT (object, applied_at) ON etl.manifests TO cvdw_reader;
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'analytics') THEN
    GRANT USAGE ON SCHEMA analytics TO cvdw_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO cvdw_reader;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO cvdw_reader;
  END IF;
END
$$;
