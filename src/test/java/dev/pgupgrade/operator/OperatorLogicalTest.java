package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.LogicalFixtures;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Upgrades;
import dev.pgupgrade.testing.WriteLoad;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The online strategy through the real JOSDK Operator: step Jobs run by {@link LocalKubelet} against
 * real servers, an app writing to the source until the cutover, a Deployment scaled down and repointed;
 * and the resource deleted while replicating, which must leave no replication object behind.
 */
class OperatorLogicalTest {
    static final String NS = Operators.NS;

    @TempDir
    Path tmp;

    private static PostgresUpgrade online(String name) {
        PostgresUpgrade upgrade = Upgrades.direct("17", null);
        upgrade.getMetadata().setName(name);
        upgrade.getMetadata().setNamespace(NS);
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(TransferSpec.Strategy.LOGICAL);
        upgrade.getSpec().setTransfer(transfer);
        return upgrade;
    }

    @Test
    void upgradesOnlineWithAnAppWritingAndRepointsIt() throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            LogicalFixtures.dataset(source);
            KubernetesClient client = cluster.client();
            OperatorEndToEndTest.secret(client, "source-db", "url", source.url("postgres"));
            OperatorEndToEndTest.secret(client, "target-db", "url", target.url("postgres"));
            OperatorEndToEndTest.secret(client, "shop-app", "DATABASE_URL", source.url("shop"));
            OperatorEndToEndTest.deployment(client, "shop-api", 2);
            Operator operator = Operators.start(client);
            List<Long> acknowledged;
            try (WriteLoad load = new WriteLoad(source::connect, "shop", 20).start()) {
                PostgresUpgrade upgrade = online("shop-online");
                upgrade.getSpec().setServices(List.of(OperatorEndToEndTest.service("shop-api")));
                client.resource(upgrade).create();
                PostgresUpgrade done = Operators.awaitEnd(cluster, "shop-online", 300);
                acknowledged = load.acknowledged();
                assertEquals(Phase.Succeeded, done.getStatus().getPhase(), () -> client.getKubernetesSerialization().asYaml(done.getStatus()));
                assertEquals(List.of(Phase.Validating, Phase.Validating, Phase.SchemaCheck, Phase.Replicating, Phase.Verifying, Phase.CatchingUp,
                        Phase.ScalingDown, Phase.Cutover, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing),
                        done.getStatus().getSteps().stream().map(StepStatus::getPhase).toList());
                assertEquals(target.url("postgres"), OperatorEndToEndTest.secretValue(client, "shop-app", "DATABASE_URL"));
                assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
                String statusYaml = client.getKubernetesSerialization().asYaml(done);
                assertFalse(statusYaml.contains(source.password()) || statusYaml.contains(target.password()), "a password in status");
            } finally {
                operator.stop();
            }
            assertTrue(acknowledged.size() > 20, "the app wrote during the upgrade: " + acknowledged.size());
            Set<Long> onTarget = new HashSet<>(LogicalFixtures.longs(target, "shop", "select id from load_events"));
            assertEquals(List.of(), acknowledged.stream().filter(id -> !onTarget.contains(id)).toList(), "acknowledged writes lost");
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    @Test
    void deletingTheResourceWhileReplicatingRemovesEveryReplicationObject() throws Exception {
        try (PostgresServer source = PostgresServer.start("13", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            LogicalFixtures.dataset(source);
            KubernetesClient client = cluster.client();
            OperatorEndToEndTest.secret(client, "source-db", "url", source.url("postgres"));
            OperatorEndToEndTest.secret(client, "target-db", "url", target.url("postgres"));
            Operator operator = Operators.start(client);
            try {
                PostgresUpgrade upgrade = online("doomed");
                ApprovalSpec approval = new ApprovalSpec();
                approval.setRequired(true);
                upgrade.getSpec().setApproval(approval);
                client.resource(upgrade).create();
                cluster.await(NS, "doomed", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.AwaitingApproval, 240);
                assertEquals(3, source.queryInt("template1", "select count(*) from pg_replication_slots"), "replicating: one slot per database");

                client.resources(PostgresUpgrade.class).inNamespace(NS).withName("doomed").delete();
                long deadline = System.currentTimeMillis() + 120_000;
                while (client.resources(PostgresUpgrade.class).inNamespace(NS).withName("doomed").get() != null
                        && System.currentTimeMillis() < deadline) {
                    Thread.sleep(200);
                }
                assertNull(client.resources(PostgresUpgrade.class).inNamespace(NS).withName("doomed").get(),
                        "the finalizer let the resource go once the rollback ended");
            } finally {
                operator.stop();
            }
            LogicalFixtures.assertNoReplicationLeft(source, target);
            assertEquals(0, source.queryInt("template1", "select count(*) from pg_database where not datallowconn and datname <> 'template0'"));
        }
    }
}
