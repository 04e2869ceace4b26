-- What the source database connected to holds that a dump and restore cannot carry: pg_dump skips
-- it without a word, so the target would silently lack it. Run by SchemaCheck on every database it
-- can enter; the engine refuses (or, when the spec says so, warns) naming each one (UncarriedObjects).
--   * objects a user created in the system schemas (pg_catalog, information_schema): pg_dump never
--     dumps those schemas;
--   * members a user added to a built-in operator family (ALTER OPERATOR FAMILY integer_ops USING
--     btree ADD ...): pg_dump dumps a family with its members, and never a built-in family.
-- An object is the user's when it was created after initdb (OID >= 16384) and no extension owns it.
-- One JSON object per line {"database", "kind", "name"}, at most 20 per kind and database.
set search_path = pg_catalog;
select format($q$select json_build_object('database', current_database(), 'kind', %L,
                                           'name', pg_catalog.pg_describe_object(%L::regclass, x.oid, 0) || ' in schema ' || n.nspname)::text
                   from pg_catalog.%I x join pg_catalog.pg_namespace n on n.oid = x.%I
                  where x.oid >= 16384 and n.nspname in ('pg_catalog', 'information_schema') %s
                    and not exists (select 1 from pg_catalog.pg_depend d where d.classid = %L::regclass and d.objid = x.oid and d.deptype = 'e')
                  order by x.oid limit 20$q$,
              'in a system schema', 'pg_catalog.' || catalog, catalog, namespace_column, condition, 'pg_catalog.' || catalog)
  from (values
    ('pg_class', 'relnamespace', $c$and x.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'c')$c$),
    ('pg_proc', 'pronamespace', ''),
    ('pg_type', 'typnamespace', $c$and x.typrelid = 0 and not exists (select 1 from pg_catalog.pg_type e where e.typarray = x.oid)$c$),
    ('pg_operator', 'oprnamespace', ''),
    ('pg_opclass', 'opcnamespace', ''),
    ('pg_opfamily', 'opfnamespace', ''),
    ('pg_collation', 'collnamespace', ''),
    ('pg_conversion', 'connamespace', ''),
    ('pg_ts_config', 'cfgnamespace', ''),
    ('pg_ts_dict', 'dictnamespace', ''),
    ('pg_ts_parser', 'prsnamespace', ''),
    ('pg_ts_template', 'tmplnamespace', ''),
    ('pg_statistic_ext', 'stxnamespace', '')
  ) v(catalog, namespace_column, condition)
 where to_regclass('pg_catalog.' || catalog) is not null \gexec
-- members added by hand to a built-in operator family: pg_dump dumps a family with its members, and
-- never a built-in family. (An extension's families have the same blind spot, but a member the user
-- added cannot be told from one the extension's script added: not checked.) A member whose operator
-- or function an extension owns is the extension's doing.
select json_build_object('database', current_database(), 'kind', 'added to a built-in operator family',
                         'name', pg_describe_object('pg_amop'::regclass, m.oid, 0))::text
  from pg_amop m
 where m.oid >= 16384 and m.amopfamily < 16384
   and not exists (select 1 from pg_depend d where d.classid = 'pg_operator'::regclass and d.objid = m.amopopr and d.deptype = 'e')
 order by m.oid limit 20;
select json_build_object('database', current_database(), 'kind', 'added to a built-in operator family',
                         'name', pg_describe_object('pg_amproc'::regclass, m.oid, 0))::text
  from pg_amproc m
 where m.oid >= 16384 and m.amprocfamily < 16384
   and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = m.amproc and d.deptype = 'e')
 order by m.oid limit 20;
