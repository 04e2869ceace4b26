package dev.pgupgrade.operator;

import dev.pgupgrade.metrics.OperatorMetrics;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import java.time.Clock;
import java.util.Set;
import io.javaoperatorsdk.operator.processing.retry.GenericRetry;

/** Builds and starts the JOSDK Operator with the PostgresUpgrade controller. */
public final class OperatorMain {
    /**
     * @param namespaces     namespaces to watch; empty means all
     * @param useSsa         server-side apply for status patches (off against API servers without it, e.g. fabric8's mock)
     * @param leaderElection lease name and namespace when more than one replica may run, else null
     * @param metrics        where JOSDK and the reconciler count, and whence /metrics reads the upgrades
     */
    public record Options(Set<String> namespaces, boolean useSsa, LeaderElection leaderElection, OperatorMetrics metrics) {
        public Options {
            namespaces = Set.copyOf(namespaces);
            java.util.Objects.requireNonNull(metrics, "metrics");
        }

        /** With metrics of its own, that nobody serves. */
        public Options(Set<String> namespaces, boolean useSsa, LeaderElection leaderElection) {
            this(namespaces, useSsa, leaderElection, new OperatorMetrics(Clock.systemUTC()));
        }
    }

    public record LeaderElection(String leaseName, String leaseNamespace) {
    }

    private OperatorMain() {
    }

    /** Starts a controller watching {@code namespaces} (empty: all), without leader election. */
    public static Operator start(KubernetesClient client, Set<String> namespaces) {
        return start(client, new Options(namespaces, true, null));
    }

    public static Operator start(KubernetesClient client, Options options) {
        return start(client, options, CrashPoints.NONE);
    }

    /** With fault points for tests that kill the operator between a side effect and its status write. */
    static Operator start(KubernetesClient client, Options options, CrashPoints crashPoints) {
        Operator operator = new Operator(o -> {
            o.withKubernetesClient(client)
                    .withUseSSAToPatchPrimaryResource(options.useSsa())
                    .withCloseClientOnStop(false)
                    .withMetrics(options.metrics().josdk());
            if (options.leaderElection() != null) {
                var election = LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(options.leaderElection().leaseName());
                if (options.leaderElection().leaseNamespace() != null) {
                    election.withLeaseNamespace(options.leaderElection().leaseNamespace());
                }
                o.withLeaderElectionConfiguration(election.build());
            }
        });
        operator.register(new PostgresUpgradeReconciler(client, Clock.systemUTC(), crashPoints, options.metrics()), c -> {
            // Never give up on an API server that is down (or answering 409) for a while: the apps may be scaled
            // to zero meanwhile, and JOSDK's default gives up after 6 attempts and next looks 10 hours later.
            c.withRetry(new GenericRetry().setInitialInterval(2000).setIntervalMultiplier(1.5)
                    .setMaxInterval(30_000).setMaxAttempts(-1));
            if (options.namespaces().isEmpty()) {
                c.watchingAllNamespaces();
            } else {
                c.settingNamespaces(options.namespaces());
            }
        });
        operator.start();
        return operator;
    }

}
