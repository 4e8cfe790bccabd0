#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `start DIR` initdb's a cluster into DIR, starts it
# on a free loopback port, creates the database sfdest_test and prints its URL
# (postgres://sfdest@127.0.0.1:PORT/sfdest_test?sslmode=disable); `stop DIR` stops it. Uses Debian's postgresql
# package (apt-get install postgresql). Run as root, the server runs as the `postgres` user (initdb
# refuses root).
set -euo pipefail
command="${1:-}"
dir="${2:-}"
if [[ -z "$command" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  echo "PostgreSQL's server programs are missing: apt-get install postgresql" >&2
  exit 1
fi
as_owner() {
  # From /: the postgres user may not enter the caller's directory (a private clone, say).
  if [[ "$(id -u)" == "0" ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
case "$command" in
  start)
    mkdir -p "$dir"
    if [[ "$(id -u)" == "0" ]]; then chown postgres "$dir"; fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    as_owner "$bin/initdb" -D "$dir/data" -U sfdest --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U sfdest sfdest_test
    echo "postgres://sfdest@127.0.0.1:$port/sfdest_test?sslmode=disable"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
