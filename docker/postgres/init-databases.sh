#!/bin/bash
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# one database per consumer of the single instance (MLflow, the API's log store, Prefect).
set -euo pipefail
for db in ${POSTGRES_MULTIPLE_DATABASES:-mlflow edip prefect}; do
    echo "init-databases: creating database ${db}"
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB:-postgres}" \
        -c "CREATE DATABASE \"${db}\" OWNER \"${POSTGRES_USER}\""
done
