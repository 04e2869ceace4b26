#!/usr/bin/env bash
# Cutover (strategy logical), with the apps already scaled down. Per source database, side by side,
# one session inside it (logical-cutover.sql): freeze it -- no new connections, superusers included, and every
# other session ended (logical-freeze.sh) -- and check that nobody else is left who could write;
# take the WAL position every write is behind; read the sequences and the inventory; wait until the
# subscriber has applied up to that position (LOGICAL_CATCH_UP_TIMEOUT_SECONDS at most). Every
# database's name goes to LOGICAL_DIR/frozen BEFORE any is frozen: the rollback unfreezes exactly those.
# Then, on the target: the sequences set, the inventory compared; last, our subscriptions and slots
# dropped (the publications went with the sessions). Facts are reported, the judge decides (a
# failure rolls back: the source is unfrozen and the apps return to it). The source stays frozen
# after success, so nothing writes to the old database by mistake (docs/online.md: how to undo it).
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, LOGICAL_NAME, LOGICAL_CATCH_UP_TIMEOUT_SECONDS,
#      LOGICAL_REPLICATION and REPLICA_SLOTS (platform aptible: logical-replica.sh), and verify.sh's VERIFY_* (platform aptible).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/held-sessions.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}" "${LOGICAL_CATCH_UP_TIMEOUT_SECONDS:?}"
# Platform aptible: the replica's copy is Aptible's, made while the source took writes, so it is
# compared here, row by row (verify.sh, VERIFY_MODE), once the source is frozen and the replica has
# applied everything: through sessions opened in every database before the freeze and spared by it.
verify_in_freeze=false
[[ $LOGICAL_REPLICATION == replica && ${VERIFY_MODE:-off} != off ]] && verify_in_freeze=true
on_exit close_held
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
started=$(date +%s%N)
dir=$LOGICAL_DIR/cutover
rm -rf "$dir"; mkdir -p "$dir"
export PGTZ=UTC PGDATESTYLE=ISO
# the inventory's text forms, the same on both sides; no statement timeout cuts the wait short
export PGOPTIONS="-c extra_float_digits=0 -c IntervalStyle=postgres -c lc_monetary=C -c statement_timeout=0"

