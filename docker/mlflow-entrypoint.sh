#!/bin/sh
# Start the MLflow server: metadata in MLFLOW_BACKEND_STORE_URI (PostgreSQL), artifacts proxied
# by the server from MLFLOW_ARTIFACTS_DESTINATION, so clients need no storage credentials.
# Extra arguments are passed on to `mlflow server`.
set -eu
: "${MLFLOW_BACKEND_STORE_URI:?set MLFLOW_BACKEND_STORE_URI, e.g. postgresql+psycopg2://user:pass@postgres:5432/mlflow}"
exec mlflow server \
    --host 0.0.0.0 \
    --port "${MLFLOW_PORT:-5000}" \
    --workers "${MLFLOW_WORKERS:-2}" \
    --backend-store-uri "${MLFLOW_BACKEND_STORE_URI}" \
    --artifacts-destination "${MLFLOW_ARTIFACTS_DESTINATION:-/mlartifacts}" \
    --serve-artifacts \
    "$@"
