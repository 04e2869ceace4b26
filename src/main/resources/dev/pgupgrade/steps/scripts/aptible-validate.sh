#!/usr/bin/env bash
# Validating on Aptible, before anything is touched: the token works, the source exists and is a
# PostgreSQL database, the target version is one `aptible db:versions` offers, an existing target
# runs that version and holds nothing, and every app exists and has its variable pointing at the
# source (so Repointing changes the right thing and a rollback restores exactly that). Read-only.
# Env: aptible.sh's contract, APPS ("handle environment VARIABLE" lines), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
: "${SOURCE_HANDLE:?}" "${SOURCE_ENVIRONMENT:?}" "${TARGET_HANDLE:?}" "${TARGET_ENVIRONMENT:?}" "${TARGET_MAJOR:?}"

stage "checking the token and the source database $SOURCE_HANDLE"
source_db=$(database_json "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT")
[[ -n $source_db ]] || die "the source database $SOURCE_HANDLE does not exist in environment $SOURCE_ENVIRONMENT (spec.source.handle)"
source_type=$(jq -r '.type // .database_image.type // "postgresql"' <<< "$source_db")
[[ $source_type == postgresql ]] || die "the source database $SOURCE_HANDLE is a $source_type database, not PostgreSQL"

stage "checking that Aptible offers PostgreSQL $TARGET_MAJOR"
versions=$(aptible_json db:versions) || die "aptible db:versions failed: $(aptible_error)"
offered=$(jq -r '[.[]? | select(type == "object" and .type == "postgresql") | .version | tostring] | unique | join(" ")' <<< "$versions")
found=false
for v in $offered; do
  [[ $v == "$TARGET_MAJOR" || $v == "$TARGET_MAJOR".* || $v == "$TARGET_MAJOR"-* ]] && found=true
done
$found || die "Aptible does not offer PostgreSQL $TARGET_MAJOR (aptible db:versions lists: ${offered:-none}); correct spec.target.version"

source_url=$(db_url "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT")
app_count=0
check_app() {
  local handle=$1 environment=$2 variable=$3 value
  stage "checking app $handle and its $variable"
  [[ -n $(app_json "$handle" "$environment") ]] || die "the app $handle does not exist in environment $environment (spec.aptible.apps)"
  value=$(app_config_value "$handle" "$environment" "$variable")
  [[ -n $value ]] || die "the app $handle has no configuration variable $variable (spec.aptible.apps configVariable)"
  [[ $value == "$source_url" ]] || die "the app $handle's $variable does not hold the URL of the source database $SOURCE_HANDLE (aptible db:url); the upgrade would repoint something else, so it stops here"
  app_count=$((app_count + 1))
}
each_app check_app
unset source_url

stage "reading the source's version through a tunnel"
open_tunnel SOURCE_URL "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT"
# shellcheck disable=SC2153 # SOURCE_URL: exported by open_tunnel
source_num=$(psql_at "$SOURCE_URL" "the source database" "show server_version_num")
source_version=$(psql_at "$SOURCE_URL" "the source database" "show server_version")
result_num sourceVersionNum "$source_num"
result_str sourceVersion "${source_version%% *}"
non_template_databases "$SOURCE_URL" "the source database" > "$WORK_DIR/source-databases"
result_names sourceDatabases "$WORK_DIR/source-databases"

target_db=$(database_json "$TARGET_HANDLE" "$TARGET_ENVIRONMENT")
if [[ -n $target_db ]]; then
  stage "the target $TARGET_HANDLE exists: checking its version and that it is empty"
  open_tunnel TARGET_URL "$TARGET_HANDLE" "$TARGET_ENVIRONMENT"
  target_num=$(psql_at "$TARGET_URL" "the target database" "show server_version_num")
  target_version=$(psql_at "$TARGET_URL" "the target database" "show server_version")
  target_objects "$TARGET_URL" "the target database"   # judged by the engine: one rule for every platform
  result_num targetVersionNum "$target_num"
  result_str targetVersion "${target_version%% *}"
  result_bool targetExists true
  note="the existing target $TARGET_HANDLE will be adopted if it holds nothing"
else
  result_bool targetExists false
  note="the target $TARGET_HANDLE will be created in $TARGET_ENVIRONMENT"
fi
succeed "$app_count app(s) point at $SOURCE_HANDLE; $note"
