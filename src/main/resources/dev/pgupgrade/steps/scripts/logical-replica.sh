# shellcheck shell=bash
# The replication of platform aptible (sourced by logical-lib.sh when LOGICAL_REPLICATION=replica):
# the one `aptible db:replicate --logical` set up between the source and the new replica. Aptible runs
# pglogical; native publications and subscriptions are handled the same way. Nothing here assumes
# its objects' names: the replica is this upgrade's alone, so every subscription on it (pg_subscription,
# or pglogical.subscription where the extension is installed) is the replication, and the slots they
# read on the source are its slots. Replicating records those slots in status (REPLICA_SLOTS), so
# they are dropped even once the replica is gone.
# Slot names reach SQL text, so only [A-Za-z0-9_] is accepted (pglogical's and PostgreSQL's defaults).
REPLICA_SLOTS=${REPLICA_SLOTS:-}
_REPLICA_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # now: a relative path no longer holds after a cd
for _slot in $REPLICA_SLOTS; do
  [[ $_slot =~ ^[A-Za-z0-9_]{1,63}$ ]] || die "internal: a replication slot name of the replica is not [A-Za-z0-9_]"
done
unset _slot

# replica_slot_list: the replication's slots, one per line: REPLICA_SLOTS, and those harvest_slots
# read off the replica's subscriptions before they were dropped
replica_slot_list() {
  { tr ' ' '\n' <<< "$REPLICA_SLOTS"; cat "$LOGICAL_DIR/harvested-slots" 2>/dev/null; } | grep -E '^[A-Za-z0-9_]{1,63}$' | sort -u || true
}

replica_slots_where() {
  local list='' slot
  for slot in $(replica_slot_list); do list+="${list:+,}'$slot'"; done
  if [[ -n $list ]]; then printf '%s in (%s)' "$1" "$list"; else printf 'false'; fi
}

# replica_slot_oids: SLOT_OIDS[slot] = the OID of the source database the slot reads
declare -A SLOT_OIDS=()
replica_slot_oids() {
  local slot oid file=$LOGICAL_DIR/slot-oids
  SLOT_OIDS=()
  on_source "" -F $'\t' -c "select slot_name, datoid from pg_replication_slots where $(replica_slots_where slot_name)" > "$file" 2> "$file.err" \
    || die "cannot read the replication slots of the source: $(first_error "$file.err")"
  while IFS=$'\t' read -r slot oid; do
    [[ -n $slot ]] && SLOT_OIDS[$slot]=$oid
  done < "$file"
  return 0
}

