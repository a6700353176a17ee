#!/usr/bin/env bash
# One-shot set-up of Airflow for socialhub (the compose stack's `airflow-init` service).
#
# Runs after the image's /entrypoint has done `airflow db migrate` and created the admin user
# (_AIRFLOW_DB_MIGRATE / _AIRFLOW_WWW_USER_CREATE in docker-compose.yml). Then:
#   1. the pools: socialhub_<platform> (rate limits across all workers), socialhub_process,
#      socialhub_alerts (scripts/pools.py; slots from SOCIALHUB_POOL_SLOTS_*);
#   2. the watchlist is checked against its schema (a bad entry stops the stack here, not at 3 a.m.);
#   3. the store connection (socialhub_storage) is tried: bucket reachable with the pipeline's key,
#      and Object Lock enabled on it.
# Idempotent: safe at every `docker compose up`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pools_file="$(mktemp)"
python "$here/pools.py" > "$pools_file"
airflow pools import "$pools_file"
rm -f "$pools_file"

socialhub watchlist validate "${SOCIALHUB_WATCHLIST:-/opt/airflow/include/watchlist.yaml}"

python - <<'PY'
import json, os, sys

conn = json.loads(os.environ.get("AIRFLOW_CONN_SOCIALHUB_STORAGE") or "{}")
extra = conn.get("extra") or {}
if conn.get("conn_type") != "aws" or not extra.get("bucket"):
    print("airflow-init: no S3 connection socialhub_storage: the pipeline uses the local folder")
    sys.exit(0)
import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3", endpoint_url=extra.get("endpoint_url"), region_name=extra.get("region_name"),
                  aws_access_key_id=conn.get("login"), aws_secret_access_key=conn.get("password"))
bucket = extra["bucket"]
s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
try:
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
except ClientError as exc:
    lock = {"error": exc.response.get("Error", {}).get("Code")}
if lock.get("ObjectLockEnabled") != "Enabled":
    sys.exit(f"airflow-init: bucket {bucket} has no Object Lock ({lock}): evidence could be deleted; "
             "create the bucket with Object Lock or choose another SOCIALHUB_BUCKET")
print(f"airflow-init: store s3://{bucket} reachable with the pipeline's key; Object Lock enabled; "
      f"evidence retention {extra.get('object_lock_days')} day(s)")
PY
echo "airflow-init: done"
