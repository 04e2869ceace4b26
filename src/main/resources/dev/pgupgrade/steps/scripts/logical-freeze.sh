#!/usr/bin/env bash
# Run by logical-cutover.sql's psql (\!) while that session sits in database FREEZE_DB: from
# template1, no new connection into FREEZE_DB (ALLOW_CONNECTIONS false: superusers too), then every
# other session in it ended -- all but FREEZE_KEEP_PID (that session), FREEZE_HELD_PID (the
# verification's, comma-separated, platform aptible: held-sessions.sh) and the walsender of our slot FREEZE_SLOT --
# until none is left (10 s at most). The session then checks the result itself.
# Env: SOURCE_URL, FREEZE_DB, FREEZE_KEEP_PID, FREEZE_HELD_PID, FREEZE_SLOT, and lib.sh's (RESULT_FILE: a file of its own).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${FREEZE_DB:?}" "${FREEZE_KEEP_PID:?}" "${FREEZE_SLOT:?}"
use_url "$SOURCE_URL" "the source server"
export PGDATABASE=template1
others="from pg_stat_activity a where a.datname = :'db' and a.pid <> :keep
  and a.pid <> all (coalesce(string_to_array(nullif(:'held', ''), ','), '{}')::int[])
  and a.backend_type in ('client backend', 'walsender')
  and a.pid is distinct from (select active_pid from pg_replication_slots where slot_name = :'slot')"
psql -X -q -A -t -v ON_ERROR_STOP=1 -v db="$FREEZE_DB" -v keep="$FREEZE_KEEP_PID" -v slot="$FREEZE_SLOT" > /dev/null <<SQL
select format('alter database %I allow_connections false', :'db') \gexec
SQL
for ((i = 0; i < 100; i++)); do
  left=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -v db="$FREEZE_DB" -v keep="$FREEZE_KEEP_PID" -v held="${FREEZE_HELD_PID:-}" -v slot="$FREEZE_SLOT" <<SQL
select count(pg_terminate_backend(a.pid)) $others;
SQL
  )
  [[ $left == 0 ]] && break
  sleep 0.1
done
write_result true