replica_slot_of() {
  local slot
  ((${#SLOT_OIDS[@]})) || replica_slot_oids
  for slot in "${!SLOT_OIDS[@]}"; do
    [[ ${SLOT_OIDS[$slot]} == "$1" ]] && { printf '%s' "$slot"; return 0; }
  done
  return 0
}

# replica_subscriptions DB: "kind<TAB>slot<TAB>enabled" of every subscription in database DB of the
# replica, kind native or pglogical
replica_subscriptions() {
  on_target "$1" -F $'\t' <<'SQL'
select 'native', subslotname, subenabled from pg_catalog.pg_subscription
 where subdbid = (select oid from pg_catalog.pg_database where datname = current_database());
select exists (select 1 from pg_catalog.pg_extension where extname = 'pglogical') as pglogical \gset
\if :pglogical
select 'pglogical', sub_slot_name, sub_enabled from pglogical.subscription;
\endif
SQL
}

# note_provider_objects: per source database, the statements that remove what the replication put
# there besides its slot (the native publications the replica's subscriptions read; pglogical's
# provider node), written to LOGICAL_DIR/provider.KEY.sql while the replica can still say which.
# Kept from one step to the next (the work volume): a later cleanup finds them after the replica's
# subscriptions are gone.
note_provider_objects() {
  local list=$LOGICAL_DIR/replica-dbs db k
  on_target "" -z -0 -c "select datname from pg_database where not datistemplate and datallowconn" > "$list" 2> "$list.err" \
    || die "cannot list the databases of the replica: $(first_error "$list.err")"
  while IFS= read -r -d '' db; do
    k=$(key "$db")
    on_target "$db" > "$LOGICAL_DIR/provider.$k.new" 2> "$list.err" <<'SQL' || die "cannot read the subscriptions of database $(shown "$db") on the replica: $(first_error "$list.err")"
-- one line each whatever the name (a newline in it would split a statement): the name travels hex-encoded
select distinct format('select format(''drop publication if exists %%I'', convert_from(decode(%L, ''hex''), ''UTF8'')) \gexec',
                       encode(convert_to(p, 'UTF8'), 'hex'))
  from pg_catalog.pg_subscription s, unnest(s.subpublications) p
 where s.subdbid = (select oid from pg_catalog.pg_database where datname = current_database());
select exists (select 1 from pg_catalog.pg_extension where extname = 'pglogical') as pglogical \gset
\if :pglogical
select 'select pgupgrade_pglogical := true;' where exists (select 1 from pglogical.subscription);
\endif
SQL
    # the same database on the source: the replica's databases are the source's, by name
    if [[ -s $LOGICAL_DIR/provider.$k.new ]]; then
      sed -i 's/^select pgupgrade_pglogical := true;$/\\set drop_pglogical_node true/' "$LOGICAL_DIR/provider.$k.new"
      touch "$LOGICAL_DIR/provider.$k.sql"
      sort -u "$LOGICAL_DIR/provider.$k.new" "$LOGICAL_DIR/provider.$k.sql" > "$LOGICAL_DIR/provider.$k.tmp"
      mv "$LOGICAL_DIR/provider.$k.tmp" "$LOGICAL_DIR/provider.$k.sql"
    fi
    rm -f "$LOGICAL_DIR/provider.$k.new"
  done < "$list"
}

# harvest_slots: the slots the replica's subscriptions read, added to LOGICAL_DIR/harvested-slots
# (kept from step to step), so that the slots are dropped even when status never learnt them
harvest_slots() {
  local db
  while IFS= read -r -d '' db; do
    replica_subscriptions "$db" 2>/dev/null | cut -f2 | grep -E '^[A-Za-z0-9_]{1,63}$' >> "$LOGICAL_DIR/harvested-slots" || true
  done < "$LOGICAL_DIR/replica-dbs"
}

# provider_file DB: the file of statements for source database DB (an empty file when none)
provider_file() {
  local file; file=$LOGICAL_DIR/provider.$(key "$1").sql
  [[ -f $file ]] || : > "$file"
  printf '%s' "$file"
}

# drop_replica_subscriptions: every subscription on the replica, side by side per database (native:
# detached from its slot first, as the source may be frozen or gone; pglogical: dropped, then its
# node and the extension). What they read on the source is noted first (note_provider_objects).
drop_replica_subscriptions() {
  local list=$LOGICAL_DIR/replica-dbs db i=0 pids=()
  note_provider_objects
  harvest_slots
  rm -f "$list".*.failed
  while IFS= read -r -d '' db; do
    i=$((i + 1))
    ( on_target "$db" > "$LOGICAL_DIR/replica.$i.out" 2> "$list.$i.err" <<'SQL' || printf 'cannot drop the subscriptions in database %s of the replica: %s\n' "$(shown "$db")" "$(first_error "$list.$i.err")" > "$list.$i.failed"
\set VERBOSITY terse
select 'subscription ' || subname from pg_catalog.pg_subscription
 where subdbid = (select oid from pg_catalog.pg_database where datname = current_database());
select format('alter subscription %I disable', subname), format('alter subscription %I set (slot_name = none)', subname),
       format('drop subscription %I', subname)
  from pg_catalog.pg_subscription where subdbid = (select oid from pg_catalog.pg_database where datname = current_database()) \gexec
select exists (select 1 from pg_catalog.pg_extension where extname = 'pglogical') as pglogical \gset
\if :pglogical
select 'pglogical subscription ' || sub_name from pglogical.subscription;
-- the provider's slot goes with drop_slots: pglogical only warns when it cannot reach the source
select pglogical.alter_subscription_disable(sub_name, true), pglogical.drop_subscription(sub_name, true) from pglogical.subscription;
select pglogical.drop_node(n.node_name, true) from pglogical.local_node l join pglogical.node n using (node_id);
drop extension pglogical;
select 'pglogical node and extension on the replica';
\endif
SQL
    ) &
    pids+=($!)
  done < "$list"
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  for ((; i > 0; i--)); do
    [[ ! -s $list.$i.failed ]] || die "$(cat "$list.$i.failed")"
    grep -E '^(subscription|pglogical)' "$LOGICAL_DIR/replica.$i.out" >> "$LOGICAL_DIR/removed" || true
  done
}

# drop_replica_providers: in every source database that accepts connections, what note_provider_objects
# recorded for it (native publications; pglogical's provider node)
drop_replica_providers() {
  local list=$LOGICAL_DIR/publication-dbs db file
  source_databases "$list"
  while IFS= read -r -d '' _ && IFS= read -r -d '' db; do
    file=$LOGICAL_DIR/provider.$(key "$db").sql
    [[ -s $file ]] || continue
    ( mkdir -p "$LOGICAL_DIR/provider" && cp "$file" "$LOGICAL_DIR/provider/provider.sql" && cd "$LOGICAL_DIR/provider" \
      && on_source "$db" -f "$_REPLICA_SCRIPTS/logical-replica-provider.sql" ) > /dev/null 2> "$list.err" \
      || die "cannot remove the replication's objects in database $(shown "$db") of the source: $(first_error "$list.err")"
    echo "replication objects of the replica in $(escaped "$db")" >> "$LOGICAL_DIR/removed"
    rm -f "$file"
  done < "$list"
}
