#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the register tests (tests/test_register_*.py).
#
#   source .ci/postgres.sh      # exports PDPS_TEST_POSTGRES_URL, stops the server on exit
#
# It installs Debian's `postgresql` when the server binaries are missing (root and apt-get
# needed), runs initdb and pg_ctl as the unprivileged `postgres` user (the server refuses to
# run as root), listens on 127.0.0.1 only, on a free port, with its data in a temporary folder.
# Anything that cannot be done is reported and the variable is left unset, so the PostgreSQL
# variants of the tests are skipped with that reason instead of failing the run.

pdps_pg_start() {
    local bin data port url runas=()
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "postgres.sh: installing Debian's postgresql" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends postgresql >/dev/null) || {
            echo "postgres.sh: apt-get install postgresql failed" >&2; return 1; }
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    [ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL server binaries" >&2; return 1; }
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        runas=(runuser -u postgres --)
    fi
    data=$(mktemp -d /tmp/pdps-pg.XXXXXX)
    chmod 700 "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Server commands run from / : the postgres user may not enter the caller's folder.
    (cd / && "${runas[@]}" "$bin/initdb" -D "$data/db" -A trust -U postgres --no-sync >"$data/initdb.log" 2>&1) || {
        echo "postgres.sh: initdb failed:" >&2; tail -n 5 "$data/initdb.log" >&2; return 1; }
    (cd / && "${runas[@]}" "$bin/pg_ctl" -D "$data/db" -l "$data/db/server.log" -w -t 60 \
        -o "-p $port -k $data/db -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null) || { echo "postgres.sh: pg_ctl start failed" >&2;
                               tail -n 5 "$data/db/server.log" >&2; return 1; }
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qAt -c 'CREATE DATABASE pdps_test' >/dev/null || {
        echo "postgres.sh: CREATE DATABASE failed" >&2; return 1; }
    PDPS_PG_STOP=("${runas[@]}" "$bin/pg_ctl" -D "$data/db" -m fast -w stop)
    PDPS_PG_DATA=$data
    export PDPS_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/pdps_test"
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

pdps_pg_stop() {
    if [ -n "${PDPS_PG_DATA:-}" ]; then
        (cd / && "${PDPS_PG_STOP[@]}") >/dev/null 2>&1 || true
        rm -rf "$PDPS_PG_DATA"
        PDPS_PG_DATA=
    fi
}

if pdps_pg_start; then
    trap pdps_pg_stop EXIT
else
    echo "postgres.sh: PostgreSQL not started; the PostgreSQL register tests will be skipped" >&2
fi
