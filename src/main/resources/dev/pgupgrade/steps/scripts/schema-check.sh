#!/usr/bin/env bash
# SchemaCheck: restore a schema-only dump of the source into a throwaway server of the target major,
# started here and thrown away at the end, so that objects the new major refuses are found before
# any downtime, each error named by the object it is about; and list what a dump cannot carry at all
# (source-uncarried.sql). Never writes to the source or the target.
# Env: SOURCE_URL (Secret), TARGET_MAJOR, WORK_DIR, RESULT_FILE;
#      TARGET_SERVER_BINDIR (default: the postgres image's /usr/lib/postgresql/$TARGET_MAJOR/bin);
#      PGUPGRADE_SERVER_USER: when run as root, the unprivileged user the throwaway server runs as.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_MAJOR:?}"

bindir=${TARGET_SERVER_BINDIR:?}
for tool in initdb pg_ctl postgres; do
  [[ -x $bindir/$tool ]] || die "no PostgreSQL $TARGET_MAJOR server binaries in $bindir (locally: pgupgrade run --pg-bin $TARGET_MAJOR=DIR)"
done
server_major=$(env -i "$bindir/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
[[ $server_major == "$TARGET_MAJOR" ]] || die "the server binaries in $bindir are PostgreSQL $server_major, not $TARGET_MAJOR"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/pgupgrade-schema.XXXXXX")
as_server_user=()
if [[ $(id -u) == 0 ]]; then
  # initdb and postgres refuse to run as root.
  server_user=${PGUPGRADE_SERVER_USER:?}
  chown "$server_user" "$scratch"
  as_server_user=(setpriv --reuid="$server_user" --regid="$(id -g "$server_user")" --clear-groups)
fi
# The throwaway server starts with an empty environment: this step's holds the source's password
# (PGPASSWORD, SOURCE_URL), and any other process of the server's user could read a process's
# environment in /proc/PID/environ.
as_server_user=(env -i PATH=/usr/bin:/bin LC_ALL=C "${as_server_user[@]}")
# The server user may not be allowed into the work directory (pg_ctl complains): work from the scratch dir.
cd "$scratch"
stop_throwaway() {
  if [[ -f $scratch/data/postmaster.pid ]]; then
    "${as_server_user[@]}" "$bindir/pg_ctl" -D "$scratch/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$scratch"
}
on_exit stop_throwaway

stage "starting a throwaway PostgreSQL $TARGET_MAJOR server"
"${as_server_user[@]}" "$bindir/initdb" -D "$scratch/data" -U postgres --auth=trust -E UTF8 --locale=C >"$scratch/initdb.log" 2>&1 \
  || die "initdb of the throwaway PostgreSQL $TARGET_MAJOR server failed: $(tail -n 1 "$scratch/initdb.log")"
"${as_server_user[@]}" "$bindir/pg_ctl" -D "$scratch/data" -l "$scratch/server.log" -w -t 60 \
  -o "-c listen_addresses= -c unix_socket_directories=$scratch -c fsync=off -c full_page_writes=off" start >/dev/null \
  || die "the throwaway PostgreSQL $TARGET_MAJOR server did not start: $(tail -n 1 "$scratch/server.log")"

stage "schema-only dump of the source"
( use_url "$SOURCE_URL" "the source server"; pg_dumpall --quote-all-identifiers --schema-only -l "$(conninfo_dbname "${PGDATABASE:-postgres}")" ) \
  > "$scratch/schema.sql" 2> "$scratch/dump.err" \
  || die "schema-only pg_dumpall of the source failed: $(grep -m1 -E 'error|ERROR' "$scratch/dump.err" || tail -n 1 "$scratch/dump.err")"

throwaway() { PGHOST=$scratch PGPORT=5432 PGUSER=postgres PGDATABASE=postgres PGPASSWORD='' "$@"; }
throwaway psql -X -q -A -t -c "select rolname from pg_roles where rolname !~ '^pg_' order by 1" > "$scratch/roles.txt"
throwaway psql -X -q -A -t -c "select datname from pg_database order by 1" > "$scratch/databases.txt"

stage "restoring the schema into PostgreSQL $TARGET_MAJOR"
throwaway psql -X -q -f "$scratch/schema.sql" >/dev/null 2> "$scratch/restore.err" \
  || die "psql stopped while restoring the schema: $(grep -m1 -E 'FATAL|error' "$scratch/restore.err" || echo 'see the step log')"

# each error named by the object whose statement failed (the dump's line numbers mean nothing once
# this step's scratch directory is gone)
report_restore_errors "$scratch/restore.err" "$scratch/roles.txt" "$scratch/databases.txt" "$scratch/schema.sql"

stage "looking for objects a dump cannot carry"
uncarried=()
databases_z "$SOURCE_URL" "the source server" "datallowconn and datname <> 'template0'" > "$scratch/source-databases"
while IFS= read -r -d '' db; do
  found=$( (use_url "$SOURCE_URL" "the source server"; psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$(conninfo_dbname "$db")" \
             -f "$(dirname "${BASH_SOURCE[0]}")/source-uncarried.sql") 2> "$scratch/uncarried.err" ) \
    || die "cannot look for objects a dump cannot carry in database $(shown "$db") of the source: $(grep -m1 -E 'ERROR|FATAL|error' "$scratch/uncarried.err")"
  while IFS= read -r line; do [[ -n $line ]] && uncarried+=("$line"); done <<< "$found"
done < "$scratch/source-databases"
listed=20; ((RESULT_MAX_LINES < listed)) && listed=$RESULT_MAX_LINES
result_json uncarried "[$(IFS=,; printf '%s' "${uncarried[*]:0:$listed}")]"
result_num uncarriedCount "${#uncarried[@]}"
result_num bytes "$(stat -c %s "$scratch/schema.sql")"
succeed
