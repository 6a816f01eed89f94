#!/usr/bin/env bash
# Stand-in base images for a machine that reaches Debian's and PyPI's package servers but no
# container registry. Builds, from Debian bookworm packages (Python 3.11, PostgreSQL 15):
#   python:3.11-slim     debootstrap minbase + python3, venv, pip, ca-certificates (`docker import`)
#   postgres:16-alpine   the same + Debian's PostgreSQL with the official image's entrypoint
#                        behaviour compose relies on (POSTGRES_* variables, /docker-entrypoint-initdb.d)
# tagged so that the Dockerfiles' `FROM` defaults and docker-compose.yml resolve locally, unchanged.
# Where a registry is reachable, do not run this: `docker pull` gets the real images.
#   scripts/build_base_images.sh            # no-op for images already built
#   FORCE=1 scripts/build_base_images.sh    # rebuild (the debootstrap tarball stays cached)
# Needs root (debootstrap), docker, debootstrap (apt-get install -y debootstrap). The rootfs tarball
# is cached under build/base-images/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=${SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${BASE_IMAGE_CACHE:-build/base-images}
PYTHON_TAG=${PYTHON_TAG:-python:3.11-slim}
POSTGRES_TAG=${POSTGRES_TAG:-postgres:16-alpine}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
LABEL=org.edip.standin
TARBALL=$CACHE/$SUITE-python.tar

log() { echo "build_base_images: $*" >&2; }

is_standin() {  # the tag exists and is one of ours (never overwrite a real pulled image)
    [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "$SUITE" ]
}

exists() { docker image inspect "$1" >/dev/null 2>&1; }

build_rootfs() {
    local root
    root=$(mktemp -d "${TMPDIR:-/tmp}/edip-rootfs.XXXXXX")
    trap 'rm -rf "$root"' RETURN
    log "debootstrap $SUITE (minbase + python3) into $root"
    nice -n 10 debootstrap --variant=minbase \
        --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
        "$SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; return 1; }
    # this machine's CA bundle (it may hold a proxy's CA) and pip told to use it: pip's own
    # bundle (certifi) would not know it
    cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp "$CA_BUNDLE" "$root/usr/local/share/ca-certificates/edip-host-bundle.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*.log
    tar -C "$root" --numeric-owner -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
}

mkdir -p "$CACHE"
if [ -n "${FORCE:-}" ] || ! is_standin "$PYTHON_TAG"; then
    if exists "$PYTHON_TAG" && ! is_standin "$PYTHON_TAG"; then
        log "$PYTHON_TAG exists and is not a stand-in: kept as it is"
    else
        [ -s "$TARBALL" ] || build_rootfs
        log "docker import $TARBALL as $PYTHON_TAG"
        docker import \
            --change "LABEL $LABEL=$SUITE" \
            --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["python3"]' \
            "$TARBALL" "$PYTHON_TAG" >/dev/null
    fi
else
    log "$PYTHON_TAG: stand-in already built"
fi

if [ -n "${FORCE:-}" ] || ! is_standin "$POSTGRES_TAG"; then
    if exists "$POSTGRES_TAG" && ! is_standin "$POSTGRES_TAG"; then
        log "$POSTGRES_TAG exists and is not a stand-in: kept as it is"
    else
        log "docker build $POSTGRES_TAG (Debian's PostgreSQL) from $PYTHON_TAG"
        DOCKER_BUILDKIT=0 nice -n 10 docker build --network host --quiet \
            --build-arg BASE_IMAGE="$PYTHON_TAG" --label "$LABEL=$SUITE" \
            -t "$POSTGRES_TAG" -f docker/standin/postgres.Dockerfile docker/standin >/dev/null
    fi
else
    log "$POSTGRES_TAG: stand-in already built"
fi
log "done in ${SECONDS} s"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E "^($PYTHON_TAG|$POSTGRES_TAG)\b" >&2
