-- Cutover of one source database, in one session inside it (logical-cutover.sh sets the psql
-- variables slot, timeout, publication, oids and held -- the pids of the verification's sessions kept
-- in the database, comma-separated, or empty -- and the environment logical-freeze.sh reads). Prints facts as
-- "name<TAB>value" lines; writes the target's sequence values to setval.sql and the inventory to
-- inventory.source (both in the working directory).
\set ON_ERROR_STOP 1
select pg_backend_pid() as keep \gset
\setenv FREEZE_KEEP_PID :keep
-- the freeze: nobody new gets in, everyone else is ended (logical-freeze.sh, from template1)
\! bash "$FREEZE_SCRIPT"
-- ...and verified here, not assumed: who else is still in this database and could write?
select 'others', count(*) from pg_stat_activity a
 where a.datname = current_database() and a.pid <> pg_backend_pid() and a.backend_type in ('client backend', 'walsender')
   and a.pid <> all (coalesce(string_to_array(nullif(:'held', ''), ','), '{}')::int[])
   and a.pid is distinct from (select active_pid from pg_replication_slots where slot_name = :'slot');
select 'allowconn', datallowconn from pg_database where datname = current_database();
-- every write to this database is in the WAL before this position; then a transaction of our own
-- (an xid, no change) so the slot's walsender reads past it and the subscriber confirms it
select pg_current_wal_insert_lsn() as f \gset
select txid_current() as marker \gset
select 'position', :'f';
-- the sequences as they are now, final: nothing else can call nextval any more
\pset format unaligned
\pset tuples_only on
\o setval.sql
select format('select pg_catalog.setval(%L, %s, %s);', quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value, 'true')
  from pg_sequences where last_value is not null;
\o inventory.source
\ir verify-inventory.sql
\o
-- wait until the subscriber has applied and flushed everything up to that position
select set_config('pgupgrade.position', :'f', false), set_config('pgupgrade.slot', :'slot', false),
       set_config('pgupgrade.timeout', :'timeout', false) \gset ignored_
select clock_timestamp() as waited_from \gset
\set ON_ERROR_STOP 0
do $$
declare
  deadline timestamptz := clock_timestamp() + make_interval(secs => current_setting('pgupgrade.timeout')::int);
begin
  loop
    exit when exists (select 1 from pg_catalog.pg_replication_slots
                       where slot_name = current_setting('pgupgrade.slot')
                         and confirmed_flush_lsn >= current_setting('pgupgrade.position')::pg_lsn);
    if clock_timestamp() > deadline then
      raise exception 'the subscriber did not confirm the position in time';
    end if;
    perform pg_catalog.pg_sleep(0.02);
  end loop;
end
$$;
\set ON_ERROR_STOP 1
select 'caughtup', exists (select 1 from pg_replication_slots where slot_name = :'slot' and confirmed_flush_lsn >= :'f'::pg_lsn);
select 'waitedms', (extract(epoch from clock_timestamp() - :'waited_from'::timestamptz) * 1000)::bigint;
-- ours to undo and drop, and only this session can still get in: the replica identity the copy set
-- (spec.logical.allowReplicaIdentityFull), then our publication
\set identity default
\ir logical-identity.sql
select format('drop publication if exists %I', :'publication') \gexec
-- platform aptible: what the replica's replication put here besides its slot (provider.sql)
\ir logical-replica-provider.sql
