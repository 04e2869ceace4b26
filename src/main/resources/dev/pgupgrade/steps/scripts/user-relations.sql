-- What "the user's relations" means, for every query that walks them (\ir'd by verify-inventory.sql,
-- verify-queries.sql, pipeline-tables.sql, dump-size.sql): a relation (alias c, joined to its
-- namespace as n) outside the system schemas and the temporary ones, that no extension owns. One
-- definition, so the copy, the size estimate and the proof never disagree on what a user table is.
\set user_relation '(n.nspname not in (''pg_catalog'', ''information_schema'', ''pg_toast'') and n.nspname !~ ''^pg_(toast_)?temp'' and not exists (select 1 from pg_catalog.pg_depend d where d.classid = ''pg_catalog.pg_class''::pg_catalog.regclass and d.objid = c.oid and d.deptype = ''e''))'
