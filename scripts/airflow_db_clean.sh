#!/usr/bin/env bash
# The compose stack's `airflow-db-clean` service: `airflow db clean` once a day, forever.
#
# Airflow's metadata database keeps every DAG run, task instance, XCom, log line record and job row
# unless something purges them; the scheduler and the UI slow down as those tables grow. This loop
# deletes rows older than SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS (default 90) without archiving them
# (--skip-archive: the pipeline's own evidence, audit ledger and reports live in the S3 store, not in
# Airflow's tables). It runs as its own service because in Airflow 3 tasks cannot open the metadata
# database: it is the only place besides airflow-init holding the database URL and nothing else.
#
# Health: each successful round touches /tmp/db-clean.ok; the compose health check turns unhealthy
# when no round has succeeded for 25 hours. A failed round is logged and retried at the next one.
set -uo pipefail

days="${SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS:-90}"
interval="${SOCIALHUB_AIRFLOW_DB_CLEAN_INTERVAL_SECONDS:-86400}"
if ! [[ "$days" =~ ^[0-9]+$ ]] || (( days < 1 )); then
  echo "airflow-db-clean: SOCIALHUB_AIRFLOW_DB_RETENTION_DAYS must be a whole number of days >= 1, not '$days'" >&2
  exit 2
fi

while true; do
  cutoff="$(date -u -d "-${days} days" +%Y-%m-%dT%H:%M:%S+00:00)"
  echo "airflow-db-clean: deleting metadata rows older than $cutoff (${days} days)"
  if airflow db clean --clean-before-timestamp "$cutoff" --skip-archive --yes; then
    touch /tmp/db-clean.ok
    echo "airflow-db-clean: done; next round in ${interval}s"
  else
    echo "airflow-db-clean: airflow db clean failed; retrying in ${interval}s" >&2
  fi
  sleep "$interval"
done
