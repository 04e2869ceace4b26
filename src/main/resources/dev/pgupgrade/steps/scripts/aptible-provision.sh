#!/usr/bin/env bash
# ProvisioningTarget on Aptible: `aptible db:create` with the runbook's flags, or adopt an existing
# target when it runs the right version and holds nothing. A target this step created and could
# not finish checking is deprovisioned again, so a failure here leaves nothing running.
# Env: aptible.sh's contract, TARGET_DISK_SIZE_GB, TARGET_CONTAINER_SIZE_MB (optional), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
: "${TARGET_HANDLE:?}" "${TARGET_ENVIRONMENT:?}" "${TARGET_MAJOR:?}" "${TARGET_DISK_SIZE_GB:?}"

created=false done=false
undo_create() {
  if $created && ! $done; then
    close_tunnels
    echo "pgupgrade: deprovisioning $TARGET_HANDLE again: this step created it and did not finish" >&2
    aptible db:deprovision "$TARGET_HANDLE" --environment "$TARGET_ENVIRONMENT" > /dev/null 2>&1 || true
  fi
}
on_exit undo_create

if database_exists "$TARGET_HANDLE" "$TARGET_ENVIRONMENT"; then
  what="adopted the existing target $TARGET_HANDLE"
else
  create_database "$TARGET_HANDLE" "$TARGET_ENVIRONMENT" "$TARGET_MAJOR" "$TARGET_DISK_SIZE_GB" "${TARGET_CONTAINER_SIZE_MB:-}"
  created=true
  what="created $TARGET_HANDLE in $TARGET_ENVIRONMENT"
fi

open_target "the target database" "$TARGET_ENVIRONMENT"
target_objects "$TARGET_URL" "the target database"   # judged by the engine: one rule for every platform

result_num targetVersionNum "$TARGET_NUM"
result_str targetVersion "$TARGET_VERSION"
result_bool targetCreated "$created"
done=true
succeed "$what (PostgreSQL $TARGET_VERSION)"
