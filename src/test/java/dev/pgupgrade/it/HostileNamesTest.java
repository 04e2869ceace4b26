package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.cli.ExitCodes;
import dev.pgupgrade.local.LocalUpgradeDriver;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.HostileNames;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Names are data: a source whose databases, schemas, tables, columns, roles and sequences carry every
 * kind of hostile name (see {@link HostileNames}) goes through every strategy and both verification
 * modes to an identical target, nothing smuggled in a name runs, and damage done to the target behind
 * the tool's back is named, table by table, whatever the table is called.
 */
class HostileNamesTest {
    static PostgresServer source;
    static HostileNames names;
    static ClusterSnapshot before;

    @TempDir
    Path tmp;

    @BeforeAll
    static void source() throws Exception {
        source = PostgresServer.start("14");
        names = HostileNames.create(source);
        before = ClusterSnapshot.of(source);
    }

    @AfterAll
    static void stop() throws Exception {
        source.close();
        names.close();
    }

    @ParameterizedTest(name = "strategy {0}, verification {1}")
    @CsvSource({"dumpall, checksums", "dumpall, counts", "stream, checksums", "stream, counts", "parallel, checksums", "parallel, counts",
            "pipeline, checksums", "pipeline, counts"})
    void everyStrategyCarriesEveryNameAndRunsNone(String strategy, String mode) throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            UpgradeWorkspace ws = workspace(target, strategy, mode);
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(0, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Succeeded", status.path("phase").asText(), run::toString);
            JsonNode verifying = DirectUpgradeTest.step(status, "Verifying");
            assertTrue(verifying.path("message").asText().startsWith("target matches the source: " + (names.databases().size() + 1) + " databases"),
                    verifying::toString);
            String diff = before.without("role passwords", "postgres ").diff(ClusterSnapshot.of(target).without("role passwords", "postgres "));
            assertEquals("", diff, "source and target differ after the upgrade");
            assertEquals(List.of(), names.executed(), "a command hidden in a name ran");
            if ("pipeline".equals(strategy)) {
                // every database's plain, the hostile schemas' and names' tables, child and dropped are big
                // enough to go through its own COPY sessions
                String log = Files.readString(ws.workDir().resolve("steps/restoring-1.log"));
                assertTrue(log.lines().filter(line -> line.contains("  copying ")).count() >= names.databases().size() + 25, log);
            }
        }
    }

    /**
     * One row deleted behind the tool's back in every hostile table of every database, and one table
     * dropped in each database (so Verifying has an error line to print about it, which is where a
     * database name once reached sed): every damaged table is named, nothing runs.
     */
    @Test
    void damageInATableOfAnyNameIsNamed() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            UpgradeWorkspace ws = workspace(target, "pipeline", "checksums");
            LocalUpgradeDriver.Listener saboteur = new LocalUpgradeDriver.Listener() {
                @Override
                public void phaseEnded(PostgresUpgradeStatus before, PostgresUpgradeStatus after) {
                    if (before.getPhase() == Phase.Restoring && after.getPhase() == Phase.Verifying) {
                        try {
                            for (Map.Entry<String, List<String>> db : names.tables().entrySet()) {
                                for (String table : db.getValue()) {
                                    target.execute(db.getKey(), "delete from " + table + " where id = 2");
                                }
                                target.execute(db.getKey(), "drop table public.plain");
                            }
                        } catch (SQLException e) {
                            throw new IllegalStateException("the sabotage itself failed", e);
                        }
                    }
                }
            };
            PostgresUpgrade done = ws.drive("17", ws.state()::save, saboteur).run();

            assertEquals(Phase.Failed, done.getStatus().getPhase(), done.getStatus().getMessage());
            assertEquals(Phase.Verifying, done.getStatus().getFailedPhase());
            List<String> mismatches = Files.readAllLines(ws.workDir().resolve("verify/mismatches.txt"));
            for (Map.Entry<String, List<String>> db : names.tables().entrySet()) {
                String label = escaped(db.getKey()) + ": ";
                for (String table : db.getValue()) {
                    if (table.equals("public.plain")) {
                        assertTrue(mismatches.contains(label + "target error: ERROR:  relation \"public.plain\" does not exist"),
                                label + " plain not reported as missing: " + mismatches);
                        continue;
                    }
                    String key = label + "rows " + escaped(regclass(table)) + ": source ";
                    assertTrue(mismatches.stream().anyMatch(l -> l.startsWith(key)), key + " not among " + mismatches);
                }
            }
            assertEquals(List.of(), names.executed(), "a command hidden in a name ran");
        }
    }

    /** pg_dumpall and pg_dump refuse a database name with a line break: refused up front, named, nothing touched. */
    @Test
    void aDatabaseNameWithALineBreakIsRefusedBeforeAnythingIsTouched() throws Exception {
        try (PostgresServer small = PostgresServer.start("14"); PostgresServer target = PostgresServer.start("17")) {
            small.execute("postgres", "create database " + HostileNames.ident("two\nlines"));
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", small.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("line-break", "17", "");
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Validating", status.path("failedPhase").asText());
            assertTrue(status.path("message").asText().contains("database whose name holds a line break (\"two\\nlines\")"), status::toString);
            assertEquals(0, target.queryInt("postgres", "select count(*) from pg_database where datname like 'two%'"));
        }
    }

    private UpgradeWorkspace workspace(PostgresServer target, String strategy, String mode) {
        return new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source.url("postgres"))
                .secret("target-db", "url", target.url("postgres"))
                // Analyzing (vacuumdb, which once followed a database name holding "host=") and SchemaCheck run with checksums
                .directManifest("hostile", "17", "  transfer: {strategy: " + strategy + "}\n  verification: {mode: " + mode + "}\n"
                        + ("counts".equals(mode) ? "  analyze: {enabled: false}\n  schemaCheck: {enabled: false}\n" : ""));
    }

    /** The table as Verifying keys it: each name bare when plain lower-case letters, digits and underscores, else double-quoted. */
    private static String regclass(String quoted) throws SQLException {
        String plainOrQuoted = "case when %1$s ~ '^[a-z_][a-z0-9_]*$' then %1$s::text else '\"' || replace(%1$s, '\"', '\"\"') || '\"' end";
        try (var c = source.connect(names.databases().get(0));
             var ps = c.prepareStatement("select " + plainOrQuoted.formatted("n.nspname") + " || '.' || " + plainOrQuoted.formatted("c.relname")
                     + " from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = ?::regclass")) {
            ps.setString(1, quoted);
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /** As Verifying shows names: backslash, tab, newline, carriage return escaped. */
    private static String escaped(String name) {
        return name.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }
}
