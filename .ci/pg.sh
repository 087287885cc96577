#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   .ci/pg.sh start   start a cluster (or reuse the running one), print its URL on stdout
#   .ci/pg.sh stop    stop the cluster and delete its directory (no-op if none)
#   .ci/pg.sh env     print `export ...` lines for ACTORFLOW_TEST_POSTGRES_URL and
#                     ACTORFLOW_TEST_PG_CTL (use with eval)
#   .ci/pg.sh status  exit 0 if the recorded cluster is running
#
# The cluster lives in a fresh `mktemp -d /tmp/actorflow-pg.XXXX` directory:
#   DIR/data          data directory (port, socket dir, listen address, fsync=off and
#                     max_connections are written into postgresql.auto.conf, so a bare
#                     `pg_ctl -D DIR/data start -w` brings it back with the same settings)
#   DIR/postgres.log  server log
#   DIR               unix socket directory
# Its state is written (shell-sourceable) to $ACTORFLOW_PG_STATE_FILE, default
# <repo>/.venv/actorflow-pg.state.
#
# PostgreSQL refuses to run as root; when we are root every server-side binary is run
# through `runuser -u postgres --`.
#
# Diagnostics go to stderr; only `start` (URL) and `env` write to stdout.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_FILE="${ACTORFLOW_PG_STATE_FILE:-$REPO_ROOT/.venv/actorflow-pg.state}"
DB_NAME="actorflow_test"
PG_USER_NAME="postgres"   # database superuser created by initdb

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { printf 'pg.sh: ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
    AS_PG=(runuser -u postgres --)
else
    AS_PG=()
fi

# Run a server-side binary as the cluster owner, from a directory it can read.
as_pg() {
    (cd / && "${AS_PG[@]}" "$@")
}

find_pg_bin() {
    local d best="" best_ver=-1 ver
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] || continue
        ver="$(basename "$(dirname "$d")")"
        ver="${ver%%.*}"
        [[ "$ver" =~ ^[0-9]+$ ]] || ver=0
        if [ "$ver" -gt "$best_ver" ]; then
            best="$d"
            best_ver="$ver"
        fi
    done
    if [ -z "$best" ] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        best="$(dirname "$(command -v pg_ctl)")"
    fi
    printf '%s' "$best"
}

install_postgres() {
    log "no PostgreSQL binaries found; installing the 'postgresql' package with apt-get"
    command -v apt-get >/dev/null 2>&1 || die "apt-get not available; install PostgreSQL manually"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot install PostgreSQL"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update >&2 || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 \
        || die "apt-get install postgresql failed"
}

free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Sets PG_DIR, PG_DATA, PG_BIN, PG_PORT, PG_URL, PG_LOG from the state file.
load_state() {
    PG_DIR="" PG_DATA="" PG_BIN="" PG_PORT="" PG_URL="" PG_LOG=""
    [ -f "$STATE_FILE" ] || return 1
    # shellcheck disable=SC1090
    . "$STATE_FILE" || return 1
    [ -n "$PG_DIR" ] && [ -n "$PG_DATA" ] && [ -n "$PG_BIN" ] && [ -n "$PG_URL" ]
}

write_state() {
    mkdir -p "$(dirname "$STATE_FILE")"
    local pg_ctl_cmd
    pg_ctl_cmd="$(pg_ctl_prefix)"
    {
        printf 'PG_DIR=%q\n' "$PG_DIR"
        printf 'PG_DATA=%q\n' "$PG_DATA"
        printf 'PG_BIN=%q\n' "$PG_BIN"
        printf 'PG_PORT=%q\n' "$PG_PORT"
        printf 'PG_LOG=%q\n' "$PG_LOG"
        printf 'PG_URL=%q\n' "$PG_URL"
        printf 'PG_CTL_CMD=%q\n' "$pg_ctl_cmd"
    } >"$STATE_FILE.tmp"
    mv -f "$STATE_FILE.tmp" "$STATE_FILE"
}

# Command prefix for tests: `$ACTORFLOW_TEST_PG_CTL stop -m fast` / `... start -w`.
# -l keeps the restarted server's output out of the caller's stdout/stderr pipes.
pg_ctl_prefix() {
    local words=("${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG")
    printf '%s' "${words[*]}"
}

