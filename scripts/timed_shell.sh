#!/usr/bin/env bash
# A make SHELL that times every recipe line it runs, for `make demo`'s closing table of where the
# time went. The Makefile sets it on the demo target (`demo: SHELL := scripts/timed_shell.sh`):
# make calls it as `timed_shell.sh -c 'LINE'` for each line, it runs the line with bash and appends
# "seconds<TAB>exit status<TAB>line" to $EDIP_PHASE_LOG (without it, it is plain bash).
#   scripts/timed_shell.sh report FILE    prints the table of FILE (lines of 1 s or more, total)
set -u
if [ "${1:-}" = report ]; then
    awk -F'\t' '
        { total += $1; if ($1 >= 1) { n++; t[n] = $1; c[n] = $3 } }
        END {
            printf "\nWall time of each phase of the demo (recipe lines of 1 s or more):\n"
            for (i = 1; i <= n; i++) printf "%8.1f s  %s\n", t[i], substr(c[i], 1, 100)
            printf "%8.1f s  total (%d min %02d s)\n", total, total / 60, total % 60
        }' "${2:?usage: timed_shell.sh report FILE}"
    exit 0
fi
# untimed without a log: make's $(shell …) calls come here too, without the recipe's variables
[ -n "${EDIP_PHASE_LOG:-}" ] || exec /bin/bash "$@"
log=$EDIP_PHASE_LOG
start=$(date +%s.%N)
/bin/bash "$@"
status=$?
end=$(date +%s.%N)
line=${*: -1}
line=${line//$'\\\n'/}  # continuation lines joined
line=$(printf '%s' "$line" | tr '\n\t' '  ' | tr -s ' ')
mkdir -p "$(dirname "$log")"
printf '%s\t%s\t%s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')" \
    "$status" "$line" >>"$log"
exit "$status"
