# Starts the servers the store tests need, on loopback, on free ports, in a temporary
# directory, and stops them on exit. Sourced by scripts/test; not run on its own.
#
#   start_services      exports TS_REDIS_URL, TS_REDIS_CLUSTER_URLS, TS_POSTGRES_URL,
#                       TS_MYSQL_URL and the TS_*_STOP / TS_*_START commands the outage tests use
#   stop_services       stops everything start_services started (installed as an EXIT trap)
#
# It always starts its own instances, even where the machine runs these services on their
# standard ports, so that it behaves the same on a bare machine.

TS_RUN_DIR=""
TS_PIDS=()

say() { printf '    %s\n' "$*"; }

die() {
  echo "scripts/test: $*" >&2
  exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

wait_for() {
  local what=$1 tries=$2
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$what did not come up; logs are in $TS_RUN_DIR"
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir"
}

missing_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  [ -n "$(pg_bin)" ] || missing+=(postgresql)
  { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; } || missing+=(mariadb-server)
  command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
  command -v mariadb >/dev/null || missing+=(mariadb-client)
  printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' '
}

ensure_packages() {
  local missing
  missing=$(missing_packages)
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    die "missing servers for the store tests; install the Debian packages: sudo apt-get install $missing"
  fi
  say "installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  missing=$(missing_packages)
  [ -z "${missing// /}" ] || die "still missing after apt-get: $missing"
}

# Runs a command as the unprivileged service user when we are root (PostgreSQL and MariaDB
# refuse to run as root).
as_user() {
  local user=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

start_redis() {
  local port dir
  port=$(free_port)
  dir="$TS_RUN_DIR/redis"
  mkdir -p "$dir"
  # Append-only persistence, so that the outage test can stop and restart it without losing
  # the sessions saved before the outage.
  TS_REDIS_START="redis-server --port $port --bind 127.0.0.1 --dir $dir --appendonly yes \
--appendfsync always --save '' --daemonize yes --pidfile $dir/redis.pid --logfile $dir/redis.log"
  eval "$TS_REDIS_START"
  wait_for "redis" 40 redis-cli -p "$port" ping
  TS_REDIS_STOP="redis-cli -p $port shutdown nosave"
  TS_REDIS_URL="redis://127.0.0.1:$port/"
  export TS_REDIS_URL TS_REDIS_START TS_REDIS_STOP
  say "redis          $TS_REDIS_URL"
}

start_redis_cluster() {
  local ports=() urls=() port dir
  for i in 1 2 3; do
    port=$(free_port)
    dir="$TS_RUN_DIR/cluster-$i"
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 5000 --appendonly no --save '' \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    wait_for "redis cluster node $port" 40 redis-cli -p "$port" ping
    ports+=("$port")
    urls+=("redis://127.0.0.1:$port/")
  done
  redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" \
    "127.0.0.1:${ports[2]}" --cluster-replicas 0 --cluster-yes >"$TS_RUN_DIR/cluster-create.log" 2>&1 \
    || die "redis-cli --cluster create failed; see $TS_RUN_DIR/cluster-create.log"
  for port in "${ports[@]}"; do
    wait_for "redis cluster state on $port" 80 sh -c "redis-cli -p $port cluster info | grep -q cluster_state:ok"
  done
  TS_CLUSTER_PORTS=("${ports[@]}")
  TS_REDIS_CLUSTER_URLS=$(IFS=,; echo "${urls[*]}")
  export TS_REDIS_CLUSTER_URLS
  say "redis cluster  $TS_REDIS_CLUSTER_URLS"
}

start_postgres() {
  local port dir bin
  port=$(free_port)
  dir="$TS_RUN_DIR/postgres"
  bin=$(pg_bin)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir" "$TS_RUN_DIR"
  as_user postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || die "initdb failed; see $dir/initdb.log"
  local user_prefix=""
  [ "$(id -u)" -eq 0 ] && user_prefix="runuser -u postgres -- "
  TS_POSTGRES_START="${user_prefix}$bin/pg_ctl -D $dir/data -l $dir/postgres.log -w -t 30 \
-o '-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off' start"
  TS_POSTGRES_STOP="${user_prefix}$bin/pg_ctl -D $dir/data -m fast -w stop"
  eval "$TS_POSTGRES_START" >/dev/null || die "PostgreSQL did not start; see $dir/postgres.log"
  TS_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export TS_POSTGRES_URL TS_POSTGRES_START TS_POSTGRES_STOP
  say "postgresql     $TS_POSTGRES_URL"
}

start_mariadb() {
  local port dir daemon user=mysql
  port=$(free_port)
  dir="$TS_RUN_DIR/mariadb"
  daemon=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  [ "$(id -u)" -eq 0 ] || user=$(id -un)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown mysql: "$dir"
  mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
    || die "mariadb-install-db failed; see $dir/install.log"
  "$daemon" --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --port="$port" --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" \
    --log-error="$dir/error.log" --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
    --innodb-buffer-pool-size=64M >/dev/null 2>&1 &
  TS_PIDS+=($!)
  wait_for "MariaDB" 120 mariadb --no-defaults -S "$dir/mysqld.sock" -u root -e "select 1"
  mariadb --no-defaults -S "$dir/mysqld.sock" -u root -e "
    CREATE DATABASE sessions;
    CREATE USER 'sessions'@'127.0.0.1' IDENTIFIED BY 'sessions';
    GRANT ALL ON sessions.* TO 'sessions'@'127.0.0.1';" \
    || die "could not create the MariaDB test database"
  TS_MYSQL_URL="mysql://sessions:sessions@127.0.0.1:$port/sessions"
  export TS_MYSQL_URL
  say "mariadb        $TS_MYSQL_URL"
}

stop_services() {
  set +e
  if [ -n "${TS_REDIS_STOP:-}" ]; then eval "$TS_REDIS_STOP" >/dev/null 2>&1; fi
  for port in "${TS_CLUSTER_PORTS[@]:-}"; do
    [ -n "$port" ] && redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
  done
  if [ -n "${TS_POSTGRES_STOP:-}" ]; then eval "$TS_POSTGRES_STOP" >/dev/null 2>&1; fi
  for pid in "${TS_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [ -n "$TS_RUN_DIR" ] && [ -z "${TS_KEEP_RUN_DIR:-}" ]; then rm -rf "$TS_RUN_DIR"; fi
}

start_services() {
  ensure_packages
  TS_RUN_DIR=$(mktemp -d /tmp/typed-sessions-test.XXXXXX)
  chmod 755 "$TS_RUN_DIR"
  trap stop_services EXIT
  start_redis
  start_redis_cluster
  start_postgres
  start_mariadb
}
