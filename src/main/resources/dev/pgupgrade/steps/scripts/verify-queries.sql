-- Generates, from the SOURCE's catalog, the data queries verify.sh runs on both sides: one per
-- table (row count, and by policy an order-independent content checksum), one per sequence, and
-- the large objects' checksum. Generating them once means both sides are asked exactly the same.
-- Each generated query is one record of the output (verify.sh reads them NUL-separated: a query
-- naming a table with a newline in its name spans lines) and answers one line
-- "category<TAB>key<TAB>value", the key escaped as in verify-cluster.sql.
-- psql variables: mode (counts|checksums), max_bytes (tables larger than this get counts only),
-- what (data: the queries for both sides | recheck: see below), proven (an array of table oids whose
-- rows the pipeline's copy proved, see pipeline.sh). A proven table's query, marked /* proof */, is
-- for the target alone: not its content but whether it is still the copy's, every row's xmin (the
-- transaction that wrote it) with how many rows each wrote, under which columns:
-- "proof<TAB>oid<TAB>key<TAB>COLUMNS_MD5<TAB>XMIN N,...".
\ir user-relations.sql
set search_path = pg_catalog;
with tables as (
  select c.oid, c.relkind, pg_table_size(c.oid) as size,
         -- the key as verify-inventory.sql names relations: quoted alike on every major, then escaped
         replace(replace(replace(replace(case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname::text else '"' || replace(n.nspname, '"', '""') || '"' end || '.' || case when c.relname ~ '^[a-z_][a-z0-9_]*$' then c.relname::text else '"' || replace(c.relname, '"', '""') || '"' end, E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r') as key,
         -- Rows are compared by column NAME: a restore may legitimately put a table's columns in
         -- another order (inheritance children, typed tables, dropped columns), so row(t.*) would
         -- differ for equal rows. Both sides get this same list, in the order of the names.
         coalesce((select string_agg('t.' || '"' || replace(a.attname, '"', '""') || '"', ', ' order by a.attname::text collate "C")
                     from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '') as by_name,
         -- the materialized view's columns in their own order, to name its defining query's output
         (select string_agg('"' || replace(a.attname, '"', '""') || '"', ', ' order by a.attnum)
            from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as in_order,
         -- how the generated queries name the table: every identifier quoted, so a word that is a
         -- keyword on one major and not on the other reads the same on both
         '"' || replace(n.nspname, '"', '""') || '"' || '.' || '"' || replace(c.relname, '"', '""') || '"' as sql_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'm') and :user_relation and (c.relkind <> 'm' or c.relispopulated)
),
answers as (
  select t.*, case when :'mode' = 'checksums' and t.size <= :max_bytes
                   -- sum of 60 bits of each row's md5: independent of row order, no sort needed.
                   then format($q$ || ' sum=' || coalesce(sum(('x' || substr(md5(row(%s)::text), 1, 15))::bit(60)::bigint), 0)$q$, t.by_name)
                   else '' end as checksum
    from tables t
)
select q from (
  -- data: every table's own rows (ONLY: a parent's checksum would read its children's rows again), largest first
  select case when a.oid = any (:'proven'::oid[])
              -- the columns' fingerprint is table-columns.sql's expression
              then format('/* proof */ select %L || (select md5(string_agg(a.attnum || '' '' || a.attname || '' '' || a.atttypid || '' '' || a.atttypmod || '' '' || a.attisdropped, '','' order by a.attnum)) from pg_catalog.pg_attribute a where a.attrelid = %L::pg_catalog.regclass and a.attnum > 0) || E''\t'' || coalesce(string_agg(w.xmin || '' '' || w.n, '',''), '''') from (select t.xmin::text as xmin, count(*) as n from only %s t group by t.xmin) w;',
                          'proof' || E'\t' || a.oid || E'\t' || a.key || E'\t', a.sql_name, a.sql_name)
              else format('select %L || count(*)%s from only %s t;', 'rows' || E'\t' || a.key || E'\t', a.checksum, a.sql_name) end as q, a.size
    from answers a where :'what' = 'data'
  union all
  select format('select %L || last_value || '' called='' || is_called from %s;',
                'sequence' || E'\t' || replace(replace(replace(replace(case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname::text else '"' || replace(n.nspname, '"', '""') || '"' end || '.' || case when c.relname ~ '^[a-z_][a-z0-9_]*$' then c.relname::text else '"' || replace(c.relname, '"', '""') || '"' end, E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r') || E'\t',
                '"' || replace(n.nspname, '"', '""') || '"' || '.' || '"' || replace(c.relname, '"', '""') || '"'), 0
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where :'what' = 'data' and c.relkind = 'S' and :user_relation
  union all
  select $q$select 'largeobjects' || E'\t' || 'content' || E'\t' || coalesce(sum(('x' || substr(md5(m.oid::text || ':' || md5(lo_get(m.oid))), 1, 15))::bit(60)::bigint), 0) from pg_largeobject_metadata m;$q$, 0
   where :'what' = 'data' and :'mode' = 'checksums'
  union all
  -- recheck, asked of the source only when a materialized view's rows differ: what its defining query
  -- returns now. A restore refreshes every populated materialized view, so a view that was stale on
  -- the source legitimately holds other rows on the target: those of its query, which this computes.
  select format('select %L || count(*)%s from (%s) t%s;', 'refreshed' || E'\t' || a.key || E'\t', a.checksum,
                rtrim(pg_get_viewdef(a.oid), E'; \n'), coalesce('(' || a.in_order || ')', '')), a.size
    from answers a where :'what' = 'recheck' and a.relkind = 'm'
) generated
order by size desc;
