package dev.pgupgrade.operator;

import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.driver.ServiceProgress;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.platform.PhaseWork.ServiceAction;
import dev.pgupgrade.runner.StepJobBuilder;
import dev.pgupgrade.runner.StepResources;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.TreeMap;

/**
 * The apps of the direct platform: Deployments and StatefulSets in the upgrade's namespace. Every
 * method is idempotent and does at most what the status already records as intended: replicas are
 * recorded before anything is scaled, and an app's previous URL is copied into a backup Secret
 * before its Secret is changed.
 */
final class KubernetesServices {
    private final KubernetesClient client;

    KubernetesServices(KubernetesClient client) {
        this.client = client;
    }

    ServiceProgress advance(PostgresUpgrade upgrade, ServiceAction action) {
        return switch (action) {
            case SCALE_DOWN -> scaleDown(upgrade);
            case REPOINT -> repoint(upgrade);
            case SCALE_UP -> scaleUp(upgrade, "scaled back up");
            case ROLL_BACK -> rollBack(upgrade);
        };
    }

    /** The name of the Secret holding the apps' previous URLs, keyed "SECRET.KEY". */
    static String backupSecretName(PostgresUpgrade upgrade) {
        return Names.urlBackupSecret(upgrade);
    }

    private ServiceProgress scaleDown(PostgresUpgrade upgrade) {
        List<ServiceStatus> unrecorded = new ArrayList<>();
        for (ServiceSpec service : upgrade.getSpec().getServices()) {
            if (recorded(upgrade, service).isEmpty()) {
                Optional<Workload> workload = workload(upgrade, service);
                if (workload.isEmpty()) {
                    return new ServiceProgress.Failed(missing(upgrade, service));
                }
                unrecorded.add(new ServiceStatus(service.getKind(), service.getName(), workload.get().replicas()));
            }
        }
        if (!unrecorded.isEmpty()) {
            return new ServiceProgress.RecordReplicas(unrecorded);
        }
        List<String> waiting = new ArrayList<>();
        for (ServiceSpec service : upgrade.getSpec().getServices()) {
            Optional<Workload> workload = workload(upgrade, service);
            if (workload.isEmpty()) {
                return new ServiceProgress.Failed(missing(upgrade, service));
            }
            if (workload.get().replicas() != 0) {
                scale(upgrade, service, 0);
            }
            int pods = podsOf(upgrade, workload.get().selector());
            if (pods > 0) {
                waiting.add(pods + " pod" + (pods == 1 ? "" : "s") + " of " + service.getKind() + " " + service.getName());
            }
        }
        if (!waiting.isEmpty()) {
            return new ServiceProgress.InProgress("waiting for " + String.join(", ", waiting) + " to stop");
        }
        return new ServiceProgress.Done("scaled to zero: " + upgrade.getStatus().getServices().stream()
                .map(s -> s.getKind() + " " + s.getName() + " (had " + s.getReplicas() + ")").collect(Collectors.joining(", ")));
    }

    private ServiceProgress repoint(PostgresUpgrade upgrade) {
        Set<SecretKeyRef> appSecrets = appSecretKeys(upgrade);
        if (appSecrets.isEmpty()) {
            return new ServiceProgress.Done("no service names a urlSecretRef: nothing to repoint");
        }
        String backupName = backupSecretName(upgrade);
        if (upgrade.getStatus().getServices().stream().anyMatch(s -> !backupName.equals(s.getBackupSecret()))) {
            return new ServiceProgress.RecordBackup(backupName);
        }
        Optional<String> targetUrl = secretValue(upgrade, upgrade.getSpec().getTarget().getUrlSecretRef());
        if (targetUrl.isEmpty()) {
            return new ServiceProgress.Failed("spec.target.urlSecretRef: Secret key " + upgrade.getSpec().getTarget().getUrlSecretRef() + " not found");
        }
        Secret backup = backupSecret(upgrade);
        for (SecretKeyRef ref : appSecrets) {
            Secret app = client.secrets().inNamespace(namespace(upgrade)).withName(ref.getName()).get();
            if (app == null) {
                return new ServiceProgress.Failed("spec.services: the app Secret " + ref.getName() + " does not exist");
            }
            String backupKey = ref.getName() + "." + ref.getKey();
            if (backup.getData() == null || !backup.getData().containsKey(backupKey)) {
                // The previous value is saved before it is replaced, and never overwritten afterwards.
                Map<String, String> data = backup.getData() == null ? new HashMap<>() : new HashMap<>(backup.getData());
                data.put(backupKey, encode(decodedValue(app, ref.getKey()).orElse("")));
                backup.setData(data);
                backup = client.secrets().inNamespace(namespace(upgrade)).resource(backup).update();
            }
            if (!targetUrl.get().equals(decodedValue(app, ref.getKey()).orElse(null))) {
                setValue(upgrade, app, ref.getKey(), targetUrl.get());
            }
        }
        return new ServiceProgress.Done("pointed " + describe(appSecrets) + " at the target (previous values kept in Secret " + backupName + ")");
    }

