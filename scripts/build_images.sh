#!/usr/bin/env bash
# `make images`: build the four images of the platform from the repository root, with the
# Dockerfiles as they are for every user, and record each build's wall time.
#   scripts/build_images.sh                  # every image
#   scripts/build_images.sh api flows        # some of them (api, dashboard, mlflow, flows)
# Names: ${IMAGE_REGISTRY:-ghcr.io/edip}/edip-NAME:${IMAGE_TAG:-latest}, as docker-compose.yml.
# Base images: python:3.11-slim (and postgres:16-alpine for compose) are pulled when absent; where
# no registry answers, scripts/build_base_images.sh builds stand-ins from Debian packages
# (EDIP_STANDIN_IMAGES=1 goes there directly). BuildKit is used when buildx is installed, else
# the classic builder. Builds run with --network host (a proxy on localhost reaches the index).
# Build times: build/images/build-times.tsv (read by bench/images.py).
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRY=${IMAGE_REGISTRY:-ghcr.io/edip}
TAG=${IMAGE_TAG:-latest}
OUT=build/images
declare -A DOCKERFILE=(
    [api]=04_mlop_api/Dockerfile
    [dashboard]=05_monitoring_dashboard/Dockerfile
    [mlflow]=docker/mlflow.Dockerfile
    [flows]=docker/flows.Dockerfile
)
ORDER=(api dashboard flows mlflow)  # the pipeline layer is built once, by the first
log() { echo "build_images: $*" >&2; }

scripts/docker_daemon.sh || exit $?

base_images() {
    local missing=()
    for image in python:3.11-slim postgres:16-alpine; do
        docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ -z "${EDIP_STANDIN_IMAGES:-}" ]; then
        for image in "${missing[@]}"; do
            log "pulling $image"
            timeout 120 docker pull -q "$image" >/dev/null 2>&1 || { log "cannot pull $image"; break; }
        done
    fi
    for image in "${missing[@]}"; do
        if ! docker image inspect "$image" >/dev/null 2>&1; then
            log "no registry: building stand-in base images from Debian packages"
            command -v debootstrap >/dev/null 2>&1 || {
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                    -o DPkg::Lock::Timeout=300 debootstrap; } >/dev/null \
                    || { log "cannot install debootstrap"; exit 3; }
            }
            scripts/build_base_images.sh
            return
        fi
    done
}
base_images

if docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=1; else export DOCKER_BUILDKIT=0; fi
mkdir -p "$OUT"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ORDER[@]}")
times=$OUT/build-times.tsv
[ -s "$times" ] || printf 'image\tseconds\tbytes\tcached_steps\tbuilt_at\n' >"$times"
for name in "${targets[@]}"; do
    file=${DOCKERFILE[$name]:?unknown image $name (api, dashboard, mlflow, flows)}
    image=$REGISTRY/edip-$name:$TAG
    log "building $image from $file"
    start=$(date +%s.%N)
    if ! nice -n 10 docker build --network host -f "$file" -t "$image" . >"$OUT/$name.log" 2>&1; then
        tail -30 "$OUT/$name.log" >&2
        log "FAILED: $image (full log: $OUT/$name.log)"
        exit 1
    fi
    seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
    size=$(docker image inspect -f '{{.Size}}' "$image")
    # one line per build (appended): a build that reused every layer shows as a cached one
    cached=$(grep -c -- '---> Using cache\|CACHED' "$OUT/$name.log" || true)
    printf 'edip-%s\t%s\t%s\t%s\t%s\n' "$name" "$seconds" "$size" "$cached" "$(date -u +%FT%TZ)" >>"$times"
    log "built $image in $(printf %.0f "$seconds") s, $((size / 1000000)) MB"
done