# PID of a live (non-zombie) postmaster for $PG_DATA, or failure.
postmaster_pid() {
    local pid state
    [ -n "${PG_DATA:-}" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 1
    pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/stat" ]; then
        # A killed postmaster can linger as a zombie until init reaps it: treat as dead.
        state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
        [ "$state" != "Z" ] || return 1
    fi
    printf '%s' "$pid"
}

is_running() {
    postmaster_pid >/dev/null && [ -x "$PG_BIN/pg_ctl" ] \
        && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# Stop whatever the state file points at and delete it. Never fails.
teardown() {
    if [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA" ]; then
        if is_running; then
            log "stopping PostgreSQL in $PG_DIR"
            if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m fast -w -t 30 >&2; then
                log "fast shutdown failed; trying immediate"
                as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m immediate -w -t 30 >&2 || true
            fi
        fi
        # Last resort: a postmaster that pg_ctl could not stop.
        local pid
        if pid="$(postmaster_pid)"; then
            log "killing postmaster $pid"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    case "${PG_DIR:-}" in
        /tmp/actorflow-pg.*) rm -rf -- "$PG_DIR" ;;
        "") ;;
        *) log "not deleting unexpected directory '$PG_DIR'" ;;
    esac
    rm -f -- "$STATE_FILE"
}

cmd_start() {
    if load_state; then
        if is_running && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d "$DB_NAME" -U "$PG_USER_NAME"; then
            log "reusing running cluster in $PG_DIR"
            printf '%s\n' "$PG_URL"
            return 0
        fi
        log "stale state file $STATE_FILE (cluster in '${PG_DIR}' is not running); cleaning up"
        teardown
    elif [ -f "$STATE_FILE" ]; then
        log "ignoring unreadable state file $STATE_FILE"
        rm -f -- "$STATE_FILE"
    fi

    PG_BIN="$(find_pg_bin)"
    if [ -z "$PG_BIN" ]; then
        install_postgres
        PG_BIN="$(find_pg_bin)"
        [ -n "$PG_BIN" ] || die "PostgreSQL still not found after apt-get install"
    fi
    log "using PostgreSQL binaries in $PG_BIN ($("$PG_BIN/postgres" --version))"

    if [ "${#AS_PG[@]}" -gt 0 ]; then
        id -u postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
    fi

    PG_DIR="$(mktemp -d /tmp/actorflow-pg.XXXX)"
    PG_DATA="$PG_DIR/data"
    PG_LOG="$PG_DIR/postgres.log"
    # From here on, a failure must not leave a half-made cluster behind.
    trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; cleaning up $PG_DIR"; teardown; fi' EXIT
    chmod 700 "$PG_DIR"
    if [ "${#AS_PG[@]}" -gt 0 ]; then
        chown postgres: "$PG_DIR"
    fi

    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U "$PG_USER_NAME" -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }

    local attempt started=0
    for attempt in 1 2 3; do
        PG_PORT="$(free_port)"
        # Persist the settings so that a plain `pg_ctl start` (mid-test restart) reuses them.
        as_pg tee "$PG_DATA/postgresql.auto.conf" >/dev/null <<EOF
# written by .ci/pg.sh
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
        if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
            -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >&2; then
            started=1
            break
        fi
        log "server failed to start on port $PG_PORT (attempt $attempt); log tail:"
        tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
    done
    [ "$started" -eq 1 ] || die "could not start PostgreSQL (see log above); refusing to continue without it"

    PG_URL="postgresql://$PG_USER_NAME@127.0.0.1:$PG_PORT/$DB_NAME"
    write_state

    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER_NAME" "$DB_NAME" >&2 \
        || die "createdb $DB_NAME failed"
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d "$DB_NAME" -U "$PG_USER_NAME" \
        || die "server started but is not accepting connections on 127.0.0.1:$PG_PORT"

    trap - EXIT
    log "PostgreSQL running in $PG_DIR: $PG_URL (state: $STATE_FILE)"
    printf '%s\n' "$PG_URL"
}

cmd_stop() {
    if load_state; then
        teardown
        log "stopped"
    else
        if [ -f "$STATE_FILE" ]; then
            log "removing unreadable state file $STATE_FILE"
            rm -f -- "$STATE_FILE"
        fi
        log "no cluster recorded in $STATE_FILE; nothing to stop"
    fi
}

cmd_env() {
    load_state || die "no cluster recorded in $STATE_FILE (run '$0 start' first)"
    printf 'export ACTORFLOW_TEST_POSTGRES_URL=%q\n' "$PG_URL"
    printf 'export ACTORFLOW_TEST_PG_CTL=%q\n' "$(pg_ctl_prefix)"
}

cmd_status() {
    if load_state && is_running; then
        log "running in $PG_DIR: $PG_URL"
        return 0
    fi
    log "not running"
    return 1
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    *) echo "usage: $0 {start|stop|env|status}" >&2; exit 2 ;;
esac
