#!/usr/bin/env bash
# Measure the volumes docs/cost.md prices: one simulated day of `cvdw extract` per tenant
# profile (a full run, then the incremental runs of the default schedule), against the
# in-process CVDW simulator and the in-process S3 server (s3s-fs on a temporary directory).
#
#   bash scripts/cost-volumes.sh [CVDW_BINARY]          # default: cargo run --release -p cvdw
#   PROFILES="small=1 medium=5 large=20" RUNS=5 bash scripts/cost-volumes.sh
#
# Prints one line per profile and run: requests (= pages fetched, retries included), rows,
# raw objects and bytes written, and the extract's own duration at an unlimited rate (the
# billed duration in AWS is dominated by the 20 requests/minute pacing, which docs/cost.md
# computes from the request count).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES="${PROFILES:-small=1 medium=5 large=20}"
RUNS="${RUNS:-5}"
if [ $# -ge 1 ]; then CVDW=("$1"); else CVDW=(cargo run --quiet --release -p cvdw --); fi

for profile in $PROFILES; do
  name="${profile%%=*}"; scale="${profile#*=}"
  dir="$(mktemp -d)"
  for run in $(seq 1 "$RUNS"); do
    full=(); [ "$run" = 1 ] && full=(--full)
    before=$(find "$dir" -path '*/raw/*' -type f -name '*.json' 2>/dev/null | wc -l)
    bytes_before=$(find "$dir" -path '*/raw/*' -type f -name '*.json' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}')
    # No pacing: the simulator and the pacer both run unthrottled; the counts do not change.
    report=$(CVDW_RATE_LIMIT=100000/1s RUST_LOG=warn "${CVDW[@]}" extract --once "${full[@]}" \
      --sim-scale "$scale" --sim-rate-limit off --s3-dir "$dir" --json 2>/dev/null)
    after=$(find "$dir" -path '*/raw/*' -type f -name '*.json' | wc -l)
    bytes_after=$(find "$dir" -path '*/raw/*' -type f -name '*.json' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
    python3 - "$name" "$scale" "$run" "$((after - before))" "$((bytes_after - bytes_before))" "$report" <<'PY'
import json, sys
name, scale, run, objs, nbytes, report = sys.argv[1:7]
r = json.loads(report.strip().splitlines()[-1])
mode = "full" if run == "1" else "incremental"
print(f"RESULT profile={name} scale={scale} run={run} mode={mode} objects={len(r['objects'])} "
      f"requests={r['pages'] + r['retries']} pages={r['pages']} rows={r['rows']} "
      f"raw_objects={objs} raw_bytes={nbytes} duration_ms={r['duration_ms']}")
PY
  done
  rm -rf "$dir"
done
