package dev.pgupgrade.testing;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.metrics.OperatorMetrics;
import dev.pgupgrade.operator.OperatorMain;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.util.Set;

/** What every operator test does: start the real JOSDK Operator on a (mock) cluster, and wait for an upgrade to end. */
public final class Operators {
    /** The namespace operator tests work in. */
    public static final String NS = "shop";

    private Operators() {
    }

    /**
     * The operator as production runs it, watching {@link #NS}, without leader election; for the mock server,
     * SSA off and informers that reconnect after a broken watch frame (see {@link OperatorMain.WatchErrors#RETRY}).
     */
    public static Operator start(KubernetesClient client) {
        return OperatorMain.start(client, new OperatorMain.Options(Set.of(NS), false, null, new OperatorMetrics(java.time.Clock.systemUTC()),
                OperatorMain.WatchErrors.RETRY));
    }

    /** The same, counting into {@code metrics} (which a test serves and scrapes). */
    public static Operator start(KubernetesClient client, OperatorMetrics metrics) {
        return OperatorMain.start(client, new OperatorMain.Options(Set.of(NS), false, null, metrics, OperatorMain.WatchErrors.RETRY));
    }

    /** Waits until the upgrade reached Succeeded, Failed or RolledBack. */
    public static PostgresUpgrade awaitEnd(MockCluster cluster, String name, long seconds) throws InterruptedException {
        return cluster.await(NS, name, u -> u.getStatus() != null && u.getStatus().getPhase() != null
                && u.getStatus().getPhase().isTerminal(), seconds);
    }
}
