package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.LogicalFixtures;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import dev.pgupgrade.testing.Scrape;
import dev.pgupgrade.metrics.MetricsServer;
import dev.pgupgrade.metrics.OperatorMetrics;
import java.time.Clock;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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

    private static PostgresUpgrade approvalRequired(PostgresUpgrade upgrade) {
        ApprovalSpec approval = new ApprovalSpec();
        approval.setRequired(true);
        upgrade.getSpec().setApproval(approval);
        return upgrade;
    }

    /**
     * curl /metrics while the watch reports: lag, lag seconds and retained WAL, in total and per database, equal
     * to status.progress.replication as stored at the scrape (read before and after it; retried if a report
     * landed in between).
     */
    private static void assertReplicationMetrics(MockCluster cluster, String metricsUrl) throws Exception {
        for (int attempt = 1; ; attempt++) {
            PostgresUpgrade before = cluster.client().resources(PostgresUpgrade.class).inNamespace(NS).withName("watched").get();
            Scrape scrape = Scrape.curl(metricsUrl);
            PostgresUpgrade after = cluster.client().resources(PostgresUpgrade.class).inNamespace(NS).withName("watched").get();
            ReplicationStatus replication = after.getStatus().getProgress().getReplication();
            boolean stable = before.getMetadata().getResourceVersion().equals(after.getMetadata().getResourceVersion());
            double lag = scrape.value("pgupgrade_replication_lag_bytes", "namespace", NS, "name", "watched").orElse(-1);
            if ((!stable || lag != replication.getLagBytes()) && attempt < 20) {
                Thread.sleep(300);
                continue;
            }
            String[] who = {"namespace", NS, "name", "watched"};
            assertEquals(replication.getLagBytes().doubleValue(), lag, scrape::text);
            assertEquals(replication.getLagSeconds(), scrape.value("pgupgrade_replication_lag_seconds", who).orElseThrow(), 0.0005);
            assertEquals(replication.getRetainedBytes().doubleValue(), scrape.value("pgupgrade_replication_retained_wal_bytes", who).orElseThrow());
            assertEquals(3.0, scrape.value("pgupgrade_replication_databases", who).orElseThrow());
            for (ReplicationStatus.DatabaseReplication database : replication.getDatabases()) {
                String[] labels = {"namespace", NS, "name", "watched", "database", database.getDatabase()};
                assertEquals(database.getLagBytes().doubleValue(), scrape.value("pgupgrade_replication_database_lag_bytes", labels).orElseThrow(),
                        database.getDatabase());
                assertEquals(database.getRetainedBytes().doubleValue(),
                        scrape.value("pgupgrade_replication_database_retained_wal_bytes", labels).orElseThrow(), database.getDatabase());
            }
            assertEquals(1.0, scrape.value("pgupgrade_upgrade_phase", "name", "watched", "phase", "AwaitingApproval", "strategy", "logical").orElseThrow());
            assertTrue(scrape.find("pgupgrade_downtime_seconds").isEmpty(), "nothing is down while replicating");
            return;
        }
    }

    private static void serverSecrets(KubernetesClient client, PostgresServer source, PostgresServer target) {
        OperatorEndToEndTest.secret(client, "source-db", "url", source.url("postgres"));
        OperatorEndToEndTest.secret(client, "target-db", "url", target.url("postgres"));
    }

    @Test
    void upgradesOnlineWithAnAppWritingAndRepointsIt() throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            LogicalFixtures.dataset(source);
            KubernetesClient client = cluster.client();
            serverSecrets(client, source, target);
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

    /** Deleted while the initial copy runs (its step is stopped first), or while the approval waits with the target streaming. */
    @ParameterizedTest(name = "deleted during {0}")
    @EnumSource(value = Phase.class, names = {"Replicating", "AwaitingApproval"})
    void deletingTheResourceWhileReplicatingRemovesEveryReplicationObject(Phase deletedDuring) throws Exception {
        try (PostgresServer source = PostgresServer.start("13", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            LogicalFixtures.dataset(source);
            KubernetesClient client = cluster.client();
            serverSecrets(client, source, target);
            Operator operator = Operators.start(client);
            try {
                PostgresUpgrade upgrade = approvalRequired(online("doomed"));
                client.resource(upgrade).create();
                if (deletedDuring == Phase.Replicating) {
                    long until = System.currentTimeMillis() + 240_000;
                    while (source.queryInt("template1", "select count(*) from pg_replication_slots") == 0 && System.currentTimeMillis() < until) {
                        Thread.sleep(20);
                    }
                    assertEquals(Phase.Replicating, client.resources(PostgresUpgrade.class).inNamespace(NS).withName("doomed").get().getStatus().getPhase(),
                            "the copy began");
                } else {
                    cluster.await(NS, "doomed", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.AwaitingApproval, 240);
                    assertEquals(3, source.queryInt("template1", "select count(*) from pg_replication_slots"), "replicating: one slot per database");
                }

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

    /**
     * A days-long wait for the approval is watched by a step Job, not by the operator: status shows each
     * database's lag; a subscriber that stalls makes the source keep WAL, which warns (condition and
     * Event) and then, past the limit, rolls the upgrade back with every replication object removed.
     */
    @Test
    void whileWaitingForTheApprovalTheReplicationIsWatchedAndAStalledSubscriberStopsItBeforeTheDiskFills() throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).servingLogs(cluster).start()) {
            LogicalFixtures.dataset(source);
            KubernetesClient client = cluster.client();
            serverSecrets(client, source, target);
            OperatorMetrics metrics = new OperatorMetrics(Clock.systemUTC());
            Operator operator = Operators.start(client, metrics);
            try (MetricsServer served = new MetricsServer(0, metrics).start()) {
                String metricsUrl = "http://127.0.0.1:" + served.port() + "/metrics";
                PostgresUpgrade upgrade = approvalRequired(online("watched"));
                LogicalSpec logical = new LogicalSpec();
                logical.setWarnRetainedWalMegabytes(24);
                logical.setMaxRetainedWalMegabytes(48);
                upgrade.getSpec().setLogical(logical);
                client.resource(upgrade).create();

                PostgresUpgrade watched = cluster.await(NS, "watched", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.AwaitingApproval
                        && u.getStatus().getProgress() != null && u.getStatus().getProgress().getReplication() != null
                        && u.getStatus().getProgress().getReplication().getDatabases().size() == 3
                        && u.getStatus().getProgress().getReplication().getDatabases().stream().allMatch(d -> "streaming".equals(d.getState())), 240);
                ReplicationStatus replication = watched.getStatus().getProgress().getReplication();
                assertTrue(watched.getStatus().getProgress().getSummary().matches("lag .* / [0-9.]+ s, WAL kept .*, 3/3 streaming"),
                        watched.getStatus().getProgress().getSummary());
                assertEquals(Set.of("postgres", "shop", "second | db"),
                        Set.copyOf(replication.getDatabases().stream().map(ReplicationStatus.DatabaseReplication::getDatabase).toList()));
                assertEquals("False", Conditions.find(watched.getStatus().getConditions(), Conditions.WAL_RETAINED).getStatus());
                // seconds since the source was where each subscriber is: a caught-up target is seconds behind, not hours
                assertTrue(replication.getLagSeconds() >= 0 && replication.getLagSeconds() < 60, "lag seconds: " + replication.getLagSeconds());
                assertTrue(replication.getDatabases().stream().allMatch(d -> d.getLagSeconds() >= 0 && d.getLagSeconds() < 60
                        && d.getRetainedBytes() >= 0 && d.getLagBytes() >= 0), () -> client.getKubernetesSerialization().asYaml(replication));

                // a subscriber stalls (disabled by hand), and the source writes 32 MiB of WAL: past the warning, under the limit
                for (String db : List.of("postgres", "shop", "second | db")) {
                    target.execute(db, "do $$ declare s record; begin for s in select subname from pg_subscription"
                            + " where subdbid = (select oid from pg_database where datname = current_database()) loop"
                            + " execute format('alter subscription %I disable', s.subname); end loop; end $$");
                }
                source.execute("postgres", "select pg_logical_emit_message(false, 'pgupgrade-test', repeat('x', 1048576)) from generate_series(1, 32)");
                PostgresUpgrade warned = cluster.await(NS, "watched", u -> Conditions.find(u.getStatus().getConditions(), Conditions.WAL_RETAINED) != null
                        && "True".equals(Conditions.find(u.getStatus().getConditions(), Conditions.WAL_RETAINED).getStatus()), 60);
                assertEquals(Phase.AwaitingApproval, warned.getStatus().getPhase());
                ReplicationStatus stalled = warned.getStatus().getProgress().getReplication();
                assertTrue(stalled.getLagBytes() >= 32L * 3 << 20, "every stalled subscriber is 32 MiB behind: " + stalled.getLagBytes());
                assertTrue(stalled.getLagSeconds() > 0 && stalled.getLagSeconds() < 300, "lag seconds since the stall: " + stalled.getLagSeconds());
                assertTrue(Conditions.find(warned.getStatus().getConditions(), Conditions.WAL_RETAINED).getMessage()
                        .contains("over spec.logical.warnRetainedWalMegabytes (24 MiB)"));
                assertTrue(client.v1().events().inNamespace(NS).list().getItems().stream()
                        .anyMatch(e -> "WalRetained".equals(e.getReason()) && "Warning".equals(e.getType())), "a Warning event WalRetained");
                assertReplicationMetrics(cluster, metricsUrl);

                // 32 MiB more: past the limit, the upgrade stops and removes its slots rather than fill the source's disk
                source.execute("postgres", "select pg_logical_emit_message(false, 'pgupgrade-test', repeat('x', 1048576)) from generate_series(1, 32)");
                PostgresUpgrade ended = Operators.awaitEnd(cluster, "watched", 180);
                assertEquals(Phase.RolledBack, ended.getStatus().getPhase(), () -> client.getKubernetesSerialization().asYaml(ended.getStatus()));
                assertTrue(ended.getStatus().getMessage().contains("maxRetainedWalMegabytes"), ended.getStatus().getMessage());
                assertEquals("False", Conditions.find(ended.getStatus().getConditions(), Conditions.WAL_RETAINED).getStatus());
                Scrape after = Scrape.curl(metricsUrl);
                assertEquals(1.0, after.value("pgupgrade_upgrade_failure", "name", "watched", "failed_phase", "AwaitingApproval", "phase", "RolledBack")
                        .orElseThrow(() -> new AssertionError(after.text())));
                assertEquals(1.0, after.value("pgupgrade_rollbacks_started_total", "failed_phase", "AwaitingApproval").orElseThrow());
                assertEquals(1.0, after.value("pgupgrade_upgrades_ended_total", "outcome", "RolledBack", "failed_phase", "AwaitingApproval").orElseThrow());
                assertTrue(after.find("pgupgrade_replication_lag_bytes").isEmpty(), "no lag once replication is gone");
            } finally {
                operator.stop();
            }
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }
}
