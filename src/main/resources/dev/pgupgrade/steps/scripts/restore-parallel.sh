#!/usr/bin/env bash
# Restoring, strategy "parallel": the globals with psql, then every database with pg_restore --create
# -j N (tables load in parallel and each index is built as soon as its table is loaded), in tuned
# sessions. Errors are reported for the engine to classify, as for the runbook's restore: "already
# exists" for the databases and roles the target had (postgres, template1, its own role) is expected.
# Env: TARGET_URL (Secret), WORK_DIR, RESULT_FILE, TRANSFER_JOBS, RESTORE_MAINTENANCE_WORK_MEM.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${TARGET_URL:?}"

dir=$WORK_DIR/parallel
[[ -s $dir/globals.sql && -s $dir/databases ]] || die "there is no parallel dump to restore in $dir"
jobs=$(transfer_jobs)

target_inventory_before
tuning=$(restore_tuning "$jobs")
started=$(date +%s%N)

stage "restoring roles and other globals"
( use_url "$TARGET_URL" "the target server"; psql -X -q -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" -f "$dir/globals.sql" ) >/dev/null 2> "$dir/globals.restore.err" \
  || die "psql could not restore the globals: $(grep -m1 -E 'FATAL|error' "$dir/globals.restore.err")"

# progress: archive items finished against all items of all databases
total=0
for archive in "$dir"/db*/; do
  total=$(( total + $(pg_restore -l "$archive" | grep -c '^[0-9]' || true) ))
done
finished_items() { cat "$dir"/db*.restore.err 2>/dev/null | grep -c 'finished item' || true; }
report_every_2s items "$total" false finished_items

i=0
while IFS= read -r -d '' db; do
  i=$((i + 1))
  stage "pg_restore --create -j $jobs of database $(shown "$db")"
  set +e
  ( use_url "$TARGET_URL" "the target server"; export PGOPTIONS=$tuning
    pg_restore --verbose --create -j "$jobs" -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" "$dir/db$i" ) 2> "$dir/db$i.restore.err"
  rc=$?
  set -e
  # pg_restore exits 1 when it carried on past SQL errors (classified below); it stops on lost connections
  if [[ $rc != 0 ]] && grep -qE 'pg_restore: error: (connection to server|could not connect)' "$dir/db$i.restore.err"; then
    die "pg_restore could not reach the target while restoring database $(shown "$db"): $(grep -m1 -E 'connection to server|could not connect' "$dir/db$i.restore.err" | sed -E 's/^pg_restore: error: //')"
  fi
done < "$dir/databases"
stop_reports
finished=$(date +%s%N)
progress items "$total" "$total"

cat "$dir/globals.restore.err" "$dir"/db*.restore.err > "$WORK_DIR/restore.err"
report_restore_errors "$WORK_DIR/restore.err" "$WORK_DIR/target-roles-before.txt" "$WORK_DIR/target-databases-before.txt"
result_num bytes "$(du -sb "$dir" | cut -f1)"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
result_num databases "$i"
succeed
