package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.metrics.OperatorMetrics;
import dev.pgupgrade.runner.StepResources;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.KubeControlPlane;
import dev.pgupgrade.testing.PodKubelet;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.Upgrades;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator against a real kube-apiserver 1.20 with etcd and kube-controller-manager
 * ({@link KubeControlPlane}): the CRD applied from crds/ and the examples from examples/ with kubectl,
 * the server's schema refusing invalid ones; the real JOSDK Operator in its production configuration
 * (server-side apply on) running as the chart's ServiceAccount, the chart's RBAC rendered by helm and
 * applied, so a missing verb fails here rather than in a cluster; the real Job controller turning the
 * operator's Jobs into Pods that {@link PodKubelet} runs; the garbage collector removing what a deleted
 * upgrade owned; and what users type -- kubectl get, describe, wait -- checked on its output.
 */
class RealApiServerTest {
    private static final String OPERATOR_NAMESPACE = "pgupgrade-system";
    private static final String OPERATOR_ACCOUNT = "pgupgrade-operator";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final AtomicInteger NAMESPACES = new AtomicInteger();

    private static KubeControlPlane plane;
    private static KubernetesClient admin;

    @TempDir
    Path tmp;

    @BeforeAll
    static void controlPlane() throws Exception {
        plane = KubeControlPlane.shared();
        admin = plane.admin();
        // 1.20 predates CEL: kubectl's client-side validation refuses x-kubernetes-validations, the server drops them
        plane.kubectl("apply", "--validate=false", "-f", Project.root().resolve("crds/postgresupgrades.pgupgrade.dev.yaml").toString()).ok();
        plane.kubectl("wait", "--for=condition=Established", "crd/postgresupgrades.pgupgrade.dev", "--timeout=60s").ok();
        plane.forgetDiscovery();  // kubectl cached the API's resources before the CRD existed: "pgu" would be unknown for 10 minutes
        installChartRbac();
    }

    @AfterAll
    static void closeClients() {
        OPERATOR_CLIENTS.forEach(KubernetesClient::close);
        if (admin != null) {
            admin.close();
        }
    }

