package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.cli.ExitCodes;
import dev.pgupgrade.testing.HostileNames;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.RegressionCorpus;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PostgreSQL's own regression database as a corpus, the way pg_upgrade's test uses it: hundreds of
 * tables (partitioned, inherited, typed, with dropped columns), rules, policies, publications,
 * stale materialized views, every printable character in database names. SchemaCheck names what 17
 * refuses before any downtime; once that is adjusted (as pg_upgrade's own cross-version test adjusts
 * it), every strategy carries it and Verifying finds no difference it cannot explain.
 */
class RegressionCorpusTest {
    static PostgresServer adjusted;

    @TempDir
    Path tmp;

    @BeforeAll
    static void corpus() throws Exception {
        adjusted = RegressionCorpus.load();
        try (var c = adjusted.connect("regression"); var s = c.createStatement()) {
            s.execute(java.nio.file.Files.readString(RegressionCorpus.adjustForUpgrade()));
        }
        // as pg_upgrade's test does: databases named with every ASCII character but NUL, BEL, LF and CR
        for (int[] range : new int[][] {{1, 45}, {46, 90}, {91, 127}}) {
            StringBuilder name = new StringBuilder("regression");
            for (int ch = range[0]; ch <= range[1]; ch++) {
                if (ch != 7 && ch != 10 && ch != 13) {
                    name.append((char) ch);
                }
            }
            adjusted.execute("postgres", "create database " + HostileNames.ident(name.toString()));
            adjusted.execute(name.toString(), "create table t (id int primary key)", "insert into t select generate_series(1, 10)");
        }
    }

    @AfterAll
    static void stop() {
        if (adjusted != null) {
            adjusted.close();
        }
    }

    /** The suite's C test modules were built for 15 and cannot load on 17: SchemaCheck names each object. */
    @Test
    void schemaCheckNamesWhatTheNewMajorRefuses() throws Exception {
        try (PostgresServer source = RegressionCorpus.load(); PostgresServer target = PostgresServer.start("17")) {
            UpgradeWorkspace.Result run = workspace(source, target, "17", "  analyze: {enabled: false}\n").run("17");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("SchemaCheck", status.path("failedPhase").asText(), status::toString);
            List<String> errors = new ArrayList<>();
            DirectUpgradeTest.step(status, "SchemaCheck").path("errors").forEach(e -> errors.add(e.asText()));
            assertTrue(errors.stream().noneMatch(e -> e.startsWith("line ")), errors::toString);
            assertTrue(errors.stream().allMatch(e -> e.contains(" in database regression: ERROR:") || e.startsWith("(")), errors::toString);
            assertTrue(errors.stream().anyMatch(e -> e.startsWith("FUNCTION public.") && e.contains("regress")), errors::toString);
            assertTrue(status.path("message").asText().contains("first: "), status::toString);
            assertEquals(0, target.queryInt("postgres", "select count(*) from pg_database where datname = 'regression'"), "nothing restored");
        }
    }

    @ParameterizedTest(name = "strategy {0} to PostgreSQL {1}")
    @CsvSource({"dumpall, 17", "stream, 17", "parallel, 17", "pipeline, 17", "pipeline, 18"})
    void everyStrategyCarriesTheRegressionDatabase(String strategy, String targetMajor) throws Exception {
        try (PostgresServer target = PostgresServer.start(targetMajor)) {
            // SchemaCheck once (with the first strategy); Analyzing is covered elsewhere
            String extra = "  transfer: {strategy: " + strategy + "}\n  analyze: {enabled: false}\n"
                    + ("dumpall".equals(strategy) ? "" : "  schemaCheck: {enabled: false}\n");
            UpgradeWorkspace.Result run = workspace(adjusted, target, targetMajor, extra).run(targetMajor);

            assertEquals(0, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Succeeded", status.path("phase").asText(), run::toString);
            JsonNode restore = DirectUpgradeTest.step(status, "Restoring");
            assertEquals(0, restore.path("unexpectedErrors").asInt(), restore::toString);
            JsonNode verifying = DirectUpgradeTest.step(status, "Verifying");
            assertTrue(verifying.path("message").asText().startsWith("target matches the source"), verifying::toString);
            assertFalse(verifying.path("message").asText().contains("WARNING"), verifying::toString);
        }
    }

    private UpgradeWorkspace workspace(PostgresServer source, PostgresServer target, String major, String extraSpec) {
        return new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source.url("postgres"))
                .secret("target-db", "url", target.url("postgres"))
                .directManifest("regression", major, extraSpec);
    }
}
