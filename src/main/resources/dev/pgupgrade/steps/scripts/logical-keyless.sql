-- What "a table logical replication cannot UPDATE or DELETE in" means, for every query that asks (\ir'd
-- by logical-check.sql and logical-identity.sql): a permanent table (alias c) with no usable replica
-- identity -- REPLICA IDENTITY NOTHING, DEFAULT without a primary key, or an index identity whose
-- index is gone. One definition, so the check and the fix never disagree.
\set keyless '(c.relpersistence = ''p'' and (c.relreplident = ''n'' or (c.relreplident = ''d'' and not exists (select 1 from pg_catalog.pg_index i where i.indrelid = c.oid and i.indisprimary)) or (c.relreplident = ''i'' and not exists (select 1 from pg_catalog.pg_index i where i.indrelid = c.oid and i.indisreplident))))'
