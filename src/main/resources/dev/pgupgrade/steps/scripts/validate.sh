#!/usr/bin/env bash
# Validating: both servers answer, their versions are read from the servers themselves, and the
# inventories the later phases compare against are recorded. Read-only on both sides.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"

stage "connecting to the source server"
source_num=$(psql_at "$SOURCE_URL" "the source server" "show server_version_num")
source_version=$(psql_at "$SOURCE_URL" "the source server" "show server_version")
non_template_databases "$SOURCE_URL" "the source server" > "$WORK_DIR/source-databases"

stage "connecting to the target server"
target_num=$(psql_at "$TARGET_URL" "the target server" "show server_version_num")
target_version=$(psql_at "$TARGET_URL" "the target server" "show server_version")
target_user=$(connection_user "$TARGET_URL" "the target server")
target_superuser=$(psql_at "$TARGET_URL" "the target server" "select rolsuper from pg_roles where rolname = current_user")
non_template_databases "$TARGET_URL" "the target server" > "$WORK_DIR/target-databases"
stage "listing what the target already holds"
target_objects "$TARGET_URL" "the target server"   # judged after the versions: a wrong server is the first thing to say

result_num sourceVersionNum "$source_num"
result_str sourceVersion "${source_version%% *}"
result_num targetVersionNum "$target_num"
result_str targetVersion "${target_version%% *}"
result_str targetUser "$target_user"
result_str targetSuperuser "$target_superuser"
result_names sourceDatabases "$WORK_DIR/source-databases"
result_names targetDatabases "$WORK_DIR/target-databases"
succeed