    private ServiceProgress scaleUp(PostgresUpgrade upgrade, String verb) {
        List<String> waiting = new ArrayList<>();
        for (ServiceStatus recorded : upgrade.getStatus().getServices()) {
            ServiceSpec service = new ServiceSpec();
            service.setKind(recorded.getKind());
            service.setName(recorded.getName());
            Optional<Workload> workload = workload(upgrade, service);
            if (workload.isEmpty()) {
                return new ServiceProgress.Failed(missing(upgrade, service) + "; it had " + recorded.getReplicas() + " replicas");
            }
            int wanted = recorded.getReplicas() == null ? 1 : recorded.getReplicas();
            if (workload.get().replicas() != wanted) {
                scale(upgrade, service, wanted);
            }
            if (workload.get().readyReplicas() < wanted) {
                waiting.add(service.getKind() + " " + service.getName() + " (" + workload.get().readyReplicas() + "/" + wanted + " ready)");
            }
        }
        if (!waiting.isEmpty()) {
            return new ServiceProgress.InProgress("waiting for " + String.join(", ", waiting));
        }
        return new ServiceProgress.Done(verb + " to the recorded replicas: " + upgrade.getStatus().getServices().stream()
                .map(s -> s.getKind() + " " + s.getName() + " = " + s.getReplicas()).collect(Collectors.joining(", ")));
    }

    private ServiceProgress rollBack(PostgresUpgrade upgrade) {
        Secret backup = client.secrets().inNamespace(namespace(upgrade)).withName(backupSecretName(upgrade)).get();
        if (backup != null && backup.getData() != null) {
            for (SecretKeyRef ref : appSecretKeys(upgrade)) {
                String saved = backup.getData().get(ref.getName() + "." + ref.getKey());
                Secret app = client.secrets().inNamespace(namespace(upgrade)).withName(ref.getName()).get();
                if (saved != null && app != null && !saved.equals(app.getData() == null ? null : app.getData().get(ref.getKey()))) {
                    setValue(upgrade, app, ref.getKey(), decode(saved));
                }
            }
        }
        if (upgrade.getStatus().getServices().isEmpty()) {
            return new ServiceProgress.Done("no service had been scaled down");
        }
        return scaleUp(upgrade, "back on the source, scaled");
    }

    private Set<SecretKeyRef> appSecretKeys(PostgresUpgrade upgrade) {
        Map<String, SecretKeyRef> unique = new TreeMap<>();
        for (ServiceSpec s : upgrade.getSpec().getServices()) {
            if (s.getUrlSecretRef() != null) {
                unique.putIfAbsent(s.getUrlSecretRef().toString(), s.getUrlSecretRef());
            }
        }
        return new LinkedHashSet<>(unique.values());
    }

    private Secret backupSecret(PostgresUpgrade upgrade) {
        String name = backupSecretName(upgrade);
        Secret existing = client.secrets().inNamespace(namespace(upgrade)).withName(name).get();
        if (existing != null) {
            return existing;
        }
        Secret created = new SecretBuilder().withNewMetadata().withName(name).withNamespace(namespace(upgrade))
                .withLabels(StepResources.labels(upgrade)).withOwnerReferences(StepJobBuilder.owner(upgrade)).endMetadata()
                .withType("Opaque").withData(new HashMap<>()).build();
        return client.secrets().inNamespace(namespace(upgrade)).resource(created).create();
    }

