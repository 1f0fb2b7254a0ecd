-- 0001: the `etl` schema — the loader's own bookkeeping.
--
-- Wall-clock times (`loaded_at`, `received_at`, ...) live only here, never in `cvdw`, so that the
-- `cvdw` tables are a pure function of the archived pages and manifests (order-proof loading).
-- `etl.schema_migrations` itself is created by the migration runner before this file runs.

CREATE SCHEMA IF NOT EXISTS etl;

-- The page ledger: one row per raw page key that loaded. A re-delivery with the same sha256 is
-- a no-op; `cvdw replay --force` reloads and bumps `loads`.
CREATE TABLE etl.pages (
  source_key text PRIMARY KEY,
  tenant text NOT NULL,
  object text NOT NULL,
  run_id text NOT NULL,
  page integer NOT NULL,
  mode text NOT NULL,
  fetched_at timestamptz NOT NULL,
  sha256 text NOT NULL,
  etag text,
  rows integer NOT NULL,          -- rows in `dados`
  loaded_rows integer NOT NULL,   -- distinct natural keys upserted
  duplicates integer NOT NULL,    -- same key more than once in the page (last one wins)
  rejected integer NOT NULL,      -- rows quarantined in etl.rejected_rows
  loads integer NOT NULL DEFAULT 1,
  first_loaded_at timestamptz NOT NULL DEFAULT now(),
  loaded_at timestamptz NOT NULL DEFAULT now(),
  load_ms integer
);
CREATE INDEX pages_run ON etl.pages (tenant, object, run_id);

-- Rows that could not be coerced, or have no usable natural key. Nothing is dropped silently:
-- the raw row is here with the reason; the rest of its page loaded.
CREATE TABLE etl.rejected_rows (
  source_key text NOT NULL,
  row_index integer NOT NULL,     -- 0-based position in `dados`
  tenant text NOT NULL,
  object text NOT NULL,
  run_id text NOT NULL,
  natural_key text,               -- NULL when the key itself is the problem
  reason text NOT NULL,
  raw jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_key, row_index)
);
CREATE INDEX rejected_rows_object ON etl.rejected_rows (tenant, object);

-- Pages that could not be loaded at all (not JSON, not a CVDW envelope, bad metadata). The load
-- returns an error too, so Lambda retries and the DLQ keeps the event.
CREATE TABLE etl.failed_pages (
  id bigserial PRIMARY KEY,
  source_key text NOT NULL,
  tenant text,
  object text,
  run_id text,
  sha256 text,
  reason text NOT NULL,
  body_prefix text,               -- first bytes, for a human to look at
  failed_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz         -- set when the same key later loads
);
CREATE INDEX failed_pages_key ON etl.failed_pages (source_key);

-- Run manifests. A manifest is `pending` until every page it lists is in etl.pages; then it is
-- applied (for a full run: rows of that tenant+object not seen in the run get deleted_at).
CREATE TABLE etl.manifests (
  tenant text NOT NULL,
  object text NOT NULL,
  run_id text NOT NULL,
  mode text NOT NULL,
  manifest_key text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  page_keys text[] NOT NULL,
  rows bigint NOT NULL,
  body jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  applied_at timestamptz,
  deleted_rows integer,
  PRIMARY KEY (tenant, object, run_id)
);
CREATE INDEX manifests_pending ON etl.manifests (tenant, object) WHERE applied_at IS NULL;

-- Runs as the archive shows them (one line per tenant+run+object).
CREATE VIEW etl.runs AS
SELECT p.tenant, p.run_id, p.object, min(p.mode) AS mode,
       count(*) AS pages, sum(p.rows) AS rows, sum(p.rejected) AS rejected,
       min(p.fetched_at) AS first_fetched_at, max(p.fetched_at) AS last_fetched_at,
       max(p.loaded_at) AS last_loaded_at,
       m.applied_at AS manifest_applied_at, m.deleted_rows,
       CASE WHEN m.run_id IS NULL THEN 'no manifest'
            WHEN m.applied_at IS NULL THEN 'pending'
            ELSE 'applied' END AS manifest_state
FROM etl.pages p
LEFT JOIN etl.manifests m USING (tenant, object, run_id)
GROUP BY p.tenant, p.run_id, p.object, m.run_id, m.applied_at, m.deleted_rows;
