-- 0004: compress `payload` with lz4 instead of the default pglz.
--
-- A /vendas row is ~1.8 kB, so about a third of the rows pass the 2 kB TOAST threshold and get
-- their payload compressed on every write. With pglz that was the largest single server cost of
-- the page upsert after parsing the JSON (docs/load-benchmark.md: ~9 of ~33 ms of server CPU per
-- 500-row page); lz4 does the same job several times faster, and decompresses faster for the
-- queries that read payload. Values already stored keep their compression.
--
-- Every `cvdw` table with a payload column, found in the catalogue (no input involved). A server
-- built without lz4 refuses with feature_not_supported: payloads then stay pglz, and the
-- migration still succeeds (it is an optimisation, not a requirement).
DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'payload' AND NOT a.attisdropped
    WHERE n.nspname = 'cvdw' AND c.relkind = 'r'
    ORDER BY 1
  LOOP
    EXECUTE format('ALTER TABLE %s ALTER COLUMN payload SET COMPRESSION lz4', t);
  END LOOP;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server; payload stays pglz';
END $$;
