#!/usr/bin/env bash
# Analyzing: statistics and the visibility map for every non-template database of the target (a
# restore brings neither). ANALYZE runs in stages (vacuumdb --analyze-in-stages: rough statistics for
# every table first, then finer ones), so the planner has something to go on early; then VACUUM.
# Env: TARGET_URL (Secret), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${TARGET_URL:?}"

non_template_databases "$TARGET_URL" "the target server" > "$WORK_DIR/analyze-databases"
started=$(date +%s%N)
count=0
while IFS= read -r -d '' db; do
  count=$((count + 1))
  stage "VACUUM ANALYZE in database $count"
  # The database name goes in as dbname='...': vacuumdb reads a name holding '=' (even from
  # PGDATABASE) as connection parameters, which could send the password to another host.
  ( use_url "$TARGET_URL" "the target server"; dbname=$(conninfo_dbname "$db")
    vacuumdb --quiet --analyze-in-stages --jobs "$(transfer_jobs)" -d "$dbname" && vacuumdb --quiet --jobs "$(transfer_jobs)" -d "$dbname" ) \
    2> "$WORK_DIR/analyze.err" || die "VACUUM ANALYZE failed in database $count of the target: $(grep -m1 -E 'ERROR|FATAL|error' "$WORK_DIR/analyze.err")"
done < "$WORK_DIR/analyze-databases"
finished=$(date +%s%N)

result_names databaseNames "$WORK_DIR/analyze-databases"
result_num databases "$count"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
