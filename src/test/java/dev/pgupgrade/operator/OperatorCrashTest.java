package dev.pgupgrade.operator;

import static dev.pgupgrade.operator.OperatorEndToEndTest.NS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.LogicalFixtures;
import dev.pgupgrade.testing.WriteLoad;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Upgrades;
import dev.pgupgrade.testing.aptible.FakeAptible;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The operator dies between a side effect and the status write that records it, once in every
 * phase, both where a phase records something (an intent, a step started, counts) and where it
 * ends; each time a fresh Operator takes over against the same API server. The upgrade must end as
 * if nothing happened: no Job created twice, recorded counts never replaced by the zeros the
 * operator set itself, data identical.
 */
class OperatorCrashTest {
    @TempDir
    Path tmp;

    /** The operator "process" died here: nothing after this line of the reconcile runs. */
    static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String where) {
            super("simulated operator crash " + where);
        }
    }

    /**
     * Runs the upgrade with a crash at the first status write of each kind ("Phase:record" or
     * "Phase:end"), restarting the operator after each; returns the end state and the crash points hit.
     */
    static Map.Entry<PostgresUpgrade, List<String>> runWithCrashes(MockCluster cluster, PostgresUpgrade upgrade) throws Exception {
        KubernetesClient client = cluster.client();
        Set<String> crashed = ConcurrentHashMap.newKeySet();
        BlockingQueue<String> crashes = new LinkedBlockingQueue<>();
        List<String> hit = new ArrayList<>();
        Operator operator = start(client, crashed, crashes);
        client.resource(upgrade).create();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        try {
            while (System.nanoTime() < deadline) {
                String crash = crashes.poll(200, TimeUnit.MILLISECONDS);
                if (crash != null) {
                    hit.add(crash);
                    operator.stop();
                    operator = start(client, crashed, crashes);
                }
                PostgresUpgrade now = client.resources(PostgresUpgrade.class).inNamespace(NS).withName(upgrade.getMetadata().getName()).get();
                if (now.getStatus() != null && now.getStatus().getPhase() != null && now.getStatus().getPhase().isTerminal() && crashes.isEmpty()) {
                    return Map.entry(now, hit);
                }
            }
            throw new AssertionError("did not end; crashes so far: " + hit);
        } finally {
            operator.stop();
        }
    }

    private static Operator start(KubernetesClient client, Set<String> crashed, BlockingQueue<String> crashes) {
        // one "process": once it died, every later call of it dies too, until the next operator replaces it
        boolean[] dead = {false};
        CrashPoints points = (PostgresUpgrade current, PostgresUpgradeStatus next) -> {
            if (dead[0]) {
                throw new SimulatedCrash("(already dead)");
            }
            Phase from = current.getStatus() == null ? null : current.getStatus().getPhase();
            if (from == null || next.getPhase() == null) {
                return;
            }
            String key = from + (next.getPhase() != from ? ":end" : ":record");
            if (crashed.add(key)) {
                dead[0] = true;
                crashes.add(key);
                throw new SimulatedCrash(key);
            }
        };
        return OperatorMain.start(client, new OperatorMain.Options(Set.of(NS), false, null,
                new dev.pgupgrade.metrics.OperatorMetrics(java.time.Clock.systemUTC()), OperatorMain.WatchErrors.RETRY), points);
    }

    private static void assertNoJobTwice(KubernetesClient client, LocalKubelet kubelet, PostgresUpgrade done) {
        List<Job> jobs = client.batch().v1().jobs().inNamespace(NS).list().getItems();
        long stepsWithJobs = done.getStatus().getSteps().stream().map(StepStatus::getJob).filter(j -> j != null).distinct().count();
        assertEquals(stepsWithJobs, jobs.size(), "one Job per step: " + jobs.stream().map(j -> j.getMetadata().getName()).toList());
        assertEquals(jobs.size(), kubelet.jobsRun(), "and each ran once");
    }

    /** Both dump-and-restore flows: parallel's, with a Dumping step, and pipeline's (direct's default), without. */
    @ParameterizedTest(name = "strategy {0}")
    @EnumSource(value = TransferSpec.Strategy.class, names = {"PARALLEL", "PIPELINE"})
    void directWithAServiceSurvivesACrashInEveryPhase(TransferSpec.Strategy strategy) throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            KubernetesClient client = cluster.client();
            source.execute("postgres", "create table accounts (id int primary key, owner text)",
                    "insert into accounts select g, 'owner ' || g from generate_series(1, 500) g");
            OperatorEndToEndTest.secret(client, "source-db", "url", source.url("postgres"));
            OperatorEndToEndTest.secret(client, "target-db", "url", target.url("postgres"));
            OperatorEndToEndTest.secret(client, "shop-app", "DATABASE_URL", source.url("postgres"));
            OperatorEndToEndTest.deployment(client, "shop-api", 3);
            ClusterSnapshot before = ClusterSnapshot.of(source);
            PostgresUpgrade upgrade = Upgrades.withStrategy(Upgrades.direct("17", null), strategy);
            upgrade.getMetadata().setName("crashy");
            upgrade.getMetadata().setNamespace(NS);
            upgrade.getSpec().setServices(List.of(OperatorEndToEndTest.service("shop-api")));

            var end = runWithCrashes(cluster, upgrade);
            PostgresUpgrade done = end.getKey();

            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
            for (Phase phase : List.of(Phase.Validating, Phase.SchemaCheck, Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Verifying,
                    Phase.Repointing, Phase.ScalingUp, Phase.Analyzing)) {
                assertTrue(end.getValue().contains(phase + ":end"), "crashed as " + phase + " ended: " + end.getValue());
            }
            // pipeline has no Dumping step to record: that phase only ends (skipped), and Restoring records instead
            String copyRecords = strategy == TransferSpec.Strategy.PARALLEL ? "Dumping:record" : "Restoring:record";
            assertTrue(end.getValue().containsAll(List.of("Validating:record", "ScalingDown:record", copyRecords, "Repointing:record")),
                    end.getValue()::toString);
            assertNoJobTwice(client, kubelet, done);
            assertEquals(3, done.getStatus().getServices().get(0).getReplicas(), "the recorded replicas, never the operator's own zero");
            assertEquals(3, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
            assertEquals(target.url("postgres"), OperatorEndToEndTest.secretValue(client, "shop-app", "DATABASE_URL"));
            assertEquals(source.url("postgres"), OperatorEndToEndTest.secretValue(client, KubernetesServices.backupSecretName(done), "shop-app.DATABASE_URL"),
                    "the backup holds the app's original URL, not the target's a second pass would have copied");
            assertEquals("", before.without("role passwords", "postgres ").diff(ClusterSnapshot.of(target).without("role passwords", "postgres ")));
        }
    }

    /**
     * The online strategy, an app writing the whole time: the operator dies as each online phase records
     * and ends. No step runs twice (one slot per database, one copy), and no acknowledged write is lost.
     */
    @Test
    void logicalWithAnAppWritingSurvivesACrashInEveryPhase() throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            KubernetesClient client = cluster.client();
            LogicalFixtures.dataset(source);
            OperatorEndToEndTest.secret(client, "source-db", "url", source.url("postgres"));
            OperatorEndToEndTest.secret(client, "target-db", "url", target.url("postgres"));
            OperatorEndToEndTest.secret(client, "shop-app", "DATABASE_URL", source.url("shop"));
            OperatorEndToEndTest.deployment(client, "shop-api", 2);
            PostgresUpgrade upgrade = Upgrades.withStrategy(Upgrades.direct("17", null), TransferSpec.Strategy.LOGICAL);
            upgrade.getMetadata().setName("crashy");
            upgrade.getMetadata().setNamespace(NS);
            upgrade.getSpec().setServices(List.of(OperatorEndToEndTest.service("shop-api")));

            Map.Entry<PostgresUpgrade, List<String>> end;
            List<Long> acknowledged;
            try (WriteLoad load = new WriteLoad(source::connect, "shop", 20).start()) {
                end = runWithCrashes(cluster, upgrade);
                acknowledged = load.acknowledged();
            }
            PostgresUpgrade done = end.getKey();
            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
            for (Phase phase : List.of(Phase.Validating, Phase.Replicating, Phase.Verifying, Phase.CatchingUp, Phase.ScalingDown, Phase.Cutover,
                    Phase.Repointing)) {
                assertTrue(end.getValue().contains(phase + ":end"), "crashed as " + phase + " ended: " + end.getValue());
            }
            assertNoJobTwice(client, kubelet, done);
            Set<Long> onTarget = new HashSet<>(LogicalFixtures.longs(target, "shop", "select id from load_events"));
            assertEquals(List.of(), acknowledged.stream().filter(id -> !onTarget.contains(id)).toList(), "acknowledged writes lost");
            assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    @Test
    void aptibleSurvivesACrashInEveryPhase() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (FakeAptible aptible = FakeAptible.create(Files.createDirectories(tmp.resolve("aptible")), PostgresServer.binDir("16").getParent().getParent());
             MockCluster cluster = new MockCluster().namespace(NS)) {
            aptible.addEnvironment("shop-prod");
            String token = aptible.issueToken();
            FakeAptible.Database source = aptible.createDatabase("shop-db", "shop-prod", "12");
            source.execute("db", "create table orders (id int primary key)", "insert into orders select generate_series(1, 700)");
            aptible.addApp("shop-web", "shop-prod", Map.of("web", 2, "worker", 1), Map.of("DATABASE_URL", source.url()));
            Map<String, String> env = new HashMap<>(aptible.environment());
            env.put("PATH", aptible.path());
            try (LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp.resolve("kubelet"), Map.of("16", PostgresServer.binDir("16")))
                    .withEnvironment(env).start()) {
                OperatorEndToEndTest.secret(cluster.client(), "aptible", "token", token);
                PostgresUpgrade upgrade = Upgrades.aptible("16", null);
                upgrade.getMetadata().setName("crashy");
                upgrade.getMetadata().setNamespace(NS);
                TransferSpec transfer = new TransferSpec();
                transfer.setStrategy(TransferSpec.Strategy.DUMPALL);
                upgrade.getSpec().setTransfer(transfer);
                upgrade.getSpec().setAnalyze(new PhaseToggle(false));

                var end = runWithCrashes(cluster, upgrade);
                PostgresUpgrade done = end.getKey();

                assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
                for (Phase phase : List.of(Phase.Validating, Phase.SchemaCheck, Phase.ProvisioningTarget, Phase.ScalingDown, Phase.Dumping,
                        Phase.Restoring, Phase.Verifying, Phase.Repointing, Phase.ScalingUp)) {
                    assertTrue(end.getValue().contains(phase + ":end"), "crashed as " + phase + " ended: " + end.getValue());
                }
                assertNoJobTwice(cluster.client(), kubelet, done);
                assertEquals(1, aptible.calls().stream().filter(c -> c.startsWith("db:create")).count(), "the target was created once");
                assertEquals(Map.of("shop-web/web", 2, "shop-web/worker", 1), done.getStatus().getServices().stream()
                        .collect(Collectors.toMap(s -> s.getApp() + "/" + s.getName(), s -> s.getReplicas())));
                assertEquals(Map.of("web", 2, "worker", 1), aptible.containerCounts("shop-web"));
                FakeAptible.Database target = aptible.database("shop-db-16").orElseThrow();
                assertEquals(target.url(), aptible.config("shop-web").get("DATABASE_URL"));
                assertEquals(3, done.getStatus().getSteps().stream().filter(s -> s.getPhase() == Phase.Restoring)
                        .findFirst().orElseThrow().getExpectedErrors(), "restored once: only the three expected errors");
            }
        }
    }
    /**
     * Aptible's online route (db:replicate --logical), an app writing to the source the whole time: the
     * operator dies as each phase records and ends. The replica is created once, no step runs twice, no
     * acknowledged write is lost, and nothing of the replication is left on either server.
     */
    @Test
    void aptibleLogicalWithAnAppWritingSurvivesACrashInEveryPhase() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (FakeAptible aptible = FakeAptible.create(Files.createDirectories(tmp.resolve("aptible")), PostgresServer.binDir("17").getParent().getParent());
             MockCluster cluster = new MockCluster().namespace(NS)) {
            aptible.addEnvironment("shop-prod");
            String token = aptible.issueToken();
            FakeAptible.Database source = aptible.createDatabase("shop-db", "shop-prod", "13");
            source.execute("db", "create table orders (id int primary key, item text)", "insert into orders select g, 'item ' || g from generate_series(1, 700) g");
            aptible.addApp("shop-web", "shop-prod", Map.of("web", 2), Map.of("DATABASE_URL", source.url()));
            Map<String, String> env = new HashMap<>(aptible.environment());
            env.put("PATH", aptible.path());
            try (LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp.resolve("kubelet"), Map.of("17", PostgresServer.binDir("17")))
                    .withEnvironment(env).start()) {
                OperatorEndToEndTest.secret(cluster.client(), "aptible", "token", token);
                PostgresUpgrade upgrade = Upgrades.aptible("17", null);
                upgrade.getMetadata().setName("crashy");
                upgrade.getMetadata().setNamespace(NS);
                TransferSpec transfer = new TransferSpec();
                transfer.setStrategy(TransferSpec.Strategy.LOGICAL);
                upgrade.getSpec().setTransfer(transfer);
                upgrade.getSpec().setAnalyze(new PhaseToggle(false));

                Map.Entry<PostgresUpgrade, List<String>> end;
                List<Long> acknowledged;
                try (WriteLoad load = new WriteLoad(source::connect, "db", 20).start()) {
                    end = runWithCrashes(cluster, upgrade);
                    acknowledged = load.acknowledged();
                }
                PostgresUpgrade done = end.getKey();
                assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
                for (Phase phase : List.of(Phase.Validating, Phase.ProvisioningTarget, Phase.Replicating, Phase.CatchingUp, Phase.ScalingDown,
                        Phase.Cutover, Phase.Repointing, Phase.ScalingUp)) {
                    assertTrue(end.getValue().contains(phase + ":end"), "crashed as " + phase + " ended: " + end.getValue());
                }
                assertNoJobTwice(cluster.client(), kubelet, done);
                assertEquals(1, aptible.calls().stream().filter(c -> c.startsWith("db:replicate")).count(), "the replica was created once");
                FakeAptible.Database replica = aptible.database(upgrade.getSpec().getTarget().getHandle()).orElseThrow();
                assertEquals(replica.url(), aptible.config("shop-web").get("DATABASE_URL"));
                assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));
                Set<Long> onReplica = new HashSet<>();
                try (var c = replica.connect("db"); var rs = c.createStatement().executeQuery("select id from load_events")) {
                    while (rs.next()) {
                        onReplica.add(rs.getLong(1));
                    }
                }
                assertEquals(List.of(), acknowledged.stream().filter(id -> !onReplica.contains(id)).toList(), "acknowledged writes lost");
                try (var c = source.connect("template1"); var rs = c.createStatement().executeQuery("select count(*) from pg_replication_slots")) {
                    rs.next();
                    assertEquals(0, rs.getInt(1), "slots left on the source");
                }
                try (var c = replica.connect("postgres"); var rs = c.createStatement().executeQuery("select count(*) from pg_subscription")) {
                    rs.next();
                    assertEquals(0, rs.getInt(1), "subscriptions left on the replica");
                }
            }
        }
    }
}
