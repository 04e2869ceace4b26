package dev.pgupgrade.operator;

import static dev.pgupgrade.operator.OperatorEndToEndTest.NS;
import static dev.pgupgrade.operator.OperatorEndToEndTest.deployment;
import static dev.pgupgrade.operator.OperatorEndToEndTest.secret;
import static dev.pgupgrade.operator.OperatorEndToEndTest.secretValue;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.runner.StepResources;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import dev.pgupgrade.testing.PostgresServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Everything one operator test needs, closed in reverse order: a PostgreSQL 13 source and a 17
 * target, the mock API server with the Secrets {@code source-db}, {@code target-db} and
 * {@code shop-app} (DATABASE_URL pointing at the source) and one Deployment {@code shop-api}, the
 * local kubelet, and -- once {@link #start()} is called, after the test has set its kubelet hooks --
 * the real Operator.
 */
final class OperatorRig implements AutoCloseable {
    final PostgresServer source = PostgresServer.start("13");
    final PostgresServer target = PostgresServer.start("17");
    final MockCluster cluster = new MockCluster().namespace(NS);
    final KubernetesClient client = cluster.client();
    final LocalKubelet kubelet;
    Operator operator;

    /** KUBELET_BINARIES: server binaries the step pods get, per major; SOURCE_SETUP: SQL run on the source's postgres database. */
    OperatorRig(Path tmp, Map<String, Path> kubeletBinaries, int replicas, String... sourceSetup) throws Exception {
        kubelet = new LocalKubelet(client, NS, tmp, kubeletBinaries);
        source.execute("postgres", sourceSetup);
        secret(client, "source-db", "url", source.url("postgres"));
        secret(client, "target-db", "url", target.url("postgres"));
        secret(client, "shop-app", "DATABASE_URL", source.url("postgres"));
        deployment(client, "shop-api", replicas);
    }

    /** Starts the kubelet, then the operator. */
    void start() {
        kubelet.start();
        operator = Operators.start(client);
    }

    /** Starts everything, creates the upgrade and waits up to SECONDS for its end. */
    PostgresUpgrade run(PostgresUpgrade upgrade, long seconds) throws Exception {
        start();
        client.resource(upgrade).create();
        return Operators.awaitEnd(cluster, upgrade.getMetadata().getName(), seconds);
    }

    /** Jobs per step label: a duplicate Job for a step shows as a count above 1. */
    Map<String, Long> jobsPerStep() {
        return client.batch().v1().jobs().inNamespace(NS).list().getItems().stream()
                .collect(Collectors.groupingBy(j -> j.getMetadata().getLabels().get(StepResources.LABEL_STEP), TreeMap::new, Collectors.counting()));
    }

    int replicas() {
        return client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas();
    }

    String appUrl() {
        return secretValue(client, "shop-app", "DATABASE_URL");
    }

    @Override
    public void close() {
        if (operator != null) {
            operator.stop();
        }
        kubelet.close();
        cluster.close();
        target.close();
        source.close();
    }
}
