#!/bin/bash
# The course's PostgreSQL gradebook server: `postgres/postgres.sh start` (make postgres), `postgres/postgres.sh stop`
# (make postgres-stop). Debian's PostgreSQL (installed as root when missing), one server owned by the course:
#
# - its cluster in $STATE/data, $STATE = ${GAN_POSTGRES_STATE:-<course>/.state/postgres} (ignored by git); run as
#   root, the server runs as Debian's `postgres` account (PostgreSQL refuses root), otherwise as you;
# - it listens on a unix socket only, in $STATE/run (mode 0700: only the server's account and root reach it), no
#   TCP port at all; and it asks for a password even there (scram-sha-256; the password is in $STATE/pgpass,
#   mode 0600, which the URL names, so that the URL itself holds no secret);
# - one database, `gradebook`, owned by the role `gradebook`.
# start prints the gradebook's URL (also in $STATE/url), for `GRADEBOOK_URL=... make autograde`; running it again
# while the server runs only prints the URL. stop stops the server and keeps its data.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${GAN_POSTGRES_STATE:-$REPO/.state/postgres}
ROLE=gradebook
DATABASE=gradebook

die() { echo "postgres: $*" >&2; exit 1; }
server_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_owner() {  # run a server program as the account that owns the cluster
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_server() {
    [ -n "$(server_bin)" ] && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        # the package makes and may start a cluster of its own on port 5432: this course uses only its own
        pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r version cluster; do
            pg_ctlcluster "$version" "$cluster" stop
        done
    fi
    [ -n "$(server_bin)" ] || die "PostgreSQL is missing: install Debian's postgresql (sudo apt-get install postgresql)"
}

url() {
    echo "postgresql://$ROLE@/$DATABASE?host=$STATE/run&passfile=$STATE/pgpass"
}

start() {
    install_server
    local bin
    bin=$(server_bin)
    # a unix socket's path may be 107 bytes at most
    [ ${#STATE} -le 80 ] || die "$STATE is too long a path for the server's socket: set GAN_POSTGRES_STATE to a shorter one"
    mkdir -p "$STATE"
    # as root, the server's account must pass through to its own folders (and reads nothing else here)
    if [ "$(id -u)" = 0 ]; then chmod 0711 "$STATE"; else chmod 0700 "$STATE"; fi
    as_owner test -x "$STATE" || die "the postgres account cannot reach $STATE (a folder above it is private): set GAN_POSTGRES_STATE to a folder it can pass through"
    if [ ! -s "$STATE/data/PG_VERSION" ]; then
        install -d -m 0700 "$STATE/data" "$STATE/run"
        local password
        password=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')
        (umask 077; printf '%s\n' "$password" > "$STATE/password"; printf '*:*:*:%s:%s\n' "$ROLE" "$password" > "$STATE/pgpass")
        if [ "$(id -u)" = 0 ]; then
            id postgres >/dev/null 2>&1 || die "no postgres account: reinstall Debian's postgresql package"
            chown postgres: "$STATE/data" "$STATE/run" "$STATE/password"
        fi
        as_owner "$bin/initdb" --pgdata="$STATE/data" --username="$ROLE" --pwfile="$STATE/password" \
            --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 \
            || die "initdb failed: see $STATE/initdb.log"
        rm -f "$STATE/password"
    fi
    if ! as_owner "$bin/pg_ctl" status --pgdata="$STATE/data" >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" start --pgdata="$STATE/data" --wait --log="$STATE/data/server.log" \
            -o "-c listen_addresses='' -c unix_socket_directories='$STATE/run' -c unix_socket_permissions=0700" >/dev/null \
            || die "the server did not start: see $STATE/data/server.log"
    fi
    if ! PGPASSFILE=$STATE/pgpass "$bin/psql" --host="$STATE/run" --username="$ROLE" --dbname=postgres -Atqc \
            "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
        PGPASSFILE=$STATE/pgpass "$bin/createdb" --host="$STATE/run" --username="$ROLE" "$DATABASE"
    fi
    url > "$STATE/url"
    echo "PostgreSQL runs on the unix socket in $STATE/run (no TCP port); the gradebook's URL:"
    echo "export GRADEBOOK_URL='$(url)'"
}

stop() {
    local bin
    bin=$(server_bin)
    if [ -n "$bin" ] && [ -s "$STATE/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status --pgdata="$STATE/data" >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" stop --pgdata="$STATE/data" --mode=fast --wait >/dev/null
        echo "PostgreSQL stopped (its data stays in $STATE/data)"
    else
        echo "PostgreSQL is not running from $STATE"
    fi
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 start|stop" ;;
esac
