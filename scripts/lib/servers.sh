# Throwaway PostgreSQL 15 and MariaDB servers on free loopback ports, for tests and
# benchmarks. Source this file; call install_packages, start_servers; stop_servers runs on exit.
# Exports TRIBUTARY_TEST_POSTGRES_URL and TRIBUTARY_TEST_MYSQL_URL (admin URLs; tests create their own databases).
# Tests trade durability for speed (no fsync); SERVERS_DURABLE=1 keeps each server's
# production defaults (fsync at every commit), as the benchmark does.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# What building Tributary needs: the MariaDB client library (and pkg-config to find it), SQLite, zlib.
install_build_packages() {
  local missing=()
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  dpkg -s libmariadb-dev >/dev/null 2>&1 || missing+=(libmariadb-dev)
  dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
  dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)   # gzip of batches and bundles (compress-nio)
  apt_install "${missing[@]}"
}

# What the tests need besides: the servers and their command-line clients.
install_packages() {
  install_build_packages
  local missing=()
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v mariadb >/dev/null || missing+=(mariadb-client)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  command -v python3 >/dev/null || missing+=(python3)
  apt_install "${missing[@]}"
}

apt_install() {
  [ $# -gt 0 ] || return 0
  echo "packages: installing $*"
  as_root apt-get update -qq
  # Debian's policy-rc.d keeps the packaged services from starting; we start our own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

SERVERS_DIR=""
stop_servers() {
  [ -n "$SERVERS_DIR" ] || return 0
  for cluster in "$SERVERS_DIR"/pg*/; do
    if [ -f "$cluster/postmaster.pid" ]; then run_as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$cluster" -m immediate stop >/dev/null 2>&1 || true; fi
  done
  for instance in "$SERVERS_DIR"/my*/; do
    [ -f "$instance/mysqld.pid" ] || continue
    kill "$(cat "$instance/mysqld.pid")" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -f "$instance/mysqld.pid" ] || break; sleep 0.1; done
  done
  rm -rf "$SERVERS_DIR"
  SERVERS_DIR=""
}

# initdb refuses to run as root: the cluster belongs to the postgres user then.
run_as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_speed_flags() { [ "${SERVERS_DURABLE:-0}" = 1 ] || echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; }
mariadb_speed_flags() { [ "${SERVERS_DURABLE:-0}" = 1 ] || echo "--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0"; }

# start_postgres [NAME] [VARIABLE]: a cluster in $SERVERS_DIR/NAME whose URL goes to VARIABLE.
# PG_EXTRA_FLAGS adds server settings (the sync benchmark needs wal_level=logical).
start_postgres() {
  local name="${1:-pg}" variable="${2:-TRIBUTARY_TEST_POSTGRES_URL}"
  local dir="$SERVERS_DIR/$name" port
  port=$(free_port)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir" "$SERVERS_DIR"
  run_as_pg /usr/lib/postgresql/15/bin/initdb -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$SERVERS_DIR/$name-init.log" 2>&1 \
    || { cat "$SERVERS_DIR/$name-init.log"; return 1; }
  run_as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$dir" -l "$SERVERS_DIR/$name.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 $(pg_speed_flags) ${PG_EXTRA_FLAGS:-}" start >/dev/null \
    || { cat "$SERVERS_DIR/$name.log"; return 1; }
  export "$variable=postgres://postgres@127.0.0.1:$port/postgres"
  echo "servers: PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}') on 127.0.0.1:$port"
}

# start_mariadb [NAME] [VARIABLE]: a server in $SERVERS_DIR/NAME whose admin URL goes to VARIABLE.
start_mariadb() {
  local name="${1:-my}" variable="${2:-TRIBUTARY_TEST_MYSQL_URL}"
  local dir="$SERVERS_DIR/$name" port user mariadbd
  port=$(free_port)
  user=$(id -un)
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  mkdir -p "$dir"
  mariadb-install-db --no-defaults --datadir="$dir/data" --user="$user" --auth-root-authentication-method=normal \
    --skip-test-db >"$SERVERS_DIR/$name-init.log" 2>&1 || { cat "$SERVERS_DIR/$name-init.log"; return 1; }
  "$mariadbd" --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
    --pid-file="$dir/mysqld.pid" --user="$user" --skip-log-bin $(mariadb_speed_flags) \
    --innodb-buffer-pool-size=512M --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci >"$SERVERS_DIR/$name.log" 2>&1 &
  for _ in $(seq 1 300); do
    mariadb --no-defaults -h 127.0.0.1 -P "$port" -u root -e 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
  done
  mariadb --no-defaults -h 127.0.0.1 -P "$port" -u root -e 'SELECT 1' >/dev/null 2>&1 || { cat "$SERVERS_DIR/$name.log"; return 1; }
  export "$variable=mysql://root@127.0.0.1:$port/mysql"
  echo "servers: MariaDB $("$mariadbd" --version | awk '{print $3}') on 127.0.0.1:$port"
}

start_servers() {
  SERVERS_DIR=$(mktemp -d /tmp/tributary-servers.XXXXXX)
  chmod 755 "$SERVERS_DIR"
  trap stop_servers EXIT
  start_postgres
  start_mariadb
}
