#!/usr/bin/env bash
# Restoring: psql -f dump.sql into the target, carrying on past errors as the runbook does. The step
# reports the error lines and what the target held before; the engine decides which are expected
# ("already exists" for roles and databases the target already had) and which fail the upgrade.
# Env: TARGET_URL (Secret), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${TARGET_URL:?}"

dump=$WORK_DIR/dump.sql
[[ -s $dump ]] || die "there is no dump to restore ($dump is missing or empty)"

target_inventory_before

tuning=$(restore_tuning 1)
stage "psql -f dump.sql into the target"
started=$(date +%s%N)
set +e
size=$(stat -c %s "$dump")
count_bytes "$size" false < "$dump" \
  | ( use_url "$TARGET_URL" "the target server"; export PGOPTIONS=$tuning; psql -X -q -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" -f - ) >/dev/null 2> "$WORK_DIR/restore.err"
rc=$?
set -e
finished=$(date +%s%N)
error_lines "$WORK_DIR/restore.err" "$WORK_DIR/restore-errors.txt" "$dump"
# psql exits 0 after SQL errors (they are classified below), 1 or 2 when it could not go on.
[[ $rc == 0 ]] || die "psql could not finish the restore (exit code $rc): $(head -n 1 "$WORK_DIR/restore-errors.txt")"

report_restore_errors "$WORK_DIR/restore.err" "$WORK_DIR/target-roles-before.txt" "$WORK_DIR/target-databases-before.txt" "$dump"
result_num bytes "$(stat -c %s "$dump")"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
