#!/usr/bin/env bash
# The loan scheduler benchmark (issue 7): one day's due rules for LOANS active loans
# evaluated and their actions enqueued, target <= 60 s for 1,000,000 loans on 2 cores:
#   scripts/bench-loans.sh [LOANS] [PG_LOANS] [extra `affix-bench loans` options]
# For SQLite (LOANS, default 1000000), then for PostgreSQL (PG_LOANS, default LOANS) if
# scripts/pg.sh can give a server (a fresh database per run, dropped afterwards; a
# server this script started is stopped again), it seeds the loans (not timed), then
# times Platform::evaluate_due_loans until nothing is due that day, with the CPU time of
# the process by thread group and of other processes (the PostgreSQL server). Seeding
# 1,000,000 loans takes several minutes per database and about 5 GB of disk.
# Recorded in docs/benchmarks.md ("Loan scheduler (issue 7)").

set -euo pipefail
cd "$(dirname "$0")/.."
loans="${1:-1000000}"
pg_loans="${2:-$loans}"
extra=("${@:3}")
cargo build --release --locked -p affix-bench --quiet
bench="$PWD/target/release/affix-bench"

echo "== $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with local changes)'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr)"
echo
echo "== SQLite"
"$bench" loans --loans "$loans" "${extra[@]}"

echo
echo "== PostgreSQL"
started_pg=""
if ! url=$(scripts/pg.sh url 2>/dev/null); then
  if url=$(scripts/pg.sh start 2>/dev/null | tail -n 1) && [ -n "$url" ]; then
    started_pg=1
  else
    echo "skipped: scripts/pg.sh could not start a PostgreSQL server (apt-get install postgresql)"
    exit 0
  fi
fi
db="affix_bench_loans_$(date +%s)_$$"
cleanup() {
  psql -X -q "$url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  [ -z "$started_pg" ] || scripts/pg.sh stop || true
}
trap cleanup EXIT
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE $db" >/dev/null
"$bench" loans --loans "$pg_loans" --database-url "${url%/*}/$db" "${extra[@]}"
