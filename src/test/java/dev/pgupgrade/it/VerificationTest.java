package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.local.LocalUpgradeDriver;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Restores that "succeed" while data was lost: each case damages the target right after Restoring,
 * behind the tool's back, and Verifying must catch it before any app is pointed at the target.
 */
class VerificationTest {
    static PostgresServer source;

    @TempDir
    Path tmp;

    @BeforeAll
    static void source() {
        source = PostgresServer.start("13");
        source.psqlFile(Project.richDataset());
        // large enough (> 1 MiB) for the pipeline's copy to prove it in flight (Restore.PROOF_MIN_BYTES_DEFAULT)
        try {
            source.execute("analytics-db", "create table readings (id int primary key, at timestamptz, value float8, note text, tag text)",
                    "insert into readings select g, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second', g / 7.0, 'reading ' || g, 'tag ' || g % 10"
                            + " from generate_series(1, 40000) g");
            // Statistics now, so autovacuum's ANALYZE (which assigns a transaction id) does not come during
            // a copy and make the pipeline's proofs be set aside, as they must be then.
            for (String database : java.util.List.of("postgres", "shop", "legacy", "analytics-db")) {
                source.execute(database, "vacuum analyze");
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void stop() {
        source.close();
    }

    /** What goes wrong, where (database; SQL run on the target after the restore), and the mismatch it must cause. */
    static Stream<Arguments> silentLosses() {
        return Stream.of(
                Arguments.of("rows vanish", "shop", "delete from store.orders where id % 97 = 0", "shop: rows store.orders: source 3000"),
                Arguments.of("a value changes, row count equal", "shop", "update store.customers set name = name || '.' where id = 7",
                        "shop: rows store.customers: source 500 sum="),
                Arguments.of("a value changes in a table with a column named t", "legacy", "update notes set body = 'cafe creme' where id = 1",
                        "legacy: rows public.notes: source 4 sum="),
                Arguments.of("a float changes past its 15th digit", "analytics-db", "update metrics set value = value * (1 + 3e-16) where value = 1 / 3.0",
                        "analytics-db: rows public.metrics: source 1000 sum="),
                Arguments.of("an extra row appears", "legacy", "insert into notes (body) values ('ghost')", "legacy: rows public.notes: source 4"),
                Arguments.of("an index is left out", "shop", "drop index store.orders_open_idx", "shop: relation i store.orders_open_idx: missing on the target"),
                Arguments.of("a view is left out", "shop", "drop view store.customer_totals", "shop: relation v store.customer_totals: missing on the target"),
                Arguments.of("a trigger function is left out", "shop", "drop function store.stamp_order() cascade",
                        "shop: function store.stamp_order(): missing on the target"),
                Arguments.of("a sequence is behind", "shop", "select setval('store.invoice_no', 1000)", "shop: sequence store.invoice_no: source 1028"),
                Arguments.of("a large object is gone", "shop", "select lo_unlink(max(oid)) from pg_largeobject_metadata", "shop: largeobjects count: source 3, target 2"),
                Arguments.of("a policy is gone", "shop", "drop policy orders_visible_to_owner on store.orders",
                        "shop: policy store.orders orders_visible_to_owner: missing on the target"),
                Arguments.of("a column changes type", "analytics-db", "alter table metrics alter column value type real",
                        "analytics-db: column public.metrics.value: source double precision"),
                Arguments.of("a membership is gone", "postgres", "revoke reporting from app_reader", "membership reporting -> app_reader: missing on the target"),
                Arguments.of("a database is gone", "postgres", "drop database legacy", "database legacy: missing on the target"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("silentLosses")
    void silentDataLossIsCaughtBeforeTheAppsUseTheTarget(String what, String database, String sabotage, String expected) throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            caughtInVerifying(runWithSabotage(target, "", database, sabotage), what, expected);
        }
    }

    /**
     * The pipeline strategy proves the tables it can while it copies them (pipeline.sh), and Verifying
     * then only asks the target whether each is still as the copy left it: damage done to the target
     * after the copy must still be caught, by content, and named as before.
     */
    static Stream<Arguments> silentLossesAfterAPipelineCopy() {
        return Stream.of(
                Arguments.of("rows vanish from a proven table", "analytics-db", "delete from readings where id % 7 = 0",
                        "analytics-db: rows public.readings: source 40000"),
                Arguments.of("a value changes in a proven table, row count equal", "analytics-db", "update readings set note = 'cafe creme' where id = 1",
                        "analytics-db: rows public.readings: source 40000 sum="),
                Arguments.of("a float changes past its 15th digit in a proven table", "analytics-db",
                        "update readings set value = value * (1 + 3e-16) where id = 3", "analytics-db: rows public.readings: source 40000 sum="),
                Arguments.of("an extra row appears in a proven table", "analytics-db", "insert into readings values (40001, now(), 1, 'ghost')",
                        "analytics-db: rows public.readings: source 40000"),
                Arguments.of("two columns of a proven table renamed into each other, no row rewritten", "analytics-db",
                        "alter table readings rename column note to swap; alter table readings rename column tag to note;"
                                + " alter table readings rename column swap to tag", "analytics-db: rows public.readings: source 40000 sum="),
                Arguments.of("a value changes in a small table with a column named t", "legacy", "update notes set body = 'cafe creme' where id = 1",
                        "legacy: rows public.notes: source 4 sum="),
                Arguments.of("rows vanish from a table copied as text", "shop", "delete from store.orders where id % 97 = 0", "shop: rows store.orders: source 3000"));
    }

    @ParameterizedTest(name = "pipeline: {0}")
    @MethodSource("silentLossesAfterAPipelineCopy")
    void silentDataLossAfterAPipelineCopyIsCaught(String what, String database, String sabotage, String expected) throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            StepStatus verifying = caughtInVerifying(runWithSabotage(target, "  transfer: {strategy: pipeline}\n", database, sabotage), what, expected);
            if (what.contains("proven")) {
                assertTrue(verifying.getDetails().stream().anyMatch(d -> d.startsWith(database + ": a proof of the copy does not hold (public.readings: ")),
                        what + ": " + verifying.getDetails());
            }
        }
    }

    /** Undamaged, the pipeline's proofs stand for the content of the tables they cover: no second read of them. */
    @Test
    void thePipelinesCopyProvesTheTablesItCopiedInBinary() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            PostgresUpgrade done = runWithSabotage(target, "  transfer: {strategy: pipeline}\n", "postgres", "select 1");

            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus().getMessage());
            StepStatus verifying = done.getStatus().getSteps().stream().filter(s -> s.getPhase() == Phase.Verifying).findFirst().orElseThrow();
            // readings (3 MB) is proven; metrics and cache are binary too but smaller than a proof is worth
            assertTrue(verifying.getDetails().contains(
                    "analytics-db: 3 tables (3 with content checksums, 1 of them proven during the copy), 0 sequences, 0 large objects: 0 mismatches"),
                    verifying.getDetails().toString());
            assertTrue(verifying.getDetails().stream().anyMatch(d -> d.startsWith("shop: 7 tables (7 with content checksums, 0 of them proven")),
                    verifying.getDetails().toString());
        }
    }

    /**
     * A write that slips past the freeze into the source after the copy read its table: the proofs no
     * longer describe the source (a transaction id was assigned there), so every table is read again on
     * both servers, and the row the target lacks is found.
     */
    @Test
    void aWriteToTheSourceAfterThePipelinesCopyIsFound() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            PostgresUpgrade done;
            try {
                done = runWithSabotage(source, target, "  transfer: {strategy: pipeline}\n", "analytics-db",
                        "update readings set note = note || '!' where id = 1");
            } finally {
                source.execute("analytics-db", "update readings set note = left(note, -1) where id = 1");
            }
            assertEquals(Phase.Failed, done.getStatus().getPhase(), done.getStatus().getMessage());
            StepStatus verifying = done.getStatus().getSteps().stream().filter(s -> s.getPhase() == Phase.Verifying).findFirst().orElseThrow();
            assertTrue(verifying.getErrors().stream().anyMatch(e -> e.startsWith("analytics-db: rows public.readings: source 40000 sum=")),
                    verifying.getErrors().toString());
            assertTrue(verifying.getDetails().stream().anyMatch(d -> d.startsWith("the source assigned transaction ids during the copy")),
                    verifying.getDetails().toString());
        }
    }

    /**
     * Before 12, floats printed 17 digits at extra_float_digits 3 and catalogs lacked columns the
     * inventory reads (attgenerated, prokind): an 11 source must verify clean against 17.
     */
    @Test
    void aSourceOlderThanTwelveVerifiesWithoutFalseAlarms() throws Exception {
        try (PostgresServer source11 = PostgresServer.start("11"); PostgresServer target = PostgresServer.start("17")) {
            source11.execute("postgres",
                    "create table measurements (id int generated always as identity primary key, x float8, y float4, r real[], m money, note text)",
                    "insert into measurements (x, y, r, m, note) select g / 3.0, g / 7.0, array[g / 11.0, g / 13.0], g * 1.01, 'n' || g from generate_series(1, 500) g",
                    "create function twice(int) returns int language sql immutable as 'select $1 * 2'",
                    "create aggregate total(int) (sfunc = int4pl, stype = int)",
                    "alter table measurements enable row level security",
                    "create policy everyone on measurements using (true)");
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source11.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("from-eleven", "17", "");
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(0, run.exitCode(), run::toString);
            assertTrue(run.stderr().contains("Verifying    done"), run.stderr());
            assertTrue(run.stderr().contains("target matches the source"), run.stderr());
        }
    }

    /**
     * Differences a restore legitimately makes are recognised by what they are, not by loosening the
     * comparison: a materialized view stale on the source is refreshed by every restore (its rows are
     * then its query's, which Verifying computes on the source to tell), and the foreign keys that
     * partitions inherit get names of the restore's choosing (compared by the key they were cloned from).
     */
    @Test
    void whatARestoreLegitimatelyChangesIsNoMismatch() throws Exception {
        try (PostgresServer source15 = PostgresServer.start("15"); PostgresServer target = PostgresServer.start("17")) {
            source15.execute("postgres",
                    "create table sales (id int primary key, amount numeric)",
                    "insert into sales select g, g * 1.5 from generate_series(1, 100) g",
                    "create materialized view sales_total as select count(*) as n, sum(amount) as total from sales",
                    "insert into sales values (101, 7)",  // the view is stale now
                    "create table accounts (id int primary key)",
                    "insert into accounts select generate_series(1, 5)",
                    "create table ledger (id int, account int, primary key (id, account)) partition by range (id)",
                    "create table ledger_a partition of ledger for values from (0) to (50)",
                    "create table ledger_b partition of ledger for values from (50) to (100)",
                    "alter table ledger add constraint ledger_account_fk foreign key (account) references accounts",
                    "insert into ledger select g, 1 + g % 5 from generate_series(0, 99) g");
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source15.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("legitimate", "17", "  analyze: {enabled: false}\n");
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(0, run.exitCode(), run::toString);
            var verifying = DirectUpgradeTest.step(run.resource().path("status"), "Verifying");
            assertTrue(verifying.path("message").asText().startsWith("target matches the source"), verifying::toString);
            assertTrue(verifying.path("details").toString().contains("materialized view public.sales_total was stale on the source; the restore refreshed it"),
                    verifying::toString);
        }
    }

    @Test
    void countsModeChecksRowCountsOnly() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            PostgresUpgrade done = runWithSabotage(target, "  verification: {mode: counts}\n", "shop",
                    "update store.customers set name = name || '.' where id = 7");
            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), "a changed value with equal counts passes in counts mode");
        }
    }

    @Test
    void warnModeReportsAndGoesOn() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            PostgresUpgrade done = runWithSabotage(target, "  verification: {onMismatch: warn}\n", "shop", "delete from store.orders where id = 1");
            assertEquals(Phase.Succeeded, done.getStatus().getPhase());
            StepStatus verifying = done.getStatus().getSteps().stream().filter(s -> s.getPhase() == Phase.Verifying).findFirst().orElseThrow();
            assertTrue(verifying.getMessage().startsWith("WARNING: 1 mismatch"), verifying.getMessage());
            assertTrue(verifying.getErrors().get(0).startsWith("shop: rows store.orders: source 3000"), verifying.getErrors().toString());
        }
    }

    /** Asserts the upgrade failed in Verifying with a mismatch starting with {@code expected}, no app repointed; returns Verifying's step. */
    private static StepStatus caughtInVerifying(PostgresUpgrade done, String what, String expected) {
        assertEquals(Phase.Failed, done.getStatus().getPhase(), what + ": " + done.getStatus().getMessage());
        assertEquals(Phase.Verifying, done.getStatus().getFailedPhase());
        StepStatus verifying = done.getStatus().getSteps().stream().filter(s -> s.getPhase() == Phase.Verifying).findFirst().orElseThrow();
        assertTrue(verifying.getErrors().stream().anyMatch(e -> e.startsWith(expected)), what + ": " + verifying.getErrors());
        assertTrue(done.getStatus().getMessage().contains("the target does not match the source"), done.getStatus().getMessage());
        assertTrue(done.getStatus().getSteps().stream().noneMatch(s -> s.getPhase() == Phase.Repointing), "no app may have been repointed");
        return verifying;
    }

    private PostgresUpgrade runWithSabotage(PostgresServer target, String extraSpec, String database, String sabotage) throws Exception {
        return runWithSabotage(target, target, extraSpec, database, sabotage);
    }

    /** Upgrades the class's source into {@code target}, running {@code sabotage} on {@code damaged} right after Restoring. */
    private PostgresUpgrade runWithSabotage(PostgresServer damaged, PostgresServer target, String extraSpec, String database, String sabotage)
            throws Exception {
        UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source.url("postgres"))
                .secret("target-db", "url", target.url("postgres"))
                // only Verifying is under test here: no SchemaCheck, no Analyzing
                .directManifest("verified", "17", extraSpec + "  schemaCheck: {enabled: false}\n  analyze: {enabled: false}\n");
        LocalUpgradeDriver.Listener saboteur = new LocalUpgradeDriver.Listener() {
            @Override
            public void phaseEnded(dev.pgupgrade.api.PostgresUpgradeStatus before, dev.pgupgrade.api.PostgresUpgradeStatus after) {
                if (before.getPhase() == Phase.Restoring && after.getPhase() == Phase.Verifying) {
                    try {
                        damaged.execute(database, sabotage);
                    } catch (SQLException e) {
                        throw new IllegalStateException("the sabotage itself failed", e);
                    }
                }
            }
        };
        return ws.drive("17", ws.state()::save, saboteur).run();
    }
}
