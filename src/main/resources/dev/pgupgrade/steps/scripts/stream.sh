#!/usr/bin/env bash
# Restoring, strategy "stream": pg_dumpall piped straight into psql on the target -- no dump file, and
# the restore starts with the first byte of the dump. Same guarantees as the runbook: the target
# connection role's password statement is filtered out, and psql's errors are reported for the
# engine to classify.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, RESTORE_MAINTENANCE_WORK_MEM.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"

target_user=$(connection_user "$TARGET_URL" "the target server")
target_inventory_before
estimate=$(estimated_dump_bytes "$SOURCE_URL" "the source server")
tuning=$(restore_tuning 1)

stage "pg_dumpall of the source streamed into psql on the target"
started=$(date +%s%N)
set +e
( use_url "$SOURCE_URL" "the source server"; pg_dumpall --quote-all-identifiers -l "$(conninfo_dbname "${PGDATABASE:-postgres}")" ) 2> "$WORK_DIR/dump.err" \
  | target_role_filter "$target_user" 2> "$WORK_DIR/filter.err" \
  | count_bytes "$estimate" true \
  | ( use_url "$TARGET_URL" "the target server"; export PGOPTIONS=$tuning; psql -X -q -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" -f - ) >/dev/null 2> "$WORK_DIR/restore.err"
codes=("${PIPESTATUS[@]}")
set -e
finished=$(date +%s%N)
cat "$WORK_DIR/dump.err" "$WORK_DIR/filter.err" >&2
error_lines "$WORK_DIR/restore.err" "$WORK_DIR/restore-errors.txt"
# The target may now hold part of the source: say which side broke off.
[[ ${codes[0]} == 0 ]] || die "pg_dumpall of the source failed mid-stream (the target holds a partial restore): $(grep -m1 -E 'error|ERROR' "$WORK_DIR/dump.err" || tail -n 1 "$WORK_DIR/dump.err")"
[[ ${codes[3]} == 0 ]] || die "psql could not finish the restore (exit code ${codes[3]}): $(head -n 1 "$WORK_DIR/restore-errors.txt")"

report_restore_errors "$WORK_DIR/restore.err" "$WORK_DIR/target-roles-before.txt" "$WORK_DIR/target-databases-before.txt"
result_num bytes "$(counted_bytes)"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
result_passwords_dropped
succeed
