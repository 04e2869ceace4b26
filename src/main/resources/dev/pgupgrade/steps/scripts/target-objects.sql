-- What a target server already holds that a restore could mix with the source's: the one emptiness
-- rule every platform uses (lib.sh target_objects), judged in Java (TargetContents).
-- An object is the user's when it was created after initdb (OID >= 16384, FirstNormalObjectId: initdb
-- creates everything below it, template databases included) and no extension owns it.
-- psql variable scope: cluster (roles, tablespaces, subscriptions) or database (the objects of the
-- database connected to, per kind). One JSON object per line; nothing printed means nothing found.
set search_path = pg_catalog;
select :'scope' = 'cluster' as cluster \gset
\if :cluster
-- every role but the connecting one and the predefined pg_* roles, the bootstrap superuser first
-- (at most 25 listed; "roles" says how many there are)
select json_build_object('kind', 'role', 'name', rolname, 'bootstrap', oid = 10)::text
  from (select oid, rolname from pg_roles where rolname !~ '^pg_' and rolname <> current_user order by oid <> 10, rolname limit 25) r;
select json_build_object('kind', 'roles', 'count', count(*))::text from pg_roles where rolname !~ '^pg_' and rolname <> current_user;
select json_build_object('kind', 'tablespace', 'count', count(*))::text from pg_tablespace where oid >= 16384 having count(*) > 0;
select $q$select json_build_object('kind', 'subscription', 'count', count(*))::text from pg_catalog.pg_subscription having count(*) > 0$q$
 where to_regclass('pg_catalog.pg_subscription') is not null \gexec
\else
select format($q$select json_build_object('database', current_database(), 'kind', %L, 'count', count(*))::text
                   from pg_catalog.%I x
                  where x.oid >= 16384 %s
                    and not exists (select 1 from pg_catalog.pg_depend d where d.classid = %L::regclass and d.objid = x.oid and d.deptype = 'e')
                 having count(*) > 0$q$, kind, catalog, condition, 'pg_catalog.' || catalog)
  from (values
    ('relation', 'pg_class', $c$and x.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'c')
                               and x.relnamespace not in (select oid from pg_catalog.pg_namespace where nspname ~ '^pg_(toast_)?temp_')$c$),
    ('function', 'pg_proc', ''),
    -- types made by hand: not a table's row type, not the array type every type gets
    ('type', 'pg_type', $c$and x.typrelid = 0 and not exists (select 1 from pg_catalog.pg_type e where e.typarray = x.oid)$c$),
    ('schema', 'pg_namespace', $c$and x.nspname !~ '^pg_(toast_)?temp_'$c$),
    ('extension', 'pg_extension', ''),
    ('operator', 'pg_operator', ''),
    ('operator class', 'pg_opclass', ''),
    ('operator family', 'pg_opfamily', ''),
    -- a member of a family made by hand or by an extension comes with its family: only members added
    -- to a built-in family count on their own (unless an extension owns their operator or function)
    ('member added to a built-in operator family', 'pg_amop', $c$and x.amopfamily < 16384
       and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_operator'::regclass and d.objid = x.amopopr and d.deptype = 'e')$c$),
    ('function added to a built-in operator family', 'pg_amproc', $c$and x.amprocfamily < 16384
       and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = x.amproc and d.deptype = 'e')$c$),
    ('access method', 'pg_am', ''),
    ('cast', 'pg_cast', ''),
    ('collation', 'pg_collation', ''),
    ('conversion', 'pg_conversion', ''),
    ('text search configuration', 'pg_ts_config', ''),
    ('text search dictionary', 'pg_ts_dict', ''),
    ('text search parser', 'pg_ts_parser', ''),
    ('text search template', 'pg_ts_template', ''),
    ('foreign-data wrapper', 'pg_foreign_data_wrapper', ''),
    ('foreign server', 'pg_foreign_server', ''),
    ('event trigger', 'pg_event_trigger', ''),
    ('language', 'pg_language', ''),
    ('transform', 'pg_transform', ''),
    ('default privileges', 'pg_default_acl', ''),
    ('publication', 'pg_publication', ''),
    ('statistics object', 'pg_statistic_ext', '')
  ) v(kind, catalog, condition)
 where to_regclass('pg_catalog.' || catalog) is not null \gexec
-- large objects: whatever their OID (lo_import and lo_create may choose one)
select json_build_object('database', current_database(), 'kind', 'large object', 'count', count(*))::text
  from pg_largeobject_metadata having count(*) > 0;
\endif
