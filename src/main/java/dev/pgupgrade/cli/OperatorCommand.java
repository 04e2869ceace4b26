package dev.pgupgrade.cli;

import dev.pgupgrade.metrics.MetricsServer;
import dev.pgupgrade.metrics.OperatorMetrics;
import dev.pgupgrade.operator.HealthServer;
import dev.pgupgrade.operator.OperatorMain;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pgupgrade operator}: runs the controller in a cluster (or against a kubeconfig). */
@Command(name = "operator", mixinStandardHelpOptions = true,
        description = "Runs the PostgresUpgrade controller: each upgrade's steps run as Kubernetes Jobs.")
final class OperatorCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--namespaces", split = ",", paramLabel = "NS",
            description = "Namespaces to watch, comma-separated (default: all, or $PGUPGRADE_NAMESPACES).")
    List<String> namespaces;

    @Option(names = "--health-port", defaultValue = "8080", paramLabel = "PORT",
            description = "Port of /healthz and /readyz (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int healthPort;

    @Option(names = "--metrics-port", defaultValue = "8081", paramLabel = "PORT",
            description = "Port of GET /metrics, Prometheus text format (default: ${DEFAULT-VALUE}; 0 picks a free one; -1 serves none).")
    int metricsPort;

    @Option(names = "--leader-election", description = "Take a Lease before reconciling, so that only one of several replicas acts.")
    boolean leaderElection;

    @Option(names = "--leader-election-namespace", paramLabel = "NS",
            description = "Namespace of the Lease (default: $POD_NAMESPACE, else the client's namespace).")
    String leaderElectionNamespace;

    @Option(names = "--leader-election-lease", defaultValue = "pgupgrade-operator", paramLabel = "NAME",
            description = "Name of the Lease (default: ${DEFAULT-VALUE}).")
    String leaseName;

    @Override
    public Integer call() throws Exception {
        List<String> watched = namespaces;
        if (watched == null || watched.isEmpty()) {
            String fromEnv = System.getenv("PGUPGRADE_NAMESPACES");
            watched = fromEnv == null || fromEnv.isBlank() ? List.of() : List.of(fromEnv.split(","));
        }
        KubernetesClient client = new KubernetesClientBuilder().build();
        String leaseNamespace = leaderElectionNamespace != null ? leaderElectionNamespace
                : System.getenv("POD_NAMESPACE") != null ? System.getenv("POD_NAMESPACE") : client.getNamespace();
        OperatorMain.Options options = new OperatorMain.Options(new LinkedHashSet<>(watched.stream().map(String::strip).toList()), true,
                leaderElection ? new OperatorMain.LeaderElection(leaseName, leaseNamespace) : null, new OperatorMetrics(Clock.systemUTC()));
        Operator operator = OperatorMain.start(client, options);
        CountDownLatch stopped = new CountDownLatch(1);
        try (HealthServer health = new HealthServer(healthPort, operator).start();
             MetricsServer metricsServer = metricsPort < 0 ? null : new MetricsServer(metricsPort, options.metrics()).start()) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                operator.stop();
                stopped.countDown();
            }));
            spec.commandLine().getErr().println("pgupgrade operator: watching " + (watched.isEmpty() ? "all namespaces" : String.join(",", watched))
                    + "; health on :" + health.port() + (metricsServer == null ? "" : "; metrics on :" + metricsServer.port() + "/metrics") + (leaderElection ? "; leader election with Lease " + leaseNamespace + "/" + leaseName : ""));
            spec.commandLine().getErr().flush();
            stopped.await();
        }
        return 0;
    }
}
