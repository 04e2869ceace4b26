-- What logical replication of one source database could not carry, as "kind<TAB>table" lines (the
-- table's SQL name escaped as in verify-inventory.sql: one line whatever the name). Read-only.
--   keyless   no usable replica identity (logical-keyless.sql): an UPDATE or DELETE of it cannot be
--             replicated
--   full      REPLICA IDENTITY FULL already: replicated, every UPDATE or DELETE a scan on the target
--   unlogged  an unlogged table: its writes reach no WAL, so no subscription ever sees them
--   trigger   a trigger ENABLE ALWAYS or ENABLE REPLICA: it would fire again for every applied row
--   largeobjects  how many large objects the database holds (never replicated)
--   pglogicalnode  a pglogical node already in the database (Aptible's db:replicate --logical then fails
--             to set up; a failed earlier attempt leaves one), by name
\ir user-relations.sql
\ir logical-keyless.sql
set search_path = pg_catalog;
with tables as (
  select c.oid, c.relreplident, c.relpersistence, :keyless as keyless,
         replace(replace(replace(replace(
           case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname else '"' || replace(n.nspname, '"', '""') || '"' end
           || '.' ||
           case when c.relname ~ '^[a-z_][a-z0-9_]*$' then c.relname else '"' || replace(c.relname, '"', '""') || '"' end,
           '\', '\\'), E'\t', '\t'), E'\n', '\n'), E'\r', '\r') as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind = 'r' and :user_relation
)
select 'keyless', name from tables where keyless
union all
select 'full', name from tables where relpersistence = 'p' and relreplident = 'f'
union all
select 'unlogged', name from tables where relpersistence = 'u'
union all
select 'trigger', t.name from tables t join pg_trigger g on g.tgrelid = t.oid
 where not g.tgisinternal and g.tgenabled in ('A', 'R')
union all
select 'largeobjects', count(*)::text from pg_largeobject_metadata
order by 1, 2;
select exists (select 1 from pg_extension where extname = 'pglogical') as has_pglogical \gset
\if :has_pglogical
select 'pglogicalnode', replace(replace(replace(replace(n.node_name, '\', '\\'), E'\t', '\t'), E'\n', '\n'), E'\r', '\r')
  from pglogical.local_node l join pglogical.node n using (node_id);
\endif
