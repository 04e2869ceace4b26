package dev.pgupgrade.it;

import static dev.pgupgrade.it.DirectUpgradeTest.phases;
import static dev.pgupgrade.it.DirectUpgradeTest.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.cli.ExitCodes;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Scrape;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The unhappy paths of {@code pgupgrade run}, against real servers: each ends clearly, and nothing is lost. */
class DirectUpgradeFailureTest {
    static PostgresServer source13;
    static PostgresServer target17;

    @TempDir
    Path tmp;

    @BeforeAll
    static void servers() throws Exception {
        source13 = PostgresServer.start("13");
        target17 = PostgresServer.start("17");
        source13.execute("postgres", "create table accounts (id int primary key, owner text)",
                "insert into accounts select g, 'owner ' || g from generate_series(1, 100) g");
    }

    @AfterAll
    static void stop() {
        source13.close();
        target17.close();
    }

    private UpgradeWorkspace workspace(PostgresServer source, String targetUrl, String version) {
        return new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source.url("postgres"))
                .secret("target-db", "url", targetUrl)
                .directManifest("failing-upgrade", version, "");
    }

    @Test
    void aTargetHoldingUserDataIsRefusedBeforeAnythingIsDumped() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            target.execute("postgres", "create table accounts (id int)");
            // an extension counts once, as an extension: its own functions and types are not listed again
            target.execute("postgres", "create extension if not exists citext");
            UpgradeWorkspace ws = workspace(source13, target.url("postgres"), "17");
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Validating", status.path("failedPhase").asText());
            assertTrue(status.path("message").asText().contains("the target already holds objects of its own (database \"postgres\": 1 relation, 1 extension)"),
                    status::toString);
            assertTrue(run.stderr().contains("Validating   FAILED"), run.stderr());
            assertFalse(Files.exists(ws.workDir().resolve("dump.sql")), "nothing was dumped");
            // Running again does not retry by itself: the run already ended.
            UpgradeWorkspace.Result again = workspace(source13, target.url("postgres"), "17").run("17");
            assertEquals(ExitCodes.FAILED, again.exitCode());
            assertTrue(again.stderr().contains("already ended"), again.stderr());
        }
    }

    /**
     * Relations are not the only user objects: a target whose postgres database held only a function
     * and a large object passed the old check and was restored into. Every kind counts, in every
     * database, and so does a role nobody expects.
     */
    @Test
    void aTargetHoldingAnyKindOfUserObjectIsRefused() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            target.execute("postgres", "create function answer() returns int language sql as 'select 42'", "select lo_create(0)");
            target.execute("template1", "create type mood as enum ('ok')");
            target.execute("postgres", "create role \"odd|role\nname\"");
            UpgradeWorkspace.Result run = workspace(source13, target.url("postgres"), "17").run("17");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            String message = run.resource().path("status").path("message").asText();
            assertTrue(message.contains("database \"postgres\": 1 function, 1 large object"), message);
            assertTrue(message.contains("database \"template1\": 1 type"), message);
            assertTrue(message.contains("roles \"odd|role\\nname\""), message);
            assertEquals(1, target.queryInt("postgres", "select count(*) from pg_proc where proname = 'answer'"), "the target was left alone");
        }
    }

    @Test
    void unexpectedRestoreErrorFailsWithTheMessage() throws Exception {
        try (PostgresServer target = PostgresServer.start("17")) {
            UpgradeWorkspace ws = workspace(source13, target.url("postgres"), "17");
            // Someone creates a table the dump also creates after Validating found the target empty.
            var intruder = new dev.pgupgrade.local.LocalUpgradeDriver.Listener() {
                @Override
                public void phaseEnded(dev.pgupgrade.api.PostgresUpgradeStatus before, dev.pgupgrade.api.PostgresUpgradeStatus after) {
                    if (after.getPhase() == dev.pgupgrade.api.Phase.Restoring) {
                        try {
                            target.execute("postgres", "create table accounts (id int)");
                        } catch (java.sql.SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }
            };
            var done = ws.drive("17", ws.state()::save, intruder).run();
            JsonNode status = new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(done.getStatus());

            assertEquals("Failed", status.path("phase").asText());
            assertEquals("Restoring", status.path("failedPhase").asText());
            JsonNode restore = step(status, "Restoring");
            assertEquals("Failed", restore.path("state").asText());
            assertTrue(restore.path("unexpectedErrors").asInt() >= 1, restore::toString);
            assertTrue(restore.path("errors").get(0).asText().contains("relation \"accounts\" already exists"), restore::toString);
            assertTrue(status.path("message").asText().contains("relation \"accounts\" already exists"), status::toString);
            assertTrue(status.path("message").asText().contains("partial restore"), "says what to do next: " + status);
            assertEquals("False", condition(status, "Ready"));
            assertEquals("True", condition(status, "Failed"));
            assertEquals("RestoringFailed", conditionReason(status, "Failed"));
        }
    }

    @Test
    void unreachableTargetFailsInValidatingAndTouchesNothing() throws Exception {
        ClusterSnapshot before = ClusterSnapshot.of(source13);
        UpgradeWorkspace ws = workspace(source13, "postgresql://postgres:whatever@127.0.0.1:1/postgres", "17");
        Path metricsFile = ws.dir().resolve("upgrade.prom");
        UpgradeWorkspace.Result run = ws.run("17", "--metrics-file", metricsFile.toString());

        assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
        JsonNode status = run.resource().path("status");
        assertEquals("Failed", status.path("phase").asText());
        assertEquals("Validating", status.path("failedPhase").asText());
        assertEquals(List.of("Validating"), phases(status));
        assertTrue(status.path("message").asText().contains("cannot query the target server"), status::toString);
        assertTrue(status.path("message").asText().contains("Connection refused"), status::toString);
        assertFalse(run.stdout().contains("whatever") || run.stderr().contains("whatever"), "the password leaked");
        assertFalse(Files.exists(ws.workDir().resolve("dump.sql")), "nothing may be dumped");
        assertEquals("", before.diff(ClusterSnapshot.of(source13)), "the source changed");
        // The figures of a failure too: where it failed, no downtime, no URL or password.
        Scrape metrics = Scrape.of(Files.readString(metricsFile));
        assertEquals(1.0, metrics.value("pgupgrade_upgrade_failure", "name", "failing-upgrade", "failed_phase", "Validating", "phase", "Failed")
                .orElseThrow(() -> new AssertionError(metrics.text())));
        assertEquals(1.0, metrics.value("pgupgrade_upgrade_phase", "name", "failing-upgrade", "phase", "Failed").orElseThrow());
        assertTrue(metrics.find("pgupgrade_downtime_seconds").isEmpty(), "nothing went down");
        assertFalse(metrics.text().contains("whatever") || metrics.text().contains("postgresql://"), metrics.text());
    }

    @Test
    void aMetricsFileThatCannotBeWrittenIsRefusedBeforeAnythingStarts() throws Exception {
        UpgradeWorkspace ws = workspace(source13, "postgresql://postgres:whatever@127.0.0.1:1/postgres", "17");
        UpgradeWorkspace.Result run = ws.run("17", "--metrics-file", ws.dir().resolve("no/such/dir/upgrade.prom").toString());
        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run::toString);
        assertTrue(run.stderr().contains("--metrics-file") && run.stderr().contains("does not exist"), run::toString);
        assertFalse(Files.exists(ws.stateFile()), "nothing started");
    }

    @Test
    void wrongCredentialsFailInValidatingWithoutEchoingThem() throws Exception {
        UpgradeWorkspace ws = workspace(source13, target17.url("postgres", "Wrong-Pass-4711", "postgres"), "17");
        UpgradeWorkspace.Result run = ws.run("17");

        assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
        JsonNode status = run.resource().path("status");
        assertEquals("Validating", status.path("failedPhase").asText());
        assertTrue(status.path("message").asText().contains("password authentication failed for user \"postgres\""), status::toString);
        assertFalse(run.stdout().contains("Wrong-Pass-4711") || run.stderr().contains("Wrong-Pass-4711"), "the password leaked");
        assertFalse(Files.readString(ws.stateFile()).contains("Wrong-Pass-4711"), "the password is in the state file");
        assertFalse(Files.exists(ws.workDir().resolve("dump.sql")), "nothing may be dumped");
    }

    @Test
    void wrongTargetVersionIsRefused() {
        UpgradeWorkspace.Result run = workspace(source13, target17.url("postgres"), "16").run("16");

        assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
        JsonNode status = run.resource().path("status");
        assertEquals("Validating", status.path("failedPhase").asText());
        assertTrue(status.path("message").asText().contains("spec.target.version is \"16\" but the target server runs PostgreSQL 17"),
                status::toString);
    }

    @Test
    void targetOlderThanSourceIsRefused() throws Exception {
        try (PostgresServer source15 = PostgresServer.start("15")) {
            UpgradeWorkspace.Result run = workspace(source15, source13.url("postgres"), "13").run("13");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Validating", status.path("failedPhase").asText());
            assertTrue(status.path("message").asText().contains("older than the source's PostgreSQL 15"), status::toString);
        }
    }

    @Test
    void schemaCheckStopsAnIncompatibleSchemaBeforeAnyDowntime() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17")) {
            // Postfix operators exist up to 13 and are gone since 14: the schema cannot be restored on 17.
            source.execute("postgres",
                    "create function fact(bigint) returns numeric language sql immutable as 'select 1::numeric'",
                    "create operator !!! (leftarg = bigint, procedure = fact)");
            ClusterSnapshot targetBefore = ClusterSnapshot.of(target);
            UpgradeWorkspace ws = workspace(source, target.url("postgres"), "17");
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("SchemaCheck", status.path("failedPhase").asText(), status::toString);
            assertEquals(List.of("Validating", "SchemaCheck"), phases(status));
            JsonNode check = step(status, "SchemaCheck");
            assertTrue(check.path("errors").toString().contains("operator"), check::toString);
            assertTrue(status.path("message").asText().contains("Nothing was written"), status::toString);
            assertFalse(Files.exists(ws.workDir().resolve("dump.sql")), "no downtime step may have run");
            assertEquals("", targetBefore.diff(ClusterSnapshot.of(target)), "the target changed");
        }
    }

    @Test
    void badManifestIsRefusedNamingTheFieldAndTouchesNothing() {
        UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source13.url("postgres"))
                .secret("target-db", "url", target17.url("postgres"))
                .directManifest("bad-upgrade", "latest", "");
        UpgradeWorkspace.Result run = ws.run("17");

        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run::toString);
        assertTrue(run.stderr().contains("spec.target.version: must be a major version"), run.stderr());
        assertEquals("", run.stdout());
        assertFalse(Files.exists(ws.stateFile()));
        assertFalse(Files.exists(ws.workDir()));
    }

    @Test
    void unknownFieldIsRefusedNamingIt() {
        UpgradeWorkspace ws = new UpgradeWorkspace(tmp).directManifest("typo", "17", "  analyse: {enabled: false}\n");
        UpgradeWorkspace.Result run = ws.run("17");

        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run::toString);
        assertTrue(run.stderr().contains("spec.analyse: unknown field"), run.stderr());
    }

    @Test
    void missingSecretIsRefusedNamingTheFieldAndTouchesNothing() {
        UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source13.url("postgres"))
                .directManifest("no-secret", "17", "");
        UpgradeWorkspace.Result run = ws.run("17");

        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run::toString);
        assertTrue(run.stderr().contains("spec.target.urlSecretRef: Secret key target-db/url not found"), run.stderr());
        assertFalse(Files.exists(ws.stateFile()));
        assertFalse(Files.exists(ws.workDir()));
    }

    @Test
    void malformedUrlIsRefusedWithoutEchoingIt() {
        UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source13.url("postgres"))
                .secret("target-db", "url", "mysql://root:hunter2@db:3306/app")
                .directManifest("bad-url", "17", "");
        UpgradeWorkspace.Result run = ws.run("17");

        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run::toString);
        assertTrue(run.stderr().contains("spec.target.urlSecretRef: the URL in Secret key target-db/url is not a postgresql:// URL"), run.stderr());
        assertFalse(run.stderr().contains("hunter2"));
    }

    @Test
    void servicesAreRefusedByTheLocalRunner() {
        UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source13.url("postgres"))
                .secret("target-db", "url", target17.url("postgres"))
                .directManifest("with-services", "17", "  services:\n  - {kind: Deployment, name: api}\n");
        UpgradeWorkspace.Result run = ws.run("17");

        assertEquals(ExitCodes.INVALID_INPUT, run.exitCode(), run::toString);
        assertTrue(run.stderr().contains("spec.services: pgupgrade run cannot scale or repoint Kubernetes services"), run.stderr());
    }

    static String condition(JsonNode status, String type) {
        for (JsonNode c : status.path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c.path("status").asText();
            }
        }
        throw new AssertionError("no condition " + type + " in " + status);
    }

    static String conditionReason(JsonNode status, String type) {
        for (JsonNode c : status.path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c.path("reason").asText();
            }
        }
        throw new AssertionError("no condition " + type + " in " + status);
    }
}
