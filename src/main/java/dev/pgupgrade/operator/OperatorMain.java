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
     * @param watchErrors    what a watch that breaks with an error does to its informer
     */
    public record Options(Set<String> namespaces, boolean useSsa, LeaderElection leaderElection, OperatorMetrics metrics,
                          WatchErrors watchErrors) {
        public Options {
            namespaces = Set.copyOf(namespaces);
            java.util.Objects.requireNonNull(metrics, "metrics");
            java.util.Objects.requireNonNull(watchErrors, "watchErrors");
        }

        /** As production runs: an informer that fails ends the process (see {@link WatchErrors#EXIT}). */
        public Options(Set<String> namespaces, boolean useSsa, LeaderElection leaderElection, OperatorMetrics metrics) {
            this(namespaces, useSsa, leaderElection, metrics, WatchErrors.EXIT);
        }

        /** With metrics of its own, that nobody serves. */
        public Options(Set<String> namespaces, boolean useSsa, LeaderElection leaderElection) {
            this(namespaces, useSsa, leaderElection, new OperatorMetrics(Clock.systemUTC()));
        }
    }

    public record LeaderElection(String leaseName, String leaseNamespace) {
    }

    /** What happens when a watch breaks with an error (not the API server's routine close, which always reconnects). */
    public enum WatchErrors {
        /**
         * JOSDK's default, kept in production: an informer that fails to start fails the start (a missing RBAC
         * grant shows at once), and one that stops later ends the process, so Kubernetes restarts the pod with
         * fresh informers; every phase resumes from status after a restart.
         */
        EXIT,
        /**
         * The informer reconnects. For tests on fabric8's mock API server, which can break a websocket frame
         * under load: there, exiting would kill the test JVM rather than restart a pod.
         */
        RETRY
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
                    .withMetrics(options.metrics().josdk())
                    // false: JOSDK's informers retry after any watch error instead of stopping
                    .withStopOnInformerErrorDuringStartup(options.watchErrors() == WatchErrors.EXIT);
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
