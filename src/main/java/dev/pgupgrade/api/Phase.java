package dev.pgupgrade.api;

/**
 * Where an upgrade is in the runbook. The allowed transitions live in
 * {@link dev.pgupgrade.engine.PhaseMachine}; in short:
 *
 * <pre>
 * Validating -> SchemaCheck -> ScalingDown -> Dumping -> Restoring -> Verifying -> Repointing -> ScalingUp -> Analyzing -> Succeeded
 * (SchemaCheck, Verifying and Analyzing can be turned off in the spec)
 * Validating, SchemaCheck                                   -fail-> Failed      (nothing was touched)
 * ScalingDown, Dumping, Restoring, Verifying, Repointing    -fail-> RollingBack (services were scaled down)
 *                                                           -fail-> Failed      (no service was touched)
 * RollingBack                                               -ok->   RolledBack  -fail-> Failed
 * ScalingUp, Analyzing                                      -fail-> Failed      (apps already use the target)
 * </pre>
 */
public enum Phase {
    Validating,
    SchemaCheck,
    ScalingDown,
    Dumping,
    Restoring,
    /** The target is compared with the source before any app is pointed at it. */
    Verifying,
    Repointing,
    ScalingUp,
    Analyzing,
    RollingBack,
    Succeeded,
    Failed,
    RolledBack;

    public boolean isTerminal() {
        return this == Succeeded || this == Failed || this == RolledBack;
    }

    /** Phases during which the apps are (being) taken down and the source is the only good copy. */
    public boolean isDowntime() {
        return this == ScalingDown || this == Dumping || this == Restoring || this == Verifying || this == Repointing;
    }

    /** The step name used for files and Jobs: "schema-check" for SchemaCheck. */
    public String stepName() {
        return name().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }
}
