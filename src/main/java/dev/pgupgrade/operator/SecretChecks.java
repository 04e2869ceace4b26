package dev.pgupgrade.operator;

import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.engine.PostgresUrl;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The Secrets an upgrade references, checked before its first step: a missing one is waited for
 * (GitOps tools may apply it after the PostgresUpgrade); a URL of the wrong shape is an error. The
 * values are read in memory only and never repeated.
 */
final class SecretChecks {
    record Result(List<String> missing, List<String> invalid) {
    }

    private final KubernetesClient client;

    SecretChecks(KubernetesClient client) {
        this.client = client;
    }

    Result check(PostgresUpgrade upgrade) {
        List<String> missing = new ArrayList<>();
        List<String> invalid = new ArrayList<>();
        if (upgrade.getSpec().getPlatform() == Platform.APTIBLE) {
            value(upgrade, upgrade.getSpec().getAptible().getTokenSecretRef(), "spec.aptible.tokenSecretRef", missing);
        } else {
            url(upgrade, upgrade.getSpec().getSource().getUrlSecretRef(), "spec.source.urlSecretRef", missing, invalid);
            url(upgrade, upgrade.getSpec().getTarget().getUrlSecretRef(), "spec.target.urlSecretRef", missing, invalid);
        }
        return new Result(missing, invalid);
    }

    private void url(PostgresUpgrade upgrade, SecretKeyRef ref, String field, List<String> missing, List<String> invalid) {
        value(upgrade, ref, field, missing).ifPresent(url ->
                PostgresUrl.problem(url.strip()).ifPresent(p -> invalid.add(field + ": the URL in Secret key " + ref + " " + p)));
    }

    /** The key's value, or empty with the reason added to {@code missing} (an empty value counts as missing). */
    private Optional<String> value(PostgresUpgrade upgrade, SecretKeyRef ref, String field, List<String> missing) {
        Secret secret = client.secrets().inNamespace(upgrade.getMetadata().getNamespace()).withName(ref.getName()).get();
        Optional<String> value = secret == null ? Optional.empty() : KubernetesServices.decodedValue(secret, ref.getKey());
        if (value.isEmpty() || value.get().isBlank()) {
            missing.add(field + ": Secret " + ref.getName() + (secret == null ? " does not exist" : " has no (or an empty) key " + ref.getKey()));
            return Optional.empty();
        }
        return value;
    }
}
