#!/usr/bin/env bash
# The signing platform's flow benchmark (issue 6), the whole platform in one process:
#   scripts/bench-platform.sh [FLOWS] [extra `affix-bench platform` options]
# For SQLite, then for PostgreSQL if scripts/pg.sh can give a server (a fresh database
# per run, dropped afterwards; a server this script started is stopped again), it runs
#   1. throughput: FLOWS complete two-party flows (default 2000), 32 drivers, closed loop;
#   2. latency, open loop, POST /v1/invite/sign timed: at half the throughput just
#      measured, then at 100 flows/s, 20 s each;
# and prints each with the platform's stage breakdown, the client's time per HTTP step
# and the CPU time per thread group. A run takes 2-3 minutes per database here.
# Recorded in docs/benchmarks.md ("Signing platform (issue 6)").

set -euo pipefail
cd "$(dirname "$0")/.."
flows="${1:-2000}"
extra=("${@:2}")
cargo build --release --locked -p affix-bench --quiet
bench="$PWD/target/release/affix-bench"

echo "== $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with local changes)'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr)"
echo
echo "== SQLite"
"$bench" platform --flows "$flows" "${extra[@]}"

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
db="affix_bench_$(date +%s)_$$"
cleanup() {
  psql -X -q "$url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  [ -z "$started_pg" ] || scripts/pg.sh stop || true
}
trap cleanup EXIT
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE DATABASE $db" >/dev/null
"$bench" platform --flows "$flows" --database-url "${url%/*}/$db" "${extra[@]}"
