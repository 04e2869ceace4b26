# shellcheck shell=bash
# Helpers for the platform aptible steps. Sourced after lib.sh, never executed.
#
# Contract (environment only; nothing here is ever spliced into a command string):
#   APTIBLE_ACCESS_TOKEN        from a Secret; the aptible CLI reads it from the environment
#   SOURCE_HANDLE, SOURCE_ENVIRONMENT, TARGET_HANDLE, TARGET_ENVIRONMENT, TARGET_MAJOR
#   APTIBLE_RETRIES             attempts for calls that are safe to repeat
#   APTIBLE_RETRY_DELAY_SECONDS first pause between attempts, doubled each time
#   APTIBLE_TUNNEL_TIMEOUT_SECONDS  how long a tunnel may take to come up
#   (their defaults: runner/StepDefaults.java, the runner passes them)
# Handles and variable names are validated by the operator (no shell syntax can reach here), and
# are still always passed as separate, quoted arguments.

: "${APTIBLE_ACCESS_TOKEN:?APTIBLE_ACCESS_TOKEN must come from spec.aptible.tokenSecretRef}"
export APTIBLE_ACCESS_TOKEN
command -v aptible >/dev/null || die "the aptible CLI is not installed in the step image (use the pgupgrade toolbox image)"
command -v jq >/dev/null || die "jq is not installed in the step image (use the pgupgrade toolbox image)"

# Every call of the CLI reads nothing from stdin: apps:scale and config:set follow their operation's
# logs through ssh, which would otherwise swallow the rest of a `while read ... <<< "$LIST"` loop
# (one service scaled down, the others left writing to the source).
aptible() { command aptible "$@" < /dev/null; }

_APTIBLE_ERR=$(mktemp "${TMPDIR:-/tmp}/pgupgrade-aptible-err.XXXXXX")
_aptible_cleanup() { rm -f "$_APTIBLE_ERR"; }
on_exit _aptible_cleanup

# The first line of what the CLI printed on stderr, for status. The CLI's errors name handles and
# API messages, never credentials (a URL only goes to stdout, which is never reported).
aptible_error() { grep -v '^[[:space:]]*$' "$_APTIBLE_ERR" | grep -vi 'postgres\(ql\)\?://' | tail -n 1 | cut -c1-300; }

# Errors that no retry will fix: say so at once instead of waiting.
_permanent() {
  grep -qiE 'unauthorized|invalid[_ ]token|forbidden|could not find|not found|no such|invalid|must be|already (exists|taken|in use)|is not a|unsupported|not supported|unknown' "$_APTIBLE_ERR"
}

# _may_retry WHAT WHY PERMANENT: after a failed attempt, whether to try again; if so, says so and
# waits the backoff. Reads and advances the caller's _attempt and _delay (bash's dynamic scope).
_may_retry() {
  local max=${APTIBLE_RETRIES:?}
  if ((_attempt >= max)) || $3; then
    return 1
  fi
  echo "pgupgrade: $1 failed ($2); attempt $((_attempt + 1)) of $max in ${_delay}s" >&2
  sleep "$_delay"
  _attempt=$((_attempt + 1))
  _delay=$(awk -v d="$_delay" 'BEGIN { print d * 2 }')
}

# aptible_call ARGS...: runs the CLI, retrying failures that may be transient (API timeouts, 5xx)
# with exponential backoff. Only for calls that are safe to repeat: reads, apps:scale, config:set.
# stdout is the CLI's; stderr is kept aside (aptible_error).
aptible_call() {
  local _attempt=1 _delay=${APTIBLE_RETRY_DELAY_SECONDS:?} rc permanent
  until aptible "$@" 2> "$_APTIBLE_ERR"; do
    rc=$?
    permanent=false; _permanent && permanent=true
    _may_retry "aptible $1" "exit code $rc: $(aptible_error)" "$permanent" || return "$rc"
  done
}

# aptible_json ARGS...: the same call with parseable output.
aptible_json() { APTIBLE_OUTPUT_FORMAT=json aptible_call "$@"; }

# aptible_must WHAT ARGS...: aptible_call or fail the step with the CLI's own message.
aptible_must() {
  local what=$1; shift
  aptible_call "$@" || die "$what failed: $(aptible_error)"
}

