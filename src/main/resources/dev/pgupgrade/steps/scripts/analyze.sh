#!/usr/bin/env bash
# Analyzing: statistics and the visibility map for every non-template database of the target (a
# restore brings neither). ANALYZE runs in stages (vacuumdb --analyze-in-stages: rough statistics for
# every table first, then finer ones), so the planner has something to go on early; then VACUUM.
# Env: TARGET_URL (Secret), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${TARGET_URL:?}"

non_template_databases "$TARGET_URL" "the target server" > "$WORK_DIR/analyze-databases.txt"
started=$(date +%s%N)
while IFS= read -r db; do
  stage "VACUUM ANALYZE in database $db"
  # The database name goes in through the environment: a name with '=' in it stays a name.
  ( use_url "$TARGET_URL" "the target server"; export PGDATABASE=$db
    vacuumdb --quiet --analyze-in-stages --jobs "$(transfer_jobs)" && vacuumdb --quiet --jobs "$(transfer_jobs)" ) \
    2> "$WORK_DIR/analyze.err" || die "VACUUM ANALYZE failed in database $db: $(grep -m1 -E 'ERROR|FATAL|error' "$WORK_DIR/analyze.err")"
done < "$WORK_DIR/analyze-databases.txt"
finished=$(date +%s%N)

result_lines databaseNames "$WORK_DIR/analyze-databases.txt" 200
result_num databases "$(wc -l < "$WORK_DIR/analyze-databases.txt")"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
