#!/usr/bin/env bash
# Dumping: pg_dumpall of the whole source cluster into WORK_DIR/dump.sql, as the runbook does, with
# the statement that would change the target connection role's password removed.
# pg_dumpall opens one connection per database and passes none of the URL's password to them, so the
# password travels in PGPASSWORD (set by use_url), which every one of its connections reads.
# Env: SOURCE_URL, TARGET_URL (Secrets) or TARGET_USER, WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}"

# The role whose password the restore must not change: TARGET_USER when the platform knows it
# (Aptible's is always "aptible", and the target needs no tunnel for that), else asked of the target.
target_user=${TARGET_USER:-$(connection_user "${TARGET_URL:?}" "the target server")}
dump=$WORK_DIR/dump.sql
rm -f "$dump" "$dump.partial"

estimate=$(estimated_dump_bytes "$SOURCE_URL" "the source server")
stage "pg_dumpall of the source"
started=$(date +%s%N)
( use_url "$SOURCE_URL" "the source server"; pg_dumpall --quote-all-identifiers -l "$(conninfo_dbname "${PGDATABASE:-postgres}")" ) 2> "$WORK_DIR/dump.err" \
  | target_role_filter "$target_user" 2> "$WORK_DIR/filter.err" | count_bytes "$estimate" true > "$dump.partial" \
  || die "pg_dumpall of the source failed: $(grep -m1 -E 'error|ERROR' "$WORK_DIR/dump.err" || tail -n 1 "$WORK_DIR/dump.err")"
finished=$(date +%s%N)
mv -f "$dump.partial" "$dump"
cat "$WORK_DIR/dump.err" "$WORK_DIR/filter.err" >&2

result_num bytes "$(stat -c %s "$dump")"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
result_num databases "$(grep -c '^\\connect ' "$dump" || true)"
result_passwords_dropped
succeed
