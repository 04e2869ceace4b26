package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pgupgrade.api.CrdYaml;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.engine.Conditions;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.javaoperatorsdk.operator.Operator;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The operator in-process against a real Kubernetes API server (k3s in Docker): the generated CRD with
 * its CEL rules, a PostgreSQL 13 source with data and an empty PostgreSQL 17 target as Deployments, an
 * app Deployment reading its database URL from a Secret, and one PostgresUpgrade like
 * examples/direct/upgrade.yaml. The step Jobs run for real (official postgres images, a local-path
 * work volume). Needs a Docker engine and network access to pull images; skipped elsewhere.
 */
@Tag("k3s")
class K3sEndToEndTest {
    static final String K3S_IMAGE = "rancher/k3s:v1.31.4-k3s1";
    static final String NS = "shop";
    static final String SOURCE_PASSWORD = "source-pw-13";
    static final String TARGET_PASSWORD = "target-pw-17";
    static final List<String> TABLES = List.of("customers", "orders");

    static K3sContainer k3s;
    static KubernetesClient client;

    /** Per test rather than @BeforeAll: Surefire reports a test skipped by an assumption (with its reason), not a skipped class. */
    @BeforeEach
    void startK3s() {
        assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
                "no Docker engine: the k3s end-to-end test needs one (it runs in CI environments with Docker)");
        if (k3s == null) {
            k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE));
            k3s.start();
            client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build();
        }
    }

    @AfterAll
    static void stopK3s() {
        if (client != null) {
            client.close();
        }
        if (k3s != null) {
            k3s.stop();
        }
    }

    @Test
    @Timeout(value = 25, unit = TimeUnit.MINUTES)
    void upgradesPostgres13To17AndBringsTheAppBackOnTheTarget() throws Exception {
        CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(CrdYaml.generate(), CustomResourceDefinition.class);
        client.resource(crd).create();
        client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions().stream()
                        .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())), 1, TimeUnit.MINUTES);
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();

        postgres("pg13", "postgres:13", SOURCE_PASSWORD);
        postgres("pg17", "postgres:17", TARGET_PASSWORD);
        secret("source-db", "url", url("pg13", SOURCE_PASSWORD));
        secret("target-db", "url", url("pg17", TARGET_PASSWORD));
        secret("shop-app", "DATABASE_URL", url("pg13", SOURCE_PASSWORD));
        app("shop-api", 2);
        for (String name : List.of("pg13", "pg17", "shop-api")) {
            awaitAvailable(name);
        }
        seedSource();
        Map<String, String> sourceTables = tables("pg13", SOURCE_PASSWORD);
        assertEquals(100, rows(sourceTables.get("customers")));
        assertEquals(1000, rows(sourceTables.get("orders")));

        // The API server itself runs the CRD's CEL rule on items: a DaemonSet service is never stored.
        KubernetesClientException refused = assertThrows(KubernetesClientException.class,
                () -> client.resource(upgrade("bad-kind", "DaemonSet")).create());
        assertEquals(422, refused.getCode(), refused.getMessage());
        assertTrue(refused.getMessage().contains("kind must be Deployment or StatefulSet"), refused.getMessage());

        Operator operator = OperatorMain.start(client, Set.of(NS));
        try {
            client.resource(upgrade("shop-db-upgrade", "Deployment")).create();
            PostgresUpgrade done = awaitReady("shop-db-upgrade", Duration.ofMinutes(10));

            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), () -> yaml(done));
            assertTrue(done.getStatus().getSourceVersion().startsWith("13."), done.getStatus().getSourceVersion());
            assertTrue(done.getStatus().getTargetVersion().startsWith("17."), done.getStatus().getTargetVersion());

            // The data: every table has the same rows (count and checksum) on the target.
            assertEquals(sourceTables, tables("pg17", TARGET_PASSWORD));

            // The app: back at its replicas, its Secret now holding the target's URL.
            assertEquals(2, client.apps().deployments().inNamespace(NS).withName("shop-api").get().getSpec().getReplicas());
            assertEquals(url("pg17", TARGET_PASSWORD), secretValue("shop-app", "DATABASE_URL"));

            // The root CEL transition rule, enforced by the API server: spec is frozen after ScalingDown.
            KubernetesClientException frozen = assertThrows(KubernetesClientException.class,
                    () -> client.resources(PostgresUpgrade.class).inNamespace(NS).withName("shop-db-upgrade")
                            .edit(u -> {
                                u.getSpec().getTarget().setVersion("16");
                                return u;
                            }));
            assertEquals(422, frozen.getCode(), frozen.getMessage());
            assertTrue(frozen.getMessage().contains("spec cannot change"), frozen.getMessage());
        } finally {
            operator.stop();
        }
    }

    /** Ready=True, failing fast on a terminal phase that is not Succeeded; the status and step Jobs are printed on failure. */
    static PostgresUpgrade awaitReady(String name, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        PostgresUpgrade current = null;
        while (Instant.now().isBefore(deadline)) {
            current = client.resources(PostgresUpgrade.class).inNamespace(NS).withName(name).get();
            if (current != null && current.getStatus() != null) {
                Condition ready = Conditions.find(current.getStatus().getConditions(), Conditions.READY);
                if (ready != null && "True".equals(ready.getStatus())) {
                    return current;
                }
                Phase phase = current.getStatus().getPhase();
                if (phase != null && phase.isTerminal() && phase != Phase.Succeeded) {
                    fail("the upgrade ended " + phase + "\n" + yaml(current) + diagnostics());
                }
            }
            Thread.sleep(5000);
        }
        fail("not Ready after " + timeout + "\n" + (current == null ? "(no resource)" : yaml(current)) + diagnostics());
        return null;
    }

    static PostgresUpgrade upgrade(String name, String serviceKind) {
        return client.getKubernetesSerialization().unmarshal("""
                apiVersion: pgupgrade.dev/v1alpha1
                kind: PostgresUpgrade
                metadata: {name: %s, namespace: %s}
                spec:
                  platform: direct
                  source: {urlSecretRef: {name: source-db, key: url}}
                  target: {urlSecretRef: {name: target-db, key: url}, version: "17"}
                  services:
                    - {kind: %s, name: shop-api, urlSecretRef: {name: shop-app, key: DATABASE_URL}}
                  workVolume: {size: 1Gi}
                  stepTimeoutSeconds: 600
                """.formatted(name, NS, serviceKind), PostgresUpgrade.class);
    }

    static String url(String server, String password) {
        return "postgresql://postgres:" + password + "@" + server + "." + NS + ".svc.cluster.local:5432/postgres";
    }

    static void postgres(String name, String image, String password) {
        client.apps().deployments().inNamespace(NS).resource(new DeploymentBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withReplicas(1)
                .withNewSelector().addToMatchLabels("app", name).endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
                .withNewSpec().addNewContainer().withName("postgres").withImage(image)
                .addNewEnv().withName("POSTGRES_PASSWORD").withValue(password).endEnv()
                .addNewPort().withContainerPort(5432).endPort()
                // TCP only answers once the entrypoint's initdb is over and the real server runs
                .withNewReadinessProbe().withNewExec().withCommand("pg_isready", "-h", "127.0.0.1", "-U", "postgres").endExec()
                .withPeriodSeconds(2).endReadinessProbe()
                .endContainer().endSpec().endTemplate().endSpec().build()).create();
        client.services().inNamespace(NS).resource(new ServiceBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().addToSelector("app", name).addNewPort().withPort(5432).endPort().endSpec().build()).create();
    }

    /** An app that only holds its database URL in its environment, like examples/direct/upgrade.yaml's. */
    static void app(String name, int replicas) {
        client.apps().deployments().inNamespace(NS).resource(new DeploymentBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withReplicas(replicas)
                .withNewSelector().addToMatchLabels("app", name).endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
                .withNewSpec()
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(65534L)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                .addNewContainer().withName("app").withImage("busybox:1.36").withCommand("sleep", "1000000")
                .addNewEnv().withName("DATABASE_URL").withNewValueFrom().withNewSecretKeyRef().withName("shop-app").withKey("DATABASE_URL").endSecretKeyRef()
                .endValueFrom().endEnv()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .endContainer().endSpec().endTemplate().endSpec().build()).create();
    }

    static void secret(String name, String key, String value) {
        client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
                .addToStringData(key, value).build()).create();
    }

    static String secretValue(String name, String key) {
        return new String(Base64.getDecoder().decode(client.secrets().inNamespace(NS).withName(name).get().getData().get(key)),
                StandardCharsets.UTF_8);
    }

    static void awaitAvailable(String deployment) {
        client.apps().deployments().inNamespace(NS).withName(deployment).waitUntilCondition(
                d -> d != null && d.getStatus() != null && Objects.equals(d.getStatus().getReadyReplicas(), d.getSpec().getReplicas()),
                5, TimeUnit.MINUTES);
    }

    static void seedSource() throws Exception {
        try (LocalPortForward forward = forward("pg13")) {
            try (Connection c = connect(forward, "postgres", SOURCE_PASSWORD); Statement s = c.createStatement()) {
                s.execute("create database shop");
            }
            try (Connection c = connect(forward, "shop", SOURCE_PASSWORD); Statement s = c.createStatement()) {
                s.execute("create table customers (id serial primary key, name text not null)");
                s.execute("insert into customers (name) select 'customer ' || g from generate_series(1, 100) g");
                s.execute("create table orders (id bigserial primary key, customer_id int not null references customers,"
                        + " total numeric(10,2) not null, placed_at timestamptz not null)");
                s.execute("insert into orders (customer_id, total, placed_at) select 1 + g % 100, g * 1.25,"
                        + " timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour' from generate_series(1, 1000) g");
            }
        }
    }

    /** Each table of database "shop": "rows=N md5=..." over its rows in a stable order. */
    static Map<String, String> tables(String server, String password) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (LocalPortForward forward = forward(server); Connection c = connect(forward, "shop", password); Statement s = c.createStatement()) {
            s.execute("set timezone = 'UTC'");
            for (String table : TABLES) {
                try (ResultSet rs = s.executeQuery("select 'rows=' || count(*) || ' md5=' || md5(coalesce(string_agg(row(t.*)::text, "
                        + "E'\\n' order by row(t.*)::text), '')) from " + table + " t")) {
                    rs.next();
                    out.put(table, rs.getString(1));
                }
            }
        }
        return out;
    }

    static int rows(String tableSummary) {
        return Integer.parseInt(tableSummary.substring("rows=".length(), tableSummary.indexOf(' ')));
    }

    static LocalPortForward forward(String deployment) {
        Pod pod = client.pods().inNamespace(NS).withLabel("app", deployment).list().getItems().stream()
                .filter(p -> "Running".equals(p.getStatus().getPhase())).findFirst()
                .orElseThrow(() -> new IllegalStateException("no running pod for " + deployment));
        return client.pods().inNamespace(NS).withName(pod.getMetadata().getName()).portForward(5432);
    }

    static Connection connect(LocalPortForward forward, String database, String password) throws Exception {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + forward.getLocalPort() + "/" + database, "postgres", password);
    }

    static String yaml(Object o) {
        return client.getKubernetesSerialization().asYaml(o);
    }

    /** What a failed run needs to be understood from CI logs: Deployments, pods (with step logs) and events. */
    static String diagnostics() {
        StringBuilder sb = new StringBuilder("\n--- deployments\n");
        for (Deployment d : client.apps().deployments().inNamespace(NS).list().getItems()) {
            sb.append(d.getMetadata().getName()).append(" replicas=").append(d.getSpec().getReplicas())
                    .append(" ready=").append(d.getStatus() == null ? null : d.getStatus().getReadyReplicas()).append('\n');
        }
        sb.append("--- pods\n");
        for (Pod p : client.pods().inNamespace(NS).list().getItems()) {
            sb.append(p.getMetadata().getName()).append(' ').append(p.getStatus().getPhase()).append('\n');
            if (p.getMetadata().getLabels() != null && p.getMetadata().getLabels().containsKey("job-name")) {
                try {
                    sb.append(client.pods().inNamespace(NS).withName(p.getMetadata().getName()).tailingLines(30).getLog()).append('\n');
                } catch (KubernetesClientException e) {
                    sb.append("(no log: ").append(e.getMessage()).append(")\n");
                }
            }
        }
        sb.append("--- events\n");
        client.v1().events().inNamespace(NS).list().getItems().forEach(e ->
                sb.append(e.getInvolvedObject().getKind()).append('/').append(e.getInvolvedObject().getName()).append(' ')
                        .append(e.getReason()).append(": ").append(e.getMessage()).append('\n'));
        return sb.toString();
    }
}