    /** The chart's ServiceAccount and RBAC, rendered by helm as a release in pgupgrade-system would be, applied with kubectl. */
    private static void installChartRbac() throws Exception {
        String rendered = new Helm(Project.root().resolve("helm/pgupgrade-operator")).template().withName("pgupgrade-operator")
                .withNamespace(OPERATOR_NAMESPACE).skipCrds().set("leaderElection.enabled", false).call();
        StringBuilder rbac = new StringBuilder();
        for (JsonNode manifest : YAML.readerFor(JsonNode.class).<JsonNode>readValues(rendered).readAll()) {
            if (manifest != null && Set.of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
                    .contains(manifest.path("kind").asText())) {
                rbac.append("---\n").append(YAML.writeValueAsString(manifest));
            }
        }
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(OPERATOR_NAMESPACE).endMetadata().build())
                .createOr(existing -> existing.update());
        Path file = Files.createTempFile("chart-rbac", ".yaml");
        Files.writeString(file, rbac);
        plane.kubectl("apply", "-f", file.toString()).ok();
        Files.delete(file);
    }

    private static String namespace() {
        String ns = "shop-" + NAMESPACES.incrementAndGet();
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
        return ns;
    }

    /** The operator as production runs it (SSA on), as the chart's ServiceAccount: RBAC is the chart's. */
    private static Operator operator(String namespace) {
        return operator(namespace, new OperatorMetrics(Clock.systemUTC()));
    }

    private static Operator operator(String namespace, OperatorMetrics metrics) {
        KubernetesClient asOperator = plane.asServiceAccount(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT);
        OPERATOR_CLIENTS.add(asOperator);
        return OperatorMain.start(asOperator, new OperatorMain.Options(Set.of(namespace), true, null, metrics));
    }

    /** The operators' clients (OperatorMain leaves its client open on stop, as the command owns it): closed after the class. */
    private static final List<KubernetesClient> OPERATOR_CLIENTS = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Test
    void theCrdAndTheExamplesGoInWithKubectlAndTheServersSchemaRefusesInvalidUpgrades() throws Exception {
        String ns = namespace();
        for (String example : List.of("examples/direct/minimal.yaml", "examples/direct/upgrade.yaml", "examples/direct/statefulset.yaml",
                "examples/aptible/upgrade.yaml")) {
            String out = plane.kubectl("apply", "-n", ns, "--validate=false", "--dry-run=server", "-f", Project.root().resolve(example).toString()).ok();
            assertTrue(out.contains("postgresupgrade.pgupgrade.dev/"), example + ": " + out);
        }
        JsonNode minimal = upgradeIn(Project.root().resolve("examples/direct/minimal.yaml"));
        record Invalid(String field, String says, java.util.function.Consumer<ObjectNode> change) {
        }
        List<Invalid> invalid = List.of(
                new Invalid("spec.target.version", "Invalid value", u -> ((ObjectNode) u.at("/spec/target")).put("version", "16.2")),
                new Invalid("spec.platform", "Unsupported value", u -> ((ObjectNode) u.at("/spec")).put("platform", "mysql")),
                new Invalid("spec.target.urlSecretRef.key", "Required value", u -> ((ObjectNode) u.at("/spec/target/urlSecretRef")).remove("key")),
                new Invalid("spec.stepTimeoutSeconds", "Invalid value", u -> ((ObjectNode) u.at("/spec")).put("stepTimeoutSeconds", 30)));
        for (Invalid bad : invalid) {
            ObjectNode upgrade = minimal.deepCopy();
            bad.change().accept(upgrade);
            Path file = tmp.resolve("invalid.yaml");
            Files.writeString(file, YAML.writeValueAsString(upgrade));
            KubeControlPlane.KubectlResult refused = plane.kubectl("apply", "-n", ns, "--validate=false", "-f", file.toString());
            assertNotEquals(0, refused.exitCode(), bad.field() + " was accepted");
            assertTrue(refused.stderr().contains(bad.field() + ": " + bad.says()), bad.field() + ": " + refused.stderr());
        }
        assertTrue(admin.resources(PostgresUpgrade.class).inNamespace(ns).list().getItems().isEmpty(), "nothing invalid was stored");

        // the operator's identity is the chart's ServiceAccount, held to the chart's RBAC: what it was not granted is refused
        try (KubernetesClient asOperator = plane.asServiceAccount(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT)) {
            assertEquals(0, asOperator.resources(PostgresUpgrade.class).inNamespace(ns).list().getItems().size(), "granted: list upgrades");
            var refused = org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
                    () -> asOperator.apps().deployments().inNamespace(ns).resource(new DeploymentBuilder().withNewMetadata().withName("x").endMetadata()
                            .withNewSpec().withNewSelector().addToMatchLabels("a", "b").endSelector().withNewTemplate().withNewMetadata()
                            .addToLabels("a", "b").endMetadata().withNewSpec().addNewContainer().withName("c").withImage("i").endContainer().endSpec()
                            .endTemplate().endSpec().build()).create());
            assertEquals(403, refused.getCode(), "not granted: create Deployments");
            assertEquals(403, org.junit.jupiter.api.Assertions.assertThrows(io.fabric8.kubernetes.client.KubernetesClientException.class,
                    () -> asOperator.secrets().inNamespace(ns).list()).getCode(), "not granted: list Secrets (get only)");
        }
    }

    @Test
    void aDirectUpgradeWithADeploymentRunsOnRealJobsAndKubectlTellsTheStory() throws Exception {
        String ns = namespace();
        try (Shop shop = new Shop(ns, tmp, 2)) {
            PostgresServer source = shop.source;
            PostgresServer target = shop.target;
            PodKubelet kubelet = shop.kubelet;
            source.psqlFile(Project.richDataset());
            awaitReady(ns, "shop-api", 2);
            ClusterSnapshot before = ClusterSnapshot.of(source);

            Operator operator = operator(ns);
            try {
                Path manifest = tmp.resolve("upgrade.yaml");
                PostgresUpgrade upgrade = Upgrades.direct("17", null);
                upgrade.getMetadata().setName("shop-upgrade");
                ServiceSpec service = new ServiceSpec();
                service.setKind("Deployment");
                service.setName("shop-api");
                service.setUrlSecretRef(new dev.pgupgrade.api.SecretKeyRef("shop-app", "DATABASE_URL"));
                upgrade.getSpec().setServices(List.of(service));
                Files.writeString(manifest, admin.getKubernetesSerialization().asYaml(upgrade));
                plane.kubectl("apply", "-n", ns, "--validate=false", "-f", manifest.toString()).ok();

                KubeControlPlane.KubectlResult waited = plane.kubectl("wait", "-n", ns, "--for=condition=Ready", "pgu/shop-upgrade", "--timeout=300s");
                PostgresUpgrade done = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("shop-upgrade").get();
                assertEquals(0, waited.exitCode(), () -> waited.stderr() + admin.getKubernetesSerialization().asYaml(done.getStatus()));
                assertTrue(waited.stdout().contains("postgresupgrade.pgupgrade.dev/shop-upgrade condition met"), waited.stdout());
                assertEquals(Phase.Succeeded, done.getStatus().getPhase());
                assertEquals("", before.without("role passwords", "postgres ").diff(ClusterSnapshot.of(target).without("role passwords", "postgres ")));

                // the Deployment went to 0 and came back; the app's Secret points at the target
                assertEquals(0, kubelet.lowestReplicas().get("Deployment/shop-api"));
                awaitReady(ns, "shop-api", 2);
                assertEquals(target.url("postgres"), secretValue(ns, "shop-app", "DATABASE_URL"));

                // real Jobs, completed by the Job controller from the pods PodKubelet ran: one per step, and no
                // Dumping Job, since direct's default strategy, pipeline, copies the source while restoring
                List<Job> jobs = admin.batch().v1().jobs().inNamespace(ns).list().getItems();
                assertEquals(List.of("shop-upgrade-analyzing-1", "shop-upgrade-restoring-1", "shop-upgrade-schema-check-1", "shop-upgrade-validating-1",
                        "shop-upgrade-verifying-1"), jobs.stream().map(j -> j.getMetadata().getName()).sorted().toList());
                for (Job job : jobs) {
                    assertTrue(job.getStatus().getConditions().stream().anyMatch(c -> "Complete".equals(c.getType()) && "True".equals(c.getStatus())),
                            job.getMetadata().getName() + ": " + job.getStatus());
                    assertEquals(1, job.getStatus().getSucceeded());
                }
                assertEquals(5, kubelet.jobPodsRun());

                // what a user types
                String get = plane.kubectl("get", "pgu", "-n", ns).ok();
                List<String> header = List.of(get.lines().findFirst().orElseThrow().trim().split("\\s+"));
                assertEquals(List.of("NAME", "PHASE", "PROGRESS", "SOURCE", "TARGET", "AGE"), header, get);
                assertTrue(get.lines().skip(1).findFirst().orElseThrow().matches("shop-upgrade\\s+Succeeded\\s+(<none>\\s+)?13\\.\\d+\\s+17\\s+\\S+\\s*"), get);
                String wide = plane.kubectl("get", "pgu", "-n", ns, "-o", "wide").ok();
                assertTrue(wide.contains("Upgraded PostgreSQL 13."), wide);
                String describe = plane.kubectl("describe", "pgu", "-n", ns, "shop-upgrade").ok();
                for (String expected : List.of("Phase:", "Succeeded", "Message:", "Upgraded PostgreSQL 13.", "Conditions:", "Ready", "Reconciling", "Stalled", "Events:", "ScalingDown", "Analyzing")) {
                    assertTrue(describe.contains(expected), expected + " missing from kubectl describe:\n" + describe);
                }
                assertFalse(describe.contains(source.password()) || describe.contains(target.password()), "a password in kubectl describe");

                // deleting the upgrade: the finalizer lets go, the garbage collector removes the Jobs and their pods
                plane.kubectl("delete", "pgu", "-n", ns, "shop-upgrade", "--timeout=60s").ok();
                await(() -> admin.batch().v1().jobs().inNamespace(ns).list().getItems().isEmpty()
                        && admin.pods().inNamespace(ns).withLabel(StepResources.LABEL_UPGRADE).list().getItems().isEmpty(), 90,
                        "the garbage collector removes the Jobs and pods the upgrade owned");
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void aFailedRestoreRollsBackTheDeploymentAndTheSecretAndKstatusSaysStalled() throws Exception {
        String ns = namespace();
        try (Shop shop = new Shop(ns, tmp, 3)) {
            PostgresServer source = shop.source;
            PostgresServer target = shop.target;
            PodKubelet kubelet = shop.kubelet;
            source.execute("postgres", "create table accounts (id int primary key, owner text)", "insert into accounts values (1, 'a')");
            // someone creates the table the restore also creates, after Validating found the target empty
            kubelet.beforeStep("restoring-1", () -> {
                try {
                    target.execute("postgres", "create table accounts (id int)");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Operator operator = operator(ns);
            try {
                PostgresUpgrade upgrade = Upgrades.leanDirect("shop-upgrade", ns);
                admin.resource(upgrade).create();
                KubeControlPlane.KubectlResult stalled = plane.kubectl("wait", "-n", ns, "--for=condition=Stalled", "pgu/shop-upgrade", "--timeout=240s");
                PostgresUpgrade ended = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("shop-upgrade").get();
                assertEquals(0, stalled.exitCode(), () -> stalled.stderr() + admin.getKubernetesSerialization().asYaml(ended.getStatus()));
                assertEquals(Phase.RolledBack, ended.getStatus().getPhase());
                assertEquals(Phase.Restoring, ended.getStatus().getFailedPhase());
                assertEquals("True", Conditions.find(ended.getStatus().getConditions(), Conditions.FAILED).getStatus());
                assertEquals(0, kubelet.lowestReplicas().get("Deployment/shop-api"));
                awaitReady(ns, "shop-api", 3);
                assertEquals(source.url("postgres"), secretValue(ns, "shop-app", "DATABASE_URL"), "the app still points at the source");
                String events = plane.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=shop-upgrade").ok();
                assertTrue(events.contains("RolledBack") && events.contains("Warning"), events);
            } finally {
                operator.stop();
            }
        }
    }

    @Test
    void anOperatorRestartedMidUpgradeAdoptsTheRunningJobAndFinishes() throws Exception {
        String ns = namespace();
        try (Shop shop = new Shop(ns, tmp, 1)) {
            PostgresServer source = shop.source;
            PostgresServer target = shop.target;
            PodKubelet kubelet = shop.kubelet;
            source.execute("postgres", "create table t (id int primary key)", "insert into t select generate_series(1, 5000)");
            Operator[] operator = {operator(ns)};
            kubelet.beforeStep("dumping-1", () -> {
                operator[0].stop();  // dies with the Dumping Job created and its pod about to run
                operator[0] = operator(ns);
            });
            try {
                admin.resource(Upgrades.leanDirect("shop-upgrade", ns)).create();
                KubeControlPlane.KubectlResult ready = plane.kubectl("wait", "-n", ns, "--for=condition=Ready", "pgu/shop-upgrade", "--timeout=240s");
                PostgresUpgrade done = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("shop-upgrade").get();
                assertEquals(0, ready.exitCode(), () -> ready.stderr() + admin.getKubernetesSerialization().asYaml(done.getStatus()));
                Map<String, Long> perStep = admin.batch().v1().jobs().inNamespace(ns).list().getItems().stream()
                        .collect(Collectors.groupingBy(j -> j.getMetadata().getLabels().get(StepResources.LABEL_STEP), Collectors.counting()));
                assertTrue(perStep.values().stream().allMatch(n -> n == 1), "one Job per step: " + perStep);
                assertEquals(5000, target.queryInt("postgres", "select count(*) from t"));
            } finally {
                operator[0].stop();
            }
        }
    }

    /**
     * Someone (a GitOps tool, kubectl annotate) keeps writing the resource while the operator works: the
     * operator's status writes, made with the resource version it read, meet real 409s from the API
     * server; JOSDK retries them with the fresh resource and the upgrade ends as if nothing happened.
     */
    @Test
    void concurrentWritesGiveTheOperatorReal409sAndTheUpgradeStillSucceeds() throws Exception {
        String ns = namespace();
        try (Shop shop = new Shop(ns, tmp, 1)) {
            PostgresServer source = shop.source;
            PostgresServer target = shop.target;
            PodKubelet kubelet = shop.kubelet;
            source.execute("postgres", "create table t (id int primary key)", "insert into t select generate_series(1, 1000)");
            OperatorMetrics metrics = new OperatorMetrics(Clock.systemUTC());
            // Besides the writer below, whose 409s depend on timing: twice, a third party writes the
            // resource between the reconcile's read and its status write, so the write's resourceVersion
            // is stale for certain and the real API server must answer 409.
            AtomicInteger forced = new AtomicInteger();
            CrashPoints thirdPartyWrites = (upgrade, next) -> {
                if (next.getPhase() == Phase.Restoring && forced.get() < 2) {
                    annotate(ns, "shop-upgrade", "example.com/between-read-and-write", String.valueOf(forced.incrementAndGet()));
                }
            };
            KubernetesClient asOperator = plane.asServiceAccount(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT);
            OPERATOR_CLIENTS.add(asOperator);
            Operator operator = OperatorMain.start(asOperator, new OperatorMain.Options(Set.of(ns), true, null, metrics), thirdPartyWrites);
            java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
            AtomicInteger writes = new AtomicInteger();
            Thread annotator = new Thread(() -> {
                while (writing.get()) {
                    try {
                        annotate(ns, "shop-upgrade", "example.com/touched", String.valueOf(writes.incrementAndGet()));
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException e) {
                        // not created yet, or our own write met a 409: again
                    }
                }
            });
            try {
                admin.resource(Upgrades.leanDirect("shop-upgrade", ns)).create();
                annotator.start();
                KubeControlPlane.KubectlResult ready = plane.kubectl("wait", "-n", ns, "--for=condition=Ready", "pgu/shop-upgrade", "--timeout=240s");
                writing.set(false);
                annotator.join(10_000);
                PostgresUpgrade done = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("shop-upgrade").get();
                assertEquals(0, ready.exitCode(), () -> ready.stderr() + admin.getKubernetesSerialization().asYaml(done.getStatus()));
                assertTrue(writes.get() > 20, "the annotator wrote " + writes.get() + " times");
                dev.pgupgrade.testing.Scrape scrape = dev.pgupgrade.testing.Scrape.of(metrics.scrape());
                // JOSDK counts a reconcile that ended in an exception by its class: the 409 is a KubernetesClientException
                double conflicts = scrape.find("operator_sdk_reconciliations_failed_total").stream()
                        .filter(s -> !s.labels().containsKey("exception") || s.labels().get("exception").contains("KubernetesClientException"))
                        .mapToDouble(s -> s.value()).sum();
                assertEquals(2, forced.get(), "the third party wrote between read and write twice");
                assertTrue(conflicts >= 2, "status writes with a stale resourceVersion met no 409 (" + writes.get()
                        + " concurrent writes besides):\n" + scrape.text());
                Map<String, Long> perStep = admin.batch().v1().jobs().inNamespace(ns).list().getItems().stream()
                        .collect(Collectors.groupingBy(j -> j.getMetadata().getLabels().get(StepResources.LABEL_STEP), Collectors.counting()));
                assertTrue(perStep.values().stream().allMatch(n -> n == 1), "one Job per step: " + perStep);
                assertEquals(1000, target.queryInt("postgres", "select count(*) from t"));
                assertEquals(0, kubelet.lowestReplicas().get("Deployment/shop-api"), "the Deployment went down and came back");
                awaitReady(ns, "shop-api", 1);
            } finally {
                writing.set(false);
                operator.stop();
            }
        }
    }

    /** Sets one annotation of an upgrade as a third party would: the admin, with the resourceVersion it read. */
    private static void annotate(String namespace, String name, String key, String value) {
        admin.resources(PostgresUpgrade.class).inNamespace(namespace).withName(name).edit(u -> {
            Map<String, String> annotations = new java.util.HashMap<>(
                    u.getMetadata().getAnnotations() == null ? Map.of() : u.getMetadata().getAnnotations());
            annotations.put(key, value);
            u.getMetadata().setAnnotations(annotations);
            return u;
        });
    }

    /**
     * Aptible's runbook through the fake aptible CLI (real PostgreSQL 12 and 16 behind it), its steps as
     * real Jobs and pods: apps scaled down and back, the target provisioned, the config repointed.
     */
    @Test
    void theAptibleRunbookRunsOnRealJobs() throws Exception {
        String ns = namespace();
        java.nio.file.Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        try (dev.pgupgrade.testing.aptible.FakeAptible aptible = dev.pgupgrade.testing.aptible.FakeAptible.create(
                Files.createDirectories(tmp.resolve("aptible")), PostgresServer.binDir("16").getParent().getParent())) {
            aptible.addEnvironment("shop-prod");
            var source = aptible.createDatabase("shop-db", "shop-prod", "12");
            source.execute("db", "create table orders (id int primary key, item text)", "insert into orders select g, 'item ' || g from generate_series(1, 500) g");
            aptible.addApp("shop-web", "shop-prod", Map.of("web", 2), Map.of("DATABASE_URL", source.url(), "RAILS_ENV", "production"));
            ClusterSnapshot before = ClusterSnapshot.of(source::connect);
            secret(ns, "aptible-token", "APTIBLE_ACCESS_TOKEN", aptible.issueToken());
            Map<String, String> env = new java.util.HashMap<>(aptible.environment());
            env.put("PATH", aptible.path());
            env.put("APTIBLE_TUNNEL_TIMEOUT_SECONDS", "10");
            env.put("APTIBLE_RETRY_DELAY_SECONDS", "0.2");
            try (PodKubelet kubelet = new PodKubelet(admin, ns, tmp.resolve("kubelet"), Map.of("16", PostgresServer.binDir("16")))
                    .withEnvironment(env).servingLogs().start()) {
                Operator operator = operator(ns);
                try {
                    PostgresUpgrade upgrade = Upgrades.aptible("16", null);
                    upgrade.getMetadata().setName("shop-upgrade");
                    upgrade.getMetadata().setNamespace(ns);
                    upgrade.getSpec().getAptible().setTokenSecretRef(new dev.pgupgrade.api.SecretKeyRef("aptible-token", "APTIBLE_ACCESS_TOKEN"));
                    admin.resource(upgrade).create();
                    KubeControlPlane.KubectlResult ready = plane.kubectl("wait", "-n", ns, "--for=condition=Ready", "pgu/shop-upgrade", "--timeout=300s");
                    PostgresUpgrade done = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("shop-upgrade").get();
                    assertEquals(0, ready.exitCode(), () -> ready.stderr() + admin.getKubernetesSerialization().asYaml(done.getStatus()));
                    var target = aptible.database("shop-db-16").orElseThrow();
                    assertEquals(target.url(), aptible.config("shop-web").get("DATABASE_URL"));
                    assertEquals("production", aptible.config("shop-web").get("RAILS_ENV"));
                    assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));
                    assertTrue(aptible.calls().contains("apps:scale --app shop-web --environment shop-prod web --container-count 0"), aptible.calls()::toString);
                    // as aptible: the restore gave the target's postgres role the source's password, as the runbook's does
                    ClusterSnapshot after = ClusterSnapshot.of(db -> java.sql.DriverManager.getConnection(
                            "jdbc:postgresql://127.0.0.1:" + target.port() + "/" + db, "aptible", target.password()));
                    assertEquals("", before.without("role passwords", "aptible ").diff(after.without("role passwords", "aptible ")));
                    assertTrue(kubelet.jobPodsRun() >= 6, "the steps ran as pods: " + kubelet.jobPodsRun());
                } finally {
                    operator.stop();
                }
            }
        }
    }

    /**
     * An online upgrade waiting for approval: its watch Job's pod is bound to the test node, whose kubelet
     * serves logs through the API server's pods/log proxy -- the operator reads the replication's progress
     * there (with the chart's RBAC) and kubectl get shows it in the PROGRESS column; kubectl annotate
     * approves, and the cutover runs.
     */
    @Test
    void anOnlineUpgradeShowsItsReplicationInKubectlGetAndIsApprovedWithKubectlAnnotate() throws Exception {
        String ns = namespace();
        try (PostgresServer source = PostgresServer.start("15", dev.pgupgrade.testing.LogicalFixtures.LOGICAL);
             PostgresServer target = PostgresServer.start("17");
             PodKubelet kubelet = new PodKubelet(admin, ns, tmp, Map.of("17", PostgresServer.binDir("17"))).servingLogs().start()) {
            dev.pgupgrade.testing.LogicalFixtures.dataset(source);
            secret(ns, "source-db", "url", source.url("postgres"));
            secret(ns, "target-db", "url", target.url("postgres"));
            Operator operator = operator(ns);
            try {
                PostgresUpgrade upgrade = Upgrades.direct("17", null);
                upgrade.getMetadata().setName("online");
                upgrade.getMetadata().setNamespace(ns);
                dev.pgupgrade.api.TransferSpec transfer = new dev.pgupgrade.api.TransferSpec();
                transfer.setStrategy(dev.pgupgrade.api.TransferSpec.Strategy.LOGICAL);
                upgrade.getSpec().setTransfer(transfer);
                dev.pgupgrade.api.ApprovalSpec approval = new dev.pgupgrade.api.ApprovalSpec();
                approval.setRequired(true);
                upgrade.getSpec().setApproval(approval);
                admin.resource(upgrade).create();

                await(() -> {
                    PostgresUpgrade u = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("online").get();
                    return u.getStatus() != null && (u.getStatus().getPhase() == Phase.AwaitingApproval && u.getStatus().getProgress() != null
                            && u.getStatus().getProgress().getReplication() != null || u.getStatus().getPhase() != null && u.getStatus().getPhase().isTerminal());
                }, 240, "AwaitingApproval with the replication's progress read from the watch pod's log");
                PostgresUpgrade waiting = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("online").get();
                assertEquals(Phase.AwaitingApproval, waiting.getStatus().getPhase(), () -> admin.getKubernetesSerialization().asYaml(waiting.getStatus()));

                String get = plane.kubectl("get", "pgu", "-n", ns).ok();
                String row = get.lines().skip(1).findFirst().orElseThrow();
                assertTrue(row.matches("online\\s+AwaitingApproval\\s+lag \\S+ \\S+ / [0-9.]+ s, WAL kept \\S+ \\S+, \\d/\\d streaming\\s+15\\.\\d+\\s+17\\s+\\S+\\s*"),
                        "the PROGRESS column shows the replication:\n" + get);
                String logs = plane.kubectl("logs", "-n", ns, "job/online-awaiting-approval-1-replication-watch").ok();
                assertTrue(logs.contains("PGUPGRADE_PROGRESS"), "kubectl logs reaches the step's pod through the node: " + logs);

                plane.kubectl("annotate", "-n", ns, "--overwrite", "pgu/online", dev.pgupgrade.api.ApprovalSpec.ANNOTATION + "=1").ok();
                KubeControlPlane.KubectlResult ready = plane.kubectl("wait", "-n", ns, "--for=condition=Ready", "pgu/online", "--timeout=240s");
                PostgresUpgrade done = admin.resources(PostgresUpgrade.class).inNamespace(ns).withName("online").get();
                assertEquals(0, ready.exitCode(), () -> ready.stderr() + admin.getKubernetesSerialization().asYaml(done.getStatus()));
                assertTrue(kubelet.jobPodsRun() > 0);
            } finally {
                operator.stop();
            }
            dev.pgupgrade.testing.LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    // --- helpers ---

    /**
     * What each upgrade test starts with in its namespace: a PostgreSQL 13 source and a 17 target, their
     * Secrets, the app's Secret shop-app (pointing at the source) and a Deployment shop-api, and the node.
     */
    private static final class Shop implements AutoCloseable {
        final PostgresServer source;
        final PostgresServer target;
        final PodKubelet kubelet;

        Shop(String ns, Path tmp, int replicas) {
            source = PostgresServer.start("13");
            PostgresServer startedTarget = null;
            PodKubelet startedKubelet = null;
            try {
                startedTarget = PostgresServer.start("17");
                startedKubelet = new PodKubelet(admin, ns, tmp, Map.of("17", PostgresServer.binDir("17"))).servingLogs().start();
            } catch (RuntimeException e) {
                if (startedTarget != null) {
                    startedTarget.close();
                }
                source.close();
                throw e;
            }
            target = startedTarget;
            kubelet = startedKubelet;
            secret(ns, "source-db", "url", source.url("postgres"));
            secret(ns, "target-db", "url", target.url("postgres"));
            secret(ns, "shop-app", "DATABASE_URL", source.url("postgres"));
            deployment(ns, "shop-api", replicas);
        }

        @Override
        public void close() {
            kubelet.close();
            target.close();
            source.close();
        }
    }

    private static JsonNode upgradeIn(Path example) throws IOException {
        for (JsonNode doc : YAML.readerFor(JsonNode.class).<JsonNode>readValues(Files.readString(example)).readAll()) {
            if (doc != null && "PostgresUpgrade".equals(doc.path("kind").asText())) {
                ((ObjectNode) doc.get("metadata")).remove("namespace");
                return doc;
            }
        }
        throw new AssertionError("no PostgresUpgrade in " + example);
    }

    private static void secret(String ns, String name, String key, String value) {
        OperatorEndToEndTest.secret(admin, ns, name, key, value);
    }

    private static String secretValue(String ns, String name, String key) {
        return new String(Base64.getDecoder().decode(admin.secrets().inNamespace(ns).withName(name).get().getData().get(key)), StandardCharsets.UTF_8);
    }

    private static void deployment(String ns, String name, int replicas) {
        OperatorEndToEndTest.deployment(admin, ns, name, replicas);
    }

    /** Waits until the Deployment controller reports {@code replicas} ready (the ReplicaSet's pods, run by PodKubelet). */
    private static void awaitReady(String ns, String name, int replicas) throws InterruptedException {
        await(() -> {
            var d = admin.apps().deployments().inNamespace(ns).withName(name).get();
            return d.getStatus() != null && d.getStatus().getReadyReplicas() != null && d.getStatus().getReadyReplicas() == replicas;
        }, 60, "Deployment " + name + " ready with " + replicas);
    }

    private static void await(java.util.function.BooleanSupplier condition, long seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out after " + seconds + " s: " + what);
    }
}
