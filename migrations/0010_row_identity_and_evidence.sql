-- 0010: every row has an identity, and a full run deletes only on complete evidence.
--
-- 1. `key_source` on every upserted `cvdw` table: 'derived' when the row had no usable id and
--    its key is the hash of its content (`derived:…`, shared/src/identity.rs), else 'natural'.
--    Generated from the key, so the loader writes nothing more and no index changes.
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
    EXECUTE format(
      'ALTER TABLE %s ADD COLUMN IF NOT EXISTS key_source text '
      'GENERATED ALWAYS AS (CASE WHEN natural_key LIKE ''derived:%%'' THEN ''derived'' ELSE ''natural'' END) STORED',
      t);
  END LOOP;
END $$;

-- 2. Objects whose key changed (1:N, now content-keyed: docs/row-identity.md). Their stored rows
--    carry keys the loader no longer produces; left alone, the next full run would see none of
--    them and every one would count against the deletion limit. They live in the generic table
--    and feed no analytics; the next run (or `cvdw replay --object …`) lands them again, so
--    their rows and ledger entries go.
DELETE FROM cvdw.objects WHERE object IN ('leads_momentos', 'pessoas_patrimoniais', 'pesquisas');
DELETE FROM etl.rejected_rows WHERE object IN ('leads_momentos', 'pessoas_patrimoniais', 'pesquisas');
DELETE FROM etl.pages WHERE object IN ('leads_momentos', 'pessoas_patrimoniais', 'pesquisas');

-- 3. A full run whose pages are not complete evidence is applied without deleting anything,
--    with the reason here (shared/src/load/evidence.rs). Such a run is never a deleting run for
--    later pages either.
ALTER TABLE etl.manifests ADD COLUMN deletion_skipped text;

-- 4. The sanity limit: a full run may not mark as deleted this share of the object's live rows
--    or more. The most specific row wins (tenant, then object, before '*'). An operator who
--    knows a mass deletion is real raises the limit and replays the manifest.
CREATE TABLE etl.deletion_policy (
  tenant text NOT NULL DEFAULT '*',
  object text NOT NULL DEFAULT '*',
  max_share numeric NOT NULL CHECK (max_share > 0 AND max_share <= 1),
  PRIMARY KEY (tenant, object)
);
INSERT INTO etl.deletion_policy (tenant, object, max_share) VALUES ('*', '*', 0.20);

-- 5. etl.runs shows the skipped deletions (a new last column; the states gain one value).
CREATE OR REPLACE VIEW etl.runs AS
SELECT p.tenant, p.run_id, p.object, min(p.mode) AS mode,
       count(*) AS pages, sum(p.rows) AS rows, sum(p.rejected) AS rejected,
       min(p.fetched_at) AS first_fetched_at, max(p.fetched_at) AS last_fetched_at,
       max(p.loaded_at) AS last_loaded_at,
       m.applied_at AS manifest_applied_at, m.deleted_rows,
       CASE WHEN m.run_id IS NULL THEN 'no manifest'
            WHEN m.applied_at IS NULL THEN 'pending'
            WHEN m.deletion_skipped IS NOT NULL THEN 'deletion skipped'
            ELSE 'applied' END AS manifest_state,
       m.deletion_skipped
FROM etl.pages p
LEFT JOIN etl.manifests m USING (tenant, object, run_id)
GROUP BY p.tenant, p.run_id, p.object, m.run_id, m.applied_at, m.deleted_rows, m.deletion_skipped;
