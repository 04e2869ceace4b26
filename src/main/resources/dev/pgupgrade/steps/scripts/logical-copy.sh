#!/usr/bin/env bash
# Replicating (strategy logical), the initial copy. Per source database: our publication (FOR ALL
# TABLES), then our slot, created on a replication connection that exports the snapshot of the slot's
# starting point and holds it open (a background psql waiting on a file). Everything is then read AT
# THAT SNAPSHOT: pipeline.sh copies roles, schema, rows and indexes into the target, and verify.sh
# (source side only) stores every table's count and checksum and the inventory as they were at that
# point, for Verifying to compare with the target before it applies any change. Last, per database,
# the target's subscription, DISABLED, on our slot (no copy of its own): the changes made since the
# snapshot wait in the slot until CatchingUp enables it. So the copy and the stream meet exactly.
# With LOGICAL_REPLICA_IDENTITY_FULL=1, tables without a usable replica identity get REPLICA
# IDENTITY FULL first (their OIDs recorded before; the cutover and the rollback set DEFAULT back):
# without it, the publication would make the apps' UPDATEs and DELETEs of them fail.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, LOGICAL_NAME, LOGICAL_REPLICA_IDENTITY_FULL, and the inputs of
#      pipeline.sh (TRANSFER_JOBS, RESTORE_MAINTENANCE_WORK_MEM) and verify.sh (VERIFY_*).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}" "${VERIFY_MODE:?}" "${LOGICAL_REPLICA_IDENTITY_FULL:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
started=$(date +%s%N)

snapshots=$LOGICAL_DIR/snapshots
rm -rf "$snapshots" "$LOGICAL_DIR/source-facts" "$LOGICAL_DIR/removed"; mkdir -p "$snapshots"
: > "$LOGICAL_DIR/consistent-points"

# What an earlier, interrupted run may have left: its slots cannot give their snapshot again.
stage "removing what an interrupted copy may have left"
drop_subscriptions
drop_slots

# The holders end with the step, whatever way it ends: their snapshots are only needed during it.
release_holders() { touch "$snapshots/release"; wait 2>/dev/null || true; }
on_exit release_holders

source_databases "$LOGICAL_DIR/databases"
n=0; identity_full=0
while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
  n=$((n + 1)); k=$(key "$db"); slot=${LOGICAL_NAME}_$oid
  if [[ $LOGICAL_REPLICA_IDENTITY_FULL == 1 ]]; then
    stage "database $(shown "$db"): REPLICA IDENTITY FULL for the tables without a key"
    on_source "$db" -v identity=full -v oids='{}' -f "$here/logical-identity.sql" >> "$LOGICAL_DIR/identity.$k" 2> "$snapshots/$k.err" \
      || die "cannot set REPLICA IDENTITY FULL in database $(shown "$db") of the source: $(first_error "$snapshots/$k.err")"
    sort -u -o "$LOGICAL_DIR/identity.$k" "$LOGICAL_DIR/identity.$k"
    identity_full=$((identity_full + $(grep -c . "$LOGICAL_DIR/identity.$k" || true)))
  fi
  stage "database $(shown "$db"): publication and slot"
  on_source "$db" -c "drop publication if exists \"$LOGICAL_NAME\"" -c "create publication \"$LOGICAL_NAME\" for all tables" \
    >/dev/null 2> "$snapshots/$k.err" || die "cannot create the publication in database $(shown "$db") of the source: $(first_error "$snapshots/$k.err")"
  # The holder: creates the slot, writes the exported snapshot's name (then its consistent point) to
  # a file, and waits without a word on the connection: the snapshot lives as long as it waits.
  cat > "$snapshots/$k.sql" <<SQL
CREATE_REPLICATION_SLOT "$slot" LOGICAL pgoutput EXPORT_SNAPSHOT \gset created_
\o $k.tmp
\qecho :created_snapshot_name
\qecho :created_consistent_point
\o
\! mv $k.tmp $k
\! while [ ! -e release ]; do sleep 0.2; done
SQL
  ( cd "$snapshots"; use_url "$SOURCE_URL" "the source server"
    psql -X -q -v ON_ERROR_STOP=1 -d "$(conninfo_dbname "$db") replication=database" -f "$k.sql" ) > /dev/null 2> "$snapshots/$k.err" &
  holder=$!
  for ((i = 0; i < 3000; i++)); do
    [[ -s $snapshots/$k ]] && break
    kill -0 "$holder" 2>/dev/null || die "cannot create the replication slot of database $(shown "$db") on the source: $(first_error "$snapshots/$k.err")"
    sleep 0.1
  done
  [[ -s $snapshots/$k ]] || die "the replication slot of database $(shown "$db") was not ready after 300 s (transactions running on the source delay it)"
  # pipeline.sh and verify.sh read one line: the snapshot's name
  { read -r snapshot; read -r consistent_point; } < "$snapshots/$k"
  [[ $snapshot =~ ^[0-9A-F-]+$ ]] || die "internal: unexpected snapshot name from the source"
  printf '%s\n' "$snapshot" > "$snapshots/$k.snapshot"
  printf '%s\t%s\n' "$(escaped "$db")" "$consistent_point" >> "$LOGICAL_DIR/consistent-points"
done < "$LOGICAL_DIR/databases"

# the copy: schema, rows and indexes, every source read at its database's snapshot
stage "copying roles, schema, rows and indexes at the slots' snapshots"
RESULT_FILE=$LOGICAL_DIR/copy.json PIPELINE_SNAPSHOTS=$snapshots bash "$here/pipeline.sh" \
  || die "$(sed -nE 's/.*"message":"([^"]*)".*/\1/p' "$LOGICAL_DIR/copy.json" | head -n 1)"
result_json copy "$(cat "$LOGICAL_DIR/copy.json")"

# the source's facts at the same snapshots, for Verifying
if [[ $VERIFY_MODE != off ]]; then
  stage "reading the source's counts and checksums at the slots' snapshots"
  RESULT_FILE=$LOGICAL_DIR/source-facts.json VERIFY_SIDES=source VERIFY_FACTS_DIR=$LOGICAL_DIR/source-facts VERIFY_SNAPSHOTS=$snapshots \
    bash "$here/verify.sh" || die "$(sed -nE 's/.*"message":"([^"]*)".*/\1/p' "$LOGICAL_DIR/source-facts.json" | head -n 1)"
fi

# the subscriptions, disabled: nothing is applied before Verifying compared the copy
n=0
while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
  n=$((n + 1)); k=$(key "$db"); slot=${LOGICAL_NAME}_$oid
  stage "database $(shown "$db"): subscription (disabled until the copy is verified)"
  conninfo=$(source_conninfo "$db")
  # through stdin (the password is in it), with no statement text in any error message
  printf '\\set VERBOSITY terse\ncreate subscription "%s" connection '"'"'%s'"'"' publication "%s" with (copy_data = false, create_slot = false, enabled = false, slot_name = '"'"'%s'"'"');\n' \
      "$slot" "${conninfo//\'/\'\'}" "$LOGICAL_NAME" "$slot" \
    | on_target "$db" -f - > /dev/null 2> "$snapshots/$k.sub.err" \
    || die "cannot create the subscription of database $(shown "$db") on the target: $(first_error "$snapshots/$k.sub.err" | sed -E "s/'[^']*'/'...'/g")"
  unset conninfo
done < "$LOGICAL_DIR/databases"
release_holders
finished=$(date +%s%N)

result_num databases "$n"
result_num identityFull "$identity_full"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
result_lines consistentPoints "$LOGICAL_DIR/consistent-points" 20
succeed
