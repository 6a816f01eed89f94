#!/bin/sh
# Entry point of the flows image. With SEED_SAMPLE_DATA=true and an empty store, it first loads
# the bundled éCO2mix sample and builds the feature table, so an offline demo has data to serve;
# then it runs the command (`edip flows serve` by default, or `prefect server start ...`).
set -eu
data_dir="${EDIP_DATA_DIR:-/data}"
case "${SEED_SAMPLE_DATA:-false}" in
    1 | true | yes)
        if [ ! -f "${data_dir}/manifest.json" ]; then
            echo "flows-entrypoint: empty store at ${data_dir}: loading the bundled sample" >&2
            edip ingest --source sample
            edip features
        fi
        ;;
esac
exec "$@"
