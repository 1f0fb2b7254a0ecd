#!/usr/bin/env bash
# Local end-to-end run of the three Lambda handlers through the real Lambda Runtime API
# emulator (`cargo lambda watch`), against the CVDW simulator, a local S3-compatible server
# (s3s-fs, the real S3 protocol) and PostgreSQL:
#
#   1. extract  invoked with events/extract-schedule.json (what the EventBridge Scheduler target sends);
#               lands raw pages, manifests and state in S3;
#   2. load     invoked once per stored raw page, then per manifest, with the S3 ObjectCreated
#               event S3 would send for it (key URL-encoded the way S3 does); then
#               events/s3-object-created.json and events/s3-manifest-created.json as they
#               are (a tenant the configuration accepts, with versionId and eTag), after storing a page and
#               its manifest under those keys;
#   3. api      invoked with every events/api-*.json, then fetched over HTTP through the
#               emulator's function URL route (/lambda-url/api/...).
#
# Each step checks its result and the script stops at the first failure (non-zero exit).
# Local S3 sends no notifications (s3s-fs has none), so step 2 plays S3's part from a listing.
#
# Needs cargo, python3 (cargo-lambda and awscli come from PyPI into a venv under target/ when
# missing) and PostgreSQL (scripts/ensure-postgres.sh starts or installs it).
# Not part of CI: the first run compiles the three functions (several minutes on 2 cores).
#
# Knobs (environment):
#   INVOKE_PORT=9000        the emulator's port
#   SIM_PORT=18787          the simulator's port
#   S3_PORT=18014           s3s-fs's port; or S3_ENDPOINT=http://... to use a server already running
#   E2E_OBJECTS=vendas,reservas   CVDW objects to extract (all 70 take much longer)
#   E2E_SCALE=0.05          simulator world size
#   E2E_STEPS="extract load api"  the steps to run, in this order (each needs the ones before it
#                           to have produced data; "extract" alone checks the landing zone)
#   E2E_EXTRACT=lambda      or `cli`: land the pages with `cvdw extract --once` (the same code,
#                           outside Lambda) and drive only load and api through the emulator.
#                           (cargo-lambda 1.9's emulator sends `Lambda-Runtime-Deadline-Ms` as
#                           the remaining time, not an epoch time; the extract handler reads
#                           values below 10^12 ms as relative, so `lambda` works.)
#   KEEP=1                  keep the work directory and the database for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

INVOKE_PORT=${INVOKE_PORT:-9000}
SIM_PORT=${SIM_PORT:-18787}
S3_PORT=${S3_PORT:-18014}
E2E_OBJECTS=${E2E_OBJECTS:-vendas,reservas}
E2E_SCALE=${E2E_SCALE:-0.05}
E2E_STEPS=${E2E_STEPS:-extract load api}
E2E_EXTRACT=${E2E_EXTRACT:-lambda}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TOOLS=$TARGET/e2e-tools
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cvdw-lambda-e2e.XXXXXX")
DB=cvdw_lambda_e2e_$$
BUCKET=cvdw-e2e-raw
# A demo key: the api secret holds only its SHA-256 (docs/deploy.md, "Rotating the API key").
API_KEY=cvdw_demo_key_not_a_real_secret_0001

