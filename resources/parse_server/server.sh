#!/usr/bin/env bash
# Local Parse Server + private PostgreSQL cluster for desktop_audit.
#   server.sh start [--fresh] | stop | status | url | reset
# Everything listens on 127.0.0.1. Idempotent: start on a running server is a no-op.
# `reset` empties every class of a running server (keeps the schema) and its rate-limit
# counters: for tests.
# Environment: PARSE_PORT (1337), DESKTOP_AUDIT_PG_PORT (from the checkout), PARSE_APP_ID,
# PARSE_MASTER_KEY, DESKTOP_AUDIT_PARSE_DB (database name), DESKTOP_AUDIT_SERVER_STATE
# (state folder), DESKTOP_AUDIT_REDIS_PORT (PARSE_PORT + 10000). Several servers (ports)
# share one PostgreSQL cluster; each has its own Redis (the rate limits' shared store).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECKOUT="$(cd "$HERE/../.." && pwd)"
HASH="$(printf '%s' "$CHECKOUT" | sha1sum | cut -c1-10)"
STATE="${DESKTOP_AUDIT_SERVER_STATE:-/var/tmp/desktop-audit-pg-$HASH}"
PGDATA="$STATE/pgdata"
SOCK="$STATE/sock"
PARSE_PORT="${PARSE_PORT:-1337}"
FILES_STATE="$STATE/parse-$PARSE_PORT"
# Each checkout has its own cluster, so its own port (54000-54899, from the checkout's path).
PG_PORT="${DESKTOP_AUDIT_PG_PORT:-$((54000 + 0x${HASH:0:4} % 900))}"
APP_ID="${PARSE_APP_ID:-desktop-audit-dev}"
MASTER_KEY="${PARSE_MASTER_KEY:-dev-master-key}"
DB_NAME="${DESKTOP_AUDIT_PARSE_DB:-desktop_audit}"
DB_USER="parse"
PIDFILE="$STATE/parse-$PARSE_PORT.pid"
LOGFILE="$STATE/parse-$PARSE_PORT.log"
URL="http://127.0.0.1:$PARSE_PORT/parse"
# One Redis per Parse Server port: the shared store of its rate limits.
REDIS_PORT="${DESKTOP_AUDIT_REDIS_PORT:-$((PARSE_PORT + 10000))}"
REDIS_DIR="$STATE/redis-$PARSE_PORT"
REDIS_PIDFILE="$STATE/redis-$PARSE_PORT.pid"
START_TIMEOUT="${DESKTOP_AUDIT_SERVER_TIMEOUT:-60}"

