package dev.pgupgrade.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real Kubernetes control plane on loopback, one per test JVM: etcd, kube-apiserver 1.20 and
 * kube-controller-manager (the Job, ReplicaSet, Deployment, StatefulSet, namespace and garbage-collector
 * controllers), built from Debian's sources by scripts/kube-binaries.sh (run here unless -Dpgupgrade.kubeBin
 * names their directory; under {@code make test} it waits for the build make started in the background). What fabric8's mock server does
 * not do, this does: CRD schemas, the status subresource, RBAC, server-side apply, real watches and
 * resource versions, Jobs becoming Pods, garbage collection. No kubelet and no scheduler: pods are run by
 * {@link PodKubelet}.
 *
 * <p>Authentication: a static token for an admin in system:masters; other identities (the operator's
 * ServiceAccount) are impersonated by that admin, so RBAC is checked for them exactly as in a cluster.
 */
public final class KubeControlPlane implements AutoCloseable {
    private static KubeControlPlane shared;

    private final Path dir;
    private final Path bin;
    private final String token = UUID.randomUUID().toString();
    private final int apiPort;
    private final List<Process> processes = new ArrayList<>();
    private final Path kubeconfig;

    /** The one control plane of this JVM, started on first use and stopped when the JVM exits. */
    public static synchronized KubeControlPlane shared() {
        if (shared == null) {
            // a port taken between choosing it and binding it (the other test JVM picks free ports too): try again
            IllegalStateException failed = null;
            for (int attempt = 1; attempt <= 3 && shared == null; attempt++) {
                try {
                    shared = new KubeControlPlane();
                } catch (IllegalStateException e) {
                    failed = e;
                }
            }
            if (shared == null) {
                throw failed;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(shared::close));
        }
        return shared;
    }

    private KubeControlPlane() {
        try {
            bin = binaries();
            dir = Files.createTempDirectory("pgupgrade-kube");
            int etcdPort = freePort();
            int peerPort = freePort();
            apiPort = freePort();
            long started = System.nanoTime();
            start("etcd", List.of(bin.resolve("etcd").toString(), "--name", "test", "--data-dir", dir.resolve("etcd").toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + etcdPort, "--advertise-client-urls", "http://127.0.0.1:" + etcdPort,
                    "--listen-peer-urls", "http://127.0.0.1:" + peerPort, "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPort,
                    "--initial-cluster", "test=http://127.0.0.1:" + peerPort, "--unsafe-no-fsync", "--logger", "zap", "--log-level", "warn"));

            Path tokens = Files.writeString(dir.resolve("tokens.csv"), token + ",admin,admin,\"system:masters\"\n");
            KeyPair serviceAccountKey = rsaKey();
            Path signingKey = Files.writeString(dir.resolve("sa.key"), pem("PRIVATE KEY", serviceAccountKey.getPrivate().getEncoded()));
            Path verifyingKey = Files.writeString(dir.resolve("sa.pub"), pem("PUBLIC KEY", serviceAccountKey.getPublic().getEncoded()));
            start("kube-apiserver", List.of(bin.resolve("kube-apiserver").toString(),
                    "--etcd-servers=http://127.0.0.1:" + etcdPort, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
                    "--secure-port=" + apiPort, "--insecure-port=0", "--cert-dir=" + dir.resolve("certs"),
                    "--token-auth-file=" + tokens, "--authorization-mode=RBAC",
                    "--service-account-issuer=https://kubernetes.default.svc", "--api-audiences=https://kubernetes.default.svc",
                    "--service-account-key-file=" + verifyingKey, "--service-account-signing-key-file=" + signingKey,
                    "--service-cluster-ip-range=10.96.0.0/24", "--disable-admission-plugins=ServiceAccount",
                    "--enable-priority-and-fairness=false", "--logtostderr", "--v=0"));
            kubeconfig = Files.writeString(dir.resolve("kubeconfig"), kubeconfigYaml());
            awaitReady();
            start("kube-controller-manager", List.of(bin.resolve("kube-controller-manager").toString(),
                    "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--port=0", "--secure-port=0",
                    "--controllers=job,garbagecollector,deployment,replicaset,statefulset,namespace",
                    "--use-service-account-credentials=false", "--logtostderr", "--v=0"));
            System.err.printf("KubeControlPlane: kube-apiserver %s ready on 127.0.0.1:%d in %.1f s (%s)%n",
                    admin().getKubernetesVersion().getGitVersion(), apiPort, (System.nanoTime() - started) / 1e9, dir);
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            close();  // no process outlives a start that failed
            throw e;
        }
    }

