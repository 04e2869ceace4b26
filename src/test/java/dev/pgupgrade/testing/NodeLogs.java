package dev.pgupgrade.testing;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.BindingBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The log endpoint of a kubelet, for a real API server: a Node {@value #NODE} whose kubelet endpoint is
 * an HTTPS server here (a self-signed certificate; kube-apiserver verifies kubelets only when given
 * --kubelet-certificate-authority, which the test control plane is not), answering
 * {@code GET /containerLogs/NAMESPACE/POD/CONTAINER?tailLines=N} from the step's log file, and pods bound
 * to that Node so that the API server's pods/log proxy reaches it.
 */
final class NodeLogs implements AutoCloseable {
    static final String NODE = "pgupgrade-test-node";

    private final HttpsServer server;
    private final KubernetesClient client;

    private NodeLogs(KubernetesClient client, HttpsServer server) {
        this.client = client;
        this.server = server;
    }

    static NodeLogs start(KubernetesClient client, Map<String, Path> logs) {
        try {
            HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setHttpsConfigurator(new HttpsConfigurator(selfSigned()));
            server.createContext("/containerLogs/", exchange -> {
                try (exchange) {
                    // /containerLogs/NAMESPACE/POD/CONTAINER
                    String[] parts = exchange.getRequestURI().getPath().split("/");
                    Path log = parts.length >= 4 ? logs.get(parts[2] + "/" + parts[3]) : null;
                    if (log == null || !Files.exists(log)) {
                        exchange.sendResponseHeaders(404, -1);
                        return;
                    }
                    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                    int tail = tailLines(exchange.getRequestURI().getRawQuery());
                    List<String> shown = tail < 0 ? lines : lines.subList(Math.max(0, lines.size() - tail), lines.size());
                    byte[] body = (String.join("\n", shown) + (shown.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                    exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
                    if (body.length > 0) {
                        try (OutputStream out = exchange.getResponseBody()) {
                            out.write(body);
                        }
                    }
                }
            });
            server.start();
            NodeLogs nodeLogs = new NodeLogs(client, server);
            nodeLogs.register(server.getAddress().getPort());
            return nodeLogs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Binds a pod to the node, as the scheduler would: from then on its logs are asked of this node. */
    void bind(String namespace, String pod) {
        client.bindings().inNamespace(namespace).resource(new BindingBuilder().withNewMetadata().withName(pod).endMetadata()
                .withNewTarget().withApiVersion("v1").withKind("Node").withName(NODE).endTarget().build()).create();
    }

    /** The Node, created or pointed at this server's port (one node per control plane; tests run one kubelet at a time). */
    private void register(int port) {
        Node node = client.nodes().withName(NODE).get();
        if (node == null) {
            node = client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).endMetadata().build()).create();
        }
        node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatusBuilder()
                .addNewAddress().withType("InternalIP").withAddress("127.0.0.1").endAddress()
                .addNewAddress().withType("Hostname").withAddress("127.0.0.1").endAddress()
                .withNewDaemonEndpoints().withNewKubeletEndpoint().withPort(port).endKubeletEndpoint().endDaemonEndpoints()
                .addNewCondition().withType("Ready").withStatus("True").withReason("KubeletReady").endCondition()
                .build());
        client.nodes().resource(node).updateStatus();
    }

    private static int tailLines(String query) {
        if (query == null) {
            return -1;
        }
        for (String pair : query.split("&")) {
            String[] kv = pair.split("=", 2);
            if (kv.length == 2 && "tailLines".equals(URLDecoder.decode(kv[0], StandardCharsets.UTF_8))) {
                return Integer.parseInt(URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
            }
        }
        return -1;
    }

    /** A key and self-signed certificate for 127.0.0.1, made with the JDK's keytool. */
    private static SSLContext selfSigned() throws IOException {
        Path dir = Files.createTempDirectory("node-logs");
        Path store = dir.resolve("kubelet.p12");
        char[] password = "kubelet".toCharArray();
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "kubelet", "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "2", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", new String(password), "-keypass", new String(password))
                .redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("keytool failed: " + out);
            }
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                keys.load(in, password);
            }
            KeyManagerFactory managers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            managers.init(keys, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(managers.getKeyManagers(), null, null);
            Arrays.fill(password, ' ');
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
