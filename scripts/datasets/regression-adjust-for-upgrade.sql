-- Adjusts the "regression" database that scripts/regression-corpus.sh builds (PostgreSQL 15's
-- regression suite) so that its dump restores without an error into PostgreSQL 17 and 18, as
-- PostgreSQL's AdjustUpgrade.pm does before its cross-version pg_upgrade tests. Run it on the SOURCE
-- (15), in database regression, before dumping:
--   psql -X -v ON_ERROR_STOP=1 -d regression -f scripts/datasets/regression-adjust-for-upgrade.sql
--
-- What it is about:
-- * 24 C functions live in the suite's test modules regress.so, refint.so and autoinc.so, built for 15
--   (CREATE FUNCTION ... AS '<cache>/lib/regress.so'). A 17 or 18 server cannot load them: refint.so and
--   autoinc.so fail the magic block ("incompatible library ... version mismatch"), regress.so does not
--   even link ("undefined symbol: pg_char_to_encoding"). pg_upgrade's own tests repoint them to the new
--   version's regress.so; there is none here (no 17/18 headers nor sources on Debian 12), so they go,
--   and with them what cannot exist without them (each named below; CASCADE only where a type takes its
--   own I/O functions along, so that anything new depending on them stops this script, not vanishes).
-- * Two tables AdjustUpgrade.pm drops for sources 12 to 15 ("stuff not supported from release 16").
--
-- Without this, restoring `pg_dumpall --schema-only` of the 15 cluster into 17 or 18 (psql -f) gives
-- 64 errors besides the usual 'role "postgres" already exists' (the full dump: 77, the data of the
-- missing tables adding its own); with it, that one only, on 17.6 and 18.1 alike, schema and data.
-- All in one transaction: all or nothing.

BEGIN;

-- 16+ refuses a child table column with a generation expression whose parent column has none
-- ("child column "b" specifies generation expression"): the suite's generated_stored test makes two.
-- AdjustUpgrade.pm drops them for 12..15 sources too.
DROP TABLE public.gtest_normal_child;
DROP TABLE public.gtest_normal_child2;

-- Not needed here, so not done: AdjustUpgrade.pm also runs
--   ALTER TABLE public.tab_core_types DROP COLUMN aclitem;
-- because aclitem's on-disk format changed in 16 and pg_upgrade (which copies files) refuses aclitem
-- columns in user tables. A dump/restore carries it as text ('postgres=UC/postgres'), which 17 and
-- 18 read back unchanged.

-- The view calls interpt_pp (regress.so): it cannot be created on 17/18.
DROP VIEW public.iexit;

-- Type city_budget has its input/output functions in regress.so (int44in, int44out): no type on
-- 17/18, so neither the column of that type; table city keeps its other columns and rows.
ALTER TABLE public.city DROP COLUMN budget;
-- A base type and its I/O functions depend on each other: DROP TYPE needs CASCADE, which reaches
-- exactly int44in and int44out now that the column is gone.
DROP TYPE public.city_budget CASCADE;

-- Type widget likewise (widget_in, widget_out), with the operator <% that tests a point against a
-- widget (pt_in_widget, regress.so) and the shell operators >% and >=% its COMMUTATOR and NEGATOR
-- made (pg_dump does not dump shells, but they depend on the type).
DROP OPERATOR public.<% (point, public.widget);
DROP OPERATOR public.>% (public.widget, point);
DROP OPERATOR public.>=% (point, public.widget);
DROP FUNCTION public.pt_in_widget(point, public.widget);
DROP TYPE public.widget CASCADE; -- reaches exactly widget_in and widget_out, as above

-- my_int_eq and my_gen_series are built-in functions (LANGUAGE internal) whose planner SUPPORT
-- function, test_support_func, is in regress.so. They can stay without it: re-created, same
-- definition as the suite's misc_functions test, minus SUPPORT (CREATE OR REPLACE resets it).
CREATE OR REPLACE FUNCTION public.my_int_eq(integer, integer) RETURNS boolean
    LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE
    AS $$int4eq$$;
CREATE OR REPLACE FUNCTION public.my_gen_series(integer, integer) RETURNS SETOF integer
    LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE
    AS $$generate_series_int4$$;

-- The remaining C functions of the test modules, now used by nothing. (int44in/out and
-- widget_in/out went with their types.) Each file and why it cannot load is said at the top.
DROP FUNCTION public.autoinc();                                        -- autoinc.so
DROP FUNCTION public.check_foreign_key();                              -- refint.so
DROP FUNCTION public.check_primary_key();                              -- refint.so
DROP FUNCTION public.binary_coercible(oid, oid);                       -- regress.so, from here on
DROP FUNCTION public.get_columns_length(oid[]);
DROP FUNCTION public.interpt_pp(path, path);
DROP FUNCTION public.make_tuple_indirect(record);
DROP FUNCTION public.overpaid(public.emp);
DROP FUNCTION public.reverse_name(name);
DROP FUNCTION public.set_ttdummy(integer);
DROP FUNCTION public.test_atomic_ops();
DROP FUNCTION public.test_canonicalize_path(text);
DROP FUNCTION public.test_enc_conversion(bytea, name, name, boolean);
DROP FUNCTION public.test_enc_setup();
DROP FUNCTION public.test_fdw_handler();
DROP FUNCTION public.test_opclass_options_func(internal);
DROP FUNCTION public.test_support_func(internal);
DROP FUNCTION public.trigger_return_old();
DROP FUNCTION public.ttdummy();

-- Nothing may be left pointing at a module outside the server's own $libdir.
DO $$
DECLARE
  left_over text;
BEGIN
  SELECT string_agg(p.oid::regprocedure::text || ' in ' || p.probin, ', ') INTO left_over
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
   WHERE l.lanname = 'c' AND p.probin NOT LIKE '$libdir/%';
  IF left_over IS NOT NULL THEN
    RAISE EXCEPTION 'C functions outside $libdir remain: %', left_over;
  END IF;
END $$;

COMMIT;
