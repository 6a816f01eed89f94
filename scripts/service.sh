#!/usr/bin/env bash
# Start or stop one background service of the demo, with its log and pid under logs/.
#   scripts/service.sh start NAME HEALTH_URL COMMAND...   (no-op when HEALTH_URL already answers)
#   scripts/service.sh stop NAME
# Each service runs in its own session (setsid) so stop ends the whole process group (uvicorn
# workers, the Prefect server's children) and nothing is left behind.
set -euo pipefail
PY=${PY:-.venv/bin/python}
action=${1:?start|stop}
name=${2:?service name}
mkdir -p logs

answers() {
  "$PY" - "$1" <<'PYEOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PYEOF
}

case "$action" in
  start)
    url=${3:?health url}
    shift 3
    if answers "$url"; then
      echo "$name already up ($url)"
      exit 0
    fi
    # a service outlives this script: it must not keep the descriptors it was handed (a lock
    # taken with `flock FILE make …` would stay held until the service stops)
    (
      for fd in "/proc/$BASHPID/fd"/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
      done
      exec setsid nohup "$@" >"logs/$name.log" 2>&1 < /dev/null
    ) &
    echo $! >"logs/$name.pid"
    for _ in $(seq 1 ${WAIT_S:-180}); do
      if answers "$url"; then
        echo "$name up: $url (pid $(cat "logs/$name.pid"), log logs/$name.log)"
        exit 0
      fi
      if ! kill -0 "$(cat "logs/$name.pid")" 2>/dev/null; then
        echo "$name exited; last lines of logs/$name.log:" >&2
        tail -n 30 "logs/$name.log" >&2
        exit 1
      fi
      sleep 1
    done
    echo "$name did not answer $url in time; see logs/$name.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "logs/$name.pid" ]; then
      pid=$(cat "logs/$name.pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      rm -f "logs/$name.pid"
      echo "$name stopped"
    fi
    ;;
  *)
    echo "usage: $0 start NAME URL CMD... | stop NAME" >&2
    exit 2
    ;;
esac
