# shellcheck shell=bash
# Helpers of the logical strategy's steps (sourced after lib.sh). Our replication objects carry
# LOGICAL_NAME, deterministic per upgrade ("pgupgrade_" and 8 hex digits, set by Java): the
# publication in every source database is LOGICAL_NAME, the slot of a source database and its
# subscription on the target are LOGICAL_NAME_<the source database's OID>. Only [a-z0-9_]: they may
# be spliced into SQL. Database names are data: they reach libpq as PGDATABASE, never as SQL text.
: "${LOGICAL_NAME:?}"
[[ $LOGICAL_NAME =~ ^pgupgrade_[0-9a-f]{8}$ ]] || die "internal: LOGICAL_NAME must be pgupgrade_ and 8 hex digits"
LOGICAL_DIR=$WORK_DIR/logical
mkdir -p "$LOGICAL_DIR"
# Whose replication this is. "ours" (platform direct): the objects above, created by logical-copy.sh.
# "replica" (platform aptible): the replication Aptible's db:replicate --logical set up between the
# source and its new replica, native or pglogical, found by logical-replica.sh: REPLICA_SLOTS names
# its slots on the source (recorded in status by Replicating; names of [A-Za-z0-9_] only).
LOGICAL_REPLICATION=${LOGICAL_REPLICATION:-ours}
case $LOGICAL_REPLICATION in
  ours) ;;
  replica) . "$(dirname "${BASH_SOURCE[0]}")/logical-replica.sh" ;;
  *) die "internal: LOGICAL_REPLICATION must be ours or replica" ;;
esac

# slots_where COLUMN: the SQL condition that COLUMN (a slot name) is one of the replication's slots
slots_where() {
  if [[ $LOGICAL_REPLICATION == ours ]]; then
    printf "%s like '%s\\_%%'" "$1" "$LOGICAL_NAME"
  else
    replica_slots_where "$1"
  fi
}

# slot_of OID: the slot that feeds source database OID
slot_of() {
  if [[ $LOGICAL_REPLICATION == ours ]]; then printf '%s_%s' "$LOGICAL_NAME" "$1"; else replica_slot_of "$1"; fi
}

# slot_database SLOT: the name of the source database SLOT reads (after database_names)
slot_database() {
  if [[ $LOGICAL_REPLICATION == ours ]]; then
    printf '%s' "${DB_NAMES[${1##*_}]:-(database oid ${1##*_})}"
  else
    printf '%s' "${DB_NAMES[${SLOT_OIDS[$1]:-}]:-(slot $1)}"
  fi
}

