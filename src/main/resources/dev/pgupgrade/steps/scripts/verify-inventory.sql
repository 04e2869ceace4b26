-- One database's inventory as "category|key|value" lines, the same on every major for the same
-- content. Run on the source and on the target; verify.sh compares the two.
-- Left out on purpose, because they differ naturally between majors: extension versions (the target
-- installs its own), default and policy expressions (printed differently), NOT NULL constraints
-- (catalogued as constraints since 18; compared per column instead), ACL letters (new privileges).
set search_path = pg_catalog;
-- Catalog columns that older majors lack print as the value they would have there (no identity
-- before 10, no generated columns before 12, prokind from 11), so old and new answer alike.
select current_setting('server_version_num')::int >= 100000 as v10,
       current_setting('server_version_num')::int >= 110000 as v11,
       current_setting('server_version_num')::int >= 120000 as v12 \gset
select 'extension|' || extname from pg_extension;
select 'relation|' || c.relkind::text || ' ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname !~ '^pg_temp'
   and c.relkind in ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f', 'c')
   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');
\if :v12
select 'column|' || c.oid::regclass::text || '.' || quote_ident(a.attname) || '|' || format_type(a.atttypid, a.atttypmod)
       || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
\elif :v10
select 'column|' || c.oid::regclass::text || '.' || quote_ident(a.attname) || '|' || format_type(a.atttypid, a.atttypmod)
       || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated='
\else
select 'column|' || c.oid::regclass::text || '.' || quote_ident(a.attname) || '|' || format_type(a.atttypid, a.atttypmod)
       || ' notnull=' || a.attnotnull || ' identity= generated='
\endif
  from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
 where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm', 'f')
   and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname !~ '^pg_temp'
   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');
select 'constraint|' || c.conrelid::regclass::text || ' ' || quote_ident(c.conname) || '|' || c.contype::text
  from pg_constraint c join pg_namespace n on n.oid = c.connamespace
 where c.conrelid <> 0 and c.contype <> 'n' and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast');
\if :v11
select 'function|' || p.oid::regprocedure::text || '|' || p.prokind::text
\else
select 'function|' || p.oid::regprocedure::text || '|' || case when p.proisagg then 'a' when p.proiswindow then 'w' else 'f' end
\endif
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_temp'
   and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');
select 'trigger|' || t.tgrelid::regclass::text || ' ' || quote_ident(t.tgname) || '|' || t.tgenabled::text
  from pg_trigger t where not t.tgisinternal
   and not exists (select 1 from pg_depend d where d.classid = 'pg_trigger'::regclass and d.objid = t.oid and d.deptype = 'e');
select 'type|' || t.oid::regtype::text || '|' || t.typtype::text
       || coalesce(' ' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid), '')
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
 where t.typtype in ('e', 'd') and n.nspname not in ('pg_catalog', 'information_schema')
   and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e');
\if :v10
select 'policy|' || p.polrelid::regclass::text || ' ' || quote_ident(p.polname) || '|' || p.polcmd::text || ' permissive=' || p.polpermissive
  from pg_policy p;
\else
select 'policy|' || p.polrelid::regclass::text || ' ' || quote_ident(p.polname) || '|' || p.polcmd::text || ' permissive=true'
  from pg_policy p;
\endif
select 'rls|' || c.oid::regclass::text || '|' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p') and (c.relrowsecurity or c.relforcerowsecurity);
select 'schema|' || quote_ident(n.nspname) || '|' || pg_get_userbyid(n.nspowner)
  from pg_namespace n where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
   and not exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e');
select 'owner|' || c.relkind::text || ' ' || c.oid::regclass::text || '|' || pg_get_userbyid(c.relowner)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e');
select 'largeobjects|count|' || count(*) from pg_largeobject_metadata;
