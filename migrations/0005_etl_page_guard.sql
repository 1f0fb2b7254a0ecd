-- 0005: the checks that let a page's whole transaction go to the server in one round trip.
--
-- The loader's usual case (a page not yet loaded, newer than what is stored, completing no
-- pending manifest) needs no decision from the client once the transaction has started, so it
-- sends BEGIN … COMMIT at once (shared::load, "one round trip"). What the client used to check
-- between statements is checked here instead, and anything unusual aborts the transaction with
-- its own SQLSTATE (class CV); every later statement of the batch then fails, COMMIT rolls
-- back, and the client takes the step-by-step path for that page. Nothing is decided twice:
-- the step-by-step path is the one that handles the unusual cases.
--
--   CV001  the ledger already has this page with this sha256 (a redelivery: nothing to do)
--   CV002  a pending manifest lists this page (applying it needs the object lock exclusively)
--   CV003  a row type is not laid out as the client's cached copy says (a migration ran, or
--          another database): the client reads the layout again
--   CV004  the page is not the newest observation of every key it holds (a late page)

-- The layout of a table's row type as the loader encodes it: the type's OID, then each field's
-- name and type OID in order (dropped columns left out, as record_recv expects).
CREATE FUNCTION etl.row_layout(p_table regclass) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT c.reltype::text || ';' || string_agg(a.attname || ':' || a.atttypid::text, ',' ORDER BY a.attnum)
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE c.oid = p_table
  GROUP BY c.reltype
$$;

-- Called under the page's locks, before anything is written. `p_layouts` are the layouts the
-- client encoded the rows with, in the order of `p_tables`.
CREATE FUNCTION etl.page_guard(
  p_key text, p_sha256 text, p_force boolean, p_tenant text, p_object text,
  p_tables text[], p_layouts text[]
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  i integer;
BEGIN
  IF NOT p_force AND EXISTS (
    SELECT 1 FROM etl.pages WHERE source_key = p_key AND lower(sha256) = lower(p_sha256)
  ) THEN
    RAISE EXCEPTION 'page % is already loaded', p_key USING ERRCODE = 'CV001';
  END IF;
  IF EXISTS (
    SELECT 1 FROM etl.manifests
    WHERE tenant = p_tenant AND object = p_object AND applied_at IS NULL AND p_key = ANY(page_keys)
  ) THEN
    RAISE EXCEPTION 'page % completes a pending manifest', p_key USING ERRCODE = 'CV002';
  END IF;
  FOR i IN 1 .. coalesce(array_length(p_tables, 1), 0) LOOP
    IF etl.row_layout(p_tables[i]::regclass) IS DISTINCT FROM p_layouts[i] THEN
      RAISE EXCEPTION 'the row type of % changed', p_tables[i] USING ERRCODE = 'CV003';
    END IF;
  END LOOP;
END
$$;

-- Called with the upsert's row count: fewer rows written than keys sent means some stored row
-- is newer than this page, and the page needs the step-by-step path (bookkeeping of the rows
-- it lost, children only for the keys it won).
CREATE FUNCTION etl.expect_newest(p_written bigint, p_keys integer) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
  IF p_written < p_keys THEN
    RAISE EXCEPTION 'page is older than % of its % rows', p_keys - p_written, p_keys
      USING ERRCODE = 'CV004';
  END IF;
  RETURN p_written;
END
$$;
