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
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.LocalKubelet;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
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

            Operator operator = Operators.start(client);
            try {
                PostgresUpgrade upgrade = Upgrades.direct("17", null);
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
            } finally {
                operator.stop();
            }
        }
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
        client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
                .addToData(key, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))).build()).createOr(existing -> existing.update());
    }

    static String secretValue(KubernetesClient client, String name, String key) {
        return new String(Base64.getDecoder().decode(client.secrets().inNamespace(NS).withName(name).get().getData().get(key)), StandardCharsets.UTF_8);
    }

    static void deployment(KubernetesClient client, String name, int replicas) {
        client.apps().deployments().inNamespace(NS).resource(new DeploymentBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withReplicas(replicas).withNewSelector().addToMatchLabels("app", name).endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
                .withNewSpec().addNewContainer().withName("app").withImage("registry.example.com/" + name + ":1").endContainer().endSpec()
                .endTemplate().endSpec().build()).create();
    }
}
