-- 0006: leave half of every heap page of the upserted `cvdw` tables free, so that re-sightings
-- update in place (HOT).
--
-- Every row is rewritten at least once a day: the daily full run sees it again, and its
-- bookkeeping (`last_seen_run`, `fetched_at`, `run_id`, `page`, `source_key`) changes even
-- when its data does not. With full pages (the default fillfactor, 100) the new version goes
-- to another page, so each of the table's indexes gets a new entry for it, the WAL carries the
-- whole tuple and vacuum has the old index entries to clean. With room on the same page, and
-- no indexed column changed (keys and the analytics index columns stay the same on a
-- re-sighting), the update is heap-only: no index entry, a smaller WAL record, and the old
-- version is pruned by the next visit to the page. A /vendas page of 500 rows re-sighted costs
-- ~30 % less server time (docs/load-benchmark.md). The cost is space: a freshly loaded table
-- takes up to twice the pages, which a table rewritten daily at fillfactor 100 reaches anyway
-- with its dead versions.
--
-- Child tables (`*_associados`, `*_plantas`) are replaced, not updated, and keep the default.
-- Only rows written after this migration are laid out this way.
DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'last_seen_run' AND NOT a.attisdropped
    WHERE n.nspname = 'cvdw' AND c.relkind = 'r'
    ORDER BY 1
  LOOP
    EXECUTE format('ALTER TABLE %s SET (fillfactor = 50)', t);
  END LOOP;
END $$;
