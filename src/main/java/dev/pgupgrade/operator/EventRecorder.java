package dev.pgupgrade.operator;

import dev.pgupgrade.api.PostgresUpgrade;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.temporal.ChronoUnit;

/**
 * Kubernetes Events on a PostgresUpgrade, for {@code kubectl describe} and event-based alerting. An
 * event's name is derived from what it reports, so a reconcile repeated after a crash does not
 * report the same transition twice. Events are informational: failing to write one never stops the
 * upgrade.
 */
final class EventRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(EventRecorder.class);
    static final String COMPONENT = "pgupgrade-operator";
    private final KubernetesClient client;

    EventRecorder(KubernetesClient client) {
        this.client = client;
    }

    void record(PostgresUpgrade upgrade, boolean warning, String reason, String message, String identity, Instant now) {
        String name = upgrade.getMetadata().getName() + "." + HexFormat.of().formatHex(UUID.nameUUIDFromBytes(
                (upgrade.getMetadata().getUid() + "|" + identity).getBytes(StandardCharsets.UTF_8)).toString().getBytes(StandardCharsets.UTF_8), 0, 8);
        String at = now.truncatedTo(ChronoUnit.SECONDS).toString();
        Event event = new EventBuilder()
                .withNewMetadata().withName(name).withNamespace(upgrade.getMetadata().getNamespace()).endMetadata()
                .withInvolvedObject(new ObjectReferenceBuilder()
                        .withApiVersion(PostgresUpgrade.API_VERSION).withKind("PostgresUpgrade")
                        .withName(upgrade.getMetadata().getName()).withNamespace(upgrade.getMetadata().getNamespace())
                        .withUid(upgrade.getMetadata().getUid()).build())
                .withType(warning ? "Warning" : "Normal")
                .withReason(reason)
                .withMessage(message.length() > 1000 ? message.substring(0, 1000) + "..." : message)
                .withFirstTimestamp(at).withLastTimestamp(at).withCount(1)
                .withNewSource().withComponent(COMPONENT).endSource()
                .withReportingComponent(COMPONENT)
                .build();
        try {
            client.v1().events().inNamespace(upgrade.getMetadata().getNamespace()).resource(event).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                LOG.warn("could not record event {} on {}/{}: {}", reason, upgrade.getMetadata().getNamespace(),
                        upgrade.getMetadata().getName(), e.getStatus() == null ? e.getClass().getSimpleName() : e.getStatus().getMessage());
            }
        }
    }
}
