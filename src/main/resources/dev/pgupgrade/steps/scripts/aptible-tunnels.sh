#!/usr/bin/env bash
# Platform aptible: runs one of the direct platform's database scripts (INNER_SCRIPT) through
# `aptible db:tunnel`: opens a tunnel to each database named in TUNNELS ("source", "target", or
# "target?": the target if it exists),
# exports SOURCE_URL / TARGET_URL for the inner script, and always closes the tunnels.
# Env: INNER_SCRIPT, TUNNELS, and aptible.sh's contract; the inner script's own variables.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aptible.sh"
: "${INNER_SCRIPT:?}" "${TUNNELS:?}"
[[ $INNER_SCRIPT =~ ^[a-z-]+\.sh$ && -f $(dirname "${BASH_SOURCE[0]}")/$INNER_SCRIPT ]] || die "internal: no step script $INNER_SCRIPT"

read -ra sides <<< "$TUNNELS"
for side in "${sides[@]}"; do
  case $side in
    source) open_tunnel SOURCE_URL "$SOURCE_HANDLE" "$SOURCE_ENVIRONMENT" ;;
    target) open_tunnel TARGET_URL "$TARGET_HANDLE" "$TARGET_ENVIRONMENT" ;;
    # only if it still exists (the rollback of the logical route: a replica deprovisioned by hand, or
    # never made, must not keep the source frozen)
    target\?) if database_exists "$TARGET_HANDLE" "$TARGET_ENVIRONMENT"; then open_tunnel TARGET_URL "$TARGET_HANDLE" "$TARGET_ENVIRONMENT"; fi ;;
    *) die "internal: unknown tunnel $side" ;;
  esac
done
unset APTIBLE_ACCESS_TOKEN   # the inner script only talks to PostgreSQL

# The inner script writes the step's result; its exit code is the step's.
rc=0
bash "$(dirname "${BASH_SOURCE[0]}")/$INNER_SCRIPT" || rc=$?
exit "$rc"
