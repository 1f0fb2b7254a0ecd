#!/usr/bin/env python3
"""The per-tenant-month AWS cost model of docs/cost.md, from measured extract volumes.

    bash scripts/cost-volumes.sh > volumes.txt      # the measured inputs (RESULT lines)
    python3 scripts/cost-model.py volumes.txt       # prints the tables of docs/cost.md

Measured (from volumes.txt): requests, pages, rows and raw bytes of a full run and of an
incremental run, per profile. Everything else is a named assumption or a list price below;
change them here and re-run. Prices are AWS us-east-1 list prices (sa-east-1 is higher; see
docs/cost.md).
"""

import sys
from collections import defaultdict

# ---------------------------------------------------------------- prices (USD, us-east-1)
LAMBDA_GBS_ARM = 0.0000133334      # per GB-second, arm64
LAMBDA_REQ = 0.20 / 1e6            # per invocation
S3_PUT = 0.005 / 1000              # PUT/COPY/POST/LIST
S3_GET = 0.0004 / 1000             # GET and other reads
S3_STANDARD = 0.023                # GB-month (and Intelligent-Tiering frequent access)
S3_IT_INFREQUENT = 0.0125          # GB-month, after 30 days without access
S3_IT_ARCHIVE_INSTANT = 0.004      # GB-month, after 90 days without access
S3_IT_MONITORING = 0.0025 / 1000   # per object >= 128 KB per month
S3_IT_TRANSITION = 0.01 / 1000     # lifecycle transition into Intelligent-Tiering, per object
S3_GIR = 0.004                     # GB-month, Glacier Instant Retrieval (millisecond reads)
S3_GIR_TRANSITION = 0.02 / 1000    # lifecycle transition into Glacier Instant Retrieval, per object
S3_IA = 0.0125                     # GB-month, Standard-IA
S3_IA_TRANSITION = 0.01 / 1000     # lifecycle transition into Standard-IA, per object
LOGS_INGEST = 0.50                 # per GB ingested
LOGS_STORE = 0.03                  # per GB-month stored (compressed; 30-day retention)
METRIC = 0.30                      # per custom metric-month (first 10 000)
ALARM = 0.10                       # per standard-resolution alarm metric-month
SECRET = 0.40                      # per secret-month
SQS_REQ = 0.40 / 1e6               # per request (the dead-letter queue only)
SCHEDULER = 1.00 / 1e6             # per invocation (14 M free each month, not counted)

# ---------------------------------------------------------------- assumptions
DAYS = 30.4                        # days per month
RUNS_PER_DAY = 5                   # the default schedule
SECONDS_PER_REQUEST = 60 / 20      # extract is billed while the pacer spaces 20 requests/minute
EXTRACT_GB = 0.125                 # MemorySize of extract and load (infra/template.yaml)
LOAD_GB = 0.25
LOAD_S_FULL_PAGE = 0.30            # one 500-row page: parse + one-round-trip upsert (assumed)
LOAD_S_SMALL = 0.08                # an incremental page or a manifest (assumed)
MANIFESTS_PER_RUN = 70             # one per object per run
CHECKPOINT_EVERY_S = 30            # shared::extract::run::CHECKPOINT_EVERY
STATE_PUTS_PER_PAGE = SECONDS_PER_REQUEST / CHECKPOINT_EVERY_S  # a paced run checkpoints every 10 pages
LOG_BYTES_LOAD = 2000              # per load invocation at RUST_LOG=info: platform lines, 2 info, 1 EMF
LOG_BYTES_LOAD_WARN = 1100         # the same at RUST_LOG=warn (platform lines and the EMF line stay)
LOG_BYTES_EXTRACT_PAGE = 150       # per extract page (object and run lines, amortised)
LOG_COMPRESSION = 0.15             # stored size / ingested size
PUBLISHED_METRICS = 4              # shared::emf::PUBLISHED sent every run (DeletionsSkipped, FailedRecords only when they happen)
# Custom metrics are prorated by the hour and metered only in hours that receive data: the
# functions publish only while a run or its loads are going on.
RUN_HOURS_PER_DAY = 5              # one clock hour per scheduled run (incremental runs take minutes)
STACK_METRICS = 1                  # PagesLoadedAllTenants (the freshness metric filter)
# The sales set's share of a full run's pages (shared::catalogue::SALES_SET), measured on the
# simulator at scale 1: 46 of 421 pages (docs/cost.md says how). The default schedule passes it
# daily and the other objects weekly.
SALES_SHARE = 46 / 421
SMALL_OBJECT = 128 * 1024          # Intelligent-Tiering neither monitors nor tiers smaller objects
MONTH = 12                         # the raw zone grows: cost shown at this month of operation


