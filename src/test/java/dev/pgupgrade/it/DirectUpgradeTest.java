package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.Scrape;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Whole upgrades through {@code pgupgrade run}, the real step scripts run by bash, and real servers
 * of the real majors: the target must end up holding exactly what the source holds.
 */
class DirectUpgradeTest {
    @TempDir
    Path tmp;

    /**
     * Every strategy on every pair would be slow; each strategy runs on at least one pair, the default
     * (pipeline on platform direct, strategy left out of the manifest) on two. Expected restore errors: CREATE ROLE postgres,
     * and for parallel also CREATE DATABASE postgres and template1 (pg_restore --create).
     */
    @ParameterizedTest(name = "PostgreSQL {0} -> {1}, strategy {2}")
    @CsvSource({"12, 17, default, 3", "13, 15, dumpall, 1", "15, 15, stream, 1", "15, 18, default, 3", "13, 17, parallel, 3", "12, 17, pipeline, 3"})
    void upgradeCarriesEverythingOver(String sourceMajor, String targetMajor, String strategy, int expectedErrors) throws Exception {
        try (PostgresServer source = PostgresServer.start(sourceMajor); PostgresServer target = PostgresServer.start(targetMajor)) {
            source.psqlFile(Project.richDataset());
            String targetRoleHashBefore = passwordHash(target, "postgres");
            ClusterSnapshot sourceBefore = ClusterSnapshot.of(source);

            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("shop-upgrade", targetMajor, "default".equals(strategy) ? "" : "  transfer: {strategy: " + strategy + "}\n");
            // 13 -> 15 runs exactly as the README says, without --pg-bin: the jar finds the server
            // binaries `make` installed for SchemaCheck by itself.
            Path metricsFile = tmp.resolve("upgrade.prom");
            UpgradeWorkspace.Result run = "15".equals(targetMajor) ? ws.runWithArguments("--metrics-file", metricsFile.toString())
                    : ws.run(targetMajor, "--metrics-file", metricsFile.toString());

            assertEquals(0, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Succeeded", status.path("phase").asText(), run::toString);
            assertTrue(status.path("sourceVersion").asText().startsWith(sourceMajor + "."), status::toString);
            assertTrue(status.path("targetVersion").asText().startsWith(targetMajor + "."), status::toString);
            assertEquals(List.of("Validating", "SchemaCheck", "ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing", "ScalingUp", "Analyzing"),
                    phases(status), status::toString);
            JsonNode restore = step(status, "Restoring");
            assertEquals(0, restore.path("unexpectedErrors").asInt(), restore::toString);
            assertEquals(expectedErrors, restore.path("expectedErrors").asInt(), restore::toString);
            assertTrue(restore.path("bytes").asLong() > 100_000, restore::toString);
            // Verification across majors raises no false alarm, and checked every table.
            JsonNode verifying = step(status, "Verifying");
            assertEquals("Succeeded", verifying.path("state").asText(), verifying::toString);
            assertTrue(verifying.path("message").asText().startsWith("target matches the source: 4 databases, 10 tables (checksums)"), verifying::toString);
            assertEquals(4, verifying.path("details").size(), verifying::toString);

            // Every object and row, every role but the target's own connection role, identical.
            ClusterSnapshot targetAfter = ClusterSnapshot.of(target);
            String diff = sourceBefore.without("role passwords", "postgres ").diff(targetAfter.without("role passwords", "postgres "));
            assertEquals("", diff, "source and target differ after the upgrade");
            assertEquals(10, sourceBefore.tableCount(), "the dataset has 10 tables and materialized views in 3 databases");
            // The source was only read.
            assertEquals("", sourceBefore.diff(ClusterSnapshot.of(source)), "the source changed");

            // The target connection role kept its password; the others came with theirs.
            assertEquals(targetRoleHashBefore, passwordHash(target, "postgres"));
            try (Connection c = target.connect("postgres")) {
                assertTrue(c.isValid(5));
            }
            try (Connection c = target.connect("shop", "app_reader", "reader-secret-2"); ResultSet rs = c.createStatement()
                    .executeQuery("select count(*) from store.customers")) {
                assertTrue(rs.next());
                assertEquals(500, rs.getInt(1));
            }
            // Statistics exist on the target: Analyzing ran.
            try (Connection c = target.connect("shop"); ResultSet rs = c.createStatement()
                    .executeQuery("select count(*) from pg_stats where schemaname = 'store' and tablename = 'orders'")) {
                assertTrue(rs.next());
                assertTrue(rs.getInt(1) > 0, "no statistics for store.orders: VACUUM ANALYZE did not run");
            }
            // --metrics-file: the figures of status, in Prometheus text format, as the operator serves them.
            Scrape metrics = Scrape.of(Files.readString(metricsFile));
            String[] who = {"namespace", "", "name", "shop-upgrade"};
            assertEquals(1.0, metrics.value("pgupgrade_upgrade_phase", "name", "shop-upgrade", "phase", "Succeeded", "platform", "direct",
                    "strategy", "default".equals(strategy) ? "pipeline" : strategy).orElseThrow(() -> new AssertionError(metrics.text())));
            assertEquals(restore.path("bytes").asDouble(), metrics.value("pgupgrade_moved_bytes", "name", "shop-upgrade", "phase", "Restoring").orElseThrow());
            assertEquals(0.0, metrics.value("pgupgrade_verification_mismatches", "name", "shop-upgrade", "phase", "Verifying").orElseThrow());
            double downtime = java.time.Duration.between(java.time.Instant.parse(step(status, "ScalingDown").path("startedAt").asText()),
                    java.time.Instant.parse(step(status, "ScalingUp").path("finishedAt").asText())).toMillis() / 1000.0;
            assertEquals(downtime, metrics.value("pgupgrade_downtime_seconds", who).orElseThrow(), 0.001);
            assertEquals(0.0, metrics.value("pgupgrade_downtime_ongoing", who).orElseThrow());
            assertEquals(step(status, "Dumping").path("durationSeconds").asDouble(),
                    metrics.value("pgupgrade_phase_duration_seconds", "name", "shop-upgrade", "phase", "Dumping", "downtime", "true").orElseThrow(), 0.0005);
            // No password in what the run printed or saved.
            for (String text : List.of(run.stdout(), run.stderr(), Files.readString(ws.stateFile()), metrics.text())) {
                assertFalse(text.contains(source.password()) || text.contains(target.password()) || text.contains("reader-secret-2"),
                        "a password leaked into output or state");
            }
        }
    }

    static String passwordHash(PostgresServer server, String role) throws Exception {
        try (Connection c = server.connect("postgres"); var ps = c.prepareStatement("select rolpassword from pg_authid where rolname = ?")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                return rs.getString(1);
            }
        }
    }

    static List<String> phases(JsonNode status) {
        List<String> phases = new ArrayList<>();
        status.path("steps").forEach(s -> phases.add(s.path("phase").asText()));
        return phases;
    }

    static JsonNode step(JsonNode status, String phase) {
        for (JsonNode s : status.path("steps")) {
            if (phase.equals(s.path("phase").asText())) {
                return s;
            }
        }
        throw new AssertionError("no " + phase + " step in " + status);
    }
}