# database_json HANDLE ENVIRONMENT: the database as db:list shows it, or nothing when it does not exist.
database_json() {
  local list
  list=$(aptible_json db:list --environment "$2") || die "aptible db:list --environment $2 failed: $(aptible_error)"
  # db:list --environment: a list of databases (resource_formatter's inject_database)
  jq -c --arg h "$1" '[.[]? | select(type == "object" and .handle == $h)] | first // empty' <<< "$list"
}

# A failed db:list ends the step (never read as "absent": that would create or skip the wrong thing).
database_exists() {
  local json
  json=$(database_json "$1" "$2") || exit 1
  [[ -n $json ]]
}

# --- tunnels ----------------------------------------------------------------------------------

_TUNNEL_PIDS=()
_TUNNEL_DIRS=()

# open_tunnel VAR HANDLE ENVIRONMENT: starts `aptible db:tunnel` in its own process group, waits
# until it says it is connected, and exports VAR (SOURCE_URL or TARGET_URL) with the local URL.
# The tunnel's output carries the database password, so it goes to a private file (umask 077 in a
# 0700 directory), never to the step log, and the file is removed when the step ends.
open_tunnel() {
  local var=$1 handle=$2 environment=$3 dir out pid url waited=0
  local limit=${APTIBLE_TUNNEL_TIMEOUT_SECONDS:?}
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pgupgrade-tunnel.XXXXXX")
  chmod 700 "$dir"
  out=$dir/tunnel.out
  stage "opening a tunnel to $handle (aptible db:tunnel)"
  setsid aptible db:tunnel "$handle" --environment "$environment" > "$out" 2>&1 < /dev/null &
  pid=$!
  _TUNNEL_PIDS+=("$pid")
  _TUNNEL_DIRS+=("$dir")
  while ! grep -q '^Connected' "$out" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null && rc=0 || rc=$?
      die "aptible db:tunnel $handle ended before the tunnel came up (exit code $rc): $(_tunnel_error "$out")"
    fi
    if ((waited >= limit * 5)); then
      die "the tunnel to $handle did not come up within ${limit}s (aptible db:tunnel never said it was connected)"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  url=$(grep -o -m1 'postgres\(ql\)\?://[^[:space:]]*' "$out") || die "aptible db:tunnel $handle printed no connection URL"
  # The tunnel listens on this machine; its host name (localhost.aptible.in) would need DNS.
  url=$(sed -E 's#@[^:/@]+:([0-9]+)/#@127.0.0.1:\1/#' <<< "$url")
  export "$var=$url"
}

# What a failed tunnel said, without any line that could carry the credentials.
_tunnel_error() {
  grep -viE 'postgres(ql)?://|password|username|connect at' "$1" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-300
}

close_tunnels() {
  local pid dir
  for pid in "${_TUNNEL_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${_TUNNEL_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for dir in "${_TUNNEL_DIRS[@]}"; do rm -rf "$dir"; done
  _TUNNEL_PIDS=(); _TUNNEL_DIRS=()
}
on_exit close_tunnels

# open_target WHAT ENVIRONMENT: a tunnel to TARGET_HANDLE in ENVIRONMENT (exports TARGET_URL) and the
# server's version in TARGET_NUM and TARGET_VERSION; ends the step when it is not the TARGET_MAJOR
# spec.target.version asks for. WHAT names it in messages ("the target database", "the replica").
open_target() {
  open_tunnel TARGET_URL "$TARGET_HANDLE" "$2"
  TARGET_NUM=$(psql_at "$TARGET_URL" "$1" "show server_version_num")
  TARGET_VERSION=$(psql_at "$TARGET_URL" "$1" "show server_version")
  TARGET_VERSION=${TARGET_VERSION%% *}
  if ((TARGET_NUM >= 100000)) && [[ $((TARGET_NUM / 10000)) != "$TARGET_MAJOR" ]]; then
    die "$1 $TARGET_HANDLE runs PostgreSQL $TARGET_VERSION, not the $TARGET_MAJOR spec.target.version asks for"
  fi
}

# --- apps -------------------------------------------------------------------------------------

# each_app FUNCTION: calls FUNCTION HANDLE ENVIRONMENT VARIABLE for every line of $APPS.
each_app() {
  local fn=$1 handle environment variable
  while read -r handle environment variable; do
    [[ -n $handle ]] || continue
    "$fn" "$handle" "$environment" "$variable"
  done <<< "${APPS?}"
}