def template_lines():
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "infra", "template.yaml")
    return [line.strip() for line in open(path)]


def template_secrets():
    """Secrets of the stack: those whose ARNs it is given, and those it creates."""
    lines = template_lines()
    given = sum(1 for l in lines if l.endswith("SecretArn:") and not l.startswith("-"))
    created = sum(1 for l in lines if l == "Type: AWS::SecretsManager::Secret")
    return given + created


def template_alarms():
    """The template's alarms."""
    return sum(1 for l in template_lines() if l == "Type: AWS::CloudWatch::Alarm")


# Full-pass schedules: (share of a full run's pages, every how many days).
SCHEDULES = {
    "1 d": [(1.0, 1)],
    "7 d": [(1.0, 7)],
    "default": [(SALES_SHARE, 1), (1 - SALES_SHARE, 6)],
}


def read(path):
    runs = defaultdict(list)
    for line in open(path):
        if not line.startswith("RESULT "):
            continue
        kv = dict(f.split("=", 1) for f in line.split()[1:])
        runs[kv["profile"]].append(kv)
    return runs


def model(profile, runs, schedule, storage="GLACIER_IR", rust_log="info"):
    full = next(r for r in runs if r["mode"] == "full")
    inc = [r for r in runs if r["mode"] == "incremental"]
    n = lambda r, k: float(r[k])
    inc_req = sum(n(r, "requests") for r in inc) / len(inc)
    inc_bytes = sum(n(r, "raw_bytes") for r in inc) / len(inc)
    # Full runs per month, counted in whole-run equivalents of pages, bytes and requests.
    full_runs = sum(share * DAYS / every for share, every in SCHEDULES[schedule])
    # A run passing every object in full has no separate incremental step; under the default
    # schedule every run also makes its incremental steps (the budget may stop a pass).
    whole_full_runs = DAYS / SCHEDULES[schedule][0][1] if schedule != "default" else 0
    inc_runs = DAYS * RUNS_PER_DAY - whole_full_runs
    full_pages = full_runs * n(full, "pages")
    inc_pages = inc_runs * inc_req
    requests = full_runs * n(full, "requests") + inc_runs * inc_req
    pages = full_pages + inc_pages
    new_gb = (full_runs * n(full, "raw_bytes") + inc_runs * inc_bytes) / 1e9
    full_page_bytes = n(full, "raw_bytes") / n(full, "pages")
    big_objects_month = full_pages if full_page_bytes >= SMALL_OBJECT else 0
    big_gb = full_runs * n(full, "raw_bytes") / 1e9 if big_objects_month else 0.0
    small_gb = new_gb - big_gb

    out = {}
    # Lambda
    extract_gbs = requests * SECONDS_PER_REQUEST * EXTRACT_GB
    manifests = (full_runs + inc_runs) * MANIFESTS_PER_RUN
    load_gbs = (full_pages * LOAD_S_FULL_PAGE + (inc_pages + manifests) * LOAD_S_SMALL) * LOAD_GB
    # extract: one invocation per run plus a continuation per ~810 s of work (900 s - 90 s margin)
    extract_invocations = full_runs + inc_runs + requests * SECONDS_PER_REQUEST / 810
    invocations = pages + manifests + extract_invocations
    out["Lambda extract (GB-s)"] = extract_gbs * LAMBDA_GBS_ARM
    out["Lambda load (GB-s)"] = load_gbs * LAMBDA_GBS_ARM
    out["Lambda requests"] = invocations * LAMBDA_REQ
    # S3: the raw zone at month MONTH. Pages of 128 KB or more move by the lifecycle rule
    # (day 0; Standard-IA: day 30); smaller ones (incremental pages) stay in Standard.
    small_store = small_gb * MONTH * S3_STANDARD
    if storage == "INTELLIGENT_TIERING":
        hot = big_gb                                   # the last 30 days
        warm = big_gb * min(2, max(0, MONTH - 1))      # 30-90 days
        cold = big_gb * max(0, MONTH - 3)              # older than 90 days
        store = hot * S3_STANDARD + warm * S3_IT_INFREQUENT + cold * S3_IT_ARCHIVE_INSTANT
        per_object = big_objects_month * (MONTH * S3_IT_MONITORING + S3_IT_TRANSITION)
    elif storage == "GLACIER_IR":
        store = big_gb * MONTH * S3_GIR
        per_object = big_objects_month * S3_GIR_TRANSITION
    elif storage == "STANDARD_IA":
        store = big_gb * S3_STANDARD + big_gb * max(0, MONTH - 1) * S3_IA
        per_object = big_objects_month * S3_IA_TRANSITION
    else:
        store, per_object = big_gb * MONTH * S3_STANDARD, 0.0
    out["S3 storage"] = store + small_store
    out["S3 transitions + tiering monitoring"] = per_object
    puts = pages * (1 + STATE_PUTS_PER_PAGE) + manifests * 2  # page + checkpoint; manifest + cursor
    gets = pages + manifests                                  # load reads each object once
    out["S3 requests"] = puts * S3_PUT + gets * S3_GET
    # CloudWatch
    log_load = LOG_BYTES_LOAD if rust_log == "info" else LOG_BYTES_LOAD_WARN
    log_gb = ((pages + manifests) * log_load + pages * LOG_BYTES_EXTRACT_PAGE) / 1e9
    out["CloudWatch logs"] = log_gb * (LOGS_INGEST + LOG_COMPRESSION * LOGS_STORE)
    full_run_hours = n(full, "requests") * SECONDS_PER_REQUEST / 3600
    active = min(1.0, (DAYS * RUN_HOURS_PER_DAY + full_runs * full_run_hours) / (DAYS * 24))
    out["CloudWatch custom metrics"] = PUBLISHED_METRICS * METRIC * active
    # Per stack (one tenant per stack: the tenant carries them all)
    out["CloudWatch alarms + freshness metric (stack)"] = template_alarms() * ALARM + STACK_METRICS * METRIC * active
    out["Secrets Manager (stack)"] = template_secrets() * SECRET
    out["SQS + Scheduler"] = 0.0 * SQS_REQ + (full_runs + inc_runs) * SCHEDULER
    inputs = dict(
        profile=profile, scale=full["scale"], rows=int(n(full, "rows")),
        full_requests=int(n(full, "requests")), full_gb=n(full, "raw_bytes") / 1e9,
        inc_requests=inc_req, inc_mb=inc_bytes / 1e6, full_every=schedule,
        requests_month=requests, new_gb_month=new_gb, page_kb=full_page_bytes / 1024,
        extract_hours_full=n(full, "requests") * SECONDS_PER_REQUEST / 3600,
        storage=storage, active=active,
    )
    return inputs, out


