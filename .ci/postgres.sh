# shellcheck shell=bash
# PostgreSQL for publisher's tests: install (Debian's package), start a throwaway cluster on
# 127.0.0.1 and export PUBLISHER_TEST_PG.  Source it from .ci/run (as root):
#
#     . /path/to/ci-postgres.sh          # exports PUBLISHER_TEST_PG
#     ...run the tests...
#     publisher_pg_stop                  # optional: stop the cluster
#
# Idempotent and quick: a second run reuses the installed package and the running cluster.
# The cluster lives in $PUBLISHER_PG_DIR (default /tmp/publisher-pg), trusts local logins
# (test only!) and runs with fsync off.  The role `publisher` may create databases, so each
# test can make its own.

PUBLISHER_PG_DIR="${PUBLISHER_PG_DIR:-/tmp/publisher-pg}"

publisher_pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

publisher_pg_start() (
    set -eu
    dir="$PUBLISHER_PG_DIR"
    if [ -z "$(publisher_pg_bin)" ]; then
        # Debian's postinst would create and start a "main" cluster: not wanted here.
        mkdir -p /etc/postgresql-common
        grep -qs '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf ||
            echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            postgresql >/dev/null
    fi
    bin="$(publisher_pg_bin)"
    as_pg() { runuser -u postgres -- "$@"; }
    [ "$(id -u)" = 0 ] || as_pg() { "$@"; }          # not root: run as the current user
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -s "$dir/data/PG_VERSION" ]; then
        as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
            --no-sync >"$dir/initdb.log"
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        echo "$port" >"$dir/port"
        as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            >/dev/null
    fi
    port="$(cat "$dir/port")"
    psql() { "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAX "$@"; }
    [ "$(psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'publisher'")" = 1 ] ||
        psql -c "CREATE ROLE publisher LOGIN CREATEDB"
    [ "$(psql -c "SELECT 1 FROM pg_database WHERE datname = 'publisher_test'")" = 1 ] ||
        psql -c "CREATE DATABASE publisher_test OWNER publisher"
    echo "postgresql://publisher@127.0.0.1:$port/publisher_test"
)

publisher_pg_stop() {
    local bin
    bin="$(publisher_pg_bin)"
    [ -n "$bin" ] && [ -d "$PUBLISHER_PG_DIR/data" ] || return 0
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$bin/pg_ctl" -D "$PUBLISHER_PG_DIR/data" -m fast stop >/dev/null || true
    else
        "$bin/pg_ctl" -D "$PUBLISHER_PG_DIR/data" -m fast stop >/dev/null || true
    fi
}

if PUBLISHER_TEST_PG="$(publisher_pg_start)"; then
    export PUBLISHER_TEST_PG
    echo "PostgreSQL for tests: $PUBLISHER_TEST_PG" >&2
else
    echo "ci-postgres.sh: could not start PostgreSQL (see $PUBLISHER_PG_DIR/*.log)" >&2
    false
fi
