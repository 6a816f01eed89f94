#!/bin/bash
# Entry point of the PostgreSQL stand-in: what the official image does that compose relies on.
# On an empty PGDATA: initdb with POSTGRES_USER (password POSTGRES_PASSWORD, scram-sha-256 over
# the network, trust on the socket and 127.0.0.1), create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/* (*.sh executed or sourced, *.sql via psql) against a server that
# listens on its socket only; then exec the server on every interface.
set -euo pipefail
if [ "${1:-postgres}" != "postgres" ]; then exec "$@"; fi
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB PGDATA
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options, split on purpose
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=trust \
        --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"
    printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    export PGUSER="$POSTGRES_USER"
    if [ "$POSTGRES_DB" != "postgres" ]; then
        psql -v ON_ERROR_STOP=1 --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                # shellcheck disable=SC1090  # the scripts are the user's
                if [ -x "$f" ]; then "$f"; else . "$f"; fi
                ;;
            *.sql) psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" ;;
            *) if [ -e "$f" ]; then echo "docker-entrypoint: ignoring $f" >&2; fi ;;
        esac
    done
    unset PGUSER
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "docker-entrypoint: PostgreSQL init process complete; ready for start up." >&2
fi
exec postgres -c listen_addresses='*' "${@:2}"
