package dev.pgupgrade.testing;

import dev.pgupgrade.api.CrdYaml;
import dev.pgupgrade.api.PostgresUpgrade;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** fabric8's mock API server in CRUD mode, with the PostgresUpgrade CRD installed, as an API server stand-in. */
public final class MockCluster implements AutoCloseable {
    /** Held so the setting sticks: the mock logs every request at INFO, which drowns the test output. */
    private static final java.util.logging.Logger MOCK_LOG = quiet("io.fabric8.mockwebserver");
    private final KubernetesMockServer server;
    private final KubernetesClient client;

    public MockCluster() {
        // CRUD mode: the dispatcher keeps objects like an API server would (no SSA, no controllers, no GC).
        server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(), new io.fabric8.mockwebserver.MockWebServer(),
                new java.util.HashMap<>(), new io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher(), false);
        server.init();
        client = server.createClient();
        CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(
                new ByteArrayInputStream(CrdYaml.generate().getBytes(StandardCharsets.UTF_8)), CustomResourceDefinition.class);
        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        logger.setLevel(java.util.logging.Level.WARNING);
        return logger;
    }

    public KubernetesClient client() {
        return client;
    }

    public MockCluster namespace(String name) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
        return this;
    }

    /** Waits until the named upgrade satisfies {@code condition}; fails with its last status otherwise. */
    public PostgresUpgrade await(String namespace, String name, Predicate<PostgresUpgrade> condition, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        PostgresUpgrade last = null;
        while (System.nanoTime() < deadline) {
            last = client.resources(PostgresUpgrade.class).inNamespace(namespace).withName(name).get();
            if (last != null && condition.test(last)) {
                return last;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out after " + seconds + " s; last state: "
                + (last == null ? "absent" : client.getKubernetesSerialization().asYaml(last)));
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
