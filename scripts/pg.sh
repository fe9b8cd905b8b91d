#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (affix-platform's storage runs its tests
# against SQLite and against this). scripts/test starts it, exports its URL as
# AFFIX_TEST_POSTGRES_URL and stops it on exit; developers can do the same by hand:
#
#   scripts/pg.sh start    init (first time) and start; prints the URL. Already running: prints the URL.
#   scripts/pg.sh url      prints the URL, e.g. postgres://affix:affix@127.0.0.1:55432/affix
#                          (fails if the server is not running)
#   scripts/pg.sh stop     stops it (the data stays in target/pg/data for the next start)
#
# Everything lives in target/pg of this checkout: data/ (the cluster), run/ (the unix
# socket), postgres.log. `rm -rf target/pg` after `stop` gives a fresh cluster; so does
# `cargo clean` (stop the server first). The server listens on 127.0.0.1 only, on port
# 55432, or the next free one up to 55531 if that is busy (AFFIX_PG_PORT picks another
# first port). Role `affix` (password `affix`, CREATEDB) owns database `affix`; the
# superuser `postgres` has no password and is reachable only through the unix socket in
# target/pg/run, which is private to the server's user.
#
# Needs the PostgreSQL server binaries (Debian: apt-get install postgresql), found under
# /usr/lib/postgresql/<version>/bin, version 15 preferred (AFFIX_PG_BIN overrides). It
# does not use systemd, pg_ctlcluster or the Debian cluster on port 5432. PostgreSQL
# refuses to run as root: as root the server runs as the `postgres` system user (created
# by the Debian package) and target/pg belongs to it; otherwise it runs as you.
#
# fsync and synchronous_commit stay on (the defaults: the real thing). Measured on a
# 2-core Debian 12 VM, turning them off saved nothing on CREATE DATABASE (~19 ms either
# way) and ~0.07 ms per commit, not worth a server that differs from production.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pgdir="$root/target/pg"
data="$pgdir/data"
log="$pgdir/postgres.log"
sock="$pgdir/run"
# A unix socket path is limited to 107 bytes; in a deep checkout use a short directory.
if [ $((${#sock} + 16)) -gt 100 ]; then
  sock="/tmp/affix-pg-$(printf %s "$pgdir" | sha256sum | cut -c1-16)"
fi
first_port="${AFFIX_PG_PORT:-55432}"
user=affix password=affix db=affix

say() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
cmd="$1"
case "$cmd" in start | stop | url) ;; *) usage ;; esac

# The server binaries.
bin="${AFFIX_PG_BIN:-}"
if [ -z "$bin" ]; then
  if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
    bin=/usr/lib/postgresql/15/bin
  else
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n); do
      [ -x "$d/postgres" ] && bin="$d"
    done
  fi
fi
[ -n "$bin" ] && [ -x "$bin/postgres" ] ||
  die "no PostgreSQL server found under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql; or set AFFIX_PG_BIN)"
psql="$bin/psql"
[ -x "$psql" ] || psql="$(command -v psql)" || die "psql not found"
pg_isready="$bin/pg_isready"
[ -x "$pg_isready" ] || pg_isready="$(command -v pg_isready)" || die "pg_isready not found"

# Who runs the server.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user (created by Debian's postgresql package)"
  as_pg() { (cd "$pgdir" && runuser -u postgres -- "$@" 9>&-); }
else
  as_pg() { (cd "$pgdir" && "$@" 9>&-); }
fi

running() { [ -f "$data/postmaster.pid" ] && as_pg "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }
# The port of the running server: line 4 of postmaster.pid.
port_of_running() { sed -n 4p "$data/postmaster.pid"; }
url_for() { printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$user" "$password" "$1" "$db"; }
ready() { "$pg_isready" -q -h 127.0.0.1 -p "$1" -t 1 >/dev/null 2>&1; }
superuser_sql() { as_pg "$psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$1" -U postgres -d postgres "${@:2}"; }

case "$cmd" in
url)
  [ -d "$data" ] && running || die "not running (scripts/pg.sh start)"
  url_for "$(port_of_running)"
  exit 0
  ;;
stop)
  if [ -d "$data" ] && running; then
    as_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null
    say "stopped"
  else
    say "not running"
  fi
  exit 0
  ;;
esac

# start
mkdir -p "$pgdir"
[ "$(id -u)" -eq 0 ] || [ -O "$pgdir" ] ||
  die "$pgdir belongs to someone else (made as root?): remove it (sudo rm -rf $pgdir)"
# One start at a time (two shells, or scripts/test next to a developer's start). as_pg
# closes fd 9, so the server does not inherit the lock.
exec 9>"$pgdir/.lock"
flock -w 120 9 || die "another scripts/pg.sh holds $pgdir/.lock"

if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$sock"
  chown -R postgres:postgres "$pgdir" "$sock"
  runuser -u postgres -- test -w "$pgdir" -a -x "$pgdir" ||
    die "the postgres user cannot write $pgdir (a parent directory not searchable by others?)"
else
  mkdir -p "$sock"
fi
chmod 700 "$sock"

if [ -d "$data" ] && running; then
  port="$(port_of_running)"
else
  # A cluster of another major version, or an initdb that did not finish: start over.
  if [ -d "$data" ]; then
    version="$("$bin/postgres" --version | awk '{print $3}' | cut -d. -f1)"
    if [ ! -f "$data/global/pg_control" ] || [ "$(cat "$data/PG_VERSION" 2>/dev/null)" != "$version" ]; then
      say "removing the unusable cluster in $data"
      rm -rf "$data"
    fi
  fi
  if [ ! -d "$data" ]; then
    say "initdb in $data ($("$bin/postgres" --version))"
    # The superuser gets no password: unix-socket connections (our private socket
    # directory) are trusted, TCP connections need a password (scram-sha-256).
    as_pg "$bin/initdb" -D "$data" -U postgres --encoding=UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$pgdir/initdb.log" 2>&1 ||
      { cat "$pgdir/initdb.log" >&2; die "initdb failed"; }
  fi

  port="$first_port"
  last=$((first_port + 99))
  while :; do
    [ "$port" -le "$last" ] || die "no free port in $first_port..$last"
    if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      say "port $port is busy, trying $((port + 1))"
      port=$((port + 1))
      continue
    fi
    # max_connections 200 (default 100): parallel test processes each open a pool.
    opts="-p $port -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200"
    logsize=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if as_pg "$bin/pg_ctl" start -D "$data" -l "$log" -w -t 60 -o "$opts" >/dev/null 2>&1; then
      break
    fi
    # Lost a race for the port between the check and the bind: try the next one.
    if tail -c +$((logsize + 1)) "$log" 2>/dev/null | grep -q 'could not bind\|Address already in use\|could not create any TCP/IP sockets'; then
      say "port $port was taken meanwhile, trying $((port + 1))"
      port=$((port + 1))
      continue
    fi
    tail -n 30 "$log" >&2 || true
    die "the server did not start (log: $log)"
  done
fi

for _ in $(seq 1 30); do
  ready "$port" && break
  sleep 1
done
ready "$port" || { tail -n 30 "$log" >&2 || true; die "not ready on 127.0.0.1:$port after 30 s"; }

# The role and database (again on every start: cheap, and repairs a half-finished first start).
superuser_sql "$port" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
    CREATE ROLE $user LOGIN CREATEDB PASSWORD '$password';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $db OWNER $user' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\gexec
SQL

say "running on 127.0.0.1:$port, data in $data"
url_for "$port"
