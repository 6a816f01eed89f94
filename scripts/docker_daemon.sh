#!/usr/bin/env bash
# Make sure a Docker daemon answers: exit 0 when `docker info` works (starting one if needed),
# exit 3 saying why when none can be had. As root on Debian/Ubuntu without Docker, installs
# docker.io (apt) and starts dockerd in the background (overlay2; log in logs/dockerd.log).
# Used by `make images`, `make test-images` and .ci/run; set DOCKER_NO_START=1 to only check.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 3
say() { echo "docker_daemon: $*" >&2; }

answers() { timeout 20 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then exit 0; fi
if [ -n "${DOCKER_NO_START:-}" ]; then say "no Docker daemon answers (DOCKER_NO_START set)"; exit 3; fi
if [ "$(id -u)" != 0 ]; then say "no Docker daemon answers and not root: cannot start one"; exit 3; fi
if ! command -v dockerd >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then say "no dockerd and no apt-get to install it"; exit 3; fi
    say "installing docker.io (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o DPkg::Lock::Timeout=300 docker.io; } >/dev/null 2>&1 \
        || { say "apt-get install docker.io failed"; exit 3; }
fi
mkdir -p logs
say "starting dockerd in the background (log: logs/dockerd.log)"
setsid nohup dockerd --storage-driver "${DOCKER_STORAGE_DRIVER:-overlay2}" >logs/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
    if answers; then say "dockerd is up (pid $!)"; exit 0; fi
    if ! kill -0 $! 2>/dev/null; then break; fi
    sleep 1
done
say "dockerd did not come up: last lines of logs/dockerd.log:"
tail -5 logs/dockerd.log >&2
exit 3