step() { printf '\n== %s\n' "$*"; }
wants() { case " $E2E_STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

PIDS=()
cleanup() {
  local rc=$?
  # Stop only what this script started, by process id (cargo lambda watch stops its own
  # function instances on SIGTERM).
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept: work dir $WORK, database $DB"
  else
    psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
  [ $rc = 0 ] && echo "lambda-local-e2e: OK" || echo "lambda-local-e2e: FAILED (logs in $WORK if KEEP=1)"
}
trap cleanup EXIT

wait_http() { # url, what
  for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  fail "$2 did not come up at $1"
}

# ---------------------------------------------------------------- tools
step "Tools"
for f in $E2E_STEPS; do
  [ "$f" = extract ] && [ "$E2E_EXTRACT" = cli ] && continue
  grep -q "run" "functions/$f/src/main.rs" ||
    fail "functions/$f/src/main.rs is still a placeholder: nothing to run yet"
done
if ! command -v cargo-lambda >/dev/null 2>&1 || ! command -v aws >/dev/null 2>&1; then
  if [ ! -x "$TOOLS/venv/bin/cargo-lambda" ] || [ ! -x "$TOOLS/venv/bin/aws" ]; then
    echo "Installing cargo-lambda (with zig) and awscli from PyPI into $TOOLS/venv"
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda awscli
  fi
  export PATH="$TOOLS/venv/bin:$PATH"
fi
cargo lambda --version

if [ -z "${S3_ENDPOINT:-}" ] && [ ! -x "$TOOLS/bin/s3s-fs" ]; then
  # 0.14.1: the newest s3s-fs that builds with rustc 1.95 (0.15 and later need 1.96).
  echo "Installing s3s-fs 0.14.1 into $TOOLS (one-off, ~3 min)"
  cargo install --quiet --locked s3s-fs@0.14.1 --features binary --root "$TOOLS"
fi

step "Build (debug): cvdw and $E2E_STEPS"
cargo build --quiet -p cvdw $(for f in $E2E_STEPS; do printf -- '-p %s ' "$f"; done)
CVDW="$TARGET/debug/cvdw"

# ---------------------------------------------------------------- services
step "PostgreSQL: fresh database $DB"
bash scripts/ensure-postgres.sh
psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $DB" >/dev/null
# Loopback PostgreSQL without TLS (the functions verify certificates; a local cluster has a
# self-signed one at best).
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"

step "CVDW simulator on 127.0.0.1:$SIM_PORT"
"$CVDW" simulate --port "$SIM_PORT" --scale "$E2E_SCALE" --rate-limit off >"$WORK/simulator.log" 2>&1 &
PIDS+=($!)
export CVDW_BASE_URL="http://127.0.0.1:$SIM_PORT/api/v1/cvdw"
wait_http "$CVDW_BASE_URL/vendas" "the simulator"

step "S3-compatible server"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=testtesttest AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
if [ -z "${S3_ENDPOINT:-}" ]; then
  mkdir -p "$WORK/s3"
  "$TOOLS/bin/s3s-fs" --host 127.0.0.1 --port "$S3_PORT" \
    --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$WORK/s3" \
    >"$WORK/s3.log" 2>&1 &
  PIDS+=($!)
  S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
  wait_http "$S3_ENDPOINT" "s3s-fs"
fi
export AWS_ENDPOINT_URL_S3="$S3_ENDPOINT"
s3() { aws --endpoint-url "$S3_ENDPOINT" s3api "$@"; }
s3 create-bucket --bucket "$BUCKET" >/dev/null
export RAW_BUCKET="$BUCKET"

# ---------------------------------------------------------------- function configuration
# The same variables the template sets, with plain values instead of *_SECRET_ARN (no
# Parameters and Secrets extension outside Lambda; shared::secrets falls back to them).
export CVDW_TENANTS="[{\"tenant\":\"demo\",\"subdomain\":\"demo\",\"email\":\"demo@cvdw.local\",\"token\":\"demo-token\",\"objects\":\"$E2E_OBJECTS\"}]"
export CVDW_RATE_LIMIT=100/1s
export API_KEY_HASHES
API_KEY_HASHES=$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)
# A continuation (extract re-invoking itself before its deadline) goes to the emulator, which
# serves the Lambda Invoke API, instead of AWS.
export EXTRACT_CONTINUE_FUNCTION=extract
export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$INVOKE_PORT"
# The emulator gives invocations a short deadline; a small run fits well within it, and a
# 90 s margin (the Lambda default) would hand over to a continuation at once.
export EXTRACT_DEADLINE_MARGIN=${EXTRACT_DEADLINE_MARGIN:-5s}
export RUST_LOG=${RUST_LOG:-info}

step "cargo lambda watch on 127.0.0.1:$INVOKE_PORT"
# Two instances per function: a continuation (an Event invoke of extract by extract) must not
# wait for the instance that sent it, as it would behind a single emulated instance.
cargo lambda watch --quiet --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
  --timeout 900 --concurrency 2 >"$WORK/watch.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$INVOKE_PORT/" "cargo lambda watch"

invoke() { # function, data file -> response on stdout
  # --invoke-address: without it invoke dials [::1], where the watch server does not listen.
  timeout "${INVOKE_TIMEOUT:-900}" cargo lambda invoke "$1" --invoke-address 127.0.0.1 \
    --invoke-port "$INVOKE_PORT" --data-file "$2" --output-format json
}

# ---------------------------------------------------------------- 1. extract
if [ "$E2E_EXTRACT" = cli ]; then
  step "extract (cvdw extract --once, outside the emulator): $E2E_OBJECTS"
  "$CVDW" extract --once --objects "$E2E_OBJECTS" >"$WORK/extract.out" 2>"$WORK/extract.err" || {
    tail -30 "$WORK/extract.err"; fail "cvdw extract"; }
