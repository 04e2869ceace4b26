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
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
: "${SOURCE_HANDLE:?}" "${SOURCE_ENVIRONMENT:?}" "${TARGET_HANDLE:?}" "${TARGET_MAJOR:?}" "${TARGET_DISK_SIZE_GB:?}" "${LOGICAL_NAME:?}"

created=false done=false
undo_replicate() {
  if $created && ! $done; then
    echo "pgupgrade: deprovisioning $TARGET_HANDLE again: this step created it and did not finish" >&2
    # its slots first, or the source keeps WAL for a replica that is gone
    if [[ -n ${SOURCE_URL:-} && -n ${TARGET_URL:-} ]]; then
      ( LOGICAL_REPLICATION=replica; REPLICA_SLOTS=$(grep -oE '^[A-Za-z0-9_]+' "$WORK_DIR/replica-slot-names" 2>/dev/null | paste -sd' ')
        . "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"; drop_subscriptions; drop_slots; drop_publications ) > /dev/null 2>&1 || true
    fi
    close_tunnels
    aptible db:deprovision "$TARGET_HANDLE" --environment "$SOURCE_ENVIRONMENT" > /dev/null 2>&1 || true
  fi
}
on_exit undo_replicate

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

open_tunnel SOURCE_URL "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT"
open_tunnel TARGET_URL "$TARGET_HANDLE" "$SOURCE_ENVIRONMENT"
target_num=$(psql_at "$TARGET_URL" "the replica" "show server_version_num")
target_version=$(psql_at "$TARGET_URL" "the replica" "show server_version")

# Whose is it: the slots its subscriptions read, and whether each exists on this source
stage "checking that $TARGET_HANDLE follows $SOURCE_HANDLE"
LOGICAL_REPLICATION=replica REPLICA_SLOTS=
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
# look_at_replica: counts the replica's subscriptions and those whose slot exists on the source
look_at_replica() {
  subscriptions=0 followed=0
  : > "$WORK_DIR/replica-slot-names"
  databases_z "$TARGET_URL" "the replica" "not datistemplate and datallowconn" > "$WORK_DIR/replica-databases"
  while IFS= read -r -d '' db; do
    while IFS=$'\t' read -r kind slot _; do
      [[ -n $kind ]] || continue
      subscriptions=$((subscriptions + 1))
      [[ $slot =~ ^[A-Za-z0-9_]{1,63}$ ]] || continue
      printf '%s\n' "$slot" >> "$WORK_DIR/replica-slot-names"
      [[ $(on_source "" -c "select count(*) from pg_replication_slots where slot_name = '$slot'" 2>/dev/null) == 1 ]] && followed=$((followed + 1))
    done < <(replica_subscriptions "$db" 2>/dev/null)
  done < "$WORK_DIR/replica-databases"
}
# pglogical's subscriber creates its slot on the source when its worker starts, moments after the call
for ((i = 0; i < 600; i++)); do
  look_at_replica
  ((subscriptions > 0 && followed == subscriptions)) && break
  $created || break   # an existing database is judged as it is
  sleep 0.2
done
if ((target_num >= 100000)) && [[ $((target_num / 10000)) != "$TARGET_MAJOR" ]]; then
  die "the replica $TARGET_HANDLE runs PostgreSQL ${target_version%% *}, not the $TARGET_MAJOR spec.target.version asks for"
fi
if ! $created && { ((subscriptions == 0)) || ((followed < subscriptions)); }; then
  die "the database $TARGET_HANDLE exists in $SOURCE_ENVIRONMENT and is not a logical replica of $SOURCE_HANDLE ($followed of its $subscriptions subscriptions read a slot of $SOURCE_HANDLE); nothing was touched: choose another spec.target.handle, or deprovision it"
fi

result_num targetVersionNum "$target_num"
result_str targetVersion "${target_version%% *}"
result_bool targetCreated "$created"
result_num subscriptions "$subscriptions"
result_num followedSubscriptions "$followed"
done=true
succeed "$what (PostgreSQL ${target_version%% *})"
