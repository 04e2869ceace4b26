-- The cluster-wide part of the comparison: databases, roles, memberships and role settings.
-- psql variable target_user: the role the tool connects to the target as. Its own row, and the
-- memberships a non-superuser restoring role is granted automatically (PostgreSQL 16+), differ by design.
-- Output: one fact per line, "category<TAB>key<TAB>value", key and value escaped (backslash, tab,
-- newline and carriage return as \\ \t \n \r), so no name can break a line or a field. Names are
-- quoted alike on every major (see verify-inventory.sql), not by quote_ident, whose keywords vary.
set search_path = pg_catalog;
with facts(c, k, v) as (
  select 'database', case when datname ~ '^[a-z_][a-z0-9_]*$' then datname::text else '"' || replace(datname, '"', '""') || '"' end, pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype
    from pg_database where not datistemplate
  union all
  select 'role', case when rolname ~ '^[a-z_][a-z0-9_]*$' then rolname::text else '"' || replace(rolname, '"', '""') || '"' end, 'super=' || rolsuper || ' inherit=' || rolinherit || ' createrole=' || rolcreaterole
         || ' createdb=' || rolcreatedb || ' login=' || rolcanlogin || ' replication=' || rolreplication
         || ' bypassrls=' || rolbypassrls || ' connlimit=' || rolconnlimit
    from pg_roles where rolname !~ '^pg_' and rolname <> :'target_user'
  union all
  select 'membership', case when r.rolname ~ '^[a-z_][a-z0-9_]*$' then r.rolname::text else '"' || replace(r.rolname, '"', '""') || '"' end || ' -> ' || case when m.rolname ~ '^[a-z_][a-z0-9_]*$' then m.rolname::text else '"' || replace(m.rolname, '"', '""') || '"' end, ''
    from pg_auth_members a join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member
   where r.rolname !~ '^pg_' and r.rolname <> :'target_user' and m.rolname <> :'target_user'
  union all
  select 'role setting', coalesce(case when r.rolname ~ '^[a-z_][a-z0-9_]*$' then r.rolname::text else '"' || replace(r.rolname, '"', '""') || '"' end, '*') || ' in ' || coalesce(case when d.datname ~ '^[a-z_][a-z0-9_]*$' then d.datname::text else '"' || replace(d.datname, '"', '""') || '"' end, '*'), array_to_string(s.setconfig, ',')
    from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase
   where coalesce(r.rolname, '') <> :'target_user'
)
select f.c || E'\t' || (select string_agg(replace(replace(replace(replace(x, E'\\', E'\\\\'), E'\t', E'\\t'), E'\n', E'\\n'), E'\r', E'\\r'), E'\t' order by n)
                          from unnest(array[f.k, coalesce(f.v, '')]) with ordinality u(x, n))
  from facts f;
