#!/usr/bin/env bash
# Prints where PostgreSQL server binaries are kept: target/pg of this checkout, unless we run as root
# and the unprivileged user the servers run as cannot reach this checkout (a clone under /root, say);
# then a world-readable directory under /var/tmp.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
user=${PGUPGRADE_SERVER_USER:-nobody}
if [[ $(id -u) == 0 ]] && ! setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups test -x "$root"; then
  echo "/var/tmp/pgupgrade-pg"
else
  echo "$root/target/pg"
fi
