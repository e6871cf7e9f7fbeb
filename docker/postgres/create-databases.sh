#!/usr/bin/env bash
# Creates one database per name in DATAFACTORY_DATABASES (space separated), owned by POSTGRES_USER.
# The postgres image runs it once, on first start; it is idempotent, so it is safe to run again.
set -euo pipefail
for db in ${DATAFACTORY_DATABASES:?set DATAFACTORY_DATABASES to the database names to create}; do
  exists=$(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")
  if [ "$exists" != "1" ]; then
    psql -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
      -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
    echo "created database $db"
  fi
done
