#!/usr/bin/env bash
# Starts and stops throwaway local PostgreSQL servers for the demo, the tests and the benchmark.
#   pg-cluster.sh start BINDIR DATADIR PORT PASSWORD_FILE [SETTING=VALUE...]
#                                         # superuser "postgres", scram-sha-256 over TCP, and more settings
#                                         # (wal_level=logical for the online strategy's source)
#   pg-cluster.sh stop BINDIR DATADIR
#   pg-cluster.sh restart BINDIR DATADIR                # same settings (pg_ctl keeps them), fast shutdown
# As root (CI, containers) the server runs as PGUPGRADE_SERVER_USER (default: nobody), because
# initdb and postgres refuse to run as root. The password is read from a file, never an argument.
set -euo pipefail
cmd=$1 bindir=$(realpath -m "$2") datadir=$(realpath -m "$3")
[[ $# -lt 5 ]] || pwfile=$(realpath -m "$5")
# The server user may not be allowed into the caller's directory (pg_ctl complains): work from /.
cd /
as_user=()
if [[ $(id -u) == 0 ]]; then
  user=${PGUPGRADE_SERVER_USER:-nobody}
  as_user=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups)
fi
case $cmd in
  start)
    port=$4
    settings=""
    for setting in "${@:6}"; do
      [[ $setting =~ ^[a-z_]+=[A-Za-z0-9_.,]+$ ]] || { echo "pg-cluster.sh: bad setting $setting" >&2; exit 2; }
      settings+=" -c $setting"
    done
    mkdir -p "$datadir"
    [[ ${#as_user[@]} == 0 ]] || chown "$user" "$datadir" "$pwfile"
    chmod 700 "$datadir"
    "${as_user[@]}" "$bindir/initdb" -D "$datadir/data" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$datadir/initdb.log" 2>&1 \
      || { cat "$datadir/initdb.log" >&2; exit 1; }
    "${as_user[@]}" "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$datadir -c password_encryption=scram-sha-256 -c fsync=off -c synchronous_commit=off -c full_page_writes=off$settings" \
      start >/dev/null || { cat "$datadir/server.log" >&2; exit 1; }
    ;;
  restart)
    "${as_user[@]}" "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -m fast -w -t 60 restart >/dev/null \
      || { tail -n 20 "$datadir/server.log" >&2; exit 1; }
    ;;
  stop)
    if [[ -f $datadir/data/postmaster.pid ]]; then
      "${as_user[@]}" "$bindir/pg_ctl" -D "$datadir/data" -m fast -w stop >/dev/null
    fi
    ;;
  *) echo "usage: $0 start|stop BINDIR DATADIR [PORT PASSWORD_FILE]" >&2; exit 2 ;;
esac
