#!/usr/bin/env bash
# RollingBack on Aptible, after a failure during the downtime: back to a working source. In order:
#   1. apps' variables back to the source's URL (only if Repointing started: RESTORE_CONFIG=1),
#      before any container starts, so no app comes up on the half-done target;
#   2. every service back to its recorded container count;
#   3. the target deprovisioned, only if this upgrade created it (DEPROVISION_TARGET=1), and its
#      orphaned final backups purged when the spec asks (PURGE_ORPHANED_BACKUPS=1).
# Every action is idempotent, so a rollback interrupted anywhere is simply run again.
# Env: aptible.sh's contract, APPS, SERVICE_COUNTS, RESTORE_CONFIG, DEPROVISION_TARGET,
#      PURGE_ORPHANED_BACKUPS, WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"

summary=()
if [[ ${RESTORE_CONFIG:?} == 1 ]]; then
  source_url=$(db_url "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT")
  restored=0
  restore_config() {
    local handle=$1 environment=$2 variable=$3
    [[ $(app_config_value "$handle" "$environment" "$variable") == "$source_url" ]] && return 0
    stage "pointing $handle's $variable back at $SOURCE_HANDLE"
    aptible_must "aptible config:set --app $handle $variable=..." \
      config:set --app "$handle" --environment "$environment" "$variable=$source_url" > /dev/null
    restored=$((restored + 1))
  }
  each_app restore_config
  unset source_url
  summary+=("pointed $restored app(s) back at $SOURCE_HANDLE")
fi

scaled=0
while read -r app service count; do
  [[ -n $app ]] || continue
  [[ $count =~ ^[0-9]+$ ]] || die "internal: recorded count of $app $service is not a number"
  ((count > 0)) || continue
  stage "scaling $app $service back to $count"
  aptible_must "aptible apps:scale --app $app $service --container-count $count" \
    apps:scale --app "$app" --environment "$(app_environment "$app")" "$service" --container-count "$count" > /dev/null
  scaled=$((scaled + 1))
done <<< "${SERVICE_COUNTS?}"
summary+=("scaled $scaled service(s) back to their recorded counts")

if [[ ${DEPROVISION_TARGET:?} == 1 ]]; then
  deprovision "$TARGET_HANDLE" "$TARGET_ENVIRONMENT"
  result_bool targetDeprovisioned true
  summary+=("deprovisioned the target $TARGET_HANDLE")
  if [[ ${PURGE_ORPHANED_BACKUPS:?} == 1 ]]; then
    purge_orphaned_backups "$TARGET_HANDLE"
    summary+=("purged its orphaned backups")
  fi
else
  summary+=("left the target $TARGET_HANDLE as it is (this upgrade did not create it)")
fi
IFS=';'; msg="${summary[*]}"; unset IFS
succeed "${msg//;/; }"
