#!/usr/bin/env bash
# The logical strategy's way out (RollingBack, and pgupgrade run --reset): the source databases the
# cutover froze accept connections again, tables the copy gave REPLICA IDENTITY FULL have their
# DEFAULT back, and no subscription, slot or publication of ours is left
# on either server. Idempotent: what is already gone is skipped.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, LOGICAL_NAME.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/logical-lib.sh"
: "${SOURCE_URL:?}"
# Platform aptible: the replica may be gone already (deprovisioned by hand); the source is cleaned up all the same
[[ -n ${TARGET_URL:-} || $LOGICAL_REPLICATION == replica ]] || die "internal: TARGET_URL is not set"
: > "$LOGICAL_DIR/removed"
stage "letting connections into the frozen source databases again"
unfreeze
stage "setting the replica identity of the tables the copy changed back"
restore_identities
if [[ -n ${TARGET_URL:-} ]]; then
  stage "dropping our subscriptions on the target"
  drop_subscriptions
else
  echo "the replica is gone: nothing to drop on it" >> "$LOGICAL_DIR/removed"
fi
stage "dropping our slots and publications on the source"
drop_slots
drop_publications
result_num removedCount "$(wc -l < "$LOGICAL_DIR/removed")"
result_lines removed "$LOGICAL_DIR/removed" 20
succeed
