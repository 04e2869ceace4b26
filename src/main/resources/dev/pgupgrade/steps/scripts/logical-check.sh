#!/usr/bin/env bash
# Validating, strategy logical: the facts that decide whether logical replication can carry this
# cluster -- the source's replication settings and free capacity, the connecting roles' rights, and
# per database what replication could not carry (logical-check.sql). Read-only on both sides; the
# judge (steps/logical/LogicalCheck) says what is refused and why.
# Env: SOURCE_URL, TARGET_URL (Secrets; no TARGET_URL on platform aptible), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}"   # TARGET_URL: absent on platform aptible, where the replica does not exist yet and its settings are Aptible's
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$WORK_DIR/logical-check
rm -rf "$dir"; mkdir -p "$dir"

stage "reading the source's replication settings"
source_num=$(psql_at "$SOURCE_URL" "the source server" "show server_version_num")
result_num sourceVersionNum "$source_num"
((source_num >= 100000)) || succeed   # the judge refuses; nothing below exists before 10
result_str walLevel "$(psql_at "$SOURCE_URL" "the source server" "show wal_level")"
result_num maxReplicationSlots "$(psql_at "$SOURCE_URL" "the source server" "show max_replication_slots")"
result_num usedReplicationSlots "$(psql_at "$SOURCE_URL" "the source server" "select count(*) from pg_replication_slots")"
result_num maxWalSenders "$(psql_at "$SOURCE_URL" "the source server" "show max_wal_senders")"
result_num usedWalSenders "$(psql_at "$SOURCE_URL" "the source server" "select count(*) from pg_stat_replication")"
result_str sourceSuperuser "$(psql_at "$SOURCE_URL" "the source server" "select rolsuper from pg_roles where rolname = current_user")"

if [[ -n ${TARGET_URL:-} ]]; then
  stage "reading the target's replication settings"
  result_num targetVersionNum "$(psql_at "$TARGET_URL" "the target server" "show server_version_num")"
  result_num targetMaxLogicalWorkers "$(psql_at "$TARGET_URL" "the target server" "show max_logical_replication_workers")"
  result_num targetMaxWorkerProcesses "$(psql_at "$TARGET_URL" "the target server" "show max_worker_processes")"
  result_str targetSuperuser "$(psql_at "$TARGET_URL" "the target server" "select rolsuper from pg_roles where rolname = current_user")"
fi

# per database and kind (keyless, full, unlogged, trigger, largeobjects, pglogicalnode): lines "database: table"
# (both escaped: one line whatever the names), one file per kind; the judge words them
databases_z "$SOURCE_URL" "the source server" "not datistemplate and datallowconn" > "$dir/databases"
kinds=(keyless full unlogged trigger largeobjects pglogicalnode)
for kind in "${kinds[@]}"; do : > "$dir/$kind"; done
n=0
while IFS= read -r -d '' db; do
  n=$((n + 1))
  stage "looking at database $(escaped "$db")"
  ( use_url "$SOURCE_URL" "the source server"
    psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -d "$(conninfo_dbname "$db")" -f "$here/logical-check.sql" ) > "$dir/db" 2> "$dir/db.err" \
    || die "cannot read database $(shown "$db") on the source: $(grep -m1 -E 'ERROR|FATAL|error' "$dir/db.err" | sed -E 's/^psql:[^ ]* //')"
  label=$(escaped "$db")
  while IFS=$'\t' read -r kind name; do
    case $kind in
      largeobjects) [[ $name == 0 ]] || printf '%s: %s\n' "$label" "$name" >> "$dir/largeobjects" ;;
      keyless|full|unlogged|trigger|pglogicalnode) printf '%s: %s\n' "$label" "$name" >> "$dir/$kind" ;;
    esac
  done < "$dir/db"
done < "$dir/databases"
result_num databases "$n"
for kind in "${kinds[@]}"; do
  result_num "${kind}Count" "$(wc -l < "$dir/$kind")"
  result_lines "$kind" "$dir/$kind" 10
done
succeed