# cutover_database OID DB: the whole cutover of one database, into $dir/KEY/ (facts, finding, mismatches).
# The databases are independent (each its own slot, its own WAL position), so they go side by side:
# the time writes stay blocked grows with the slowest database, not with their number.
cutover_database() {
  local oid=$1 db=$2 k slot d label name value
  k=$(key "$db"); slot=$(slot_of "$oid"); d=$dir/$k
  mkdir -p "$d"; : > "$d/mismatches"; : > "$d/provider.sql"
  [[ $LOGICAL_REPLICATION == ours ]] || cp "$(provider_file "$db")" "$d/provider.sql"
  label=$(escaped "$db")
  if ! ( cd "$d"; session_at "$SOURCE_URL" "the source server" "$db"
    FREEZE_SCRIPT=$here/logical-freeze.sh FREEZE_DB=$db FREEZE_SLOT=$slot FREEZE_HELD_PID=${HELD[$oid]:-} RESULT_FILE=$d/freeze.json \
      psql -X -q -A -t -F $'\t' -v slot="$slot" -v publication="$LOGICAL_NAME" -v timeout="$LOGICAL_CATCH_UP_TIMEOUT_SECONDS" -v held="${HELD[$oid]:-}" \
        -v oids="$(identity_oids "$db")" \
      -f "$here/logical-cutover.sql" ) > "$d/facts" 2> "$d/err"; then
    printf 'the cutover of database %s failed on the source: %s\n' "$(shown "$db")" "$(first_error "$d/err")" > "$d/failed"
    return 0
  fi
  declare -A fact=()
  while IFS=$'\t' read -r name value; do [[ -n $name ]] && fact[$name]=$value; done < "$d/facts"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "${fact[others]:-?}" "${fact[allowconn]:-?}" "${fact[caughtup]:-?}" "${fact[waitedms]:-0}" \
    "${fact[position]:-?}" > "$d/finding"
  grep -c '^select pg_catalog.setval' "$d/setval.sql" > "$d/sequences" || true
  on_target "$db" -f "$d/setval.sql" > /dev/null 2> "$d/setval.err" \
    || printf '%s: sequences could not be set: %s\n' "$label" "$(first_error "$d/setval.err")" >> "$d/mismatches"
  ( cd "$d"; session_at "$TARGET_URL" "the target server" "$db"
    psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$here/verify-inventory.sql" ) > "$d/inventory.target" 2> "$d/inventory.err" \
    || printf '%s: the inventory could not be read on the target: %s\n' "$label" "$(first_error "$d/inventory.err")" >> "$d/mismatches"
  # an object on one side only, or defined differently: DDL the stream did not carry
  sort "$d/inventory.source" > "$d/a"; sort "$d/inventory.target" > "$d/b"
  comm -23 "$d/a" "$d/b" | LABEL="$label: only the source has: " awk '{ print ENVIRON["LABEL"] $0 }' | head -n 5 >> "$d/mismatches" || true
  comm -13 "$d/a" "$d/b" | LABEL="$label: only the target has: " awk '{ print ENVIRON["LABEL"] $0 }' | head -n 5 >> "$d/mismatches" || true
  rm -f "$LOGICAL_DIR/identity.$k"   # set back by the session
}

source_databases "$LOGICAL_DIR/databases"
: > "$dir/findings"; : > "$dir/mismatches"
if [[ $LOGICAL_REPLICATION == replica ]]; then
  # every database must have its slot (Replicating checked it); what the replica's subscriptions read
  # is noted now, while they exist
  note_provider_objects
  while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
    [[ -n $(slot_of "$oid") ]] || die "database $(shown "$db") of the source has no replication slot to the replica any more, so nothing was frozen"
  done < "$LOGICAL_DIR/databases"
fi
# Once a database is frozen nothing can connect to it, our subscriber included: every slot must have
# its walsender connected before the freeze (after a source restart the subscribers reconnect within
# seconds). One that drops out later makes the wait below time out, and the rollback opens everything.
stage "waiting until every subscription is connected to the source"
expected=$(tr -cd '\0' < "$LOGICAL_DIR/databases" | wc -c); expected=$((expected / 2))
for ((i = 0; ; i++)); do
  connected=$(on_source "" -c "select count(*) from pg_replication_slots where $(slots_where slot_name) and active" 2>/dev/null || echo 0)
  ((connected >= expected)) && break
  ((i < LOGICAL_CATCH_UP_TIMEOUT_SECONDS * 5)) \
    || die "only $connected of our $expected subscriptions are connected to the source after ${LOGICAL_CATCH_UP_TIMEOUT_SECONDS} s, so nothing was frozen: the target's log says why (a row there conflicting with the source's makes a subscription fail and retry; or the source is unreachable from the target)"
  sleep 0.2
done
declare -A HELD=()
if $verify_in_freeze; then
  stage "opening ${VERIFY_PARALLELISM:-1} verification session(s) in every source database"
  while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
    open_held "$dir/held" "$db" "${VERIFY_PARALLELISM:-1}"
    HELD[$oid]=$HELD_PID
  done < "$LOGICAL_DIR/databases"
fi
# intent first: every database about to be frozen, for the rollback to open again
while IFS= read -r -d '' _ && IFS= read -r -d '' db; do printf '%s\0' "$db" >> "$LOGICAL_DIR/frozen"; done < "$LOGICAL_DIR/databases"
stage "freezing writes in every database, waiting for the subscribers, sequences and inventories"
n=0; pids=()
while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
  n=$((n + 1))
  cutover_database "$oid" "$db" &
  pids+=($!)
done < "$LOGICAL_DIR/databases"
for pid in "${pids[@]}"; do wait "$pid" || true; done
sequences=0
while IFS= read -r -d '' _ && IFS= read -r -d '' db; do
  d=$dir/$(key "$db")
  [[ ! -s $d/failed ]] || die "$(cat "$d/failed")"
  cat "$d/finding" >> "$dir/findings" 2>/dev/null || true
  cat "$d/mismatches" >> "$dir/mismatches" 2>/dev/null || true
  sequences=$((sequences + $(cat "$d/sequences" 2>/dev/null || echo 0)))
done < "$LOGICAL_DIR/databases"

# a change the target could not apply (a row there conflicts with the source's) explains a wait that timed out
errors=$(apply_errors)
if $verify_in_freeze; then
  stage "comparing the frozen source with the replica (verification mode $VERIFY_MODE)"
  RESULT_FILE=$dir/verify.json SOURCE_URL=$(url_in_database "$SOURCE_URL" template1) VERIFY_SIDES=both VERIFY_HELD_DIR=$dir/held \
    bash "$here/verify.sh" || true
  [[ -s $dir/verify.json ]] || die "the comparison of the source with the replica reported nothing"
  result_json verify "$(cat "$dir/verify.json")"
  close_held
fi
stage "dropping our subscriptions and slots"
drop_subscriptions
drop_slots
finished=$(date +%s%N)

result_num databases "$n"
result_num sequences "$sequences"
result_num applyErrors "$errors"
# per database: name, other sessions left, allows connections, caught up, ms waited, position
result_lines findings "$dir/findings" 50
result_num mismatchCount "$(wc -l < "$dir/mismatches")"
result_lines mismatches "$dir/mismatches" 20
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
