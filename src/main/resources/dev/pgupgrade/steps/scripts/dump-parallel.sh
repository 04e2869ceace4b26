#!/usr/bin/env bash
# Dumping, strategy "parallel": the globals (roles, memberships, tablespaces) with pg_dumpall
# --globals-only -- filtered like the runbook's dump so the target role's password survives -- then
# every database (template1 and postgres included, as pg_dumpall does) with pg_dump -Fd -j N --create
# into WORK_DIR/parallel, ready for pg_restore -j N. Uncompressed (-Z 0): the dump lives only for
# the downtime window, and gzip would spend the CPUs the dump and the restore need.
# Env: SOURCE_URL, TARGET_URL (Secrets) or TARGET_USER, WORK_DIR, RESULT_FILE, TRANSFER_JOBS.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}"

# The role whose password the restore must not change: TARGET_USER when the platform knows it
# (Aptible's is always "aptible", and the target needs no tunnel for that), else asked of the target.
target_user=${TARGET_USER:-$(connection_user "${TARGET_URL:?}" "the target server")}
jobs=$(transfer_jobs)
dir=$WORK_DIR/parallel
rm -rf "$dir"; mkdir -p "$dir"
estimate=$(estimated_dump_bytes "$SOURCE_URL" "the source server")
started=$(date +%s%N)

stage "pg_dumpall --globals-only of the source"
( use_url "$SOURCE_URL" "the source server"; pg_dumpall --quote-all-identifiers --globals-only -l "$(conninfo_dbname "${PGDATABASE:-postgres}")" ) 2> "$WORK_DIR/dump.err" \
  | target_role_filter "$target_user" > "$dir/globals.sql" 2> "$WORK_DIR/filter.err" \
  || die "pg_dumpall --globals-only of the source failed: $(grep -m1 -E 'error|ERROR' "$WORK_DIR/dump.err" || tail -n 1 "$WORK_DIR/dump.err")"
databases_z "$SOURCE_URL" "the source server" "datallowconn and datname <> 'template0'" "datname <> 'template1', datname <> 'postgres', datname" \
  > "$dir/databases"

# progress: the directory's size against the tables' size
dir_bytes() { du -sb "$dir" | cut -f1; }
report_every_2s bytes "$estimate" true dir_bytes

i=0
while IFS= read -r -d '' db; do
  i=$((i + 1))
  stage "pg_dump -Fd -j $jobs of database $(shown "$db")"
  ( use_url "$SOURCE_URL" "the source server"; pg_dump --quote-all-identifiers -Fd -j "$jobs" -Z 0 --create -f "$dir/db$i" -d "$(conninfo_dbname "$db")" ) 2> "$dir/db$i.dump.err" \
    || die "pg_dump of database $(shown "$db") failed: $(grep -m1 -E 'error|ERROR' "$dir/db$i.dump.err" || tail -n 1 "$dir/db$i.dump.err")"
done < "$dir/databases"
stop_reports
finished=$(date +%s%N)
bytes=$(du -sb "$dir" | cut -f1)
progress bytes "$bytes" "$bytes"

result_num bytes "$bytes"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
result_num databases "$i"
result_passwords_dropped
succeed
