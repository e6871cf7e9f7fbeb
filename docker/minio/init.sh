#!/bin/sh
# minio-init (one-shot, the MinIO image's own `mc`): the only job that holds the MinIO root credentials.
# Creates the buckets, then one user and one policy per service, each allowed only what it needs:
#   airflow      read/write the product store (the Airflow workers publish product versions);
#                the zones (raw, conformed, quarantine) are on the datafactory-var volume, not in S3
#   mlflow       read/write the MLflow artifacts (the server proxies every artifact: --serve-artifacts)
#   product-api  read the product store, nothing else
# Idempotent: policies are replaced by their current text, users get their current secret.
set -eu

fail() { echo "error: $*" >&2; exit 2; }
for name in MINIO_ROOT_USER MINIO_ROOT_PASSWORD AIRFLOW_S3_ACCESS_KEY AIRFLOW_S3_SECRET_KEY \
            MLFLOW_S3_ACCESS_KEY MLFLOW_S3_SECRET_KEY PRODUCT_API_S3_ACCESS_KEY PRODUCT_API_S3_SECRET_KEY; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || fail "$name is empty: provision it (see .env.example)"
  case "$value" in *change-me*|*changeme*|minioadmin) fail "$name is a placeholder: provision a real secret";; esac
done

POLICIES=${POLICIES:-/policies}
mc alias set root "${MINIO_URL:?set MINIO_URL}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
tries=0
until mc ready root >/dev/null 2>&1; do
  tries=$((tries + 1)); [ "$tries" -lt 60 ] || fail "MinIO at $MINIO_URL is not ready"; sleep 1
done
mc mb --ignore-existing "root/${MLFLOW_BUCKET:?}" "root/${PRODUCTS_BUCKET:?}"

grant() {  # grant SERVICE ACCESS_KEY SECRET_KEY
  policy="datafactory-$1"
  sed -e "s/\${MLFLOW_BUCKET}/$MLFLOW_BUCKET/g" -e "s/\${PRODUCTS_BUCKET}/$PRODUCTS_BUCKET/g" \
    "$POLICIES/$1.json" > "/tmp/$policy.json"
  mc admin policy create root "$policy" "/tmp/$policy.json" >/dev/null
  mc admin user add root "$2" "$3" >/dev/null
  mc admin policy attach root "$policy" --user "$2" >/dev/null 2>&1 || true  # already attached: fine
  mc admin user info root "$2" --json | grep -q "\"$policy\"" || fail "policy $policy is not attached to $2"
  echo "user $2: policy $policy"
}
grant airflow "$AIRFLOW_S3_ACCESS_KEY" "$AIRFLOW_S3_SECRET_KEY"
grant mlflow "$MLFLOW_S3_ACCESS_KEY" "$MLFLOW_S3_SECRET_KEY"
grant product-api "$PRODUCT_API_S3_ACCESS_KEY" "$PRODUCT_API_S3_SECRET_KEY"
