#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed, and print their directory.
#
# Used by the Postgres-backed end-to-end test and the benchmarks (through scripts/pg_cluster.py); also
# handy by hand:  scripts/ensure_postgres.sh  ->  /usr/lib/postgresql/15/bin
#
# On Debian/Ubuntu, as root, it installs the distribution's `postgresql` package when the binaries are
# missing (apt-get update && apt-get install -y postgresql). It never starts the system cluster: the
# callers run a private, throw-away cluster in a temporary directory on a loopback port.
# --no-install only looks. Exit status: 0 and the bin directory on stdout; 1 (with the reason on stderr) if they are not available.
set -euo pipefail

find_bindir() {
  local d
  if [[ -n "${SOCIALHUB_PG_BINDIR:-}" && -x "${SOCIALHUB_PG_BINDIR}/initdb" ]]; then
    echo "$SOCIALHUB_PG_BINDIR"; return 0
  fi
  # newest Debian-style installation first
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0
  fi
  return 1
}

if find_bindir; then
  exit 0
fi
if [[ "${1:-}" == "--no-install" ]]; then
  echo "ensure_postgres: PostgreSQL server binaries not found (not installing: --no-install)" >&2
  exit 1
fi

if [[ "$(id -u)" != "0" ]]; then
  echo "ensure_postgres: PostgreSQL server binaries not found and not root: cannot apt-get install postgresql" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_postgres: PostgreSQL server binaries not found and no apt-get on this system" >&2
  exit 1
fi

echo "ensure_postgres: installing PostgreSQL (apt-get install -y postgresql)..." >&2
export DEBIAN_FRONTEND=noninteractive
# the package's post-install creates and may start the system cluster "main"; we never use it
apt-get update -qq >&2 || true
apt-get install -y -qq --no-install-recommends postgresql >&2

if find_bindir; then
  exit 0
fi
echo "ensure_postgres: apt-get install postgresql did not provide initdb/pg_ctl" >&2
exit 1