def main():
    runs = read(sys.argv[1] if len(sys.argv) > 1 else "volumes.txt")
    cases = [(p, d) for p in ("small", "medium", "large") for d in ("1 d", "7 d", "default") if p in runs]
    storage = sys.argv[2] if len(sys.argv) > 2 else "GLACIER_IR"
    results = [model(p, runs[p], d, storage) for p, d in cases]
    print("| input | " + " | ".join(f"{i['profile']} (full: {i['full_every']})" for i, _ in results) + " |")
    print("|---|" + "---|" * len(results))
    rows = [
        ("`cvdw simulate --scale`", lambda i: i["scale"]),
        ("rows (measured)", lambda i: f"{i['rows']:,}"),
        ("requests of a full run (measured)", lambda i: f"{i['full_requests']:,}"),
        ("stored bytes of a full run (measured, gzip)", lambda i: f"{i['full_gb']:.3f} GB"),
        ("mean stored full-run page (measured)", lambda i: f"{i['page_kb']:.0f} KB"),
        ("requests of an incremental run (measured)", lambda i: f"{i['inc_requests']:.0f}"),
        ("stored bytes of an incremental run (measured)", lambda i: f"{i['inc_mb']:.2f} MB"),
        ("full run at 20 requests/min", lambda i: f"{i['extract_hours_full']:.1f} h"),
        ("CVDW requests per month", lambda i: f"{i['requests_month']:,.0f}"),
        ("new raw data per month", lambda i: f"{i['new_gb_month']:.2f} GB"),
        ("share of hours with metric data", lambda i: f"{i['active']:.2f}"),
    ]
    for name, f in rows:
        print(f"| {name} | " + " | ".join(str(f(i)) for i, _ in results) + " |")
    print()
    print(f"| US$ per tenant-month (month {MONTH}, raw pages in {storage}) | " + " | ".join(f"{i['profile']} ({i['full_every']})" for i, _ in results) + " |")
    print("|---|" + "---:|" * len(results))
    for line in results[0][1]:
        print(f"| {line} | " + " | ".join(f"{o[line]:.2f}" for _, o in results) + " |")
    print("| **total** | " + " | ".join(f"**{sum(o.values()):.2f}**" for _, o in results) + " |")


if __name__ == "__main__":
    main()
