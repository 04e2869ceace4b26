package dev.pgupgrade.operator;

import static dev.pgupgrade.operator.OperatorEndToEndTest.NS;
import static dev.pgupgrade.operator.OperatorEndToEndTest.deployment;
import static dev.pgupgrade.operator.OperatorEndToEndTest.secret;
import static dev.pgupgrade.operator.OperatorEndToEndTest.secretValue;
import static dev.pgupgrade.operator.OperatorEndToEndTest.service;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Upgrades;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator when things go wrong: rollback, restarts mid-upgrade, bad input. */
class OperatorFailureTest {
    @TempDir
    Path tmp;

    private static PostgresUpgrade upgrade(String name, String version, boolean withService) {
        // strategy parallel: these tests count and break the dump flow's Jobs, Dumping's among them
        PostgresUpgrade upgrade = Upgrades.withStrategy(Upgrades.direct(version, null), TransferSpec.Strategy.PARALLEL);
        upgrade.getMetadata().setName(name);
        upgrade.getMetadata().setNamespace(NS);
        if (withService) {
            upgrade.getSpec().setServices(List.of(service("shop-api")));
        }
        return upgrade;
    }

    private static void smallDataset(PostgresServer source) throws Exception {
        source.execute("postgres", "create table accounts (id int primary key, owner text)",
                "insert into accounts select g, 'owner ' || g from generate_series(1, 500) g");
    }

    private static void wire(KubernetesClient client, PostgresServer source, PostgresServer target) {
        secret(client, "source-db", "url", source.url("postgres"));
        secret(client, "target-db", "url", target.url("postgres"));
        secret(client, "shop-app", "DATABASE_URL", source.url("postgres"));
        deployment(client, "shop-api", 2);
    }