    private void setValue(PostgresUpgrade upgrade, Secret secret, String key, String value) {
        Map<String, String> data = secret.getData() == null ? new HashMap<>() : new HashMap<>(secret.getData());
        data.put(key, encode(value));
        secret.setData(data);
        if (secret.getStringData() != null) {
            secret.getStringData().remove(key);
        }
        client.secrets().inNamespace(namespace(upgrade)).resource(secret).update();
    }

    private Optional<String> secretValue(PostgresUpgrade upgrade, SecretKeyRef ref) {
        Secret secret = client.secrets().inNamespace(namespace(upgrade)).withName(ref.getName()).get();
        return secret == null ? Optional.empty() : decodedValue(secret, ref.getKey());
    }

    static Optional<String> decodedValue(Secret secret, String key) {
        if (secret.getData() != null && secret.getData().get(key) != null) {
            return Optional.of(decode(secret.getData().get(key)));
        }
        if (secret.getStringData() != null && secret.getStringData().get(key) != null) {
            return Optional.of(secret.getStringData().get(key));
        }
        return Optional.empty();
    }

    private Optional<ServiceStatus> recorded(PostgresUpgrade upgrade, ServiceSpec service) {
        return upgrade.getStatus().getServices().stream().filter(s -> s.matches(service)).findFirst();
    }

    private void scale(PostgresUpgrade upgrade, ServiceSpec service, int replicas) {
        String patch = "{\"spec\":{\"replicas\":" + replicas + "}}";
        PatchContext merge = PatchContext.of(PatchType.JSON_MERGE);
        if ("StatefulSet".equals(service.getKind())) {
            client.apps().statefulSets().inNamespace(namespace(upgrade)).withName(service.getName()).patch(merge, patch);
        } else {
            client.apps().deployments().inNamespace(namespace(upgrade)).withName(service.getName()).patch(merge, patch);
        }
    }

    /** The facts about a Deployment or StatefulSet this class needs. */
    private record Workload(int replicas, int readyReplicas, LabelSelector selector) {
    }

    private Optional<Workload> workload(PostgresUpgrade upgrade, ServiceSpec service) {
        if ("StatefulSet".equals(service.getKind())) {
            StatefulSet s = client.apps().statefulSets().inNamespace(namespace(upgrade)).withName(service.getName()).get();
            return Optional.ofNullable(s).map(x -> new Workload(orOne(x.getSpec().getReplicas()),
                    x.getStatus() == null ? 0 : orZero(x.getStatus().getReadyReplicas()), x.getSpec().getSelector()));
        }
        Deployment d = client.apps().deployments().inNamespace(namespace(upgrade)).withName(service.getName()).get();
        return Optional.ofNullable(d).map(x -> new Workload(orOne(x.getSpec().getReplicas()),
                x.getStatus() == null ? 0 : orZero(x.getStatus().getReadyReplicas()), x.getSpec().getSelector()));
    }

    private int podsOf(PostgresUpgrade upgrade, LabelSelector selector) {
        if (selector == null || selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty()) {
            return 0;
        }
        return client.pods().inNamespace(namespace(upgrade)).withLabels(selector.getMatchLabels()).list().getItems().size();
    }

    private static String missing(PostgresUpgrade upgrade, ServiceSpec service) {
        return "spec.services: " + service.getKind() + " " + service.getName() + " does not exist in namespace " + namespace(upgrade);
    }

    private static String describe(Set<SecretKeyRef> refs) {
        return refs.stream().map(r -> "Secret " + r.getName() + " key " + r.getKey()).collect(Collectors.joining(", "));
    }

    private static String namespace(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getNamespace();
    }

    private static int orOne(Integer n) {
        return n == null ? 1 : n;
    }

    private static int orZero(Integer n) {
        return n == null ? 0 : n;
    }

    private static String encode(String value) {
        return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
    }

    private static String decode(String value) {
        return new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
    }
}
