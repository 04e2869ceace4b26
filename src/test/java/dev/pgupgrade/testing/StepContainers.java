package dev.pgupgrade.testing;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.runner.SecretResolver;
import dev.pgupgrade.runner.SecretUnavailableException;
import dev.pgupgrade.runner.StepResources;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.SimpleStep;
import dev.pgupgrade.steps.StepSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How a local node runs a step's container, shared by {@link LocalKubelet} (fabric8's mock: it plays the
 * Job controller too) and {@link PodKubelet} (a real API server: the Job controller makes the pods): the
 * container's script and environment as a StepSpec (secretKeyRefs resolved from the API's Secrets when the
 * process starts, as kubelet does), its volumes as local directories (a claim is one directory, so Dumping
 * and Restoring share the dump), and the scripts ConfigMap written out.
 */
final class StepContainers {
    private final KubernetesClient client;
    private final String namespace;
    private final Path root;
    private final Map<String, Path> serverBinaries;

    StepContainers(KubernetesClient client, String namespace, Path root, Map<String, Path> serverBinaries) {
        this.client = client;
        this.namespace = namespace;
        this.root = root;
        this.serverBinaries = Map.copyOf(serverBinaries);
    }

    /**
     * The Job's container as a StepSpec: its script, and its environment with secretKeyRefs kept as
     * references; {@code environment} (this node's, e.g. a test's faster Aptible retries) wins over the Job's.
     */
    StepSpec stepOf(Job job, Container container, Map<String, String> environment) {
        List<String> command = container.getCommand();
        String script = Path.of(command.get(command.size() - 1)).getFileName().toString();
        Map<String, EnvValue> env = new HashMap<>();
        for (EnvVar var : container.getEnv()) {
            if (var.getValueFrom() != null && var.getValueFrom().getSecretKeyRef() != null) {
                var ref = var.getValueFrom().getSecretKeyRef();
                env.put(var.getName(), EnvValue.secret(new SecretKeyRef(ref.getName(), ref.getKey()), "env " + var.getName()));
            } else if (!Set.of("WORK_DIR", "RESULT_FILE").contains(var.getName()) && !environment.containsKey(var.getName())) {
                env.put(var.getName(), EnvValue.of(var.getValue()));
            }
        }
        // The image's server binaries, here: the zonky binaries of the same major.
        String bindir = ((EnvValue.Literal) env.get("TARGET_SERVER_BINDIR")).value();
        String major = Path.of(bindir).getParent().getFileName().toString();
        env.put("TARGET_SERVER_BINDIR", EnvValue.of(serverBinaries.getOrDefault(major, Path.of(bindir)).toString()));
        env.put("TMPDIR", EnvValue.of(System.getProperty("java.io.tmpdir")));
        env.put("HOME", EnvValue.of(System.getProperty("java.io.tmpdir")));
        Phase phase = phaseOf(job);
        return new StepSpec(job.getMetadata().getName(), phase, new SimpleStep(script), env,
                Duration.ofSeconds(job.getSpec().getActiveDeadlineSeconds()), true, true);
    }

    static String stepLabel(Job job) {
        return job.getMetadata().getLabels().get(StepResources.LABEL_STEP);
    }

    private static Phase phaseOf(Job job) {
        String stepName = stepLabel(job);
        return java.util.Arrays.stream(Phase.values()).filter(p -> stepName.startsWith(p.stepName() + "-")).findFirst().orElseThrow();
    }

    Path workDirOf(Job job) throws IOException {
        PodSpec pod = job.getSpec().getTemplate().getSpec();
        Volume work = pod.getVolumes().stream().filter(v -> "work".equals(v.getName())).findFirst().orElseThrow();
        Path dir = work.getPersistentVolumeClaim() != null
                ? root.resolve("claims").resolve(work.getPersistentVolumeClaim().getClaimName())
                : root.resolve("emptydirs").resolve(job.getMetadata().getName());
        return Files.createDirectories(dir);
    }

    Path scriptsOf(Job job) throws IOException {
        Volume scripts = job.getSpec().getTemplate().getSpec().getVolumes().stream().filter(v -> "scripts".equals(v.getName())).findFirst().orElseThrow();
        ConfigMap map = client.configMaps().inNamespace(namespace).withName(scripts.getConfigMap().getName()).get();
        Path dir = Files.createDirectories(root.resolve("scripts").resolve(job.getMetadata().getName()));
        for (Map.Entry<String, String> e : map.getData().entrySet()) {
            Files.writeString(dir.resolve(e.getKey()), e.getValue());
        }
        return dir;
    }

    /** secretKeyRef as kubelet resolves it: from the Secret in the API server. */
    SecretResolver secrets() {
        return new SecretResolver() {
            @Override
            public String resolve(SecretKeyRef ref, String field) throws SecretUnavailableException {
                Secret secret = client.secrets().inNamespace(namespace).withName(ref.getName()).get();
                if (secret == null || secret.getData() == null || !secret.getData().containsKey(ref.getKey())) {
                    throw new SecretUnavailableException(field + ": Secret key " + ref + " not found (CreateContainerConfigError)");
                }
                return new String(Base64.getDecoder().decode(secret.getData().get(ref.getKey())), StandardCharsets.UTF_8);
            }
        };
    }

    /** The step's result as kubelet reports it: the termination message file, cut at kubelet's 4096 bytes. */
    static String terminationMessage(Path resultFile) throws IOException {
        String message = Files.exists(resultFile) ? Files.readString(resultFile) : "";
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        return bytes.length > LocalKubelet.TERMINATION_MESSAGE_LIMIT
                ? new String(bytes, 0, LocalKubelet.TERMINATION_MESSAGE_LIMIT, StandardCharsets.UTF_8) : message;
    }
}
