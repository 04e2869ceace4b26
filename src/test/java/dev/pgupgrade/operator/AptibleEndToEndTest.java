package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.LogCapture;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.Upgrades;
import dev.pgupgrade.testing.aptible.FakeAptible;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Aptible's runbook end to end: the real JOSDK Operator on the mock API server, {@link LocalKubelet}
 * running each step Job as a local process, and the fake aptible CLI on its PATH, whose databases
 * are real PostgreSQL servers (source 12, target 16) and whose apps keep container counts and
 * configuration like Aptible's API would.
 */
class AptibleEndToEndTest {
    static final String NS = OperatorEndToEndTest.NS;
    static final String NAME = "shop-upgrade";

    @TempDir
    Path tmp;

    FakeAptible aptible;
    FakeAptible.Database source;
    MockCluster cluster;
    LocalKubelet kubelet;
    KubernetesClient client;
    String token;

    @BeforeEach
    void setUp() throws Exception {
        // The fake's servers run as an unprivileged user when the tests run as root: their directories must be reachable.
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path home = Files.createDirectories(tmp.resolve("aptible"));
        aptible = FakeAptible.create(home, PostgresServer.binDir("16").getParent().getParent());
        aptible.addEnvironment("shop-prod");
        token = aptible.issueToken();
        source = aptible.createDatabase("shop-db", "shop-prod", "12");
        aptible.addApp("shop-web", "shop-prod", Map.of("web", 2, "worker", 1), Map.of("DATABASE_URL", source.url(), "RAILS_ENV", "production"));
        aptible.addApp("shop-admin", "shop-prod", Map.of("web", 1), Map.of("DATABASE_URL", source.url()));
        cluster = new MockCluster().namespace(NS);
        client = cluster.client();
        Map<String, String> env = new HashMap<>(aptible.environment());
        env.put("PATH", aptible.path());
        env.put("APTIBLE_TUNNEL_TIMEOUT_SECONDS", "10");
        env.put("APTIBLE_RETRY_DELAY_SECONDS", "0.2");
        kubelet = new LocalKubelet(client, NS, tmp.resolve("kubelet"), Map.of("16", PostgresServer.binDir("16")))
                .withEnvironment(env).start();
    }

