# Starts the servers the store tests need, on loopback, on free ports, in a temporary
# directory, and stops them on exit. Sourced by scripts/test; not run on its own.
#
#   start_services      exports TS_REDIS_URL, TS_REDIS_CLUSTER_URLS, TS_REDIS_SENTINEL_URLS,
#                       TS_POSTGRES_URL, TS_MYSQL_URL, the addresses of the servers the Redis
#                       failover tests may break and the commands that bring them back
#                       (TS_REDIS_FAILOVER_*), and the TS_*_STOP / TS_*_START commands the
#                       outage tests use
#   stop_services       stops everything start_services started (installed as an EXIT trap)
#
# It always starts its own instances, even where the machine runs these services on their
# standard ports, so that it behaves the same on a bare machine.

TS_RUN_DIR=""
TS_PIDS=()

say() { printf '    %s\n' "$*"; }

die() {
  echo "scripts/test: $*" >&2
  # Keep the logs the message points at (a subshell cannot tell stop_services, a file can).
  if [ -n "$TS_RUN_DIR" ] && [ -d "$TS_RUN_DIR" ]; then touch "$TS_RUN_DIR/.failed"; fi
  exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on, below the range the kernel hands out to
# outgoing connections (a server cannot bind a port that a client connection holds, and the
# tests open thousands). With an argument, the port that far above it must be free too: a
# Redis Cluster node also listens on its port + 10000, its cluster bus.
free_port() {
  local span=${1:-0} low high port
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  high=$((low - 1 - span))
  [ "$high" -gt 11000 ] || high=$((65535 - span))
  for _ in $(seq 1 200); do
    port=$((10000 + RANDOM % (high - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
      && { [ "$span" -eq 0 ] || ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + span))") 2>/dev/null; }; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# Polls a command until it succeeds, `tries` times a quarter of a second apart.
poll() {
  local tries=$1
  shift
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

wait_for() {
  local what=$1 tries=$2
  shift 2
  poll "$tries" "$@" || die "$what did not come up; logs are in $TS_RUN_DIR"
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
  command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
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

# One node of a Redis Cluster on a free port, in $TS_RUN_DIR/<name>-<port>; prints the port. Its
# start command is kept in start.sh there, so that a failover test can bring a killed node back.
# A port taken between the check and the bind (another run starting its servers) costs a retry
# on another port.
start_cluster_node() {
  local name=$1 node_timeout=$2 port dir
  for _ in 1 2 3; do
    port=$(free_port 10000)
    dir="$TS_RUN_DIR/$name-$port"
    mkdir -p "$dir"
    echo "redis-server --port $port --bind 127.0.0.1 --dir $dir --cluster-enabled yes \
--cluster-config-file nodes.conf --cluster-node-timeout $node_timeout --appendonly no --save '' \
--daemonize yes --pidfile $dir/redis.pid --logfile $dir/redis.log" >"$dir/start.sh"
    sh "$dir/start.sh"
    # Our node, not another run's that got the port first: it answers with our directory.
    if poll 40 sh -c "timeout 2 redis-cli -p $port config get dir | grep -qxF '$dir'"; then
      echo "$port"
      return 0
    fi
    if [ -f "$dir/redis.pid" ]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null; fi
    mv "$dir" "$dir.failed"
  done
  die "redis cluster node did not come up on three ports; logs are in $TS_RUN_DIR/$name-*.failed"
}

# A Redis Cluster of three masters with one replica each, as production runs it; prints the
# comma-separated URLs of its six nodes.
start_cluster() {
  local name=$1 node_timeout=$2 ports=() nodes=() urls=() port
  for _ in 1 2 3 4 5 6; do
    port=$(start_cluster_node "$name" "$node_timeout") || exit 1
    ports+=("$port")
    nodes+=("127.0.0.1:$port")
    urls+=("redis://127.0.0.1:$port/")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    >"$TS_RUN_DIR/$name-create.log" 2>&1 \
    || die "redis-cli --cluster create failed; see $TS_RUN_DIR/$name-create.log"
  for port in "${ports[@]}"; do
    wait_for "redis cluster state on $port" 120 sh -c \
      "redis-cli -p $port cluster info | grep -q cluster_state:ok"
  done
  # Every replica has finished its first sync, so that a failover can promote it at once.
  for port in "${ports[@]}"; do
    wait_for "redis cluster replica sync on $port" 120 sh -c \
      "redis-cli -p $port info replication | grep -q -e role:master -e master_link_status:up"
  done
  (IFS=,; echo "${urls[*]}")
}

start_redis_cluster() {
  TS_REDIS_CLUSTER_URLS=$(start_cluster cluster 5000) || exit 1
  # A second, separate Cluster for the tests that fail masters over or kill them, with a short
  # node timeout so that a killed master is replaced within seconds.
  TS_REDIS_FAILOVER_CLUSTER_URLS=$(start_cluster failover-cluster 1000) || exit 1
  # Restarts every node of the failover Cluster that is down; a restarted master rejoins as a
  # replica of the node that replaced it.
  TS_REDIS_FAILOVER_CLUSTER_RESTART="for d in $TS_RUN_DIR/failover-cluster-*/; do \
redis-cli -p \$(basename \$d | cut -d- -f3) ping >/dev/null 2>&1 || sh \$d/start.sh; done"
  export TS_REDIS_CLUSTER_URLS TS_REDIS_FAILOVER_CLUSTER_URLS TS_REDIS_FAILOVER_CLUSTER_RESTART
  say "redis cluster  $TS_REDIS_CLUSTER_URLS"
  say "failover cluster $TS_REDIS_FAILOVER_CLUSTER_URLS"
}

# A master and its replica, for a Sentinel to watch, in $TS_RUN_DIR/<name>-master and -replica
# (with the start command in start.sh and the port in port); prints the master's port.
start_replicated_pair() {
  local name=$1 master replica dir
  for role in master replica; do
    port=$(free_port)
    dir="$TS_RUN_DIR/$name-$role"
    mkdir -p "$dir"
    local extra=""
    [ "$role" = replica ] && extra="--replicaof 127.0.0.1 $master"
    echo "$port" >"$dir/port"
    echo "redis-server --port $port --bind 127.0.0.1 --dir $dir --appendonly no --save '' \
--daemonize yes --pidfile $dir/redis.pid --logfile $dir/redis.log $extra" >"$dir/start.sh"
    sh "$dir/start.sh"
    wait_for "redis $name $role" 40 redis-cli -p "$port" ping
    [ "$role" = master ] && master=$port
    replica=$port
  done
  wait_for "redis $name replica sync" 80 sh -c \
    "redis-cli -p $replica info replication | grep -q master_link_status:up"
  echo "$master"
}

# Two master/replica groups watched by one Sentinel: `typed-sessions` for the store's tests and
# `typed-sessions-failover` for the test that fails its master over.
start_redis_sentinel() {
  local port dir conf group master
  port=$(free_port)
  dir="$TS_RUN_DIR/sentinel"
  mkdir -p "$dir"
  conf="$dir/sentinel.conf"
  printf 'port %s\nbind 127.0.0.1\ndir %s\ndaemonize yes\npidfile %s/sentinel.pid\nlogfile %s/sentinel.log\n' \
    "$port" "$dir" "$dir" "$dir" >"$conf"
  for group in typed-sessions typed-sessions-failover; do
    master=$(start_replicated_pair "$group") || exit 1
    cat >>"$conf" <<CONF
sentinel monitor $group 127.0.0.1 $master 1
sentinel down-after-milliseconds $group 1000
sentinel failover-timeout $group 5000
sentinel parallel-syncs $group 1
CONF
  done
  redis-sentinel "$conf"
  wait_for "redis sentinel" 40 redis-cli -p "$port" ping
  for group in typed-sessions typed-sessions-failover; do
    wait_for "sentinel sees the replica of $group" 120 sh -c \
      "redis-cli -p $port sentinel replicas $group | grep -q slave"
  done
  TS_SENTINEL_PORT=$port
  TS_REDIS_SENTINEL_URLS="redis://127.0.0.1:$port/"
  TS_REDIS_SENTINEL_MASTER=typed-sessions
  TS_REDIS_FAILOVER_SENTINEL_MASTER=typed-sessions-failover
  # Restarts a server of the failover group that is down; Sentinel then makes it a replica.
  TS_REDIS_FAILOVER_SENTINEL_RESTART="for d in $TS_RUN_DIR/typed-sessions-failover-*/; do \
redis-cli -p \$(cat \$d/port) ping >/dev/null 2>&1 || sh \$d/start.sh; done"
  export TS_REDIS_SENTINEL_URLS TS_REDIS_SENTINEL_MASTER TS_REDIS_FAILOVER_SENTINEL_MASTER \
    TS_REDIS_FAILOVER_SENTINEL_RESTART
  say "redis sentinel $TS_REDIS_SENTINEL_URLS (masters $TS_REDIS_SENTINEL_MASTER, $TS_REDIS_FAILOVER_SENTINEL_MASTER)"
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
  if [ -n "${TS_SENTINEL_PORT:-}" ]; then redis-cli -p "$TS_SENTINEL_PORT" shutdown nosave >/dev/null 2>&1; fi
  # The Cluster nodes and the Sentinel's masters and replicas (their roles change in the tests).
  if [ -n "$TS_RUN_DIR" ]; then
    for pidfile in "$TS_RUN_DIR"/*-*/redis.pid; do
      [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
  fi
  if [ -n "${TS_POSTGRES_STOP:-}" ]; then eval "$TS_POSTGRES_STOP" >/dev/null 2>&1; fi
  for pid in "${TS_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [ -n "$TS_RUN_DIR" ] && [ -z "${TS_KEEP_RUN_DIR:-}" ] && [ ! -e "$TS_RUN_DIR/.failed" ]; then
    rm -rf "$TS_RUN_DIR"
  fi
}

start_services() {
  ensure_packages
  TS_RUN_DIR=$(mktemp -d /tmp/typed-sessions-test.XXXXXX)
  chmod 755 "$TS_RUN_DIR"
  trap stop_services EXIT
  start_redis
  start_redis_cluster
  start_redis_sentinel
  start_postgres
  start_mariadb
}
