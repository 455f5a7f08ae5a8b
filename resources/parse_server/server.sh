#!/usr/bin/env bash
# Local Parse Server + private PostgreSQL cluster for desktop_audit.
#   server.sh start [--fresh] [--instances N] | stop | status | url | urls | reset
# Everything listens on 127.0.0.1. Idempotent: start on a running server is a no-op.
# A group is the Parse Server processes of one PARSE_PORT: N processes (--instances, 1
# unless given; a running group keeps its number) on ports PARSE_PORT ... PARSE_PORT+N-1,
# all on the same database, the same file store and the same Redis (Live Query events,
# the session cache and the rate limits, shared by the group's processes). `stop` stops
# the whole group and its Redis, nothing of another group. `url` prints the first
# process's URL, `urls` every process's.
# `reset` empties every class of a running server (keeps the schema), its file store and
# its Redis (rate-limit counters, cached sessions): for tests.
# Environment: PARSE_PORT (1337), DESKTOP_AUDIT_PG_PORT (from the checkout), PARSE_APP_ID,
# PARSE_MASTER_KEY, DESKTOP_AUDIT_PARSE_DB (database name), DESKTOP_AUDIT_SERVER_STATE
# (state folder), DESKTOP_AUDIT_REDIS_PORT (PARSE_PORT + 10000). Several groups (ports)
# share one PostgreSQL cluster; each has its own database name and Redis.
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
URL="http://127.0.0.1:$PARSE_PORT/parse"
# How many processes the group runs (written at start, read by stop and status).
GROUPFILE="$STATE/group-$PARSE_PORT"
MAX_INSTANCES=16
# One Redis per group: Live Query's pub/sub, the session cache and the rate limits.
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
    # Rate-limit counters, cached sessions (each with its time to live) and Live Query's
    # pub/sub: kept in memory, never written to disk.
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

# ---------------------------------------------------------------- the group's processes
# Process i of the group listens on PARSE_PORT + i; its pid and log are parse-<port>.pid
# and parse-<port>.log in the state folder.

port_of() { echo $((PARSE_PORT + $1)); }
url_of() { echo "http://127.0.0.1:$(port_of "$1")/parse"; }
pidfile_of() { echo "$STATE/parse-$(port_of "$1").pid"; }
logfile_of() { echo "$STATE/parse-$(port_of "$1").log"; }

# How many processes the group was started with (1 when never started in a group).
group_size() {
    local n=1
    [ -f "$GROUPFILE" ] && n="$(cat "$GROUPFILE")"
    case "$n" in ''|*[!0-9]*) n=1 ;; esac
    [ "$n" -ge 1 ] || n=1
    echo "$n"
}

node_pid() {
    local file
    file="$(pidfile_of "${1:-0}")"
    [ -f "$file" ] || return 1
    local pid
    pid="$(cat "$file")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

healthy() {
    curl -fsS --max-time 2 -H "X-Parse-Application-Id: $APP_ID" "$(url_of "${1:-0}")/health" \
        2>/dev/null | grep -q '"ok"'
}

start_node() {
    local i="$1"
    local port url
    port="$(port_of "$i")"
    url="$(url_of "$i")"
    mkdir -p "$FILES_STATE"
    if node_pid "$i" >/dev/null; then
        return 0
    fi
    if healthy "$i"; then
        die "something else already answers on $url (another checkout's or group's server?); set PARSE_PORT"
    fi
    log "starting Parse Server on $url"
    (
        cd "$HERE"
        # Every process of the group: the same database, file store (PARSE_STATE_DIR) and
        # Redis; only the port differs.
        PARSE_PORT="$port" PARSE_APP_ID="$APP_ID" PARSE_MASTER_KEY="$MASTER_KEY" \
        PARSE_STATE_DIR="$FILES_STATE" PARSE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
        PARSE_DATABASE_URI="postgres://$DB_USER@127.0.0.1:$PG_PORT/$DB_NAME" \
            setsid nohup node "$HERE/index.js" >>"$(logfile_of "$i")" 2>&1 </dev/null &
        echo $! > "$(pidfile_of "$i")"
    )
}

wait_healthy() {
    local i="$1"
    local deadline=$((SECONDS + START_TIMEOUT))
    local logfile
    logfile="$(logfile_of "$i")"
    while ! healthy "$i"; do
        if ! node_pid "$i" >/dev/null; then
            tail -30 "$logfile" >&2 || true
            die "Parse Server exited during start-up (log: $logfile)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -30 "$logfile" >&2 || true
            die "Parse Server not healthy after ${START_TIMEOUT}s (log: $logfile)"
        fi
        sleep 0.2
    done
}

stop_node() {
    local i="$1"
    local pid
    if pid="$(node_pid "$i")"; then
        kill "$pid" 2>/dev/null || true
        local n
        for n in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile_of "$i")"
}

