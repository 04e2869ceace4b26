#!/usr/bin/env bash
# Analyzing: VACUUM ANALYZE every non-template database of the target, so the planner has statistics
# (a restore brings none) and the visibility map is set.
# Env: TARGET_URL (Secret), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${TARGET_URL:?}"

non_template_databases "$TARGET_URL" "the target server" > "$WORK_DIR/analyze-databases.txt"
started=$(date +%s%N)
while IFS= read -r db; do
  stage "VACUUM ANALYZE in database $db"
  # The database name goes in through the environment: a name with '=' in it stays a name.
  ( use_url "$TARGET_URL" "the target server"; PGDATABASE=$db psql -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE" ) \
    2> "$WORK_DIR/analyze.err" || die "VACUUM ANALYZE failed in database $db: $(grep -m1 -E 'ERROR|FATAL|error' "$WORK_DIR/analyze.err")"
done < "$WORK_DIR/analyze-databases.txt"
finished=$(date +%s%N)

result_lines databaseNames "$WORK_DIR/analyze-databases.txt" 200
result_num databases "$(wc -l < "$WORK_DIR/analyze-databases.txt")"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
