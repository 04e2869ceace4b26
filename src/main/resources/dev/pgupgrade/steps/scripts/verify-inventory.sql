-- One database's inventory as "category<TAB>key<TAB>value" lines (key and value escaped as in
-- verify-cluster.sql), the same on every major for the same content. Run on the source and on the
-- target; verify.sh compares the two.
-- Names in keys are quoted the same way on every major: bare when plain lower-case letters, digits
-- and underscores, else double-quoted. (quote_ident, format %I and ::regclass quote the keywords of
-- the server they run on, and majors add keywords: a column named json prints "json" from 16 on.)
-- Left out on purpose, because they differ naturally between majors: extension versions (the target
-- installs its own), default and policy expressions (printed differently), NOT NULL constraints
-- (catalogued as constraints since 18; compared per column instead), ACL letters (new privileges).
-- Told apart by what they are rather than by their names, because a restore names them anew:
-- constraints and triggers that partitions inherit from their partitioned table (pg_dump does not
-- dump these clones; the restore creates them, under names of its own) are keyed by the constraint
-- or trigger they were cloned from.
\ir user-relations.sql
set search_path = pg_catalog;
-- Catalog columns that older majors lack read as the value they would have there (no identity
-- before 10, no generated columns before 12, prokind and conparentid from 11, tgparentid from 13),
-- so old and new answer alike.
select current_setting('server_version_num')::int >= 100000 as v10,
       current_setting('server_version_num')::int >= 110000 as v11,
       current_setting('server_version_num')::int >= 120000 as v12,
       current_setting('server_version_num')::int >= 130000 as v13 \gset
with recursive
-- every constraint with the one it was cloned from at the top of its chain (itself when it is no clone)
constraint_roots(oid, root) as (
  select c.oid, c.oid from pg_constraint c
\if :v11
   where c.conparentid = 0
  union all
  select c.oid, r.root from pg_constraint c join constraint_roots r on c.conparentid = r.oid
\endif
),
-- every relation's schema-qualified name, quoted alike on every major
relation_names as (
  select c.oid, c.relkind, n.nspname, case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname::text else '"' || replace(n.nspname, '"', '""') || '"' end || '.' || case when c.relname ~ '^[a-z_][a-z0-9_]*$' then c.relname::text else '"' || replace(c.relname, '"', '""') || '"' end as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
),
user_relations as (
  select r.* from relation_names r join pg_class c on c.oid = r.oid join pg_namespace n on n.oid = c.relnamespace
   where :user_relation
),
facts(c, k, v) as (
  select 'extension', extname::text, '' from pg_extension
  union all
  select 'relation', u.relkind::text || ' ' || u.name, '' from user_relations u
   where u.relkind in ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f', 'c')
  union all
  select 'column', u.name || '.' || case when a.attname ~ '^[a-z_][a-z0-9_]*$' then a.attname::text else '"' || replace(a.attname, '"', '""') || '"' end,
         format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
\if :v12
         || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
\elif :v10
         || ' identity=' || a.attidentity::text || ' generated='
\else
         || ' identity= generated='
\endif
    from pg_attribute a join user_relations u on u.oid = a.attrelid
   where a.attnum > 0 and not a.attisdropped and u.relkind in ('r', 'p', 'v', 'm', 'f')
  union all
  select 'constraint', t.name || ' '
         || case when r.root = c.oid then case when c.conname ~ '^[a-z_][a-z0-9_]*$' then c.conname::text else '"' || replace(c.conname, '"', '""') || '"' end
                 else '(cloned from ' || pt.name || ' ' || case when p.conname ~ '^[a-z_][a-z0-9_]*$' then p.conname::text else '"' || replace(p.conname, '"', '""') || '"' end || ')' end
         || coalesce(' -> ' || ref.name, ''),
         c.contype::text
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    join relation_names t on t.oid = c.conrelid
    join constraint_roots r on r.oid = c.oid join pg_constraint p on p.oid = r.root join relation_names pt on pt.oid = p.conrelid
    left join relation_names ref on ref.oid = c.confrelid
   where c.conrelid <> 0 and c.contype <> 'n' and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
  union all
  select 'function', case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname::text else '"' || replace(n.nspname, '"', '""') || '"' end || '.' || case when p.proname ~ '^[a-z_][a-z0-9_]*$' then p.proname::text else '"' || replace(p.proname, '"', '""') || '"' end || '(' || oidvectortypes(p.proargtypes) || ')',
\if :v11
         p.prokind::text
\else
         case when p.proisagg then 'a' when p.proiswindow then 'w' else 'f' end
\endif
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast_)?temp'
     and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  union all
  -- a partition's copy of its parent's trigger is the parent's trigger: internal before 13, a clone from 13 on
  select 'trigger', r.name || ' ' || case when t.tgname ~ '^[a-z_][a-z0-9_]*$' then t.tgname::text else '"' || replace(t.tgname, '"', '""') || '"' end, t.tgenabled::text
    from pg_trigger t join relation_names r on r.oid = t.tgrelid where not t.tgisinternal
\if :v13
     and t.tgparentid = 0
\endif
     and not exists (select 1 from pg_depend d where d.classid = 'pg_trigger'::regclass and d.objid = t.oid and d.deptype = 'e')
  union all
  select 'type', case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname::text else '"' || replace(n.nspname, '"', '""') || '"' end || '.' || case when t.typname ~ '^[a-z_][a-z0-9_]*$' then t.typname::text else '"' || replace(t.typname, '"', '""') || '"' end, t.typtype::text
         || coalesce(' ' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid), '')
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where t.typtype in ('e', 'd') and n.nspname not in ('pg_catalog', 'information_schema')
     and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e')
  union all
  select 'policy', r.name || ' ' || case when p.polname ~ '^[a-z_][a-z0-9_]*$' then p.polname::text else '"' || replace(p.polname, '"', '""') || '"' end,
\if :v10
         p.polcmd::text || ' permissive=' || p.polpermissive
\else
         p.polcmd::text || ' permissive=true'
\endif
    from pg_policy p join relation_names r on r.oid = p.polrelid
  union all
  select 'rls', r.name, c.relrowsecurity || ' force=' || c.relforcerowsecurity
    from pg_class c join relation_names r on r.oid = c.oid
   where c.relkind in ('r', 'p') and (c.relrowsecurity or c.relforcerowsecurity)
  union all
  select 'schema', case when n.nspname ~ '^[a-z_][a-z0-9_]*$' then n.nspname::text else '"' || replace(n.nspname, '"', '""') || '"' end, pg_get_userbyid(n.nspowner)::text
    from pg_namespace n where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
     and not exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e')
  union all
  select 'owner', u.relkind::text || ' ' || u.name, pg_get_userbyid(c.relowner)::text
    from pg_class c join user_relations u on u.oid = c.oid
   where u.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
  union all
  select 'largeobjects', 'count', count(*)::text from pg_largeobject_metadata
)
select f.c || E'\t' || (select string_agg(replace(replace(replace(replace(x, E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r'), E'\t' order by n)
                          from unnest(array[f.k, coalesce(f.v, '')]) with ordinality u(x, n))
  from facts f;
