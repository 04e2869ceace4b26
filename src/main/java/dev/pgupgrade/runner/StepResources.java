package dev.pgupgrade.runner;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.steps.StepSpec;
import java.util.Map;

/** Names and labels of the Kubernetes objects one upgrade's steps run with. Deterministic, so creation is idempotent. */
public final class StepResources {
    public static final String LABEL_UPGRADE = "pgupgrade.dev/upgrade";
    public static final String LABEL_STEP = "pgupgrade.dev/step";
    public static final String ANNOTATION_SPEC_HASH = "pgupgrade.dev/step-spec-hash";
    /** Where the step scripts are mounted in a step pod. */
    public static final String SCRIPTS_DIR = "/pgupgrade/scripts";
    public static final String WORK_DIR = "/work";

    private StepResources() {
    }

    public static String jobName(PostgresUpgrade upgrade, StepSpec step) {
        return upgrade.getMetadata().getName() + "-" + step.name();
    }

    public static String scriptsConfigMap(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getName() + "-steps";
    }

    /** The claim shared by Dumping (writes the dump) and Restoring (reads it). */
    public static String workClaim(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getName() + "-work";
    }

    public static Map<String, String> labels(PostgresUpgrade upgrade) {
        return Map.of("app.kubernetes.io/name", "pgupgrade", "app.kubernetes.io/managed-by", "pgupgrade-operator",
                LABEL_UPGRADE, upgrade.getMetadata().getName());
    }
}