# app_environment APP: the environment APPS names for the app.
app_environment() {
  local handle environment variable
  while read -r handle environment variable; do
    [[ $handle == "$1" ]] && { printf '%s' "$environment"; return 0; }
  done <<< "${APPS?}"
  die "internal: app $1 is not in APPS"
}

# app_config_value APP ENVIRONMENT VARIABLE: the variable's value in the app's configuration.
app_config_value() {
  local json
  json=$(aptible_json config --app "$1" --environment "$2") || die "aptible config --app $1 failed: $(aptible_error)"
  # config: a list of {key, value, shell_export}
  jq -r --arg k "$3" '[.[]? | select(type == "object" and .key == $k)] | first | .value // empty' <<< "$json"
}

# app_json APP ENVIRONMENT: the app as `aptible apps` lists it (with its services), or nothing.
app_json() {
  local apps
  apps=$(aptible_json apps --environment "$2") || die "aptible apps --environment $2 failed: $(aptible_error)"
  jq -c --arg h "$1" '[.[]? | select(type == "object" and .handle == $h)] | first // empty' <<< "$apps"
}

# db_url HANDLE ENVIRONMENT: the database's connection URL (a secret: keep it in a variable).
db_url() {
  local url
  url=$(aptible_call db:url "$1" --environment "$2") || die "aptible db:url $1 failed: $(aptible_error)"
  url=$(grep -o -m1 'postgres\(ql\)\?://[^[:space:]]*' <<< "$url") || die "aptible db:url $1 printed no URL"
  printf '%s' "$url"
}

# deprovision HANDLE ENVIRONMENT: deprovisions the database if it still exists (idempotent).
deprovision() {
  if database_exists "$1" "$2"; then
    stage "deprovisioning $1 (aptible db:deprovision)"
    aptible_call db:deprovision "$1" --environment "$2" > /dev/null || die "aptible db:deprovision $1 failed: $(aptible_error)"
  fi
}

# purge_orphaned_backups HANDLE: purges the final backups Aptible kept of a database this upgrade
# deprovisioned: of that handle, and deleted since the upgrade began (UPGRADE_STARTED_AT), never an
# older namesake's.
purge_orphaned_backups() {
  local json id since=${UPGRADE_STARTED_AT:?}
  json=$(aptible_json backup:orphaned) || die "aptible backup:orphaned failed: $(aptible_error)"
  # backup:orphaned: a list of backups, each naming the deprovisioned database it was taken of
  for id in $(jq -r --arg h "$1" --arg since "$since" '[.[]? | select(type == "object" and .database.handle? == $h
      and ((.database.deleted_at // "") >= $since)) | .id] | unique | .[] | tostring' <<< "$json"); do
    [[ $id =~ ^[0-9]+$ ]] || continue
    stage "purging orphaned backup $id of $1"
    aptible_call backup:purge "$id" > /dev/null || die "aptible backup:purge $id failed: $(aptible_error)"
  done
}

# --- the target ---------------------------------------------------------------------------------

# create_database HANDLE ENVIRONMENT MAJOR DISK_GB [CONTAINER_MB]: aptible db:create with the
# runbook's flags. A failed create is retried only when the database really does not exist (an API
# timeout may come after the fact), so a retry never makes a second one.
create_database() {
  local handle=$1 environment=$2 major=$3 disk=$4 container=${5:-} _attempt=1 _delay=${APTIBLE_RETRY_DELAY_SECONDS:?}
  local args=(db:create "$handle" --type postgresql --version "$major" --environment "$environment" --disk-size "$disk")
  [[ -z $container ]] || args+=(--container-size "$container")
  stage "creating $handle: PostgreSQL $major, ${disk} GB${container:+, ${container} MB} (aptible db:create)"
  local why permanent
  until aptible "${args[@]}" > /dev/null 2> "$_APTIBLE_ERR"; do
    why=$(aptible_error); permanent=false; _permanent && permanent=true
    # After a refusal ("handle already taken"...) a database of that name is someone else's; after a
    # timeout it may be the one this call created.
    $permanent || ! database_exists "$handle" "$environment" || return 0
    _may_retry "aptible db:create" "$why" "$permanent" || die "aptible db:create $handle failed: $why"
  done
}
