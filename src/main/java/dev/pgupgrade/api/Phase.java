package dev.pgupgrade.api;

import java.util.Locale;

/**
 * Where an upgrade is in the runbook. The allowed transitions live in
 * {@link dev.pgupgrade.engine.PhaseMachine}; in short:
 *
 * <pre>
 * Validating -> SchemaCheck -> Rehearsal -> ProvisioningTarget -> AwaitingApproval -> ScalingDown -> Dumping -> Restoring
 *            -> Verifying -> Repointing -> ScalingUp -> Analyzing -> DeprovisioningSource -> Succeeded
 * strategy logical (online): Validating -> SchemaCheck -> Replicating -> Verifying -> CatchingUp -> AwaitingApproval
 *            -> ScalingDown -> Cutover -> Repointing -> ScalingUp -> Analyzing -> Succeeded; once Replicating has
 *            started, any failure before ScalingUp (and a deletion) goes to RollingBack, which removes replication
 * (SchemaCheck, Verifying and Analyzing can be turned off; Rehearsal, AwaitingApproval and
 *  DeprovisioningSource must be turned on; ProvisioningTarget is Aptible's)
 * Validating .. AwaitingApproval                            -fail-> Failed      (nothing was touched)
 * ScalingDown, Dumping, Restoring, Verifying, Repointing    -fail-> RollingBack (services were scaled down)
 *                                                           -fail-> Failed      (no service was touched)
 * RollingBack                                               -ok->   RolledBack  -fail-> Failed
 * ScalingUp, Analyzing, DeprovisioningSource              -fail-> Failed      (apps already use the target)
 * </pre>
 */
public enum Phase {
    Validating,
    SchemaCheck,
    /** The runbook's "Test the upgrade" on temporary databases, to estimate the downtime (opt-in). */
    Rehearsal,
    /** The target database is created (Aptible) or an existing empty one adopted. */
    ProvisioningTarget,
    /** Strategy logical: publications, slots and the copy at the slots' starting point, subscriptions created disabled. */
    Replicating,
    /** Strategy logical: the subscriptions apply what the source wrote since the copy, until the target is close behind. */
    CatchingUp,
    /** A human approves before the downtime starts (opt-in). */
    AwaitingApproval,
    ScalingDown,
    /** Strategy logical: writes frozen on the source (verified), the target catches up, sequences set, replication removed. */
    Cutover,
    Dumping,
    Restoring,
    /** The target is compared with the source before any app is pointed at it. */
    Verifying,
    Repointing,
    ScalingUp,
    Analyzing,
    /** The source database is deprovisioned (Aptible, opt-in, explicit). */
    DeprovisioningSource,
    RollingBack,
    Succeeded,
    Failed,
    RolledBack;

    public boolean isTerminal() {
        return this == Succeeded || this == Failed || this == RolledBack;
    }

    /** Phases during which the apps are (being) taken down and the source is the only good copy. */
    public boolean isDowntime() {
        return this == ScalingDown || this == Cutover || this == Dumping || this == Restoring || this == Verifying || this == Repointing;
    }

    /** Phases before ScalingDown: nothing is down or scaled, and the spec may still change (a new check follows). */
    public boolean isBeforeDowntime() {
        return compareTo(ScalingDown) < 0;
    }

    /** The step name used for files and Jobs: "schema-check" for SchemaCheck. */
    public String stepName() {
        return name().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }
}
