#!/usr/bin/env bash
# Replicating on platform aptible: the replica `aptible db:replicate --logical` made copies the
# source's tables itself (pglogical's, or native logical replication's, initial sync). This step finds
# that replication -- every subscription on the replica, and the slot each reads on the source -- and
# checks it covers every source database, one slot each; then watches until every table is
# synchronized, reporting tables done, lag and the WAL the slots keep. It writes nothing anywhere.
# Reports the slots (status keeps them: what the cleanup drops on the source, even once the replica
# is gone). Stops when the slots keep more than LOGICAL_MAX_RETAINED_MB of WAL.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, LOGICAL_NAME, LOGICAL_MAX_RETAINED_MB,
#      LOGICAL_LOOK_SECONDS, LOGICAL_REPORTED_DATABASES.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOGICAL_REPLICATION=replica REPLICA_SLOTS=
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}" "${LOGICAL_MAX_RETAINED_MB:?}" "${LOGICAL_LOOK_SECONDS:?}" "${LOGICAL_REPORTED_DATABASES:?}"
started=$(date +%s%N)
max_retained=$((LOGICAL_MAX_RETAINED_MB * 1024 * 1024))
rm -f "$LOGICAL_DIR"/watch.*

stage "finding the replication aptible db:replicate --logical set up"
source_databases "$LOGICAL_DIR/databases"
: > "$LOGICAL_DIR/replica-slots"
n=0
while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
  n=$((n + 1))
  replica_subscriptions "$db" > "$LOGICAL_DIR/subs" 2> "$LOGICAL_DIR/subs.err" \
    || die "cannot read the subscriptions of database $(shown "$db") on the replica: $(first_error "$LOGICAL_DIR/subs.err")"
  count=0
  while IFS=$'\t' read -r kind slot enabled; do
    [[ -n $kind ]] || continue
    count=$((count + 1))
    [[ $slot =~ ^[A-Za-z0-9_]{1,63}$ ]] || die "the $kind subscription in database $(shown "$db") of the replica reads a slot whose name pgupgrade does not handle (only letters, digits and _)"
    [[ $enabled == t ]] || die "the $kind subscription in database $(shown "$db") of the replica is disabled: the replica does not follow the source"
    printf '%s\t%s\t%s\n' "$slot" "$oid" "$kind" >> "$LOGICAL_DIR/replica-slots"
  done < "$LOGICAL_DIR/subs"
  ((count > 0)) || die "database $(shown "$db") of the source has no subscription on the replica: aptible db:replicate --logical did not replicate it, so the replica would miss its data"
  ((count == 1)) || die "database $(shown "$db") has $count subscriptions on the replica; pgupgrade handles one per database"
done < "$LOGICAL_DIR/databases"
REPLICA_SLOTS=$(cut -f1 "$LOGICAL_DIR/replica-slots" | sort -u | paste -sd' ')
# reported from here on, also by a failure below: status keeps them for the rollback to drop; and
# what else it put on the source, in the working files (note_provider_objects), for the same reason
result_str slots "$REPLICA_SLOTS"
note_provider_objects
# each slot exists on the source, in the database its subscription is in (database_names reads SLOT_OIDS)
database_names "$LOGICAL_DIR/databases"
while IFS=$'\t' read -r slot oid kind; do
  [[ -n ${SLOT_OIDS[$slot]:-} ]] || die "the slot $slot the replica's $kind subscription reads does not exist on the source: the replica is not following this source"
  [[ ${SLOT_OIDS[$slot]} == "$oid" ]] || die "the slot $slot reads another database of the source than the one its subscription is in"
done < "$LOGICAL_DIR/replica-slots"

# sync_state: "done total pending" over every database of the replica: its tables synchronized, its
# tables, and its subscriptions whose initial copy is not over. pglogical lists a table only once the
# whole copy is over (its subscription-level row, sync_relname null, says how far that is), so 0 of 0
# tables proves nothing while that row is not ready.
sync_state() {
  local done=0 total=0 pending=0 d t p file=$LOGICAL_DIR/sync
  while IFS= read -r -d '' _ && IFS= read -r -d '' db; do
    on_target "$db" -F ' ' > "$file" 2> "$file.err" <<'SQL' || die "cannot read the synchronization state of database $(shown "$db") on the replica: $(first_error "$file.err")"
select exists (select 1 from pg_catalog.pg_extension where extname = 'pglogical') as pglogical \gset
\if :pglogical
select count(*) filter (where sync_relname is not null and sync_status in ('r', 'y')), count(*) filter (where sync_relname is not null),
       count(*) filter (where sync_relname is null and sync_status <> 'r')
  from pglogical.local_sync_status;
\else
select count(*) filter (where r.srsubstate = 'r'), count(*), 0 from pg_catalog.pg_subscription_rel r
  join pg_catalog.pg_subscription s on s.oid = r.srsubid
 where s.subdbid = (select oid from pg_catalog.pg_database where datname = current_database());
\endif
SQL
    read -r d t p < "$file"
    [[ $d =~ ^[0-9]+$ && $t =~ ^[0-9]+$ && $p =~ ^[0-9]+$ ]] || die "internal: unreadable synchronization state of database $(shown "$db")"
    done=$((done + d)); total=$((total + t)); pending=$((pending + p))
  done < "$LOGICAL_DIR/databases"
  printf '%s %s %s\n' "$done" "$total" "$pending"
}

stage "waiting until the replica has synchronized every table"
while :; do
  replication_look
  ((LOOK_SLOTS == $(wc -w <<< "$REPLICA_SLOTS"))) || die "a replication slot of the replica is gone from the source: the changes it kept are lost to the replica"
  ((LOOK_RETAINED <= max_retained)) || die "the replica's slots make the source keep $((LOOK_RETAINED / 1048576)) MiB of WAL, over spec.logical.maxRetainedWalMegabytes ($LOGICAL_MAX_RETAINED_MB): stopping before the source's disk fills"
  sync_state > "$LOGICAL_DIR/sync.state"
  read -r synced tables pending < "$LOGICAL_DIR/sync.state"
  printf 'PGUPGRADE_PROGRESS {"unit":"tables","done":%s,"total":%s,"estimated":false,"replication":%s}\n' "$synced" "$tables" "$LOOK_JSON" >&2
  ((synced == tables && pending == 0)) && break
  sleep "$LOGICAL_LOOK_SECONDS"
done
finished=$(date +%s%N)
result_num databases "$n"
result_num tables "$tables"
result_str kinds "$(cut -f3 "$LOGICAL_DIR/replica-slots" | sort -u | paste -sd,)"
result_num lagBytes "$LOOK_LAG"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
