-- spec.logical.allowReplicaIdentityFull, in one source database. Variables: identity (full|default)
-- and oids. identity=full: prints the OIDs of the keyless tables (logical-keyless.sql), then sets
-- REPLICA IDENTITY FULL on them (oids unused). identity=default: sets REPLICA IDENTITY DEFAULT back on
-- the tables whose OIDs are given ("{1,2}"), as they were. Names reach SQL only through regclass.
\set ON_ERROR_STOP 1
\ir user-relations.sql
\ir logical-keyless.sql
set search_path = pg_catalog;
select :'identity' = 'full' as setting \gset
\if :setting
select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and :user_relation and :keyless order by c.oid;
select format('alter table %s replica identity full', c.oid::regclass) from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and :user_relation and :keyless \gexec
\else
select format('alter table %s replica identity default', c.oid::regclass) from pg_class c
 where c.oid = any(:'oids'::oid[]) and c.relreplident = 'f' \gexec
\endif
