package dev.pgupgrade.engine;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Comparator;

/** Kubernetes-style conditions: lastTransitionTime moves only when the condition's status does. */
public final class Conditions {
    public static final String READY = "Ready";
    public static final String PROGRESSING = "Progressing";
    public static final String FAILED = "Failed";
    /** Set when the spec changed after the downtime began: the change is not applied (see status.acceptedSpec). */
    public static final String SPEC_CHANGE_REFUSED = "SpecChangeRefused";
    /**
     * kstatus (Flux's health checks, {@code kubectl wait}, cli-utils): True while the upgrade has work
     * left, so a GitOps tool waits for it rather than calling it done the moment it exists.
     */
    public static final String RECONCILING = "Reconciling";
    /** kstatus: True once the upgrade ended without succeeding (Failed, RolledBack): a health check fails on it. */
    public static final String STALLED = "Stalled";
    /** True while reconciles fail (an API error, say) and JOSDK retries; False once one completes. */
    public static final String RECONCILE_ERROR = "ReconcileError";
    /**
     * Strategy logical: True while our replication slots make the source keep more WAL than
     * spec.logical.warnRetainedWalMegabytes (past maxRetainedWalMegabytes the upgrade stops).
     */
    public static final String WAL_RETAINED = "WalRetained";

    private Conditions() {
    }

    public static List<Condition> set(List<Condition> conditions, String type, boolean status, String reason,
                                      String message, Long generation, String now) {
        List<Condition> result = new ArrayList<>();
        Condition previous = null;
        for (Condition c : conditions) {
            if (type.equals(c.getType())) {
                previous = c;
            } else {
                result.add(c);
            }
        }
        String value = status ? "True" : "False";
        String since = previous != null && value.equals(previous.getStatus()) && previous.getLastTransitionTime() != null
                ? previous.getLastTransitionTime() : now;
        result.add(new ConditionBuilder().withType(type).withStatus(value).withReason(reason).withMessage(message)
                .withObservedGeneration(generation).withLastTransitionTime(since).build());
        result.sort(Comparator.comparingInt(c -> order(c.getType())));
        return result;
    }

    public static Condition find(List<Condition> conditions, String type) {
        return conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    private static int order(String type) {
        return switch (type) {
            case READY -> 0;
            case PROGRESSING -> 1;
            case FAILED -> 2;
            case RECONCILING -> 3;
            case STALLED -> 4;
            default -> 5;
        };
    }

    /** An exception, in a condition's words: its type and first line, no URL (which could carry a credential), cut at 300 characters. */
    public static String errorText(Exception e) {
        String message = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
        message = message.replaceAll("[A-Za-z][A-Za-z0-9+.-]*://\\S*", "(a URL)");
        String text = e.getClass().getSimpleName() + (message.isBlank() ? "" : ": " + message);
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }
}
