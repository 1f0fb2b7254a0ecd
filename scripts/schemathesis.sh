#!/usr/bin/env bash
# Fuzz the API with schemathesis against its own /openapi.json, on a local server over a fresh
# database loaded by `cvdw demo --once` (simulator → extract → local S3 → load). Two passes:
#   1. `st run` with a viewer key scoped to the demo's one tenant (API_KEYS): no 5xx, every
#      response conforms to the document (status, content type, headers, body schema; the 403s
#      for other tenants and the admin-only ETL status included), and input the document rules
#      out is refused (4xx);
#   2. without a key, a wrong key and a forged session cookie, every data operation of the
#      document must answer 401 (and the public ones are exactly the expected few).
# Exits non-zero on any failure. Bounded and reproducible: ST_MAX_EXAMPLES per operation
# (default 30) and a fixed ST_SEED. Runs in CI after the tests (.ci/run).
#
# Needs python3 (with venv), the PostgreSQL of scripts/ensure-postgres.sh on 127.0.0.1:5432 and
# cargo. Schemathesis is installed once into a virtualenv under ${XDG_CACHE_HOME:-~/.cache}/cvdw
# (pinned; reused by later runs).
#
# The check `positive_data_acceptance` is left out on purpose: it expects every request the
# document allows to succeed, but two rules cannot be written in OpenAPI 3.0 — `ate` not before
# `de`, and real calendar days (2025-02-30 matches the date pattern) — so their 400s are right.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ST_VERSION=4.32.5
EXAMPLES=${ST_MAX_EXAMPLES:-30}
SEED=${ST_SEED:-20261129}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/cvdw/schemathesis-$ST_VERSION

echo "== schemathesis $ST_VERSION"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
  if ! python3 -m venv --help >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check -q "schemathesis==$ST_VERSION"
fi
"$VENV/bin/st" --version

echo "== cvdw (debug build)"
cargo build -q -p cvdw --bin cvdw
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
CVDW=$TARGET/debug/cvdw

WORK=$(mktemp -d)
DB=cvdw_schemathesis_$$
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== a fresh database ($DB) loaded by cvdw demo --once"
# The demo creates the database on 127.0.0.1:5432 when DATABASE_URL is unset.
(cd "$WORK" && env -u DATABASE_URL "$CVDW" demo --once --database "$DB" --dir "$WORK/demo" \
  --objects vendas,distratos,reservas,reservas_condicoes,comissoes,unidades,unidades_precos,atendimentos_times,atendimentos_times_integrantes \
  >"$WORK/demo.log" 2>&1) || { tail -40 "$WORK/demo.log"; exit 1; }
tail -1 "$WORK/demo.log"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
API_KEYS=$(python3 -c '
import hashlib, json, sys
print(json.dumps([{"sha256": hashlib.sha256(sys.argv[1].encode()).hexdigest(),
                   "tenants": ["demo"], "role": "viewer", "name": "schemathesis"}]))' "$KEY")
BASE=http://127.0.0.1:$PORT
# The key travels in the environment, not on the command line; cvdw serve generates the
# session secret.
env -u CVDW_API_KEY -u API_KEY_HASHES -u SESSION_SECRET \
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" API_KEYS="$API_KEYS" \
  "$CVDW" serve --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
python3 - "$BASE" <<'EOF' || { tail -40 "$WORK/serve.log"; exit 1; }
import sys, time, urllib.request
for _ in range(150):
    try:
        with urllib.request.urlopen(sys.argv[1] + "/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit("the API did not answer /health")
EOF
echo "API at $BASE"

echo "== pass 1: st run (max $EXAMPLES examples per operation, seed $SEED)"
# From the work directory: hypothesis keeps its example database in ./.hypothesis.
status=0
(cd "$WORK" && "$VENV/bin/st" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks all --exclude-checks positive_data_acceptance \
  --phases examples,coverage,fuzzing \
  --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
  --request-timeout 60) || status=$?

echo "== pass 2: every data operation answers 401 without a valid key"
python3 - "$BASE" "$KEY" <<'EOF' || status=1
import json, sys, urllib.error, urllib.request

base, key = sys.argv[1], sys.argv[2]

def call(method, path, headers):
    req = urllib.request.Request(base + path, method=method, headers=headers,
                                 data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()

status, _, body = call("GET", "/openapi.json", {"Authorization": "Bearer " + key})
assert status == 200, f"/openapi.json with the key: {status}"
doc = json.loads(body)
public_expected = {("get", "/health"), ("get", "/"), ("get", "/assets/app.js"), ("get", "/assets/app.css"),
                   ("get", "/assets/chart.umd.min.js"), ("post", "/login"), ("post", "/logout")}
failures, checked, public = [], 0, set()
without = {
    "no credentials": {},
    "a wrong key": {"Authorization": "Bearer " + key[::-1]},
    "an empty bearer": {"Authorization": "Bearer "},
    "basic auth": {"Authorization": "Basic " + key},
    "a forged session cookie": {"Cookie": "cvdw_session=v1.99999999999." + "0" * 64},
}
for path, item in doc["paths"].items():
    for method, op in item.items():
        if op.get("security") == []:
            public.add((method, path))
            continue
        # Valid-looking and hostile parameters alike: authentication comes first, so a caller
        # without a key learns nothing from a 400 either.
        for query in ["", "?tenant=demo", "?tenant=%27%20OR%201%3D1%20--"]:
            for what, headers in without.items():
                status, h, body = call(method.upper(), path + query, headers)
                checked += 1
                if status != 401:
                    failures.append(f"{method.upper()} {path}{query} with {what}: HTTP {status}")
                elif "Bearer" not in h.get("WWW-Authenticate", h.get("www-authenticate", "")):
                    failures.append(f"{method.upper()} {path}{query} with {what}: 401 without WWW-Authenticate")
                elif b"rows" in body:
                    failures.append(f"{method.upper()} {path}{query} with {what}: 401 carrying data")
if public != public_expected:
    failures.append(f"public operations differ from the expected ones: {sorted(public ^ public_expected)}")
for f in failures:
    print("FAIL", f)
print(f"401 pass: {checked} requests to {len(doc['paths']) - len(public)} protected paths, "
      f"{len(failures)} failures; public: {', '.join(sorted(p for _, p in public))}")
sys.exit(1 if failures else 0)
EOF

if [ "$status" -ne 0 ]; then
  echo "schemathesis.sh: FAILED" >&2
  exit "$status"
fi
echo "schemathesis.sh: 0 failures"
