#!/bin/sh
# One-shot set-up of MinIO for socialhub (the compose stack's `minio-init` service, image minio/mc).
#
# 1. the evidence bucket, created WITH Object Lock (it can only be enabled at creation; it also turns
#    on versioning). Each evidence object then gets its own COMPLIANCE retention from the pipeline
#    (connection extra `object_lock_days`), so not even the root user can delete or overwrite it early.
# 2. the pipeline's own access key, limited to that bucket by a policy without
#    s3:BypassGovernanceRetention; Airflow never sees the MinIO root credentials. Retention erases
#    every version of an object (s3:ListBucketVersions, s3:DeleteObjectVersion), never a locked one.
#
# Idempotent: safe to run at every `docker compose up`.
set -eu

: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${SOCIALHUB_BUCKET:?}"
: "${SOCIALHUB_S3_ACCESS_KEY:?}" "${SOCIALHUB_S3_SECRET_KEY:?}"
ENDPOINT="${MINIO_ENDPOINT:-http://minio:9000}"
POLICY=socialhub-pipeline

mc alias set local "$ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null

if mc ls "local/$SOCIALHUB_BUCKET" >/dev/null 2>&1; then
  # an existing bucket keeps whatever it was created with; airflow-init refuses one without
  # Object Lock (GetObjectLockConfiguration), so a wrongly created bucket stops the stack there
  echo "bucket $SOCIALHUB_BUCKET exists"
else
  mc mb --with-lock "local/$SOCIALHUB_BUCKET"
fi

cat > /tmp/socialhub-policy.json <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation",
                 "s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning"],
      "Resource": ["arn:aws:s3:::${SOCIALHUB_BUCKET}"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                 "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:GetObjectRetention",
                 "s3:PutObjectLegalHold", "s3:GetObjectLegalHold"],
      "Resource": ["arn:aws:s3:::${SOCIALHUB_BUCKET}/*"]
    }
  ]
}
JSON
mc admin policy create local "$POLICY" /tmp/socialhub-policy.json >/dev/null
mc admin user add local "$SOCIALHUB_S3_ACCESS_KEY" "$SOCIALHUB_S3_SECRET_KEY" >/dev/null
mc admin policy attach local "$POLICY" --user "$SOCIALHUB_S3_ACCESS_KEY" >/dev/null 2>&1 \
  || echo "policy $POLICY already attached to the pipeline's key"
rm -f /tmp/socialhub-policy.json
echo "minio-init: bucket $SOCIALHUB_BUCKET (Object Lock) and the pipeline's key are ready"
