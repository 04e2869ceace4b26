-- The size of the user's tables and materialized views in the database connected to (without
-- indexes): about what a dump of it writes. For progress estimates only.
\ir user-relations.sql
select coalesce(sum(pg_catalog.pg_table_size(c.oid)), 0)
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'm') and :user_relation;
