#!/usr/bin/env bash
# Rehearsal on Aptible (the runbook's "Test the upgrade"), before any downtime and without touching
# the source or the apps: restore a backup of the source into a temporary database with the
# production container size (aptible backup:restore), create a temporary target of the target
# version, dump the restored copy twice and time the second dump (warm caches, as in the real
# window), restore it into the temporary target and time that, then deprovision both temporaries,
# whatever happened. The temporaries' names are fixed per attempt, so a rerun first removes what
# an interrupted run left behind.
# Env: aptible.sh's contract, REHEARSAL_SOURCE_HANDLE, REHEARSAL_TARGET_HANDLE, REHEARSAL_BACKUP_ID
#      (optional: default the latest backup), REHEARSAL_DUMP_SCRIPT, REHEARSAL_RESTORE_SCRIPT,
#      TARGET_DISK_SIZE_GB, TARGET_CONTAINER_SIZE_MB (optional), PURGE_ORPHANED_BACKUPS, WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
: "${REHEARSAL_SOURCE_HANDLE:?}" "${REHEARSAL_TARGET_HANDLE:?}" "${TARGET_DISK_SIZE_GB:?}"
dump_script=${REHEARSAL_DUMP_SCRIPT:?} restore_script=${REHEARSAL_RESTORE_SCRIPT:?}
scripts=$(dirname "${BASH_SOURCE[0]}")

remove_temporaries() {
  close_tunnels
  rm -rf "$WORK_DIR/rehearsal"   # a whole dump of production data: never left on the work volume
  local handle list
  # this attempt's temporaries, and any an earlier attempt's killed step could not remove
  list=$(aptible_json db:list --environment "$SOURCE_ENVIRONMENT") || die "aptible db:list failed: $(aptible_error)"
  for handle in $(jq -r --arg p "${REHEARSAL_PREFIX:?}" '.[]? | select(type == "object") | .handle
      | select(startswith($p) and test("-rh[0-9]+-(src|dst)$"))' <<< "$list") "$REHEARSAL_SOURCE_HANDLE" "$REHEARSAL_TARGET_HANDLE"; do
    deprovision "$handle" "$SOURCE_ENVIRONMENT"
    [[ ${PURGE_ORPHANED_BACKUPS:?} != 1 ]] || purge_orphaned_backups "$handle"
  done
}
# Runs however the step ends (its own failure is only logged: the result already says what failed).
cleanup() { ( remove_temporaries ) || echo "pgupgrade: could not remove the rehearsal's temporary databases; deprovision $REHEARSAL_SOURCE_HANDLE and $REHEARSAL_TARGET_HANDLE by hand" >&2; }
on_exit cleanup
remove_temporaries

source_db=$(database_json "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT")
[[ -n $source_db ]] || die "the source database $SOURCE_HANDLE does not exist in environment $SOURCE_ENVIRONMENT"
backup=${REHEARSAL_BACKUP_ID:-}
if [[ -z $backup ]]; then
  backups=$(aptible_json backup:list "$SOURCE_HANDLE" --environment "$SOURCE_ENVIRONMENT") || die "aptible backup:list $SOURCE_HANDLE failed: $(aptible_error)"
  # backup:list is a list of backups (each also names the operation that took it: only the top level counts)
  backup=$(jq -r '[.[]? | select(type == "object" and has("id") and has("created_at"))] | sort_by(.created_at) | last | .id // empty | tostring' <<< "$backups")
  [[ -n $backup ]] || die "the source $SOURCE_HANDLE has no backup to rehearse with (aptible backup:list is empty); take one or set spec.rehearsal.backupId"
fi
[[ $backup =~ ^[0-9]+$ ]] || die "backup id $backup is not a number"
production_size=$(jq -r '(.container_size // .service.container_memory_limit_mb // empty) | tostring' <<< "$source_db")

stage "restoring backup $backup into the temporary database $REHEARSAL_SOURCE_HANDLE (aptible backup:restore)"
args=(backup:restore "$backup" --handle "$REHEARSAL_SOURCE_HANDLE" --environment "$SOURCE_ENVIRONMENT")
[[ ! $production_size =~ ^[0-9]+$ ]] || args+=(--container-size "$production_size")
aptible "${args[@]}" > /dev/null 2> "$_APTIBLE_ERR" || die "aptible backup:restore $backup failed: $(aptible_error)"
create_database "$REHEARSAL_TARGET_HANDLE" "$SOURCE_ENVIRONMENT" "$TARGET_MAJOR" "$TARGET_DISK_SIZE_GB" "${TARGET_CONTAINER_SIZE_MB:-}"

open_tunnel SOURCE_URL "$REHEARSAL_SOURCE_HANDLE" "$SOURCE_ENVIRONMENT"
open_tunnel TARGET_URL "$REHEARSAL_TARGET_HANDLE" "$SOURCE_ENVIRONMENT"
dir=$WORK_DIR/rehearsal
rm -rf "$dir"; mkdir -p "$dir"

# inner SCRIPT RESULT: runs a database step script on the rehearsal's copies, timing it.
inner() {
  local started rc=0
  : > "$2"
  started=$(date +%s%N)
  ( export WORK_DIR=$dir RESULT_FILE=$2 TARGET_USER=$APTIBLE_ROLE; unset APTIBLE_ACCESS_TOKEN; bash "$scripts/$1" ) || rc=$?
  _INNER_MILLIS=$(( ($(date +%s%N) - started) / 1000000 ))
  jq -e '.ok' "$2" > /dev/null 2>&1 || die "the rehearsal's $1 failed: $(jq -r '.message // "no result"' "$2" 2>/dev/null || echo "exit code $rc")"
}
APTIBLE_ROLE=aptible
stage "first dump of the restored backup (warms the caches)"
inner "$dump_script" "$dir/dump-1.json"
stage "second dump, timed"
inner "$dump_script" "$dir/dump-2.json"
dump_millis=$_INNER_MILLIS
bytes=$(jq -r '.bytes // 0' "$dir/dump-2.json")
stage "restoring into the temporary target $REHEARSAL_TARGET_HANDLE, timed"
inner "$restore_script" "$dir/restore.json"
restore_millis=$_INNER_MILLIS

result_str backupId "$backup"
result_num dumpMillis "$dump_millis"
result_num restoreMillis "$restore_millis"
result_num bytes "$bytes"
# The restore's errors are judged like the real one's: only the expected "already exists" may pass.
for key in errorCount errorLines preexistingRoles preexistingDatabases; do
  value=$(jq -c --arg k "$key" '.[$k] // empty' "$dir/restore.json")
  [[ -z $value ]] || result_json "$key" "$value"
done
succeed "rehearsed with backup $backup"
