-- The tables pipeline.sh copies from the database connected to (the source), largest first. Run with
-- psql -A -t -z -0: each field NUL-terminated, since names may hold tabs and newlines. Per table: its
-- oid, its name quoted for SQL, its size, binary|text, and its column list quoted for SQL in the
-- source's order, without generated columns (the target computes them, COPY FROM refuses them).
-- Every identifier is quoted: a word that is a keyword only on the target (majors add keywords) must
-- still read as a name. COPY names the columns on both sides: a restore may legitimately order a
-- table's columns differently (inheritance children, typed tables), and rows copied by position
-- would load into the wrong columns.
--
-- Binary COPY skips printing and parsing every value (about a tenth of the copy's time), but a binary
-- row is only as portable as each type's send/receive functions: it is used for a table only when
-- every column is one of the built-in types below (or a domain over one, or an array of one), whose
-- binary forms have not changed across the majors pg_dump reads, and only when the source stores
-- timestamps as integers (always, from 10 on). Every other table is copied as text.
--
-- Last field: whether the copy proves the table (pipeline.sh, "proof"): yes for a logged binary table
-- whose columns are all copied (none generated, which the target computes anew), none an array (see
-- below), of :min_proof_bytes to :max_proof_bytes (-1: none is; a smaller table costs Verifying less
-- than a proof costs the copy). Unlogged tables are left out: a crash of the source empties them
-- without a transaction, which the proof's precondition (pipeline.sh) would not see. Its binary rows read back from the target are then the very bytes
-- the source sent, so hashing both streams compares every row's content, column by column.
\ir user-relations.sql
set search_path = pg_catalog;
select current_setting('server_version_num')::int >= 120000 as has_generated \gset
select oid, name, size, format, columns,
       case when format = 'binary' and not generated and not arrays and persistence = 'p'
                 and size between :min_proof_bytes and :max_proof_bytes then 'yes' else 'no' end
  from (
select c.oid, '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' as name, pg_table_size(c.oid) as size,
       case when current_setting('integer_datetimes') = 'on' and not exists (
              select 1 from pg_attribute a join pg_type t on t.oid = a.atttypid
                join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
                join pg_type e on e.oid = case when b.typcategory = 'A' then b.typelem else b.oid end
                join pg_namespace en on en.oid = e.typnamespace
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                and not (en.nspname = 'pg_catalog' and e.typtype = 'b' and e.typname in ('bool', 'int2', 'int4', 'int8', 'float4', 'float8',
                  'numeric', 'money', 'oid', 'text', 'varchar', 'bpchar', 'name', 'char', 'bytea', 'date', 'time', 'timetz', 'timestamp',
                  'timestamptz', 'interval', 'uuid', 'json', 'jsonb', 'inet', 'cidr')))
            then 'binary' else 'text' end as format,
       coalesce((select string_agg('"' || replace(a.attname, '"', '""') || '"', ', ' order by a.attnum) from pg_attribute a
                  where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
\if :has_generated
                    and a.attgenerated = ''
\endif
                ), '') as columns,
\if :has_generated
       exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated <> '')
\else
       false
\endif
         as generated,
       -- an array's binary form says whether it has a null bitmap, which an update can leave behind
       -- with no null in it and a load never does: equal arrays may send different bytes
       exists (select 1 from pg_attribute a join pg_type t on t.oid = a.atttypid
                 join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
                where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and b.typcategory = 'A') as arrays,
       c.relpersistence as persistence
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and c.relpersistence <> 't' and :user_relation
) tables
 order by size desc;