# on_source DB psql-args... / on_target DB psql-args...: one psql session in database DB (empty:
# template1 on the source, where questions about the whole cluster go: the cutover freezes every
# other database, the URL's included; the URL's on the target)
on_source() { local db=${1:-template1}; shift; ( session_at "$SOURCE_URL" "the source server" "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 "$@" ); }
on_target() { local db=$1; shift; ( session_at "$TARGET_URL" "the target server" "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 "$@" ); }
# session_at URL WHAT DB: the environment of a session in database DB (empty: the URL's), for a subshell
session_at() { use_url "$1" "$2"; [[ -z $3 ]] || export PGDATABASE=$3; }


# source_databases FILE: "oid NUL name NUL" pairs of every source database logical replication covers
source_databases() {
  on_source "" -z -0 -c "select oid, datname from pg_database where not datistemplate and datallowconn order by datname" > "$1" 2> "$1.err" \
    || die "cannot list the databases of the source: $(first_error "$1.err")"
}

# source_conninfo DB: how the target's subscription reaches database DB of the source: the source
# URL's host, port, user, password and sslmode (certificate paths are files of this step, not of the
# target server, so they are not carried).
source_conninfo() {
  ( use_url "$SOURCE_URL" "the source server"
    [[ -n ${PGHOST:-} ]] && printf 'host=%s ' "$(conninfo_value "$PGHOST")"
    [[ -n ${PGPORT:-} ]] && printf 'port=%s ' "$(conninfo_value "$PGPORT")"
    [[ -n ${PGUSER:-} ]] && printf 'user=%s ' "$(conninfo_value "$PGUSER")"
    [[ -n ${PGPASSWORD:-} ]] && printf 'password=%s ' "$(conninfo_value "$PGPASSWORD")"
    [[ -n ${PGSSLMODE:-} ]] && printf 'sslmode=%s ' "$(conninfo_value "$PGSSLMODE")"
    conninfo_dbname "$1" )
}

# drop_subscriptions: every subscription of the replication on the target, in whichever database it
# is, side by side. Its slot is detached first (the source may be frozen, or gone): drop_slots removes the slots.
drop_subscriptions() {
  [[ $LOGICAL_REPLICATION == ours ]] || { drop_replica_subscriptions; return; }
  local list=$LOGICAL_DIR/subscriptions db sub i=0 pids=()
  on_target "" -z -0 -c "select d.datname, s.subname from pg_subscription s join pg_database d on d.oid = s.subdbid
      where s.subname like '${LOGICAL_NAME}\_%'" > "$list" 2> "$list.err" \
    || die "cannot list the target's subscriptions: $(first_error "$list.err")"
  rm -f "$list".*.failed
  while IFS= read -r -d '' db && IFS= read -r -d '' sub; do
    [[ $sub =~ ^${LOGICAL_NAME}_[0-9]+$ ]] || continue
    i=$((i + 1))
    ( on_target "$db" -c "alter subscription \"$sub\" disable" -c "alter subscription \"$sub\" set (slot_name = none)" \
        -c "drop subscription \"$sub\"" >/dev/null 2> "$list.$i.err" \
        || printf 'cannot drop subscription %s on the target: %s\n' "$sub" "$(first_error "$list.$i.err")" > "$list.$i.failed" ) &
    pids+=($!)
    echo "subscription $sub" >> "$LOGICAL_DIR/removed"
  done < "$list"
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  for ((; i > 0; i--)); do [[ ! -s $list.$i.failed ]] || die "$(cat "$list.$i.failed")"; done
}

# drop_slots: every replication slot of the replication on the source; a walsender still using one is
# ended first. One session: end the walsenders, drop what is free, until none is left (10 s at most).
drop_slots() {
  local out=$LOGICAL_DIR/slots pattern="${LOGICAL_NAME}\\_%" listed=
  [[ $LOGICAL_REPLICATION == ours ]] || { pattern=; listed=$(replica_slot_list | paste -sd,); }
  on_source "" -v pattern="$pattern" -v listed="$listed" > "$out" 2> "$out.err" <<'SQL' || die "cannot drop the replication slots on the source: $(first_error "$out.err")"
select set_config('pgupgrade.pattern', :'pattern', false) as ignored, set_config('pgupgrade.slots', :'listed', false) as ignored \gset
create temporary view ours as select * from pg_catalog.pg_replication_slots
  where slot_name like current_setting('pgupgrade.pattern') or slot_name = any (string_to_array(current_setting('pgupgrade.slots'), ','));
select 'slot ' || slot_name from ours;
do $$
declare
  deadline timestamptz := clock_timestamp() + interval '10 seconds';
  remaining int;
begin
  loop
    perform pg_catalog.pg_terminate_backend(active_pid) from ours where active_pid is not null;
    perform pg_catalog.pg_drop_replication_slot(slot_name) from ours where not active;
    select count(*) into remaining from ours;
    exit when remaining = 0;
    if clock_timestamp() > deadline then
      raise exception '% replication slots are still in use after 10 s', remaining;
    end if;
    perform pg_catalog.pg_sleep(0.05);
  end loop;
end
$$;
SQL
  cat "$out" >> "$LOGICAL_DIR/removed"
}

# drop_publications: the publication of ours in every source database that accepts connections
drop_publications() {
  [[ $LOGICAL_REPLICATION == ours ]] || { drop_replica_providers; return; }
  local list=$LOGICAL_DIR/publication-dbs db
  source_databases "$list"
  while IFS= read -r -d '' _ && IFS= read -r -d '' db; do
    if [[ $(on_source "$db" -c "select count(*) from pg_publication where pubname = '${LOGICAL_NAME}'" 2> "$list.err") != 0 ]]; then
      on_source "$db" -c "drop publication if exists \"${LOGICAL_NAME}\"" >/dev/null 2> "$list.err" \
        || die "cannot drop publication ${LOGICAL_NAME} in database $(shown "$db") of the source: $(first_error "$list.err")"
      echo "publication ${LOGICAL_NAME} in $(escaped "$db")" >> "$LOGICAL_DIR/removed"
    fi
  done < "$list"
}

# identity_oids DB: the "{oid,...}" of the tables of database DB given REPLICA IDENTITY FULL by the copy
# (spec.logical.allowReplicaIdentityFull), "{}" when none
identity_oids() {
  local file; file=$LOGICAL_DIR/identity.$(key "$1")
  if [[ -s $file ]]; then printf '{%s}' "$(paste -sd, "$file")"; else printf '{}'; fi
}

# restore_identities: REPLICA IDENTITY DEFAULT back on the tables the copy set FULL, in every source
# database that accepts connections
restore_identities() {
  local list=$LOGICAL_DIR/identity-dbs db
  source_databases "$list"
  while IFS= read -r -d '' _ && IFS= read -r -d '' db; do
    [[ -s $LOGICAL_DIR/identity.$(key "$db") ]] || continue
    on_source "$db" -v identity=default -v oids="$(identity_oids "$db")" -f "$(dirname "${BASH_SOURCE[0]}")/logical-identity.sql" \
      > /dev/null 2> "$list.err" || die "cannot restore the replica identity of tables in database $(shown "$db"): $(first_error "$list.err")"
    echo "replica identity restored in $(escaped "$db")" >> "$LOGICAL_DIR/removed"
    rm -f "$LOGICAL_DIR/identity.$(key "$db")"
  done < "$list"
}

# unfreeze: lets connections into every source database the cutover froze (listed, NUL-separated, in
# LOGICAL_DIR/frozen before it froze it) and that is still frozen
unfreeze() {
  local db
  [[ -f $LOGICAL_DIR/frozen ]] || return 0
  while IFS= read -r -d '' db; do
    ( session_at "$SOURCE_URL" "the source server" template1
      psql -X -q -A -t -v ON_ERROR_STOP=1 -v db="$db" <<'SQL'
select format('alter database %I allow_connections true', datname) from pg_database where datname = :'db' and not datallowconn \gexec
SQL
    ) > /dev/null 2> "$LOGICAL_DIR/unfreeze.err" || die "cannot let connections into database $(shown "$db") of the source again: $(first_error "$LOGICAL_DIR/unfreeze.err")"
    echo "unfroze $(escaped "$db")" >> "$LOGICAL_DIR/removed"
  done < "$LOGICAL_DIR/frozen"
  rm -f "$LOGICAL_DIR/frozen"
}

# apply_errors: how many errors our subscriptions counted on the target (a conflicting row, a lost
# connection), 0 where that cannot be read (PostgreSQL before 15 has no pg_stat_subscription_stats)
apply_errors() {
  [[ $LOGICAL_REPLICATION == ours ]] || { echo 0; return; }   # Aptible's subscriptions: their errors are the replica's log's
  on_target "" -c "select coalesce(sum(apply_error_count), 0) from pg_stat_subscription_stats where subname like '${LOGICAL_NAME}\_%'" \
    2>/dev/null || echo 0
}

# --- watching the replication (CatchingUp, and the watch while AwaitingApproval) -------------------

# database_names FILE: DB_NAMES[oid]=name for the "oid NUL name NUL" pairs of FILE (see source_databases)
declare -A DB_NAMES=()
database_names() {
  local oid db
  while IFS= read -r -d '' oid && IFS= read -r -d '' db; do DB_NAMES[$oid]=$db; done < "$1"
  [[ $LOGICAL_REPLICATION == ours ]] || replica_slot_oids
}

# replication_look: one look at our slots on the source and our subscriptions on the target. Per
# database: the bytes its subscriber has still to apply, against the source's CURRENT WAL position
# (not only what was sent); the seconds since the source was at the position that subscriber has
# applied (from the source's position sampled at every look, LOGICAL_DIR/watch.history, trimmed to
# what the slowest subscriber still needs); the WAL its slot makes the source keep; whether its apply
# worker runs. Sets LOOK_SLOTS, LOOK_LAG (bytes, summed), LOOK_MAX_LAG, LOOK_SECONDS and LOOK_RETAINED
# (the largest) over every database, and LOOK_JSON, the "replication" object of a progress line,
# which names the LOGICAL_REPORTED_DATABASES most lagging.
replication_look() {
  local file=$LOGICAL_DIR/watch now slot lag retained seconds state dbs=() applying=()
  on_source "" -F $'\t' -c "select s.slot_name, greatest(coalesce(pg_wal_lsn_diff(c.lsn, s.confirmed_flush_lsn), 0), 0)::bigint,
      greatest(coalesce(pg_wal_lsn_diff(c.lsn, s.restart_lsn), 0), 0)::bigint, pg_wal_lsn_diff(c.lsn, '0/0')::bigint
      from pg_replication_slots s, (select pg_current_wal_lsn() as lsn) c where $(slots_where s.slot_name) order by 1" \
      > "$file.slots" 2> "$file.err" || die "cannot read the replication slots on the source: $(first_error "$file.err")"
  now=$(date +%s%3N)
  # a subscription whose apply worker is not running is erroring (and retried) or was never enabled
  if [[ $LOGICAL_REPLICATION == ours ]]; then
    on_target "" -F $'\t' -c "select subname from pg_stat_subscription where subname like '${LOGICAL_NAME}\_%' and pid is not null and relid is null" \
      > "$file.workers" 2>/dev/null || : > "$file.workers"
  else
    # Aptible's subscriptions (native or pglogical): applying while their walsender reads the slot
    on_source "" -c "select slot_name from pg_replication_slots where active and $(slots_where slot_name)" > "$file.workers" 2>/dev/null \
      || : > "$file.workers"
  fi
  mapfile -t applying < "$file.workers"
  touch "$file.history"
  if [[ -s $file.slots ]]; then printf '%s\t%s\n' "$now" "$(head -n1 "$file.slots" | cut -f4)" >> "$file.history"; fi
  # awk sees slot names (ours, [a-z0-9_]) and numbers only; the seconds of a subscriber are those since
  # the source passed what it applied, interpolated between the two samples around that position
  awk -F'\t' -v now="$now" -v history="$file.history.new" -v totals="$file.totals" '
    BEGIN { n = 0 }  # numeric from the start: t[n] with n unset would be t[""], not t[0]
    FILENAME == ARGV[1] { t[n] = $1; l[n] = $2; n++; next }
    { applied = $4 - $2; seconds = 0
      if ($2 > 0 && n > 0) {
        for (i = 0; i < n - 1 && l[i] <= applied; i++) {}
        # between the last sample at or before it and the first beyond, by WAL position (the oldest sample when none is before)
        passed = t[i]
        if (i > 0 && l[i] > l[i - 1]) passed = t[i - 1] + (applied - l[i - 1]) / (l[i] - l[i - 1]) * (t[i] - t[i - 1])
        seconds = (now - passed) / 1000
        if (i > 0) i--
        if (keep == "" || i < keep) keep = i
      }
      printf "%s\t%s\t%s\t%.1f\n", $1, $2, $3, seconds
      slots++; sum += $2; if ($2 > maxlag) maxlag = $2; if ($3 > maxret) maxret = $3; if (seconds > maxsec) maxsec = seconds }
    END {
      for (i = (keep == "" ? n - 1 : keep); i < n; i++) if (i >= 0) print t[i] "\t" l[i] > history
      printf "%d %.0f %.0f %.1f %.0f\n", slots, sum, maxlag, maxsec, maxret > totals }
  ' "$file.history" "$file.slots" > "$file.looked" 2> "$file.err" || die "internal: cannot compute the replication lag: $(head -c 300 "$file.err")"
  if [[ -f $file.history.new ]]; then mv "$file.history.new" "$file.history"; fi
  # shellcheck disable=SC2034 # LOOK_SLOTS and LOOK_MAX_LAG are read by the step that sources this file
  read -r LOOK_SLOTS LOOK_LAG LOOK_MAX_LAG LOOK_SECONDS LOOK_RETAINED < "$file.totals"
  while IFS=$'\t' read -r slot lag retained seconds; do
    state=stopped
    [[ " ${applying[*]} " == *" $slot "* ]] && state=streaming
    dbs+=("{\"database\":$(json_exact "$(slot_database "$slot")"),\"lagBytes\":$lag,\"lagSeconds\":$seconds,\"retainedBytes\":$retained,\"state\":\"$state\"}")
  done < <(sort -t $'\t' -k2,2nr "$file.looked" | head -n "$LOGICAL_REPORTED_DATABASES")  # the most lagging: a progress line stays small
  LOOK_JSON="{\"lagBytes\":$LOOK_LAG,\"lagSeconds\":$LOOK_SECONDS,\"retainedBytes\":$LOOK_RETAINED,\"databases\":[$(IFS=,; printf %s "${dbs[*]}")]}"
}

# progress_replication DONE TOTAL: a progress line with the last look's replication facts
progress_replication() {
  printf 'PGUPGRADE_PROGRESS {"unit":"bytes","done":%s,"total":%s,"estimated":false,"replication":%s}\n' "$1" "$2" "$LOOK_JSON" >&2
}
