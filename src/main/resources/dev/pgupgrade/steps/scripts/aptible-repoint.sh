#!/usr/bin/env bash
# Repointing on Aptible: each app's variable gets the target's URL (aptible db:url, then
# aptible config:set --app A VAR=URL), as the runbook does. Validating checked that the variable
# held the source's URL, which is what a rollback puts back. Idempotent: an app that already points
# at the target is left alone. The URL carries the password: it is kept in a variable, handed to
# the CLI as its argument (the only way config:set takes it, inside the pod), and never printed.
# Env: aptible.sh's contract, APPS, WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"

target_url=$(db_url "$TARGET_HANDLE" "$TARGET_ENVIRONMENT")
changed=0 already=0
repoint() {
  local handle=$1 environment=$2 variable=$3
  if [[ $(app_config_value "$handle" "$environment" "$variable") == "$target_url" ]]; then
    already=$((already + 1)); return 0
  fi
  stage "pointing $handle's $variable at $TARGET_HANDLE (aptible config:set)"
  aptible_must "aptible config:set --app $handle $variable=..." \
    config:set --app "$handle" --environment "$environment" "$variable=$target_url" > /dev/null
  changed=$((changed + 1))
}
each_app repoint
((already == 0)) || note=" ($already already did)"
succeed "pointed $changed app(s) at $TARGET_HANDLE${note:-}"
