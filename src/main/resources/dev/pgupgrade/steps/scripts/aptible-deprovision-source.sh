#!/usr/bin/env bash
# DeprovisioningSource on Aptible: only when spec.aptible.deprovisionSource is true, and only after
# everything else succeeded. Aptible keeps the source's final backup; it is never purged here.
# Env: aptible.sh's contract, WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"

if database_exists "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT"; then
  deprovision "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT"
  succeed "deprovisioned the source $SOURCE_HANDLE (Aptible keeps its final backup)"
fi
succeed "the source $SOURCE_HANDLE was already deprovisioned"
