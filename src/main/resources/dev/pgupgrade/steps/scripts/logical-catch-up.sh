#!/usr/bin/env bash
# CatchingUp (strategy logical): enables the subscriptions Verifying has vouched for, then watches
# them apply what the source wrote since the copy until every database is within
# LOGICAL_CAUGHT_UP_BYTES of the source's CURRENT WAL position (not only of what was sent).
# LOGICAL_WATCH=1 (AwaitingApproval): the same look, every LOGICAL_LOOK_SECONDS, until the driver
# stops the step at the approval: replication may last days, and status keeps showing it.
# Every look reports, per database, the lag in bytes and seconds, the WAL our slots make the source
# keep and whether the apply worker runs. Stops (the rollback removes the slots) when our slots keep
# more than LOGICAL_MAX_RETAINED_MB of WAL rather than fill the source's disk, when a slot is gone, and
# when a subscription keeps failing to apply (a conflicting row on the target, say).
# Writes nothing but "enable" on the target; rerunnable.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, LOGICAL_NAME, LOGICAL_CAUGHT_UP_BYTES,
#      LOGICAL_MAX_RETAINED_MB, LOGICAL_WATCH, LOGICAL_LOOK_SECONDS, LOGICAL_REPORTED_DATABASES,
#      LOGICAL_REPLICATION and REPLICA_SLOTS (platform aptible: logical-replica.sh).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}" "${LOGICAL_CAUGHT_UP_BYTES:?}" "${LOGICAL_MAX_RETAINED_MB:?}" "${LOGICAL_WATCH:?}" "${LOGICAL_LOOK_SECONDS:?}" \
  "${LOGICAL_REPORTED_DATABASES:?}"
started=$(date +%s%N)
max_retained=$((LOGICAL_MAX_RETAINED_MB * 1024 * 1024))
target_num=$(psql_at "$TARGET_URL" "the target server" "show server_version_num")
rm -f "$LOGICAL_DIR"/watch.*  # the lag history of an earlier run of this step is stale

source_databases "$LOGICAL_DIR/databases"
database_names "$LOGICAL_DIR/databases"
n=0
while IFS= read -r -d '' oid && IFS= read -r -d '' db; do
  n=$((n + 1)); sub=${LOGICAL_NAME}_$oid
  [[ $LOGICAL_REPLICATION == ours ]] || continue   # Aptible's subscriptions run from the start
  stage "database $(shown "$db"): enabling subscription $sub"
  on_target "$db" -c "alter subscription \"$sub\" enable" > /dev/null 2> "$LOGICAL_DIR/enable.err" \
    || die "cannot enable the subscription of database $(shown "$db") on the target: $(first_error "$LOGICAL_DIR/enable.err")"
done < "$LOGICAL_DIR/databases"

# failing_subscription: the first of our subscriptions whose apply errors rose by 12 or more within
# the last 120 s (a conflicting row fails at every retry, every 5 s; a source restart stops failing)
failing_subscription() {
  local now; now=$(date +%s)
  on_target "" -F $'\t' -c "select subname, apply_error_count from pg_stat_subscription_stats where subname like '${LOGICAL_NAME}\_%'" \
    2>/dev/null | awk -v now="$now" '{ print now "\t" $0 }' >> "$LOGICAL_DIR/watch.errors"
  awk -F'\t' -v now="$now" '$1 >= now - 120 { if (!($2 in low)) low[$2] = $3; high[$2] = $3 }
    END { for (s in high) if (high[s] - low[s] >= 12) { print s; exit } }' "$LOGICAL_DIR/watch.errors"
  awk -F'\t' -v now="$now" '$1 >= now - 120' "$LOGICAL_DIR/watch.errors" > "$LOGICAL_DIR/watch.errors.new"
  mv "$LOGICAL_DIR/watch.errors.new" "$LOGICAL_DIR/watch.errors"
}

first=
if ((LOGICAL_WATCH)); then stage "watching the replication until the downtime is approved"; else stage "applying the changes made since the copy"; fi
while :; do
  replication_look
  if [[ $LOGICAL_REPLICATION == replica ]]; then n=$(wc -w <<< "$REPLICA_SLOTS"); fi
  ((LOOK_SLOTS == n)) || die "$((n - LOOK_SLOTS)) of our $n replication slots are gone from the source: the changes they kept are lost to the target"
  if ((target_num >= 150000)) && [[ $LOGICAL_REPLICATION == ours ]]; then
    if ((LOGICAL_WATCH)); then
      failing=$(failing_subscription)
      [[ -z $failing ]] || die "subscription $failing keeps failing on the target (12 errors in 2 minutes; the target's log says why: a row there conflicting with the source's, or the source unreachable)"
    else
      # A lost connection counts as an error too (a source restart), and is retried every few seconds; a
      # change that keeps failing (a row on the target conflicting with the source's) keeps counting.
      errors=$(apply_errors)
      [[ -n ${errors_before:-} ]] || errors_before=$errors
      ((errors - errors_before < 3 * n)) \
        || die "the subscriptions keep failing on the target ($((errors - errors_before)) errors since this step began; the target's log says why: a row there conflicting with the source's, or the source unreachable)"
    fi
  fi
  ((LOOK_RETAINED <= max_retained)) || die "our slots make the source keep $((LOOK_RETAINED / 1048576)) MiB of WAL, over spec.logical.maxRetainedWalMegabytes ($LOGICAL_MAX_RETAINED_MB): stopping before the source's disk fills"
  if ((LOGICAL_WATCH)); then
    progress_replication 0 0
    sleep "$LOGICAL_LOOK_SECONDS"
    continue
  fi
  [[ -n $first ]] || first=$LOOK_LAG
  progress_replication "$(( first > LOOK_LAG ? first - LOOK_LAG : 0 ))" "$first"
  ((LOOK_MAX_LAG <= LOGICAL_CAUGHT_UP_BYTES)) && break
  sleep "$LOGICAL_LOOK_SECONDS"
done
finished=$(date +%s%N)
result_num databases "$n"
result_num lagBytes "$LOOK_LAG"
result_num lagSeconds "$LOOK_SECONDS"
result_num retainedBytes "$LOOK_RETAINED"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