else
  step "extract: scheduled run of $E2E_OBJECTS (events/extract-schedule.json)"
  invoke extract events/extract-schedule.json >"$WORK/extract.out" || {
    tail -50 "$WORK/watch.log"; fail "extract invocation"; }
  head -c 600 "$WORK/extract.out"; echo
fi
s3 list-objects-v2 --bucket "$BUCKET" --output json >"$WORK/listing.json"
python3 - "$WORK/listing.json" "$E2E_OBJECTS" <<'PY'
import json, sys
keys = [o["Key"] for o in json.load(open(sys.argv[1])).get("Contents", [])]
raw = [k for k in keys if k.startswith("raw/")]
manifests = [k for k in keys if k.startswith("manifests/")]
state = [k for k in keys if k.startswith("state/")]
print(f"stored: {len(raw)} raw pages, {len(manifests)} manifests, {len(state)} state objects")
assert raw, "no raw page stored"
assert len(manifests) >= len(sys.argv[2].split(",")), "a manifest per object"
PY

# ---------------------------------------------------------------- 2. load
if wants load; then
step "load: one S3 ObjectCreated event per raw page, then per manifest"
python3 - "$WORK/listing.json" "$BUCKET" "$WORK/events" <<'PY'
import json, os, sys, urllib.parse, datetime
listing, bucket, out = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
objs = listing.get("Contents", [])
order = [o for o in objs if o["Key"].startswith("raw/")] + [o for o in objs if o["Key"].startswith("manifests/")]
for i, o in enumerate(order):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    event = {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": now, "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:cvdw-etl-extract"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": f"E2E{i:013d}", "x-amz-id-2": "e2e"},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "cvdw-load",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3E2E"}, "arn": f"arn:aws:s3:::{bucket}"},
            # S3 URL-encodes keys in events (space -> '+'); '/' stays.
            "object": {"key": urllib.parse.quote_plus(o["Key"], safe="/"), "size": o["Size"],
                       "eTag": o.get("ETag", "").strip('"'), "sequencer": f"{i:016X}"},
        },
    }]}
    json.dump(event, open(os.path.join(out, f"{i:05d}.json"), "w"))