log() { printf 'server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
    if [ "$APT_UPDATED" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

ensure_postgres_installed() {
    if ! PG_BIN="$(find_pg_bin)"; then
        log "PostgreSQL not found: installing it with apt"
        apt_install postgresql
        PG_BIN="$(find_pg_bin)" || die "PostgreSQL installed but initdb/pg_ctl not found"
    fi
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    PSQL="$PG_BIN/psql"
    [ -x "$PSQL" ] || PSQL="$(command -v psql || true)"
    [ -n "$PSQL" ] || die "psql not found"
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        log "Node.js not found: installing it with apt"
        apt_install nodejs npm
    fi
    local v
    v="$(node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.stdout.write(String(a*100+b))')"
    [ "$v" -ge 2019 ] || log "warning: Node $(node -v) found; parse-server 9.10 wants 20.19 or newer"
}

ensure_npm_packages() {
    local stamp="$HERE/node_modules/.desktop-audit-lock"
    local want
    want="$(sha1sum "$HERE/package.json" "$HERE/package-lock.json" 2>/dev/null | sha1sum | cut -c1-40)"
    if [ -d "$HERE/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    log "installing npm packages"
    if [ -f "$HERE/package-lock.json" ]; then
        (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2)
    else
        (cd "$HERE" && npm install --no-audit --no-fund --loglevel=error >&2)
    fi
    echo "$want" > "$stamp"
}

pg_running() {
    [ -f "$PGDATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

psql_admin() {
    as_pg "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

start_postgres() {
    mkdir -p "$STATE"
    chown postgres: "$STATE"
    chmod 0755 "$STATE"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        log "creating PostgreSQL cluster in $PGDATA"
        as_pg mkdir -p "$PGDATA" "$SOCK"
        as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    fi
    as_pg mkdir -p "$SOCK"
    if pg_running && [ "$(sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null)" != "$PG_PORT" ]; then
        log "PostgreSQL runs on another port: restarting it on $PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    if ! pg_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$STATE/postgres.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $SOCK -c fsync=on" start >/dev/null \
            || { tail -20 "$STATE/postgres.log" >&2; die "PostgreSQL did not start (port $PG_PORT busy?)"; }
    fi
    if [ "$(psql_admin -c "select 1 from pg_roles where rolname='$DB_USER'")" != 1 ]; then
        psql_admin -c "create role $DB_USER login superuser"
    fi
    if [ "$(psql_admin -c "select 1 from pg_database where datname='$DB_NAME'")" != 1 ]; then
        psql_admin -c "create database $DB_NAME owner $DB_USER"
    fi
}

drop_database() {
    psql_admin -c "drop database if exists $DB_NAME with (force)"
    psql_admin -c "create database $DB_NAME owner $DB_USER"
}

ensure_redis_installed() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        log "Redis not found: installing Debian's redis-server with apt"
        apt_install redis-server
        command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"
    fi
}

redis_pid() {
    [ -f "$REDIS_PIDFILE" ] || return 1
    local pid
    pid="$(cat "$REDIS_PIDFILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

redis_cli() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

start_redis() {
    [ "$REDIS_PORT" -le 65535 ] || die "Redis port $REDIS_PORT is out of range: set DESKTOP_AUDIT_REDIS_PORT"
    if redis_pid >/dev/null; then
        return 0
    fi
    if redis_cli ping >/dev/null 2>&1; then
        die "something else already answers on 127.0.0.1:$REDIS_PORT; set DESKTOP_AUDIT_REDIS_PORT"
    fi
    mkdir -p "$REDIS_DIR"
    # Rate-limit counters only: kept in memory, never written to disk.
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --daemonize yes --pidfile "$REDIS_PIDFILE" --dir "$REDIS_DIR" \
        --logfile "$STATE/redis-$PARSE_PORT.log" --save "" --appendonly no \
        --maxmemory 64mb --maxmemory-policy volatile-ttl >/dev/null \
        || die "Redis did not start on 127.0.0.1:$REDIS_PORT (log: $STATE/redis-$PARSE_PORT.log)"
    local i
    for i in $(seq 1 100); do
        redis_cli ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.05
    done
    die "Redis did not answer on 127.0.0.1:$REDIS_PORT (log: $STATE/redis-$PARSE_PORT.log)"
}

stop_redis() {
    local pid
    if pid="$(redis_pid)"; then
        kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$REDIS_PIDFILE"
}

node_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

healthy() {
    curl -fsS --max-time 2 -H "X-Parse-Application-Id: $APP_ID" "$URL/health" 2>/dev/null \
        | grep -q '"ok"'
}

start_node() {
    mkdir -p "$FILES_STATE"
    if node_pid >/dev/null; then
        return 0
    fi
    if healthy; then
        die "something else already answers on $URL (another checkout's server?); set PARSE_PORT"
    fi
    log "starting Parse Server on $URL"
    (
        cd "$HERE"
        PARSE_PORT="$PARSE_PORT" PARSE_APP_ID="$APP_ID" PARSE_MASTER_KEY="$MASTER_KEY" \
        PARSE_STATE_DIR="$FILES_STATE" PARSE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
        PARSE_DATABASE_URI="postgres://$DB_USER@127.0.0.1:$PG_PORT/$DB_NAME" \
            setsid nohup node "$HERE/index.js" >>"$LOGFILE" 2>&1 </dev/null &
        echo $! > "$PIDFILE"
    )
}

wait_healthy() {
    local deadline=$((SECONDS + START_TIMEOUT))
    while ! healthy; do
        if ! node_pid >/dev/null; then
            tail -30 "$LOGFILE" >&2 || true
            die "Parse Server exited during start-up (log: $LOGFILE)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -30 "$LOGFILE" >&2 || true
            die "Parse Server not healthy after ${START_TIMEOUT}s (log: $LOGFILE)"
        fi
        sleep 0.2
    done
}

stop_node() {
    local pid
    if pid="$(node_pid)"; then
        kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
}

cmd_start() {
    local fresh=0
    for a in "$@"; do
        case "$a" in
            --fresh) fresh=1 ;;
            *) die "unknown option $a" ;;
        esac
    done
    ensure_postgres_installed
    ensure_redis_installed
    ensure_node
    ensure_npm_packages
    if [ "$fresh" = 1 ]; then
        stop_node
    fi
    start_postgres
    start_redis
    if [ "$fresh" = 1 ]; then
        log "fresh start: emptying database and file store"
        drop_database
        rm -rf "$FILES_STATE/files"
    fi
    start_node
    wait_healthy
    echo "$URL"
}

cmd_reset() {
    ensure_postgres_installed
    pg_running || die "PostgreSQL is not running: start first"
    as_pg "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$DB_NAME" -v ON_ERROR_STOP=1 -qAt -c "
DO \$\$ DECLARE t text; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'
      AND tablename NOT IN ('_SCHEMA', '_Hooks', '_GlobalConfig', '_JobSchedule', '_Audience',
                            '_GraphQLConfig') LOOP
    EXECUTE format('TRUNCATE TABLE %I', t);
  END LOOP;
END \$\$;" >/dev/null
    rm -rf "$FILES_STATE/files"
    mkdir -p "$FILES_STATE/files"
    if redis_pid >/dev/null; then
        redis_cli flushall >/dev/null
    fi
}

cmd_stop() {
    stop_node
    stop_redis
    # Other checkouts' or ports' servers may still use the cluster: stop it only when
    # no Parse Server of this state folder is left.
    local other
    for other in "$STATE"/parse-*.pid; do
        [ -f "$other" ] || continue
        if kill -0 "$(cat "$other")" 2>/dev/null; then
            log "stopped $URL; PostgreSQL stays up for $(basename "$other" .pid)"
            return 0
        fi
    done
    if PG_BIN="$(find_pg_bin)" && pg_running; then
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    log "stopped"
}

cmd_status() {
    local rc=0
    if node_pid >/dev/null && healthy; then
        echo "parse: running (pid $(node_pid)) at $URL"
    else
        echo "parse: stopped"
        rc=3
    fi
    if PG_BIN="$(find_pg_bin)" && pg_running; then
        echo "postgres: running on 127.0.0.1:$PG_PORT ($PGDATA)"
    else
        echo "postgres: stopped"
        rc=3
    fi
    if redis_pid >/dev/null; then
        echo "redis: running (pid $(redis_pid)) on 127.0.0.1:$REDIS_PORT"
    else
        echo "redis: stopped"
        rc=3
    fi
    echo "state: $STATE"
    return $rc
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) echo "$URL" ;;
    reset) cmd_reset ;;
    *) echo "usage: $0 start [--fresh] | stop | status | url | reset" >&2; exit 2 ;;
esac
