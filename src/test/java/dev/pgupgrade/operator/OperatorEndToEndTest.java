package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import dev.pgupgrade.testing.Scrape;
import dev.pgupgrade.metrics.MetricsServer;
import dev.pgupgrade.metrics.OperatorMetrics;
import java.util.concurrent.atomic.AtomicReference;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.Upgrades;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real JOSDK Operator against fabric8's mock API server (CRUD mode, no server-side apply), with
 * {@link LocalKubelet} running each step Job's container as a local process against real PostgreSQL
 * 13 and 17 servers: the whole runbook, apps included, through the Kubernetes API.
 */
class OperatorEndToEndTest {
    static final String NS = Operators.NS;

    @TempDir
    Path tmp;

    @Test
    void upgradesWithTwoDeploymentsAndRepointsTheAppSecret() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17");
             MockCluster cluster = new MockCluster().namespace(NS);
             LocalKubelet kubelet = new LocalKubelet(cluster.client(), NS, tmp, Map.of("17", PostgresServer.binDir("17"))).start()) {
            source.psqlFile(Project.richDataset());
            KubernetesClient client = cluster.client();
            secret(client, "source-db", "url", source.url("postgres"));
            secret(client, "target-db", "url", target.url("postgres"));
            secret(client, "shop-app", "DATABASE_URL", source.url("app_owner", "owner-secret-1", "shop"));
            deployment(client, "shop-api", 3);
            deployment(client, "shop-worker", 2);
            ClusterSnapshot sourceBefore = ClusterSnapshot.of(source);

            // /metrics served as the operator command serves it, scraped with curl mid-downtime and at the end
            OperatorMetrics metrics = new OperatorMetrics(Clock.systemUTC());
            MetricsServer served = new MetricsServer(0, metrics).start();
            String metricsUrl = "http://127.0.0.1:" + served.port() + "/metrics";
            AtomicReference<Object> whileRestoring = new AtomicReference<>();
            kubelet.beforeStep("restoring-1", () -> {
                try {
                    whileRestoring.set(Scrape.curl(metricsUrl));
                } catch (Exception | AssertionError e) {
                    whileRestoring.set(e);
                }
            });
            Operator operator = Operators.start(client, metrics);
            try (served) {
                // strategy parallel: its Dumping Job is the one whose progress this test follows
                PostgresUpgrade upgrade = Upgrades.withStrategy(Upgrades.direct("17", null), TransferSpec.Strategy.PARALLEL);
                upgrade.getMetadata().setName("shop-upgrade");
                upgrade.getMetadata().setNamespace(NS);
                upgrade.getSpec().setServices(List.of(service("shop-api"), service("shop-worker")));
                client.resource(upgrade).create();

                PostgresUpgrade done = Operators.awaitEnd(cluster, "shop-upgrade", 240);

                assertEquals(Phase.Succeeded, done.getStatus().getPhase(), () -> client.getKubernetesSerialization().asYaml(done.getStatus()));
                assertEquals("13.23", done.getStatus().getSourceVersion());
                assertEquals("True", Conditions.find(done.getStatus().getConditions(), Conditions.READY).getStatus());
                assertEquals("False", Conditions.find(done.getStatus().getConditions(), Conditions.FAILED).getStatus());
                assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Verifying, Phase.Repointing,
                        Phase.ScalingUp, Phase.Analyzing), done.getStatus().getSteps().stream().map(StepStatus::getPhase).toList());
                assertEquals("shop-upgrade-dumping-1", done.getStatus().getSteps().get(3).getJob());

                // Data: identical, the target's own role keeps its password.
                assertEquals("", sourceBefore.without("role passwords", "postgres ").diff(ClusterSnapshot.of(target).without("role passwords", "postgres ")));

                // Services: taken to zero during the upgrade, back at the recorded replicas, repointed.
                assertEquals(Map.of("Deployment/shop-api", 0, "Deployment/shop-worker", 0), kubelet.lowestReplicas());
                assertEquals(3, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
                assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-worker").get().getSpec().getReplicas());
                assertEquals(Map.of("shop-api", 3, "shop-worker", 2), done.getStatus().getServices().stream()
                        .collect(Collectors.toMap(s -> s.getName(), s -> s.getReplicas())));
                assertEquals(target.url("postgres"), secretValue(client, "shop-app", "DATABASE_URL"));
                assertEquals(source.url("app_owner", "owner-secret-1", "shop"),
                        secretValue(client, KubernetesServices.backupSecretName(done), "shop-app.DATABASE_URL"), "the previous URL is kept");

                // Events for each phase, Jobs restricted and free of secrets.
                Set<String> reasons = client.v1().events().inNamespace(NS).list().getItems().stream().map(Event::getReason).collect(Collectors.toSet());
                assertTrue(reasons.containsAll(Set.of("Validating", "SchemaCheck", "ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing",
                        "ScalingUp", "Analyzing", "Succeeded")), reasons::toString);
                List<Job> jobs = client.batch().v1().jobs().inNamespace(NS).list().getItems();
                assertEquals(6, jobs.size(), "one Job per database step");
                for (Job job : jobs) {
                    assertRestricted(job);
                    String yaml = client.getKubernetesSerialization().asYaml(job);
                    assertFalse(yaml.contains(source.password()) || yaml.contains(target.password()), "a password in a Job spec");
                }
                String statusYaml = client.getKubernetesSerialization().asYaml(done);
                assertFalse(statusYaml.contains(source.password()) || statusYaml.contains(target.password()) || statusYaml.contains("owner-secret-1"));

                // A second reconcile after success changes nothing.
                var again = new PostgresUpgradeReconciler(client, Clock.systemUTC()).reconcile(done, null);
                assertTrue(again.isNoUpdate());
                String version = done.getMetadata().getResourceVersion();
                int jobsRun = kubelet.jobsRun();
                Thread.sleep(1500);
                assertEquals(version, client.resources(PostgresUpgrade.class).inNamespace(NS).withName("shop-upgrade").get().getMetadata().getResourceVersion());
                assertEquals(jobsRun, kubelet.jobsRun());

                assertMetrics(done, whileRestoring.get(), Scrape.curl(metricsUrl));

                // A spec changed after success: nothing is redone, but the change is acknowledged, so GitOps tools see a finished resource.
                PostgresUpgrade edited = cluster.edit(NS, "shop-upgrade", u -> {
                    u.getSpec().setStepTimeoutSeconds(7200L);
                    return u;
                });
                PostgresUpgrade acknowledged = cluster.await(NS, "shop-upgrade",
                        u -> edited.getMetadata().getGeneration().equals(u.getStatus().getObservedGeneration()), 30);
                assertEquals(Phase.Succeeded, acknowledged.getStatus().getPhase());
                for (String type : List.of(Conditions.READY, Conditions.RECONCILING, Conditions.STALLED, Conditions.SPEC_CHANGE_REFUSED)) {
                    assertEquals(edited.getMetadata().getGeneration(), Conditions.find(acknowledged.getStatus().getConditions(), type).getObservedGeneration(), type);
                }
                assertEquals("True", Conditions.find(acknowledged.getStatus().getConditions(), Conditions.READY).getStatus());
                assertEquals("True", Conditions.find(acknowledged.getStatus().getConditions(), Conditions.SPEC_CHANGE_REFUSED).getStatus());
                assertEquals(done.getStatus().getSteps().size(), acknowledged.getStatus().getSteps().size(), "nothing redone");
                assertEquals(jobsRun, kubelet.jobsRun());
            } finally {
                operator.stop();
            }
        }
    }

    /**
     * What Prometheus scraped: mid-downtime (the restore about to run) and at the end, each figure equal
     * to what status says, JOSDK's own reconcile counters, the ending counted once, no credential anywhere.
     */
    private static void assertMetrics(PostgresUpgrade done, Object midRun, Scrape end) {
        if (!(midRun instanceof Scrape during)) {
            throw new AssertionError("no scrape while restoring: " + midRun);
        }
        String[] who = {"namespace", NS, "name", "shop-upgrade"};
        assertEquals(1.0, during.value("pgupgrade_upgrade_phase", concat(who, "phase", "Restoring", "platform", "direct", "strategy", "parallel"))
                .orElseThrow(() -> new AssertionError(during.text())));
        assertEquals(1, during.find("pgupgrade_upgrade_phase", who).size(), "one phase series per upgrade");
        assertEquals(1.0, during.value("pgupgrade_downtime_ongoing", who).orElseThrow());
        assertTrue(during.value("pgupgrade_downtime_seconds", who).orElseThrow() > 0);

        List<StepStatus> steps = done.getStatus().getSteps();
        StepStatus down = steps.stream().filter(s -> s.getPhase() == Phase.ScalingDown).findFirst().orElseThrow();
        StepStatus up = steps.stream().filter(s -> s.getPhase() == Phase.ScalingUp).findFirst().orElseThrow();
        double downtime = java.time.Duration.between(java.time.Instant.parse(down.getStartedAt()), java.time.Instant.parse(up.getFinishedAt())).toMillis() / 1000.0;
        assertEquals(1.0, end.value("pgupgrade_upgrade_phase", concat(who, "phase", "Succeeded")).orElseThrow(() -> new AssertionError(end.text())));
        assertEquals(1, end.find("pgupgrade_upgrade_phase", who).size());
        assertEquals(downtime, end.value("pgupgrade_downtime_seconds", who).orElseThrow(), 0.001);
        assertEquals(0.0, end.value("pgupgrade_downtime_ongoing", who).orElseThrow());
        for (StepStatus step : steps) {
            assertEquals(step.getDurationSeconds(), end.value("pgupgrade_step_duration_seconds", concat(who, "step", step.getName())).orElseThrow(), 0.0005,
                    step.getName());
            if (step.getBytes() != null) {
                assertEquals(step.getBytes().doubleValue(), end.value("pgupgrade_moved_bytes", concat(who, "phase", step.getPhase().name())).orElseThrow(),
                        step.getName());
            }
        }
        assertEquals(stepOf(done, Phase.Dumping).getDurationSeconds(),
                end.value("pgupgrade_phase_duration_seconds", concat(who, "phase", "Dumping", "downtime", "true")).orElseThrow(), 0.0005);
        assertEquals(stepOf(done, Phase.Validating).getDurationSeconds(),
                end.value("pgupgrade_phase_duration_seconds", concat(who, "phase", "Validating", "downtime", "false")).orElseThrow(), 0.0005);
        assertEquals(0.0, end.value("pgupgrade_verification_mismatches", concat(who, "phase", "Verifying")).orElseThrow());
        assertEquals(java.time.Instant.parse(done.getStatus().getCompletedAt()).toEpochMilli() / 1000.0,
                end.value("pgupgrade_upgrade_end_timestamp_seconds", who).orElseThrow(), 0.001);
        assertTrue(end.find("pgupgrade_upgrade_failure").isEmpty());
        assertEquals(1.0, end.value("pgupgrade_upgrades_ended_total", "outcome", "Succeeded", "failed_phase", "none").orElseThrow());
        assertTrue(end.find("pgupgrade_rollbacks_started_total").isEmpty());
        // JOSDK's own: reconciles were counted, none failed
        assertTrue(end.find("operator_sdk_reconciliations_started_total").stream().mapToDouble(Scrape.Sample::value).sum() > 5, end.text());
        assertTrue(end.find("operator_sdk_reconciliations_failed_total").stream().allMatch(s -> s.value() == 0), end.text());
        assertFalse(end.text().contains("postgresql://") || end.text().contains("password"), "no URL, no credential");
    }

    private static StepStatus stepOf(PostgresUpgrade upgrade, Phase phase) {
        return upgrade.getStatus().getSteps().stream().filter(s -> s.getPhase() == phase).findFirst().orElseThrow();
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    static void assertRestricted(Job job) {
        var pod = job.getSpec().getTemplate().getSpec();
        assertEquals(0, job.getSpec().getBackoffLimit());
        assertNotNull(job.getSpec().getActiveDeadlineSeconds());
        assertNotNull(job.getSpec().getTtlSecondsAfterFinished());
        assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken());
        assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot());
        assertTrue(job.getMetadata().getOwnerReferences().get(0).getController());
        Container c = pod.getContainers().get(0);
        assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation());
        assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem());
        assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop());
        c.getEnv().stream().filter(e -> e.getName().endsWith("_URL")).forEach(e -> {
            assertNotNull(e.getValueFrom().getSecretKeyRef(), e.getName() + " must come from a Secret");
            assertEquals(null, e.getValue());
        });
    }

    static ServiceSpec service(String name) {
        ServiceSpec s = new ServiceSpec();
        s.setKind("Deployment");
        s.setName(name);
        s.setUrlSecretRef(new SecretKeyRef("shop-app", "DATABASE_URL"));
        return s;
    }

    static void secret(KubernetesClient client, String name, String key, String value) {
        secret(client, NS, name, key, value);
    }

    static void secret(KubernetesClient client, String namespace, String name, String key, String value) {
        client.secrets().inNamespace(namespace).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
                .addToData(key, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))).build()).createOr(existing -> existing.update());
    }

    static String secretValue(KubernetesClient client, String name, String key) {
        return new String(Base64.getDecoder().decode(client.secrets().inNamespace(NS).withName(name).get().getData().get(key)), StandardCharsets.UTF_8);
    }

    static void deployment(KubernetesClient client, String name, int replicas) {
        deployment(client, NS, name, replicas);
    }

    static void deployment(KubernetesClient client, String namespace, String name, int replicas) {
        client.apps().deployments().inNamespace(namespace).resource(new DeploymentBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withReplicas(replicas).withNewSelector().addToMatchLabels("app", name).endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
                .withNewSpec().addNewContainer().withName("app").withImage("registry.example.com/" + name + ":1").endContainer().endSpec()
                .endTemplate().endSpec().build()).create();
    }
}