print(f"{len(order)} events")
PY
n=0
for ev in "$WORK"/events/*.json; do
  invoke load "$ev" >"$WORK/load.out" || {
    cat "$WORK/load.out"; tail -50 "$WORK/watch.log"; fail "load of $(basename "$ev")"; }
  n=$((n + 1))
done
echo "load: $n invocations succeeded"
# Replaying the first event is a no-op (idempotent loader), and must not fail either.
invoke load "$WORK/events/00000.json" >/dev/null || fail "replayed load event"

step "load: the sample events (events/s3-object-created.json, events/s3-manifest-created.json)"
# Store a page and its manifest under the keys those events name, in the bucket they name,
# as extract would (PageMeta as user metadata; the non-ASCII tenant RFC 2047-encoded, as S3
# returns it), then invoke load with the event files unchanged.
SAMPLE_BUCKET=$(python3 -c 'import json;print(json.load(open("events/s3-object-created.json"))["Records"][0]["s3"]["bucket"]["name"])')
s3 create-bucket --bucket "$SAMPLE_BUCKET" >/dev/null 2>&1 || true
first_raw=$(python3 -c 'import json,sys;print([o["Key"] for o in json.load(open(sys.argv[1]))["Contents"] if o["Key"].startswith("raw/") and "/vendas/" in o["Key"]][0])' "$WORK/listing.json")
s3 get-object --bucket "$BUCKET" --key "$first_raw" "$WORK/first-page.json" >/dev/null
python3 - "$WORK/first-page.json" "$WORK/sample" <<'PY'
import base64, hashlib, json, os, sys, urllib.parse
src, out = json.load(open(sys.argv[1])), sys.argv[2]
os.makedirs(out, exist_ok=True)
page_ev = json.load(open("events/s3-object-created.json"))["Records"][0]["s3"]["object"]["key"]
man_ev = json.load(open("events/s3-manifest-created.json"))["Records"][0]["s3"]["object"]["key"]
dec = lambda k: urllib.parse.unquote_plus(k)
rows = src["dados"][:2]
body = json.dumps({"pagina": 1, "registros": 500, "total_de_registros": len(rows),
                   "total_de_paginas": 1, "dados": rows}, ensure_ascii=False).encode()
open(f"{out}/page.json", "wb").write(body)
sha = hashlib.sha256(body).hexdigest()
manifest = json.load(open("events/manifest-vendas-full.json"))
manifest["pages"][0].update({"key": dec(page_ev), "rows": len(rows), "sha256": sha})
manifest["rows"] = len(rows)
open(f"{out}/manifest.json", "w").write(json.dumps(manifest, ensure_ascii=False))
tenant = "=?UTF-8?B?" + base64.b64encode(manifest["tenant"].encode()).decode() + "?="
meta = {"tenant": tenant, "run-id": manifest["run_id"], "object-path": "/vendas", "page": "1",
        "params": "pagina=1&registros_por_pagina=500", "http-status": "200",
        "fetched-at": manifest["started_at"], "mode": "full", "rows": str(len(rows)), "sha256": sha}
open(f"{out}/meta.json", "w").write(json.dumps(meta))
open(f"{out}/keys", "w").write(dec(page_ev) + "\n" + dec(man_ev) + "\n")
PY
{ read -r sample_page_key; read -r sample_manifest_key; } <"$WORK/sample/keys"
s3 put-object --bucket "$SAMPLE_BUCKET" --key "$sample_page_key" --body "$WORK/sample/page.json" \
  --metadata "file://$WORK/sample/meta.json" >/dev/null
s3 put-object --bucket "$SAMPLE_BUCKET" --key "$sample_manifest_key" --body "$WORK/sample/manifest.json" >/dev/null
invoke load events/s3-object-created.json >"$WORK/load.out" || {
  cat "$WORK/load.out"; tail -50 "$WORK/watch.log"; fail "load of events/s3-object-created.json"; }
invoke load events/s3-manifest-created.json >"$WORK/load.out" || {
  cat "$WORK/load.out"; tail -50 "$WORK/watch.log"; fail "load of events/s3-manifest-created.json"; }
got=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atqc \
  "select count(*) from cvdw.vendas where tenant = 'construtora-sao-jose' and source_key = '$sample_page_key'")
echo "  cvdw.vendas rows of tenant 'construtora-sao-jose' from the sample page: $got"
[ "$got" = 2 ] || fail "the sample page's two rows did not load (got $got)"
applied=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atqc \
  "select count(*) from etl.manifests where manifest_key = '$sample_manifest_key' and applied_at is not null")
echo "  applied etl.manifests entries for the sample manifest: $applied"
[ "$applied" = 1 ] || fail "the sample manifest was not applied"

rows=0
while read -r table; do
  [ -z "$table" ] && continue
  c=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atqc "select count(*) from $table")
  echo "  $table: $c rows"
  rows=$((rows + c))
done < <(psql -h 127.0.0.1 -U postgres -d "$DB" -Atqc \
  "select quote_ident(table_schema)||'.'||quote_ident(table_name) from information_schema.tables
   where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog','information_schema')
   order by 1")
[ "$rows" -gt 0 ] || fail "nothing reached PostgreSQL"
fi

# ---------------------------------------------------------------- 3. api
if wants api; then
step "api: the function URL events"
for ev in events/api-*.json; do
  invoke api "$ev" >"$WORK/api.out" || { tail -50 "$WORK/watch.log"; fail "api $ev"; }
  python3 - "$WORK/api.out" "$ev" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
status = r.get("statusCode")
ctype = {k.lower(): v for k, v in (r.get("headers") or {}).items()}.get("content-type", "")
print(f"  {sys.argv[2]}: {status} {ctype}")
assert status == 200, f"{sys.argv[2]}: HTTP {status}: {str(r.get('body'))[:300]}"
if "csv" in sys.argv[2]:
    assert "csv" in ctype, ctype
PY
done

step "api: over HTTP through the emulator's function URL"
url="http://127.0.0.1:$INVOKE_PORT/lambda-url/api"
code=$(curl -s -o "$WORK/root.html" -w '%{http_code}' "$url/")
echo "  GET / -> $code"; [ "$code" = 200 ] || fail "GET /"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/vendas-mensais")
echo "  GET /api/vendas-mensais without a key -> $code"; [ "$code" = 401 ] || fail "expected 401 without a key"
code=$(curl -s -o "$WORK/vendas.json" -w '%{http_code}' -H "Authorization: Bearer $API_KEY" "$url/api/vendas-mensais")
echo "  GET /api/vendas-mensais with the key -> $code"; [ "$code" = 200 ] || fail "GET /api/vendas-mensais"
fi
