package dev.pgupgrade.engine;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.AptibleSpec;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.VerificationSpec;
import java.util.Objects;

/** The runbook's order, and where a failure leads. Pure; see {@link Phase} for the diagram. */
public final class PhaseMachine {
    private PhaseMachine() {
    }

    public static Phase first() {
        return Phase.Validating;
    }

    /** The phase after {@code phase} ended well. */
    public static Phase next(Phase phase, PostgresUpgradeSpec spec) {
        return switch (phase) {
            case Validating -> PhaseToggle.isEnabled(spec.getSchemaCheck()) ? Phase.SchemaCheck : next(Phase.SchemaCheck, spec);
            case SchemaCheck -> RehearsalSpec.isEnabled(spec.getRehearsal()) ? Phase.Rehearsal : next(Phase.Rehearsal, spec);
            case Rehearsal -> spec.getPlatform() == Platform.APTIBLE ? Phase.ProvisioningTarget : next(Phase.ProvisioningTarget, spec);
            case ProvisioningTarget -> LogicalSpec.isLogical(spec) ? Phase.Replicating : next(Phase.CatchingUp, spec);
            // Aptible's replica copies while the source takes writes: its rows are compared at the cutover
            case Replicating -> verifies(spec) && !aptible(spec) ? Phase.Verifying : Phase.CatchingUp;
            case CatchingUp -> ApprovalSpec.isRequired(spec.getApproval()) ? Phase.AwaitingApproval : Phase.ScalingDown;
            case AwaitingApproval -> Phase.ScalingDown;
            case ScalingDown -> LogicalSpec.isLogical(spec) ? Phase.Cutover : Phase.Dumping;
            // on Aptible every row is compared inside the cutover, the only moment both sides hold still
            case Cutover -> Phase.Repointing;
            case Dumping -> Phase.Restoring;
            case Restoring -> VerificationSpec.mode(spec.getVerification()) == VerificationSpec.Mode.OFF ? Phase.Repointing : Phase.Verifying;
            case Verifying -> LogicalSpec.isLogical(spec) && !aptible(spec) ? Phase.CatchingUp : Phase.Repointing;
            case Repointing -> Phase.ScalingUp;
            case ScalingUp -> PhaseToggle.isEnabled(spec.getAnalyze()) ? Phase.Analyzing : next(Phase.Analyzing, spec);
            case Analyzing -> AptibleSpec.deprovisionsSource(spec.getAptible()) ? Phase.DeprovisioningSource : Phase.Succeeded;
            case DeprovisioningSource -> Phase.Succeeded;
            case RollingBack -> Phase.RolledBack;
            case Succeeded, Failed, RolledBack -> throw new IllegalStateException(phase + " is terminal");
        };
    }

    private static boolean verifies(PostgresUpgradeSpec spec) {
        return VerificationSpec.mode(spec.getVerification()) != VerificationSpec.Mode.OFF;
    }

    private static boolean aptible(PostgresUpgradeSpec spec) {
        return spec.getPlatform() == Platform.APTIBLE;
    }

    /**
     * The phase after {@code phase} failed. Once services have been scaled down, the source is still
     * intact (it is only ever read), so bringing the services back on it is the safe way out. Before
     * that, or when no service was touched, there is nothing to undo. After Repointing the apps use the
     * target, and going back would lose what they wrote there: such failures stop for a human.
     */
    public static Phase onFailure(Phase phase, PostgresUpgradeStatus status) {
        if (cleanupNeeded(status) && phase != Phase.ScalingUp && phase != Phase.Analyzing && phase != Phase.RollingBack) {
            return Phase.RollingBack;  // replication objects or a frozen source: the rollback removes them
        }
        return switch (phase) {
            case Validating, SchemaCheck, Rehearsal, ProvisioningTarget, AwaitingApproval,
                 ScalingUp, Analyzing, DeprovisioningSource, RollingBack -> Phase.Failed;
            case Replicating, CatchingUp, Cutover -> Phase.RollingBack;
            case ScalingDown, Dumping, Restoring, Verifying, Repointing -> servicesTouched(status) ? Phase.RollingBack : Phase.Failed;
            case Succeeded, Failed, RolledBack -> throw new IllegalStateException(phase + " is terminal");
        };
    }

    /**
     * Whether this attempt's Replicating step started (strategy logical) and nothing has removed what it
     * created since: Cutover removes it on success, RollingBack's cleanup step in any case.
     */
    public static boolean replicationToUndo(PostgresUpgradeStatus status) {
        Integer attempt = status.getAttempt();
        boolean started = status.getSteps().stream().anyMatch(s -> s.getPhase() == Phase.Replicating
                && Objects.equals(s.getAttempt(), attempt) && s.getState() != StepState.Skipped);
        boolean cutOver = status.getSteps().stream().anyMatch(s -> s.getPhase() == Phase.Cutover
                && Objects.equals(s.getAttempt(), attempt) && s.getState() == StepState.Succeeded);
        return started && !cutOver && !cleanedUp(status);
    }

    /** Whether the source may be frozen: this attempt's Cutover started, and no cleanup has unfrozen it. */
    public static boolean sourceMayBeFrozen(PostgresUpgradeStatus status) {
        Integer attempt = status.getAttempt();
        boolean cutover = status.getSteps().stream().anyMatch(s -> s.getPhase() == Phase.Cutover && Objects.equals(s.getAttempt(), attempt));
        return cutover && !cleanedUp(status);
    }

    /** Whether this attempt's RollingBack cleanup step succeeded. */
    private static boolean cleanedUp(PostgresUpgradeStatus status) {
        return status.getSteps().stream().anyMatch(s -> s.getName().equals(Names.replicationCleanupStep(status))
                && s.getState() == StepState.Succeeded);
    }

    /** Whether the logical strategy left something the rollback must undo: replication objects or a freeze. */
    public static boolean cleanupNeeded(PostgresUpgradeStatus status) {
        Phase phase = status.getPhase() == Phase.Failed && status.getFailedPhase() != null ? status.getFailedPhase() : status.getPhase();
        if (phase == null || phase == Phase.Succeeded || phase == Phase.RolledBack || phase == Phase.ScalingUp || phase == Phase.Analyzing
                || phase == Phase.DeprovisioningSource) {
            return false;  // the apps use the target (the source stays frozen on purpose), or the rollback finished
        }
        return replicationToUndo(status) || sourceMayBeFrozen(status);
    }

    /** Whether ScalingDown did (or may have done) anything: it ran rather than being skipped. */
    public static boolean servicesTouched(PostgresUpgradeStatus status) {
        return status.getSteps().stream()
                .anyMatch(s -> s.getPhase() == Phase.ScalingDown && s.getState() != StepState.Skipped);
    }
}
