#!/usr/bin/env bash
# The apps' services on Aptible. SERVICES_ACTION:
#   inventory  read every service's container count (aptible apps, JSON) and report them; the
#              operator records them in status BEFORE anything is scaled (ScalingDown's intent)
#   down       scale every recorded service to zero (aptible apps:scale ... --container-count 0)
#   up         scale every recorded service back to its recorded count
# down and up are idempotent: running them again sets the same counts.
# Env: aptible.sh's contract, APPS, SERVICE_COUNTS ("app service count" lines), WORK_DIR, RESULT_FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
: "${SERVICES_ACTION:?}"


inventory() {
  local all='[]' handle environment variable found
  while read -r handle environment variable; do
    [[ -n $handle ]] || continue
    stage "reading the container counts of $handle"
    found=$(app_json "$handle" "$environment")
    [[ -n $found ]] || die "the app $handle does not exist in environment $environment"
    all=$(jq -c --arg h "$handle" --argjson app "$found" \
      '. + [$app.services[] | {app: $h, service: .service, containerCount: (.container_count // 0)}]' <<< "$all")
  done <<< "${APPS?}"
  jq -e 'all(.[]; (.service | type) == "string" and (.service | test("^[A-Za-z0-9._-]+$")))' <<< "$all" > /dev/null \
    || die "aptible apps listed a service name this step does not understand"
  result_json services "$all"
  succeed "read the container counts of $(jq length <<< "$all") service(s)"
}

scale_all() { # scale_all down|up
  local app service count scaled=0 want
  while read -r app service count; do
    [[ -n $app ]] || continue
    [[ $count =~ ^[0-9]+$ ]] || die "internal: recorded count of $app $service is not a number"
    ((count > 0)) || continue   # a service that ran no containers stays as it was
    want=$count; [[ $1 == down ]] && want=0
    stage "scaling $app $service to $want"
    aptible_must "aptible apps:scale --app $app $service --container-count $want" \
      apps:scale --app "$app" --environment "$(app_environment "$app")" "$service" --container-count "$want" > /dev/null
    scaled=$((scaled + 1))
  done <<< "${SERVICE_COUNTS?}"
  if [[ $1 == down ]]; then
    succeed "scaled $scaled service(s) to zero"
  fi
  succeed "scaled $scaled service(s) back to their recorded container counts"
}

case $SERVICES_ACTION in
  inventory) inventory ;;
  down) scale_all down ;;
  up) scale_all up ;;
  *) die "internal: unknown SERVICES_ACTION $SERVICES_ACTION" ;;
esac