    /** A client with the admin token: for setting up what a test needs, as a cluster admin would. */
    public KubernetesClient admin() {
        return new KubernetesClientBuilder().withConfig(config().build()).build();
    }

    /** A client impersonating a ServiceAccount: RBAC allows it what the account's bindings allow, nothing more. */
    public KubernetesClient asServiceAccount(String namespace, String name) {
        return new KubernetesClientBuilder().withConfig(config()
                .withImpersonateUsername("system:serviceaccount:" + namespace + ":" + name)
                .withImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated")
                .build()).build();
    }

    /** The kubeconfig kubectl uses (the admin token). */
    public Path kubeconfig() {
        return kubeconfig;
    }

    /** What kubectl printed, and how it exited. */
    public record KubectlResult(int exitCode, String stdout, String stderr) {
        public String ok() {
            if (exitCode != 0) {
                throw new AssertionError("kubectl exited " + exitCode + ": " + stderr + stdout);
            }
            return stdout;
        }
    }

    /** Runs the cluster's kubectl (1.20, as the server) with this control plane's kubeconfig. */
    public KubectlResult kubectl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(bin.resolve("kubectl").toString(), "--kubeconfig", kubeconfig.toString(),
                "--cache-dir", dir.resolve("kubectl-cache").toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "kubectl", ".out");
        Path err = Files.createTempFile(dir, "kubectl", ".err");
        Process kubectl = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!kubectl.waitFor(120, TimeUnit.SECONDS)) {
            kubectl.destroyForcibly();
            throw new AssertionError("kubectl " + String.join(" ", args) + " did not end in 120 s");
        }
        KubectlResult result = new KubectlResult(kubectl.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return result;
    }

    /** Drops kubectl's discovery cache, as a user would after installing a CRD (kubectl keeps it 10 minutes). */
    public void forgetDiscovery() throws IOException {
        Path cache = dir.resolve("kubectl-cache");
        if (Files.exists(cache)) {
            try (var files = Files.walk(cache)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private ConfigBuilder config() {
        return new ConfigBuilder(Config.empty()).withMasterUrl("https://127.0.0.1:" + apiPort).withOauthToken(token)
                .withTrustCerts(true).withDisableHostnameVerification(true).withNamespace("default")
                .withRequestTimeout(30_000).withConnectionTimeout(10_000);
    }

    private String kubeconfigYaml() {
        return """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster:
                    server: https://127.0.0.1:%d
                    insecure-skip-tls-verify: true
                users:
                - name: admin
                  user:
                    token: %s
                contexts:
                - name: test
                  context: {cluster: test, user: admin, namespace: default}
                current-context: test
                """.formatted(apiPort, token);
    }

    private void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        RuntimeException last = null;
        try (KubernetesClient client = admin()) {
            while (System.nanoTime() < deadline) {
                for (Process p : processes) {
                    if (!p.isAlive()) {
                        throw new IllegalStateException(p.info().command().orElse("a process") + " exited " + p.exitValue() + ": " + logTail());
                    }
                }
                try {
                    if ("ok".equals(client.raw("https://127.0.0.1:" + apiPort + "/readyz"))) {
                        return;
                    }
                } catch (RuntimeException e) {
                    last = e;
                }
                Thread.sleep(250);
            }
        }
        throw new IllegalStateException("kube-apiserver not ready in 90 s (" + last + "): " + logTail());
    }

    private void start(String name, List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
        processes.add(process);
    }

    private String logTail() {
        StringBuilder tail = new StringBuilder();
        for (String name : List.of("etcd", "kube-apiserver", "kube-controller-manager")) {
            try {
                List<String> lines = Files.readAllLines(dir.resolve(name + ".log"));
                tail.append("\n--- ").append(name).append(":\n").append(String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())));
            } catch (IOException e) {
                // not started
            }
        }
        return tail.toString();
    }

    /** -Dpgupgrade.kubeBin (make test), else what scripts/kube-binaries.sh builds or finds in its cache. */
    private static Path binaries() throws IOException, InterruptedException {
        String given = System.getProperty("pgupgrade.kubeBin");
        if (given != null && !given.isBlank()) {
            return Path.of(given);
        }
        Process script = new ProcessBuilder("bash", Project.root().resolve("scripts/kube-binaries.sh").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(script.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (script.waitFor() != 0 || out.isEmpty()) {
            throw new IllegalStateException("scripts/kube-binaries.sh failed (see its output above)");
        }
        return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static KeyPair rsaKey() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    @Override
    public synchronized void close() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            p.destroy();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }
}
