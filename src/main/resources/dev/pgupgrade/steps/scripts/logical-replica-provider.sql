-- What the replication of platform aptible left in one source database besides its slot, removed
-- (provider.sql in psql's working directory: the statements logical-replica.sh's note_provider_objects
-- wrote: the native publications the replica read, and whether pglogical's provider node is to go;
-- empty for platform direct). Run by the cutover's session inside the frozen database, and by the cleanup.
\set drop_pglogical_node false
\i provider.sql
\if :drop_pglogical_node
-- pglogical refuses to drop a node whose slot is in use: in the cutover (psql variable slot), the
-- replica has applied everything, so its walsender is ended and the slot dropped here first
\if :{?slot}
select set_config('pgupgrade.slot', :'slot', false) as ignored \gset
do $$
declare
  deadline timestamptz := clock_timestamp() + interval '10 seconds';
begin
  loop
    perform pg_catalog.pg_terminate_backend(active_pid) from pg_catalog.pg_replication_slots
      where slot_name = current_setting('pgupgrade.slot') and active_pid is not null;
    perform pg_catalog.pg_drop_replication_slot(slot_name) from pg_catalog.pg_replication_slots
      where slot_name = current_setting('pgupgrade.slot') and not active;
    exit when not exists (select 1 from pg_catalog.pg_replication_slots where slot_name = current_setting('pgupgrade.slot'));
    if clock_timestamp() > deadline then
      raise exception 'the replication slot % is still in use after 10 s', current_setting('pgupgrade.slot');
    end if;
    perform pg_catalog.pg_sleep(0.05);
  end loop;
end
$$;
\endif
select pglogical.drop_node(n.node_name, true) from pglogical.local_node l join pglogical.node n using (node_id);
\endif
