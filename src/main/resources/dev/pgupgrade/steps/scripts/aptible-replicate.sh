#!/usr/bin/env bash
# ProvisioningTarget on Aptible, strategy logical: Aptible's "upgrade with logical replication" guide,
# `aptible db:replicate SOURCE REPLICA --logical --version MAJOR` (the replica is created in the
# source's environment, its roles recreated, and a logical replication set up per database). The call
# is not repeated: a second replicate of the same handle is refused by Aptible anyway.
# A replica that exists already (a restart after the call) is looked at, not trusted: it is adopted
# only if it follows this source (each of its subscriptions reads a slot that exists on the source)
# and runs the major asked for. Whether it is this upgrade's to deprovision, Validating recorded
# before the call.
# A replica this step created and could not finish checking is deprovisioned again (after its slots
# on the source are dropped), so a failure here leaves nothing running.
# Env: aptible.sh's contract, TARGET_DISK_SIZE_GB, TARGET_CONTAINER_SIZE_MB (optional), LOGICAL_NAME, WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_HANDLE:?}" "${SOURCE_ENVIRONMENT:?}" "${TARGET_HANDLE:?}" "${TARGET_MAJOR:?}" "${TARGET_DISK_SIZE_GB:?}" "${LOGICAL_NAME:?}"

created=false done=false
# A replica this step created and could not finish checking goes again, and with it what it made on
# the source: its subscriptions on the replica are dropped when it can be reached (their slots noted
# first), the replica deprovisioned, then on the source the slots noted, or else every logical slot
# that appeared since the call and sits idle now that the replica is gone, and the publications or
# pglogical provider node. Registered before aptible.sh's hooks, so it runs while the tunnels are open.
undo_replicate() {
  if $created && ! $done; then
    echo "pgupgrade: deprovisioning $TARGET_HANDLE again: this step created it and did not finish" >&2
    if [[ -n ${TARGET_URL:-} ]]; then ( drop_subscriptions ) > /dev/null 2>&1 || true; fi
    aptible db:deprovision "$TARGET_HANDLE" --environment "$SOURCE_ENVIRONMENT" > /dev/null 2>&1 || true
    if [[ -n ${SOURCE_URL:-} ]]; then
      ( set +o pipefail
        appeared=$(on_source "" -c "select slot_name from pg_replication_slots where slot_type = 'logical' and not active" 2>/dev/null \
          | grep -vxF -f "$WORK_DIR/slots-before" | grep -E '^[A-Za-z0-9_]{1,63}$' | paste -sd' ')
        REPLICA_SLOTS="$REPLICA_SLOTS $appeared"
        drop_slots; drop_publications ) > /dev/null 2>&1 || true
    fi
  fi
}
on_exit undo_replicate
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
LOGICAL_REPLICATION=replica REPLICA_SLOTS=
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"

# the source's slots before the call: what the undo must never touch
open_tunnel SOURCE_URL "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT"
on_source "" -c "select slot_name from pg_replication_slots" > "$WORK_DIR/slots-before" 2> "$WORK_DIR/slots-before.err" \
  || die "cannot list the replication slots of the source: $(first_error "$WORK_DIR/slots-before.err")"

existing=$(database_json "$TARGET_HANDLE" "$SOURCE_ENVIRONMENT") || exit 1
if [[ -n $existing ]]; then
  what="found $TARGET_HANDLE in $SOURCE_ENVIRONMENT"
else
  args=(db:replicate "$SOURCE_HANDLE" "$TARGET_HANDLE" --logical --version "$TARGET_MAJOR" --environment "$SOURCE_ENVIRONMENT"
        --disk-size "$TARGET_DISK_SIZE_GB")
  [[ -z ${TARGET_CONTAINER_SIZE_MB:-} ]] || args+=(--container-size "$TARGET_CONTAINER_SIZE_MB")
  stage "creating the replica $TARGET_HANDLE: PostgreSQL $TARGET_MAJOR, logical replication of $SOURCE_HANDLE (aptible db:replicate --logical)"
  t0=$(date +%s%N)
  if ! aptible "${args[@]}" > /dev/null 2> "$_APTIBLE_ERR"; then
    why=$(aptible_error)
    # a replica that exists after a failed call is this call's, half made: undone
    if [[ -n $(database_json "$TARGET_HANDLE" "$SOURCE_ENVIRONMENT") ]]; then created=true; fi
    die "aptible db:replicate $SOURCE_HANDLE $TARGET_HANDLE --logical failed: $why"
  fi
  result_num replicateMillis "$(( ($(date +%s%N) - t0) / 1000000 ))"
  created=true
  what="created the logical replica $TARGET_HANDLE of $SOURCE_HANDLE"
fi

open_target "the replica" "$SOURCE_ENVIRONMENT"

# Whose is it: the slots its subscriptions read, and whether each exists on this source
stage "checking that $TARGET_HANDLE follows $SOURCE_HANDLE"
# look_at_replica: counts the replica's subscriptions and those whose slot exists on the source
look_at_replica() {
  local db kind slot
  subscriptions=0 followed=0
  databases_z "$TARGET_URL" "the replica" "not datistemplate and datallowconn" > "$WORK_DIR/replica-databases"
  while IFS= read -r -d '' db; do
    replica_subscriptions "$db" > "$WORK_DIR/replica-subscriptions" 2> "$WORK_DIR/replica-subscriptions.err" \
      || die "cannot read the subscriptions of database $(shown "$db") on the replica: $(first_error "$WORK_DIR/replica-subscriptions.err")"
    while IFS=$'\t' read -r kind slot _; do
      [[ -n $kind ]] || continue
      subscriptions=$((subscriptions + 1))
      [[ $slot =~ ^[A-Za-z0-9_]{1,63}$ ]] || continue
      if [[ $(on_source "" -c "select count(*) from pg_replication_slots where slot_name = '$slot'" 2>/dev/null) == 1 ]]; then
        followed=$((followed + 1))
      fi
    done < "$WORK_DIR/replica-subscriptions"
  done < "$WORK_DIR/replica-databases"
  return 0
}
# a subscriber creates its slot on the source when its worker starts (pglogical: moments after the
# call; after a restart, the adopted replica's may still be starting)
for ((i = 0; i < 600; i++)); do
  look_at_replica
  ((subscriptions > 0 && followed == subscriptions)) && break
  $created || ((subscriptions > 0)) || break   # an existing database with no subscription is no replica
  sleep 0.2
done
if ((subscriptions == 0 || followed < subscriptions)); then
  die "the database $TARGET_HANDLE in $SOURCE_ENVIRONMENT is not a logical replica of $SOURCE_HANDLE ($followed of its $subscriptions subscriptions read a slot of $SOURCE_HANDLE)$($created && printf '; it was deprovisioned again' || printf '; nothing was touched: choose another spec.target.handle, or deprovision it')"
fi

result_num targetVersionNum "$TARGET_NUM"
result_str targetVersion "$TARGET_VERSION"
result_bool targetCreated "$created"
result_num subscriptions "$subscriptions"
result_num followedSubscriptions "$followed"
done=true
succeed "$what (PostgreSQL $TARGET_VERSION)"
