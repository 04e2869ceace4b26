package dev.pgupgrade.engine;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.AptibleSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.VerificationSpec;

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
            case ProvisioningTarget -> ApprovalSpec.isRequired(spec.getApproval()) ? Phase.AwaitingApproval : Phase.ScalingDown;
            case AwaitingApproval -> Phase.ScalingDown;
            case ScalingDown -> Phase.Dumping;
            case Dumping -> Phase.Restoring;
            case Restoring -> VerificationSpec.mode(spec.getVerification()) == VerificationSpec.Mode.OFF ? Phase.Repointing : Phase.Verifying;
            case Verifying -> Phase.Repointing;
            case Repointing -> Phase.ScalingUp;
            case ScalingUp -> PhaseToggle.isEnabled(spec.getAnalyze()) ? Phase.Analyzing : next(Phase.Analyzing, spec);
            case Analyzing -> AptibleSpec.deprovisionsSource(spec.getAptible()) ? Phase.DeprovisioningSource : Phase.Succeeded;
            case DeprovisioningSource -> Phase.Succeeded;
            case RollingBack -> Phase.RolledBack;
            case Succeeded, Failed, RolledBack -> throw new IllegalStateException(phase + " is terminal");
        };
    }

    /**
     * The phase after {@code phase} failed. Once services have been scaled down, the source is still
     * intact (it is only ever read), so bringing the services back on it is the safe way out. Before
     * that, or when no service was touched, there is nothing to undo. After Repointing the apps use the
     * target, and going back would lose what they wrote there: such failures stop for a human.
     */
    public static Phase onFailure(Phase phase, PostgresUpgradeStatus status) {
        return switch (phase) {
            case Validating, SchemaCheck, Rehearsal, ProvisioningTarget, AwaitingApproval,
                 ScalingUp, Analyzing, DeprovisioningSource, RollingBack -> Phase.Failed;
            case ScalingDown, Dumping, Restoring, Verifying, Repointing -> servicesTouched(status) ? Phase.RollingBack : Phase.Failed;
            case Succeeded, Failed, RolledBack -> throw new IllegalStateException(phase + " is terminal");
        };
    }

    /** Whether ScalingDown did (or may have done) anything: it ran rather than being skipped. */
    public static boolean servicesTouched(PostgresUpgradeStatus status) {
        return status.getSteps().stream()
                .anyMatch(s -> s.getPhase() == Phase.ScalingDown && s.getState() != StepState.Skipped);
    }
}
