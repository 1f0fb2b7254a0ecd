#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for user `postgres` without a
# password (what the tests and `cvdw demo` expect by default). Installs Debian's package if
# the server is missing, starts the cluster if it is down, and switches loopback auth to
# trust on a fresh install. Idempotent; safe to run on a developer machine that already has it.
set -euo pipefail

ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
can_login() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; }

if can_login; then echo "PostgreSQL is up on 127.0.0.1:5432"; exit 0; fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2; exit 1; fi
  echo "Installing PostgreSQL (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
conf=/etc/postgresql/$version/main
if ! ready; then
  echo "Starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi

if ! can_login; then
  echo "Configuring trust auth on loopback for the test user"
  tmp=$(mktemp)
  { echo "host all all 127.0.0.1/32 trust"; echo "host all all ::1/128 trust"; echo "local all all trust"; cat "$conf/pg_hba.conf"; } > "$tmp"
  cat "$tmp" > "$conf/pg_hba.conf" && rm -f "$tmp"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload || pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 30); do can_login && break; sleep 1; done
fi

can_login || { echo "PostgreSQL does not accept user postgres on 127.0.0.1:5432" >&2; exit 1; }
echo "PostgreSQL is up on 127.0.0.1:5432"
