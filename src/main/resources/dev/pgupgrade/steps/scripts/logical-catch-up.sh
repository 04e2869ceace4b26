#!/usr/bin/env bash
# CatchingUp (strategy logical): enables the subscriptions Verifying has vouched for, then watches
# them apply what the source wrote since the copy until every database is within
# LOGICAL_CAUGHT_UP_BYTES of the source's CURRENT WAL position (not only of what was sent). Reports,
# every couple of seconds, the lag and the WAL our slots make the source keep; past
# LOGICAL_MAX_RETAINED_MB it stops (the rollback removes the slots) rather than fill the source's
# disk. A subscription that fails to apply (a conflicting row on the target, say) stops it too.
# Writes nothing but "enable" on the target; rerunnable.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, LOGICAL_NAME, LOGICAL_CAUGHT_UP_BYTES,
#      LOGICAL_MAX_RETAINED_MB.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}" "${LOGICAL_CAUGHT_UP_BYTES:?}" "${LOGICAL_MAX_RETAINED_MB:?}"
started=$(date +%s%N)
max_retained=$((LOGICAL_MAX_RETAINED_MB * 1024 * 1024))
target_num=$(psql_at "$TARGET_URL" "the target server" "show server_version_num")

source_databases "$LOGICAL_DIR/databases"
n=0
while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
  n=$((n + 1)); sub=${LOGICAL_NAME}_$oid
  stage "database $(shown "$db"): enabling subscription $sub"
  on_target "$db" -c "alter subscription \"$sub\" enable" > /dev/null 2> "$LOGICAL_DIR/enable.err" \
    || die "cannot enable the subscription of database $(shown "$db") on the target: $(first_error "$LOGICAL_DIR/enable.err")"
done < "$LOGICAL_DIR/databases"

first=
stage "applying the changes made since the copy"
while :; do
  # per slot: bytes of WAL not yet confirmed applied, and bytes kept for it, both against the source's current position
  on_source "" -F ' ' -c "select coalesce(sum(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint,
      coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint,
      coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), 0)::bigint, count(*)
      from pg_replication_slots where slot_name like '${LOGICAL_NAME}\_%'" > "$LOGICAL_DIR/lag" 2> "$LOGICAL_DIR/lag.err" \
    || die "cannot read the replication slots on the source: $(first_error "$LOGICAL_DIR/lag.err")"
  read -r total_lag max_lag retained slots < "$LOGICAL_DIR/lag"
  ((slots == n)) || die "$((n - slots)) of our $n replication slots are gone from the source: the changes they kept are lost to the target"
  if ((target_num >= 150000)); then
    # A lost connection counts as an error too (a source restart), and is retried every few seconds; a
    # change that keeps failing (a row on the target conflicting with the source's) keeps counting.
    errors=$(on_target "" -c "select coalesce(sum(apply_error_count), 0) from pg_stat_subscription_stats where subname like '${LOGICAL_NAME}\_%'" 2>/dev/null || echo 0)
    [[ -n ${errors_before:-} ]] || errors_before=$errors
    ((errors - errors_before < 3 * n)) \
      || die "the subscriptions keep failing on the target ($((errors - errors_before)) errors since this step began; the target's log says why: a row there conflicting with the source's, or the source unreachable)"
  fi
  ((retained <= max_retained)) || die "our slots make the source keep $((retained / 1048576)) MiB of WAL, over spec.logical.maxRetainedWalMegabytes ($LOGICAL_MAX_RETAINED_MB): stopping before the source's disk fills"
  [[ -n $first ]] || first=$total_lag
  ((first > 0)) && progress bytes "$(( first > total_lag ? first - total_lag : 0 ))" "$first"
  ((max_lag <= LOGICAL_CAUGHT_UP_BYTES)) && break
  sleep 1
done
finished=$(date +%s%N)
result_num databases "$n"
result_num lagBytes "$total_lag"
result_num retainedBytes "$retained"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
