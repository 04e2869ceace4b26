-- The fingerprint of one table's columns on the server connected to, for the pipeline's proofs
-- (pipeline.sh, right after a table's copy; verify-queries.sql asks the same of the target in
-- Verifying): every column slot in order, with its name, type, type modifier and whether it was
-- dropped. A change that rewrites no row but changes what the rows mean -- columns renamed into each
-- other, a column dropped and added again with a default -- changes it.
-- psql variable: tbl, the table's name quoted for SQL. verify-queries.sql inlines the same expression.
select md5(string_agg(a.attnum || ' ' || a.attname || ' ' || a.atttypid || ' ' || a.atttypmod || ' ' || a.attisdropped, ',' order by a.attnum))
  from pg_catalog.pg_attribute a where a.attrelid = :'tbl'::pg_catalog.regclass and a.attnum > 0;