# The PARSE_PORT of another running group that has a process on port PORT (nothing when
# none does).
other_group_on() {
    local port="$1"
    local file base n pid
    for file in "$STATE"/group-*; do
        [ -f "$file" ] || continue
        base="${file##*/group-}"
        case "$base" in ''|*[!0-9]*) continue ;; esac
        [ "$base" = "$PARSE_PORT" ] && continue
        n="$(cat "$file" 2>/dev/null)"
        case "$n" in ''|*[!0-9]*) n=1 ;; esac
        if [ "$port" -ge "$base" ] && [ "$port" -lt $((base + n)) ]; then
            pid="$(cat "$STATE/parse-$port.pid" 2>/dev/null || true)"
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                echo "$base"
                return 0
            fi
        fi
    done
    return 1
}

# Stop processes FROM ... of the group (all of them: 0).
stop_nodes_from() {
    local from="$1"
    local n i
    n="$(group_size)"
    for i in $(seq "$from" $((n - 1))); do
        stop_node "$i"
    done
}

cmd_start() {
    local fresh=0
    local instances=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --fresh) fresh=1 ;;
            --instances)
                [ $# -ge 2 ] || die "--instances needs a number"
                instances="$2"
                shift ;;
            --instances=*) instances="${1#--instances=}" ;;
            *) die "unknown option $1" ;;
        esac
        shift
    done
    if [ -n "$instances" ]; then
        case "$instances" in ''|*[!0-9]*) die "--instances needs a number, not '$instances'" ;; esac
        [ "$instances" -ge 1 ] && [ "$instances" -le "$MAX_INSTANCES" ] \
            || die "--instances must be 1 to $MAX_INSTANCES"
    elif node_pid 0 >/dev/null; then
        instances="$(group_size)"  # a running group keeps its number of processes
    else
        instances=1
    fi
    [ $((PARSE_PORT + instances - 1)) -le 65535 ] || die "ports beyond 65535: lower PARSE_PORT"
    local i other
    for i in $(seq 0 $((instances - 1))); do
        if other="$(other_group_on "$(port_of "$i")")"; then
            die "port $(port_of "$i") is served by the group of PARSE_PORT=$other; choose another PARSE_PORT"
        fi
    done
    ensure_postgres_installed
    ensure_redis_installed
    ensure_node
    ensure_npm_packages
    if [ "$fresh" = 1 ]; then
        stop_nodes_from 0
    elif [ "$(group_size)" -gt "$instances" ]; then
        log "stopping the group's processes beyond $instances"
        stop_nodes_from "$instances"
    fi
    start_postgres
    start_redis
    if [ "$fresh" = 1 ]; then
        log "fresh start: emptying database and file store"
        drop_database
        rm -rf "$FILES_STATE/files"
        redis_cli flushall >/dev/null
    fi
    mkdir -p "$STATE"
    echo "$instances" > "$GROUPFILE"
    # The first process alone first: it makes what a new database needs (Parse Server's
    # own tables, the trail's index); the others then start side by side.
    start_node 0
    wait_healthy 0
    for i in $(seq 1 $((instances - 1))); do
        start_node "$i"
    done
    for i in $(seq 1 $((instances - 1))); do
        wait_healthy "$i"
    done
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
    stop_nodes_from 0
    rm -f "$GROUPFILE"
    stop_redis
    # Other checkouts' or ports' servers may still use the cluster: stop it only when
    # no Parse Server of this state folder is left.
    local other
    for other in "$STATE"/parse-*.pid; do
        [ -f "$other" ] || continue
        if kill -0 "$(cat "$other")" 2>/dev/null; then
            log "stopped the group of $URL; PostgreSQL stays up for $(basename "$other" .pid)"
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
    local n i
    n="$(group_size)"
    for i in $(seq 0 $((n - 1))); do
        if node_pid "$i" >/dev/null && healthy "$i"; then
            echo "parse: running (pid $(node_pid "$i")) at $(url_of "$i")"
        elif node_pid "$i" >/dev/null; then
            echo "parse: not answering (pid $(node_pid "$i")) at $(url_of "$i")"
            rc=3
        else
            echo "parse: stopped at $(url_of "$i")"
            rc=3
        fi
    done
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
    echo "files: $FILES_STATE/files"
    echo "state: $STATE"
    return $rc
}

cmd_urls() {
    local n i
    n="$(group_size)"
    for i in $(seq 0 $((n - 1))); do
        url_of "$i"
    done
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) echo "$URL" ;;
    urls) cmd_urls ;;
    reset) cmd_reset ;;
    *) echo "usage: $0 start [--fresh] [--instances N] | stop | status | url | urls | reset" >&2
       exit 2 ;;
esac