    @AfterEach
    void tearDown() {
        if (kubelet != null) {
            kubelet.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (aptible != null) {
            aptible.close();
        }
    }

    private PostgresUpgrade upgrade() {
        return upgrade("16");
    }

    private PostgresUpgrade upgrade(String targetMajor) {
        PostgresUpgrade upgrade = Upgrades.aptible(targetMajor, null);
        upgrade.getMetadata().setName(NAME);
        upgrade.getMetadata().setNamespace(NS);
        upgrade.getSpec().getAptible().getApps().add(new AptibleAppSpec("shop-admin", "DATABASE_URL"));
        upgrade.getSpec().getAptible().setTokenSecretRef(new dev.pgupgrade.api.SecretKeyRef("aptible-token", "APTIBLE_ACCESS_TOKEN"));
        return upgrade;
    }

    private void tokenSecret() {
        OperatorEndToEndTest.secret(client, "aptible-token", "APTIBLE_ACCESS_TOKEN", token);
    }

    private static List<Phase> phases(PostgresUpgrade done) {
        return done.getStatus().getSteps().stream().map(StepStatus::getPhase).distinct().toList();
    }

    private static StepStatus step(PostgresUpgrade done, Phase phase) {
        return done.getStatus().getSteps().stream().filter(s -> s.getPhase() == phase).reduce((a, b) -> b).orElseThrow();
    }

    private String yaml(Object o) {
        return client.getKubernetesSerialization().asYaml(o);
    }

    @Test
    void theWholeRunbookWithRehearsalAndApproval() throws Exception {
        source.execute("db", "create table orders (id int primary key, item text, placed timestamptz default now())",
                "insert into orders (id, item) select g, 'item ' || g from generate_series(1, 2000) g",
                "create role reporting login password 'reporting-pw-1'", "grant select on orders to reporting",
                "create database analytics");
        source.execute("analytics", "create table events (id bigserial primary key, payload jsonb)",
                "insert into events (payload) select jsonb_build_object('n', g) from generate_series(1, 500) g");
        String backup = aptible.createBackup("shop-db");
        ClusterSnapshot sourceBefore = ClusterSnapshot.of(source::connect);
        tokenSecret();

        Operator operator = Operators.start(client);
        try (LogCapture log = new LogCapture()) {
            PostgresUpgrade upgrade = upgrade();
            RehearsalSpec rehearsal = new RehearsalSpec();
            rehearsal.setEnabled(true);
            upgrade.getSpec().setRehearsal(rehearsal);
            ApprovalSpec approval = new ApprovalSpec();
            approval.setRequired(true);
            upgrade.getSpec().setApproval(approval);
            TransferSpec transfer = new TransferSpec();
            transfer.setStrategy(TransferSpec.Strategy.DUMPALL);
            upgrade.getSpec().setTransfer(transfer);
            upgrade.getSpec().getAptible().setDeprovisionSource(true);
            client.resource(upgrade).create();

            // The gate: the rehearsal's estimate is there, nothing is down yet.
            PostgresUpgrade waiting = cluster.await(NS, NAME, u -> u.getStatus() != null && u.getStatus().getPhase() != null
                    && (u.getStatus().getPhase().isTerminal() || u.getStatus().getPhase() == Phase.AwaitingApproval
                    && u.getStatus().getMessage().contains("waiting for approval")), 240);
            assertEquals(Phase.AwaitingApproval, waiting.getStatus().getPhase(), () -> yaml(waiting.getStatus()));
            assertTrue(waiting.getStatus().getEstimate().getDowntimeSeconds() > 0, () -> yaml(waiting.getStatus()));
            assertEquals(backup, waiting.getStatus().getEstimate().getBackupId());
            assertTrue(waiting.getStatus().getMessage().contains("the rehearsal expects"), waiting.getStatus().getMessage());
            assertEquals(Map.of("web", 2, "worker", 1), aptible.containerCounts("shop-web"));
            assertTrue(aptible.calls().stream().noneMatch(c -> c.startsWith("apps:scale")), "nothing scaled before approval");
            assertTrue(aptible.database("shop-db-16").isPresent(), "the target is provisioned before the downtime");
            assertFalse(aptible.database("shop-upgrade-rh1-src").isPresent(), "rehearsal temporaries are deprovisioned");
            assertFalse(aptible.database("shop-upgrade-rh1-dst").isPresent());
            String targetPassword = aptible.database("shop-db-16").orElseThrow().password();

            MockCluster.edit(client, NS, NAME, u -> {
                        Map<String, String> annotations = new HashMap<>(u.getMetadata().getAnnotations() == null ? Map.of() : u.getMetadata().getAnnotations());
                        annotations.put(ApprovalSpec.ANNOTATION, "1");  // the attempt it approves
                        u.getMetadata().setAnnotations(annotations);
                        return u;
                    });
            PostgresUpgrade done = Operators.awaitEnd(cluster, NAME, 300);

            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
            assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.Rehearsal, Phase.ProvisioningTarget, Phase.AwaitingApproval,
                    Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Verifying, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing,
                    Phase.DeprovisioningSource), phases(done));
            assertFalse(aptible.database("shop-db").isPresent(), "deprovisioned last, as the spec asked");
            assertTrue(aptible.orphanedBackups().size() >= 1, "Aptible keeps the source's final backup: " + aptible.orphanedBackups());
            assertTrue(done.getStatus().getSourceVersion().startsWith("12."), done.getStatus().getSourceVersion());
            assertTrue(done.getStatus().getTargetVersion().startsWith("16."), done.getStatus().getTargetVersion());
            assertEquals("True", Conditions.find(done.getStatus().getConditions(), Conditions.READY).getStatus());

            // The three errors the runbook expects, and no other.
            StepStatus restoring = step(done, Phase.Restoring);
            assertEquals(3, restoring.getExpectedErrors(), () -> yaml(restoring));
            assertEquals(0, restoring.getUnexpectedErrors());

            // Services: recorded, taken to zero, back at their counts.
            assertEquals(Map.of("shop-web/web", 2, "shop-web/worker", 1, "shop-admin/web", 1), done.getStatus().getServices().stream()
                    .collect(Collectors.toMap(s -> s.getApp() + "/" + s.getName(), s -> s.getReplicas())));
            assertEquals(Map.of("web", 2, "worker", 1), aptible.containerCounts("shop-web"));
            assertEquals(Map.of("web", 1), aptible.containerCounts("shop-admin"));
            assertTrue(aptible.calls().contains("apps:scale --app shop-web --environment shop-prod web --container-count 0"), aptible.calls()::toString);

            // Config: both apps point at the target; other variables untouched.
            FakeAptible.Database target = aptible.database("shop-db-16").orElseThrow();
            assertEquals(target.url(), aptible.config("shop-web").get("DATABASE_URL"));
            assertEquals(target.url(), aptible.config("shop-admin").get("DATABASE_URL"));
            assertEquals("production", aptible.config("shop-web").get("RAILS_ENV"));

            // Data identical; the target's aptible password is the one Aptible gave it.
            assertEquals(targetPassword, target.password());
            try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + target.port() + "/db", "aptible", targetPassword)) {
                assertTrue(c.isValid(5));
            }
            // (as aptible: the restore gave the target's postgres role the source's password, as the runbook's does)
            ClusterSnapshot targetAfter = ClusterSnapshot.of(db -> java.sql.DriverManager.getConnection(
                    "jdbc:postgresql://127.0.0.1:" + target.port() + "/" + db, "aptible", targetPassword));
            assertEquals("", sourceBefore.without("role passwords", "aptible ").diff(targetAfter.without("role passwords", "aptible ")));

            // The token and the database passwords appear nowhere in the API.
            String everything = yaml(done) + client.batch().v1().jobs().inNamespace(NS).list().getItems().stream().map(this::yaml).collect(Collectors.joining())
                    + client.v1().events().inNamespace(NS).list().getItems().stream().map(this::yaml).collect(Collectors.joining());
            String jobLogs;
            try (var files = Files.walk(tmp.resolve("kubelet"))) {
                jobLogs = files.filter(f -> f.toString().endsWith(".log")).map(f -> {
                    try {
                        return Files.readString(f);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }).collect(Collectors.joining("\n"));
            }
            assertTrue(jobLogs.contains("opening a tunnel to shop-db"), "the step logs were read");
            assertTrue(log.lines().size() > 20, "the operator's log was captured");
            String operatorLog = String.join("\n", log.lines());
            for (String secret : List.of(token, source.password(), targetPassword)) {
                assertFalse(everything.contains(secret), "a secret in status, Jobs or Events");
                assertFalse(jobLogs.contains(secret), "a secret in a Job's log");
                assertFalse(operatorLog.contains(secret), "a secret in the operator's log");
            }
            for (Job job : client.batch().v1().jobs().inNamespace(NS).list().getItems()) {
                OperatorEndToEndTest.assertRestricted(job);
                assertTrue(job.getSpec().getTemplate().getSpec().getContainers().get(0).getImage().startsWith("ghcr.io/pgupgrade/toolbox:16"));
            }
        } finally {
            operator.stop();
        }
    }

    /** A lean upgrade for the failure paths: no schema check, rehearsal, verification or analyze. */
    private PostgresUpgrade lean() {
        return lean("16");
    }

    private PostgresUpgrade lean(String targetMajor) {
        PostgresUpgrade upgrade = upgrade(targetMajor);
        upgrade.getSpec().setSchemaCheck(new dev.pgupgrade.api.SchemaCheckSpec(false));
        upgrade.getSpec().setAnalyze(new dev.pgupgrade.api.PhaseToggle(false));
        dev.pgupgrade.api.VerificationSpec off = new dev.pgupgrade.api.VerificationSpec();
        off.setMode(dev.pgupgrade.api.VerificationSpec.Mode.OFF);
        upgrade.getSpec().setVerification(off);
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(TransferSpec.Strategy.DUMPALL);
        upgrade.getSpec().setTransfer(transfer);
        return upgrade;
    }

    private PostgresUpgrade runToEnd(PostgresUpgrade upgrade) throws Exception {
        Operator operator = Operators.start(client);
        try {
            client.resource(upgrade).create();
            return Operators.awaitEnd(cluster, NAME, 180);
        } finally {
            operator.stop();
        }
    }

    private void assertAppsAsBefore() {
        assertEquals(Map.of("web", 2, "worker", 1), aptible.containerCounts("shop-web"));
        assertEquals(Map.of("web", 1), aptible.containerCounts("shop-admin"));
        assertEquals(source.url(), aptible.config("shop-web").get("DATABASE_URL"));
        assertEquals(source.url(), aptible.config("shop-admin").get("DATABASE_URL"));
    }

    @Test
    void aFailedDbCreateFailsBeforeAnyDowntime() throws Exception {
        tokenSecret();
        aptible.failNext("db:create", -1, 1, "An error occurred: Disk size must be at least 10 GB");
        PostgresUpgrade done = runToEnd(lean());

        assertEquals(Phase.Failed, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        assertEquals(Phase.ProvisioningTarget, done.getStatus().getFailedPhase());
        assertTrue(done.getStatus().getMessage().contains("aptible db:create shop-db-16 failed: An error occurred: Disk size must be at least 10 GB"),
                done.getStatus().getMessage());
        assertTrue(done.getStatus().getMessage().contains("nothing is down"), done.getStatus().getMessage());
        assertFalse(aptible.database("shop-db-16").isPresent());
        assertTrue(aptible.calls().stream().noneMatch(c -> c.startsWith("apps:scale") || c.startsWith("config:set")), aptible.calls()::toString);
        assertEquals(1, aptible.calls().stream().filter(c -> c.startsWith("db:create")).count(), "a refusal is not retried");
        assertAppsAsBefore();
    }

    @Test
    void aTunnelThatNeverComesUpDuringTheDumpRollsBack() throws Exception {
        source.execute("db", "create table t (id int)");
        tokenSecret();
        kubelet.beforeStep("dumping-1", () -> aptible.hangTunnel("shop-db"));
        // Target 15: the fake can take final backups of it (its pg_dumpall is 15), so the purge is seen.
        PostgresUpgrade upgrade = lean("15");
        upgrade.getSpec().getAptible().setPurgeOrphanedBackups(true);
        PostgresUpgrade done = runToEnd(upgrade);

        assertEquals(Phase.RolledBack, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        assertEquals(Phase.Dumping, done.getStatus().getFailedPhase());
        assertTrue(done.getStatus().getMessage().contains("the tunnel to shop-db did not come up within 10s"), done.getStatus().getMessage());
        assertTrue(aptible.calls().contains("apps:scale --app shop-web --environment shop-prod web --container-count 0"), aptible.calls()::toString);
        assertAppsAsBefore();
        assertFalse(aptible.database("shop-db-15").isPresent(), "the target this upgrade created is deprovisioned");
        assertTrue(done.getStatus().getTarget().getDeprovisioned());
        assertTrue(aptible.calls().stream().anyMatch(c -> c.startsWith("backup:purge")), aptible.calls()::toString);
        assertEquals(List.of(), aptible.orphanedBackups(), "its final backup is purged, as the spec asked");
        assertTrue(aptible.database("shop-db").isPresent(), "the source is never deprovisioned by a rollback");
    }

    @Test
    void anUnexpectedRestoreErrorRollsBackWithConfigUntouched() throws Exception {
        source.execute("db", "create table orders (id int primary key)", "insert into orders select generate_series(1, 10)");
        tokenSecret();
        // Someone writes to the target between ProvisioningTarget and Restoring: the restore's CREATE TABLE fails.
        kubelet.beforeStep("restoring-1", () -> {
            try {
                aptible.database("shop-db-16").orElseThrow().execute("db", "create table orders (note text)");
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        PostgresUpgrade done = runToEnd(lean());

        assertEquals(Phase.RolledBack, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        assertEquals(Phase.Restoring, done.getStatus().getFailedPhase());
        StepStatus restoring = step(done, Phase.Restoring);
        assertTrue(restoring.getUnexpectedErrors() >= 1, () -> yaml(restoring));
        assertTrue(restoring.getErrors().get(0).contains("relation \"orders\" already exists"), restoring.getErrors()::toString);
        assertAppsAsBefore();
        assertTrue(aptible.calls().stream().noneMatch(c -> c.startsWith("config:set")), "the config was never touched");
        assertFalse(aptible.database("shop-db-16").isPresent());
        assertTrue(step(done, Phase.RollingBack).getMessage().contains("deprovisioned the target shop-db-16"), step(done, Phase.RollingBack)::getMessage);
        assertFalse(done.getStatus().getMessage().contains("partial restore"), "the target is gone: nothing to drop by hand: " + done.getStatus().getMessage());
    }

    @Test
    void aMissingTokenIsAClearConditionAndTouchesNothing() throws Exception {
        Operator operator = Operators.start(client);
        try {
            client.resource(lean()).create();
            PostgresUpgrade waiting = cluster.await(NS, NAME, u -> u.getStatus() != null && u.getStatus().getMessage() != null
                    && u.getStatus().getMessage().contains("aptible-token"), 60);
            assertEquals(Phase.Validating, waiting.getStatus().getPhase());
            assertTrue(waiting.getStatus().getMessage().contains("spec.aptible.tokenSecretRef: Secret aptible-token does not exist"),
                    waiting.getStatus().getMessage());
            var progressing = Conditions.find(waiting.getStatus().getConditions(), Conditions.PROGRESSING);
            assertTrue(progressing.getMessage().contains("aptible-token"), progressing::getMessage);
            assertEquals(List.of(), aptible.calls(), "no aptible command ran");
            assertEquals(List.of(), client.batch().v1().jobs().inNamespace(NS).list().getItems(), "no step was started");

            // An empty token counts as missing; a real one lets the upgrade go on.
            OperatorEndToEndTest.secret(client, "aptible-token", "APTIBLE_ACCESS_TOKEN", "");
            Thread.sleep(1000);
            assertEquals(List.of(), aptible.calls());
            OperatorEndToEndTest.secret(client, "aptible-token", "APTIBLE_ACCESS_TOKEN", token);
            PostgresUpgrade moving = cluster.await(NS, NAME, u -> u.getStatus().getSteps().stream().anyMatch(s -> s.getPhase() == Phase.Validating
                    && s.getState() != null && s.getState() != dev.pgupgrade.api.StepState.Running), 60);
            assertEquals(dev.pgupgrade.api.StepState.Succeeded, step(moving, Phase.Validating).getState(), () -> yaml(moving.getStatus()));
        } finally {
            operator.stop();
        }
    }

    @Test
    void aRevokedTokenFailsValidatingWithTheCliMessage() throws Exception {
        tokenSecret();
        aptible.revokeToken(token);
        PostgresUpgrade done = runToEnd(lean());
        assertEquals(Phase.Failed, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        assertEquals(Phase.Validating, done.getStatus().getFailedPhase());
        assertTrue(done.getStatus().getMessage().contains("API authentication error"), done.getStatus().getMessage());
        assertTrue(aptible.calls().stream().allMatch(c -> c.startsWith("db:list")), "stopped at the first call: " + aptible.calls());
    }

    @Test
    void transientCliFailuresAreRetriedWithBackoff() throws Exception {
        source.execute("db", "create table t (id int primary key)", "insert into t select generate_series(1, 100)");
        tokenSecret();
        // The API has a bad minute while the services go down: two failures of each call, then it answers.
        kubelet.beforeStep("scaling-down-1", () -> {
            aptible.failNext("apps:scale", 2, 1, "An error occurred: 502 Bad Gateway");
            aptible.failNext("config", 1, 1, "An error occurred: execution expired");
        });
        PostgresUpgrade done = runToEnd(lean());

        assertEquals(Phase.Succeeded, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        List<String> scaleToZero = aptible.calls().stream().filter(c -> c.startsWith("apps:scale") && c.endsWith("--container-count 0")).toList();
        assertEquals(5, scaleToZero.size(), "three services, the first after two failed attempts: " + aptible.calls());
        assertEquals(3, scaleToZero.stream().filter(scaleToZero.get(0)::equals).count(), scaleToZero::toString);
        assertEquals(Map.of("web", 2, "worker", 1), aptible.containerCounts("shop-web"));
        assertEquals(aptible.database("shop-db-16").orElseThrow().url(), aptible.config("shop-web").get("DATABASE_URL"));
    }

    @Test
    void aTargetHoldingDataIsNeverRestoredInto() throws Exception {
        tokenSecret();
        aptible.createDatabase("shop-db-16", "shop-prod", "16").execute("db", "create table invoices (id int)");
        PostgresUpgrade done = runToEnd(lean());
        assertEquals(Phase.Failed, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        assertEquals(Phase.Validating, done.getStatus().getFailedPhase());
        assertTrue(done.getStatus().getMessage().contains("the target already holds objects of its own (database \"db\": 1 relation)"),
                done.getStatus().getMessage());
        assertTrue(aptible.database("shop-db-16").isPresent(), "someone else's database is never deprovisioned");
        assertTrue(aptible.calls().stream().noneMatch(c -> c.startsWith("apps:scale") || c.startsWith("db:create")), aptible.calls()::toString);
    }

    @Test
    void anExistingEmptyTargetIsAdoptedAndKeptOnRollback() throws Exception {
        source.execute("db", "create table orders (id int primary key)");
        tokenSecret();
        aptible.createDatabase("shop-db-16", "shop-prod", "16");
        kubelet.beforeStep("restoring-1", () -> aptible.hangTunnel("shop-db-16"));
        PostgresUpgrade done = runToEnd(lean());
        assertEquals(Phase.RolledBack, done.getStatus().getPhase(), () -> yaml(done.getStatus()));
        assertTrue(step(done, Phase.ProvisioningTarget).getMessage().startsWith("adopted the existing target shop-db-16"),
                step(done, Phase.ProvisioningTarget)::getMessage);
        assertFalse(done.getStatus().getTarget().getCreatedByUpgrade());
        assertTrue(aptible.database("shop-db-16").isPresent(), "a target this upgrade did not create is left as it is");
        assertTrue(aptible.calls().stream().noneMatch(c -> c.startsWith("db:create") || c.startsWith("db:deprovision")), aptible.calls()::toString);
        assertAppsAsBefore();
    }
}
