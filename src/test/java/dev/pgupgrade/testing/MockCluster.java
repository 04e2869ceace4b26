package dev.pgupgrade.testing;

import dev.pgupgrade.api.CrdYaml;
import dev.pgupgrade.api.PostgresUpgrade;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/** fabric8's mock API server in CRUD mode, with the PostgresUpgrade CRD installed, as an API server stand-in. */
public final class MockCluster implements AutoCloseable {
    /** Held so the setting sticks: the mock logs every request at INFO, which drowns the test output. */
    private static final java.util.logging.Logger MOCK_LOG = quiet("io.fabric8.mockwebserver");
    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final FaultyDispatcher dispatcher = new FaultyDispatcher();

    public MockCluster() {
        // CRUD mode: the dispatcher keeps objects like an API server would (no SSA, no controllers, no GC).
        server = new KubernetesMockServer(new io.fabric8.mockwebserver.Context(), new io.fabric8.mockwebserver.MockWebServer(),
                new java.util.HashMap<>(), dispatcher, false);
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

    /**
     * Answers the next {@code times} requests matching {@code which} with {@code code} (a Status body,
     * reason Conflict for 409) instead of handling them: an API server that is briefly unavailable or
     * contended. Faults are tried in the order they were added; an exhausted one no longer matches.
     */
    /** Pod logs ({@code kubectl logs}, the operator's progress): the text of a pod's log by its name, or null for none. */
    public MockCluster podLogs(java.util.function.Function<String, String> logOfPod) {
        dispatcher.podLogs = logOfPod;
        return this;
    }

    public Fault fail(Predicate<RecordedRequest> which, int times, int code) {
        return dispatcher.add(new Fault(which, times, code, false));
    }

    /** Like {@link #fail}, but the request is carried out first: the change is made, the answer is lost. */
    public Fault failAfterApplying(Predicate<RecordedRequest> which, int times, int code) {
        return dispatcher.add(new Fault(which, times, code, true));
    }

    /**
     * Edits a PostgresUpgrade as a user would, read-modify-write, again when the write meets a 409: the
     * operator writes status all the time, and each write moves the resource version.
     */
    public PostgresUpgrade edit(String namespace, String name, java.util.function.UnaryOperator<PostgresUpgrade> change) {
        return edit(client, namespace, name, change);
    }

    /** The same through any client. */
    public static PostgresUpgrade edit(KubernetesClient client, String namespace, String name, java.util.function.UnaryOperator<PostgresUpgrade> change) {
        for (int attempt = 1; ; attempt++) {
            try {
                return client.resources(PostgresUpgrade.class).inNamespace(namespace).withName(name).edit(change);
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 20) {
                    throw e;
                }
            }
        }
    }

    /** Requests by method whose path contains {@code pathPart} and whose body contains every one of {@code bodyParts}. */
    public static Predicate<RecordedRequest> request(Set<String> methods, String pathPart, String... bodyParts) {
        return r -> methods.contains(r.getMethod()) && r.getPath() != null && r.getPath().contains(pathPart)
                && java.util.Arrays.stream(bodyParts).allMatch(body(r)::contains);
    }

    /** The body, read without consuming it (getUtf8Body would leave the dispatcher an empty one). */
    private static String body(RecordedRequest r) {
        return r.getBody() == null ? "" : new String(r.getBody().getBytes(), StandardCharsets.UTF_8);
    }

    /** Writes of an upgrade's status subresource (JOSDK patches it; a PUT would do too). */
    public static Predicate<RecordedRequest> statusWrite(String... bodyParts) {
        Predicate<RecordedRequest> write = request(Set.of("PATCH", "PUT"), "/postgresupgrades/", bodyParts);
        return write.and(r -> r.getPath().split("\\?")[0].endsWith("/status"));
    }

    /** Creations of Jobs whose body contains every one of {@code bodyParts} (e.g. a step's name). */
    public static Predicate<RecordedRequest> jobCreation(String... bodyParts) {
        return request(Set.of("POST"), "/apis/batch/v1/namespaces/", bodyParts).and(r -> r.getPath().split("\\?")[0].endsWith("/jobs"));
    }

    /** How many requests the API server received that match {@code which}, faulted ones included. */
    public int received(Predicate<RecordedRequest> which) {
        return dispatcher.received(which);
    }

    /** A fault waiting for, or done answering, its requests. */
    public static final class Fault {
        private final Predicate<RecordedRequest> which;
        private final int code;
        private final boolean applied;
        private final AtomicInteger remaining;
        private final AtomicInteger answered = new AtomicInteger();

        Fault(Predicate<RecordedRequest> which, int times, int code, boolean applied) {
            this.which = which;
            this.code = code;
            this.applied = applied;
            this.remaining = new AtomicInteger(times);
        }

        /** How many requests this fault answered so far: a test proves its fault was really hit. */
        public int answered() {
            return answered.get();
        }

        boolean take(RecordedRequest request) {
            if (remaining.get() <= 0 || !which.test(request)) {
                return false;
            }
            if (remaining.getAndDecrement() <= 0) {
                return false;
            }
            answered.incrementAndGet();
            return true;
        }

        MockResponse response() {
            String reason = switch (code) {
                case 409 -> "Conflict";
                case 429 -> "TooManyRequests";
                case 500 -> "InternalError";
                case 503 -> "ServiceUnavailable";
                case 504 -> "Timeout";
                default -> "Unknown";
            };
            String message = code == 409 ? "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again"
                    : "injected fault: " + reason;
            String body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"" + message
                    + "\",\"reason\":\"" + reason + "\",\"code\":" + code + "}";
            return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json").setBody(body);
        }
    }

    /** The CRUD dispatcher, with faults answered before it is asked; without faults it is the plain one. */
    private static final java.util.regex.Pattern POD_LOG = java.util.regex.Pattern.compile("/pods/([^/?]+)/log");

    private static final class FaultyDispatcher extends KubernetesCrudDispatcher {
        private final List<Fault> faults = new CopyOnWriteArrayList<>();
        private final List<RecordedRequest> writes = new CopyOnWriteArrayList<>();

        Fault add(Fault fault) {
            faults.add(fault);
            return fault;
        }

        int received(Predicate<RecordedRequest> which) {
            return (int) writes.stream().filter(which).count();
        }

        private volatile java.util.function.Function<String, String> podLogs;

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            java.util.regex.Matcher log = POD_LOG.matcher(request.getPath());
            if ("GET".equals(request.getMethod()) && log.find() && podLogs != null) {
                String text = podLogs.apply(log.group(1));
                return text == null ? new MockResponse().setResponseCode(404) : new MockResponse().setResponseCode(200).setBody(text);
            }
            if (!"GET".equals(request.getMethod())) {
                // A copy: the CRUD dispatcher consumes the body. Reads (and watches) are too many to keep.
                byte[] body = request.getBody() == null ? new byte[0] : request.getBody().getBytes();
                writes.add(new RecordedRequest(request.getHttpVersion(), request.method(), request.getPath(), request.getHeaders(),
                        new io.fabric8.mockwebserver.http.Buffer(body)));
            }
            Fault fault;
            synchronized (this) {  // one fault answers one request, whichever thread it came on
                fault = faults.stream().filter(f -> f.take(request)).findFirst().orElse(null);
            }
            if (fault == null) {
                MockResponse response = super.dispatch(request);
                StatusSamples.offer(request, response);
                return response;
            }
            if (fault.applied) {
                super.dispatch(request);
            }
            return fault.response();
        }
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