    @Test
    void failedRestoreRollsBackToTheSource() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            smallDataset(source);
            // Someone creates a table the dump also creates, after Validating found the target empty: the restore collides.
            kubelet.beforeStep("restoring-1", () -> {
                try {
                    target.execute("postgres", "create table accounts (id int)");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            KubernetesClient client = cluster.client();
            wire(client, source, target);
            Operator operator = Operators.start(client);
            try {
                client.resource(upgrade("doomed", "17", true)).create();
                PostgresUpgrade done = Operators.awaitEnd(cluster, "doomed", 180);

                PostgresUpgradeStatus status = done.getStatus();
                assertEquals(Phase.RolledBack, status.getPhase(), status::getMessage);
                assertEquals(Phase.Restoring, status.getFailedPhase());
                assertTrue(status.getMessage().startsWith("Rolled back after Restoring failed"), status.getMessage());
                assertTrue(status.getMessage().contains("relation \"accounts\" already exists"), status.getMessage());
                assertEquals("True", Conditions.find(status.getConditions(), Conditions.FAILED).getStatus());
                assertEquals(0, kubelet.lowestReplicas().get("Deployment/shop-api"), "the app was taken down");
                assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas(), "and is back");
                assertEquals(source.url("postgres"), secretValue(client, "shop-app", "DATABASE_URL"), "the app still points at the source");
                assertTrue(client.v1().events().inNamespace(NS).list().getItems().stream()
                        .anyMatch(e -> "RolledBack".equals(e.getReason()) && "Warning".equals(e.getType())));
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void rowsLostBehindTheRestoresBackAreCaughtAndRolledBack() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            smallDataset(source);
            kubelet.beforeStep("verifying-1", () -> {
                try {
                    target.execute("postgres", "delete from accounts where id > 490");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            KubernetesClient client = cluster.client();
            wire(client, source, target);
            Operator operator = Operators.start(client);
            try {
                client.resource(upgrade("lossy", "17", true)).create();
                PostgresUpgrade done = Operators.awaitEnd(cluster, "lossy", 180);

                assertEquals(Phase.RolledBack, done.getStatus().getPhase(), done.getStatus().getMessage());
                assertEquals(Phase.Verifying, done.getStatus().getFailedPhase());
                assertTrue(done.getStatus().getMessage().contains("rows public.accounts: source 500"), done.getStatus().getMessage());
                assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
                assertEquals(source.url("postgres"), secretValue(client, "shop-app", "DATABASE_URL"), "never pointed at the damaged target");
                assertTrue(client.v1().events().inNamespace(NS).list().getItems().stream()
                        .anyMatch(e -> "RollingBack".equals(e.getReason()) && e.getMessage().contains("does not match the source")));
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void aNewOperatorFinishesWhatAStoppedOneStarted() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            smallDataset(source);
            KubernetesClient client = cluster.client();
            wire(client, source, target);
            Operator first = Operators.start(client);
            client.resource(upgrade("restarted", "17", true)).create();
            cluster.await(NS, "restarted", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.Dumping, 120);
            first.stop();  // the operator goes away mid-upgrade; the cluster (and the Dumping Job) go on

            Operator second = Operators.start(client);
            try {
                PostgresUpgrade done = cluster.await(NS, "restarted", u -> u.getStatus().getPhase().isTerminal(), 180);
                assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
                assertEquals(6, client.batch().v1().jobs().inNamespace(NS).list().getItems().size(), "no step Job was created twice");
                assertEquals(6, kubelet.jobsRun());
                assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
                try (var c = target.connect("postgres"); var rs = c.createStatement().executeQuery("select count(*) from accounts")) {
                    rs.next();
                    assertEquals(500, rs.getInt(1));
                }
            } finally {
                second.stop();
            }
        }
    }

    @Test
    void recordedReplicasWinOverTheZeroTheOperatorSetItself() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            smallDataset(source);
            KubernetesClient client = cluster.client();
            wire(client, source, target);
            // An earlier operator recorded 2 replicas, scaled the Deployment to 0, and died before storing anything else.
            PostgresUpgrade upgrade = client.resource(upgrade("crashed", "17", true)).create();
            UpgradeEngine engine = new UpgradeEngine(new DirectPlatform());
            upgrade.setStatus(engine.initialize(upgrade, Instant.now()));
            upgrade.getStatus().setPhase(Phase.ScalingDown);
            upgrade.setStatus(engine.servicesRecorded(upgrade, List.of(new ServiceStatus("Deployment", "shop-api", 2)), Instant.now()));
            client.resource(upgrade).updateStatus();
            client.apps().deployments().inNamespace(NS).withName("shop-api").edit(d -> {
                d.getSpec().setReplicas(0);
                return d;
            });

            Operator operator = Operators.start(client);
            try {
                PostgresUpgrade done = cluster.await(NS, "crashed", u -> u.getStatus().getPhase().isTerminal(), 180);
                assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
                assertEquals(2, done.getStatus().getServices().get(0).getReplicas());
                assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void invalidSpecFailsBeforeAnythingIsTouchedAndACorrectionRetries() throws Exception {
        try (MockCluster cluster = new MockCluster().namespace(NS)) {
            KubernetesClient client = cluster.client();
            Operator operator = Operators.start(client);
            try {
                // The mock API server does not enforce the CRD schema; the reconciler checks again.
                client.resource(upgrade("bad-version", "16.2", false)).create();
                PostgresUpgrade failed = cluster.await(NS, "bad-version", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.Failed, 30);
                assertTrue(failed.getStatus().getMessage().contains("spec.target.version: must be a major version"), failed.getStatus().getMessage());
                assertEquals("ValidatingFailed", Conditions.find(failed.getStatus().getConditions(), Conditions.FAILED).getReason());
                assertTrue(client.batch().v1().jobs().inNamespace(NS).list().getItems().isEmpty());
                assertTrue(client.v1().events().inNamespace(NS).list().getItems().stream().anyMatch(e -> "Failed".equals(e.getReason())));

                // A corrected spec (new generation) is a retry; here it then waits for its Secrets.
                cluster.edit(NS, "bad-version", u -> {
                    u.getSpec().getTarget().setVersion("17");
                    u.getMetadata().setGeneration(u.getMetadata().getGeneration() == null ? 2L : u.getMetadata().getGeneration() + 1);
                    return u;
                });
                PostgresUpgrade waiting = cluster.await(NS, "bad-version", u -> u.getStatus().getPhase() == Phase.Validating
                        && u.getStatus().getMessage() != null && u.getStatus().getMessage().contains("waiting for"), 30);
                assertEquals(2, waiting.getStatus().getAttempt());
                assertTrue(waiting.getStatus().getMessage().contains("spec.source.urlSecretRef: Secret source-db does not exist"),
                        waiting.getStatus().getMessage());
                assertTrue(client.batch().v1().jobs().inNamespace(NS).list().getItems().isEmpty(), "no step before the Secrets exist");
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void malformedUrlInSecretFailsValidatingWithoutEchoingIt() throws Exception {
        try (MockCluster cluster = new MockCluster().namespace(NS)) {
            KubernetesClient client = cluster.client();
            secret(client, "source-db", "url", "mysql://root:hunter2@db:3306/app");
            secret(client, "target-db", "url", "postgresql://postgres:x@127.0.0.1:1/postgres");
            Operator operator = Operators.start(client);
            try {
                client.resource(upgrade("bad-url", "17", false)).create();
                PostgresUpgrade failed = cluster.await(NS, "bad-url", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.Failed, 30);
                assertTrue(failed.getStatus().getMessage().contains("spec.source.urlSecretRef: the URL in Secret key source-db/url is not a postgresql:// URL"),
                        failed.getStatus().getMessage());
                String everything = client.getKubernetesSerialization().asYaml(failed) + client.v1().events().inNamespace(NS).list().getItems()
                        .stream().map(Event::getMessage).toList();
                assertTrue(!everything.contains("hunter2"), "the password leaked");
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void healthEndpointsAnswer() throws Exception {
        try (MockCluster cluster = new MockCluster().namespace(NS)) {
            Operator operator = Operators.start(cluster.client());
            try (HealthServer health = new HealthServer(0, operator).start()) {
                HttpClient http = HttpClient.newHttpClient();
                for (String path : List.of("/healthz", "/readyz")) {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + health.port() + path)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, response.statusCode(), path);
                }
            } finally {
                operator.stop();
            }
        }
    }
}
