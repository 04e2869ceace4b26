-- The cluster-wide part of the comparison: databases, roles, memberships and role settings.
-- psql variable target_user: the role the tool connects to the target as. Its own row, and the
-- memberships a non-superuser restoring role is granted automatically (PostgreSQL 16+), differ by design.
set search_path = pg_catalog;
select 'database|' || quote_ident(datname) || '|' || pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype
  from pg_database where not datistemplate;
select 'role|' || quote_ident(rolname) || '|super=' || rolsuper || ' inherit=' || rolinherit || ' createrole=' || rolcreaterole
       || ' createdb=' || rolcreatedb || ' login=' || rolcanlogin || ' replication=' || rolreplication
       || ' bypassrls=' || rolbypassrls || ' connlimit=' || rolconnlimit
  from pg_roles where rolname !~ '^pg_' and rolname <> :'target_user';
select 'membership|' || quote_ident(r.rolname) || ' -> ' || quote_ident(m.rolname)
  from pg_auth_members a join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member
 where r.rolname !~ '^pg_' and r.rolname <> :'target_user' and m.rolname <> :'target_user';
select 'role setting|' || coalesce(quote_ident(r.rolname), '*') || ' in ' || coalesce(quote_ident(d.datname), '*') || '|' || array_to_string(s.setconfig, ',')
  from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase
 where coalesce(r.rolname, '') <> :'target_user';
