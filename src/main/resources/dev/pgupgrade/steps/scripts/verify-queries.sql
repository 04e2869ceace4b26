-- Generates, from the SOURCE's catalog, the data queries verify.sh runs on both sides: one per
-- table (row count, and by policy an order-independent content checksum), one per sequence, and
-- the large objects' checksum. Generating them once means both sides are asked exactly the same.
-- psql variables: mode (counts|checksums), max_bytes (tables larger than this get counts only).
set search_path = pg_catalog;
select format('select %L || count(*)%s from %s t;',
              'rows|' || c.oid::regclass::text || '|',
              case when :'mode' = 'checksums' and pg_table_size(c.oid) <= :max_bytes
                   -- sum of 60 bits of each row's md5: independent of row order, no sort needed.
                   -- row(t.*), never a bare t: in a table with a column named t, t is that column.
                   then $q$ || ' sum=' || coalesce(sum(('x' || substr(md5(row(t.*)::text), 1, 15))::bit(60)::bigint), 0)$q$ else '' end,
              c.oid::regclass::text)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname !~ '^pg_temp'
   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
   and (c.relkind <> 'm' or c.relispopulated)
 order by pg_table_size(c.oid) desc;
select format('select %L || last_value || '' called='' || is_called from %s;', 'sequence|' || c.oid::regclass::text || '|', c.oid::regclass::text)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'S' and n.nspname not in ('pg_catalog', 'information_schema')
   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');
select $q$select 'largeobjects|content|' || coalesce(sum(('x' || substr(md5(m.oid::text || ':' || md5(lo_get(m.oid))), 1, 15))::bit(60)::bigint), 0) from pg_largeobject_metadata m;$q$
 where :'mode' = 'checksums';
