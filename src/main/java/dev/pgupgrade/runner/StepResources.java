package dev.pgupgrade.runner;

import dev.pgupgrade.api.PostgresUpgrade;
import java.util.Map;

/** Labels, annotations and paths of the Kubernetes objects one upgrade's steps run with (their names: api.Names). */
public final class StepResources {
    public static final String LABEL_UPGRADE = "pgupgrade.dev/upgrade";
    public static final String LABEL_STEP = "pgupgrade.dev/step";
    public static final String ANNOTATION_SPEC_HASH = "pgupgrade.dev/step-spec-hash";
    /** Where the step scripts are mounted in a step pod. */
    public static final String SCRIPTS_DIR = "/pgupgrade/scripts";
    public static final String WORK_DIR = "/work";

    private StepResources() {
    }

    public static Map<String, String> labels(PostgresUpgrade upgrade) {
        return Map.of("app.kubernetes.io/name", "pgupgrade", "app.kubernetes.io/managed-by", "pgupgrade-operator",
                LABEL_UPGRADE, upgrade.getMetadata().getName());
    }
}
