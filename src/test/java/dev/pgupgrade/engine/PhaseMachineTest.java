package dev.pgupgrade.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.SchemaCheckSpec;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.testing.Upgrades;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Every transition of the phase machine, as a table: direct and Aptible, each option on and off. */
class PhaseMachineTest {
    /** The spec variants the table names. */
    private static final Map<String, Consumer<PostgresUpgradeSpec>> VARIANTS = Map.of(
            "direct", spec -> {
            },
            "direct-no-schema-check", spec -> spec.setSchemaCheck(new SchemaCheckSpec(false)),
            "direct-no-analyze", spec -> spec.setAnalyze(new PhaseToggle(false)),
            "direct-no-verification", spec -> {
                VerificationSpec off = new VerificationSpec();
                off.setMode(VerificationSpec.Mode.OFF);
                spec.setVerification(off);
            },
            "direct-approval", spec -> spec.setApproval(approval()),
            "direct-logical", PhaseMachineTest::logical,
            "direct-logical-approval", spec -> {
                logical(spec);
                spec.setApproval(approval());
            },
            "direct-logical-no-verification", spec -> {
                logical(spec);
                VerificationSpec off = new VerificationSpec();
                off.setMode(VerificationSpec.Mode.OFF);
                spec.setVerification(off);
            },
            "aptible", spec -> {
            },
            "aptible-all", spec -> {
                RehearsalSpec rehearsal = new RehearsalSpec();
                rehearsal.setEnabled(true);
                spec.setRehearsal(rehearsal);
                spec.setApproval(approval());
                spec.getAptible().setDeprovisionSource(true);
            });

    private static void logical(PostgresUpgradeSpec spec) {
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(TransferSpec.Strategy.LOGICAL);
        spec.setTransfer(transfer);
    }

    private static ApprovalSpec approval() {
        ApprovalSpec approval = new ApprovalSpec();
        approval.setRequired(true);
        return approval;
    }

    private static PostgresUpgradeSpec spec(String variant) {
        PostgresUpgradeSpec spec = (variant.startsWith("aptible") ? Upgrades.aptible("16", 1L) : Upgrades.direct("17", 1L)).getSpec();
        VARIANTS.get(variant).accept(spec);
        return spec;
    }

    @ParameterizedTest(name = "{0}: {1} -> {2}")
    @CsvSource({
        "direct, Validating, SchemaCheck",
        "direct, SchemaCheck, ScalingDown",
        "direct, ScalingDown, Dumping",
        "direct, Dumping, Restoring",
        "direct, Restoring, Verifying",
        "direct, Verifying, Repointing",
        "direct, Repointing, ScalingUp",
        "direct, ScalingUp, Analyzing",
        "direct, Analyzing, Succeeded",
        "direct, RollingBack, RolledBack",
        "direct-no-schema-check, Validating, ScalingDown",
        "direct-no-analyze, ScalingUp, Succeeded",
        "direct-no-verification, Restoring, Repointing",
        "direct-approval, SchemaCheck, AwaitingApproval",
        "direct-approval, AwaitingApproval, ScalingDown",
        "aptible, Validating, SchemaCheck",
        "aptible, SchemaCheck, ProvisioningTarget",
        "aptible, ProvisioningTarget, ScalingDown",
        "aptible, Analyzing, Succeeded",
        "aptible-all, SchemaCheck, Rehearsal",
        "aptible-all, Rehearsal, ProvisioningTarget",
        "aptible-all, ProvisioningTarget, AwaitingApproval",
        "aptible-all, AwaitingApproval, ScalingDown",
        "aptible-all, Analyzing, DeprovisioningSource",
        "aptible-all, DeprovisioningSource, Succeeded",
        "direct-logical, Validating, SchemaCheck",
        "direct-logical, SchemaCheck, Replicating",
        "direct-logical, Replicating, Verifying",
        "direct-logical, Verifying, CatchingUp",
        "direct-logical, CatchingUp, ScalingDown",
        "direct-logical, ScalingDown, Cutover",
        "direct-logical, Cutover, Repointing",
        "direct-logical, Repointing, ScalingUp",
        "direct-logical, RollingBack, RolledBack",
        "direct-logical-approval, CatchingUp, AwaitingApproval",
        "direct-logical-approval, AwaitingApproval, ScalingDown",
        "direct-logical-no-verification, Replicating, CatchingUp",
    })
    void next(String variant, Phase from, Phase expected) {
        assertEquals(expected, PhaseMachine.next(from, spec(variant)));
    }

    /**
     * Where a failure leads: nothing touched before the downtime (Failed); during it, back to the
     * source when services were scaled down (RollingBack), else Failed; after Repointing the apps use
     * the target and a failure stops for a human (Failed).
     */
    @ParameterizedTest(name = "{0} fails, services touched: {1} -> {2}")
    @CsvSource({
        "Validating, false, Failed", "SchemaCheck, false, Failed", "Rehearsal, false, Failed", "ProvisioningTarget, false, Failed",
        "AwaitingApproval, false, Failed",
        "ScalingDown, true, RollingBack", "Dumping, true, RollingBack", "Restoring, true, RollingBack", "Verifying, true, RollingBack",
        "Repointing, true, RollingBack",
        "ScalingDown, false, Failed", "Dumping, false, Failed", "Restoring, false, Failed", "Verifying, false, Failed", "Repointing, false, Failed",
        "ScalingUp, true, Failed", "Analyzing, true, Failed", "DeprovisioningSource, true, Failed", "RollingBack, true, Failed",
    })
    void onFailure(Phase failed, boolean servicesTouched, Phase expected) {
        PostgresUpgradeStatus status = servicesTouched ? status(step(Phase.ScalingDown, StepState.Succeeded)) : status();
        assertEquals(expected, PhaseMachine.onFailure(failed, status));
    }

    /**
     * The online strategy: once Replicating started, replication objects exist on both servers (and
     * from the Cutover on, a frozen source): every failure before the apps are back on the target rolls
     * back, services touched or not, so the cleanup runs. After ScalingUp the apps use the target.
     */
    @ParameterizedTest(name = "logical, {0} fails, cut over: {1} -> {2}")
    @CsvSource({
        "Replicating, false, RollingBack", "Verifying, false, RollingBack", "CatchingUp, false, RollingBack",
        "AwaitingApproval, false, RollingBack", "ScalingDown, false, RollingBack", "Cutover, false, RollingBack",
        "Repointing, true, RollingBack", "ScalingUp, true, Failed", "Analyzing, true, Failed", "RollingBack, false, Failed",
    })
    void onceReplicationStartedAFailureRollsBack(Phase failed, boolean cutOver, Phase expected) {
        PostgresUpgradeStatus status = cutOver ? status(step(Phase.Replicating, StepState.Succeeded), step(Phase.Cutover, StepState.Succeeded))
                : status(step(Phase.Replicating, StepState.Succeeded));
        status.setPhase(failed);
        assertEquals(expected, PhaseMachine.onFailure(failed, status));
    }

    @Test
    void theCleanupIsNeededUntilItSucceededOrTheAppsUseTheTarget() {
        PostgresUpgradeStatus replicating = status(step(Phase.Replicating, StepState.Running));
        replicating.setPhase(Phase.Replicating);
        assertTrue(PhaseMachine.cleanupNeeded(replicating));
        PostgresUpgradeStatus cleaned = status(step(Phase.Replicating, StepState.Failed), named("rolling-back-1-replication-cleanup", Phase.RollingBack));
        cleaned.setPhase(Phase.RollingBack);
        assertFalse(PhaseMachine.cleanupNeeded(cleaned));
        PostgresUpgradeStatus done = status(step(Phase.Replicating, StepState.Succeeded), step(Phase.Cutover, StepState.Succeeded));
        done.setPhase(Phase.Succeeded);
        assertFalse(PhaseMachine.cleanupNeeded(done), "after success the source stays frozen on purpose");
        PostgresUpgradeStatus dump = status(step(Phase.Restoring, StepState.Running));
        dump.setPhase(Phase.Restoring);
        assertFalse(PhaseMachine.cleanupNeeded(dump), "a dump strategy replicates nothing");
    }

    private static StepStatus named(String name, Phase phase) {
        StepStatus s = step(phase, StepState.Succeeded);
        s.setName(name);
        return s;
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"Succeeded", "Failed", "RolledBack"})
    void terminalPhasesHaveNoNextAndNoFailure(Phase phase) {
        assertTrue(phase.isTerminal());
        assertThrows(IllegalStateException.class, () -> PhaseMachine.next(phase, spec("direct")));
        assertThrows(IllegalStateException.class, () -> PhaseMachine.onFailure(phase, status()));
    }

    @Test
    void aSkippedScalingDownTouchedNoService() {
        assertFalse(PhaseMachine.servicesTouched(status(step(Phase.ScalingDown, StepState.Skipped))));
        assertTrue(PhaseMachine.servicesTouched(status(step(Phase.ScalingDown, StepState.Running))));
        assertTrue(PhaseMachine.servicesTouched(status(step(Phase.ScalingDown, StepState.Failed))));
        assertFalse(PhaseMachine.servicesTouched(status(step(Phase.Dumping, StepState.Succeeded))));
    }

    @Test
    void everyNonTerminalPhaseLeadsSomewhereForEveryVariant() {
        for (String variant : VARIANTS.keySet()) {
            for (Phase phase : Phase.values()) {
                if (!phase.isTerminal()) {
                    PhaseMachine.next(phase, spec(variant));
                    PhaseMachine.onFailure(phase, status());
                }
            }
        }
    }

    @Test
    void theFirstPhaseIsValidating() {
        assertEquals(Phase.Validating, PhaseMachine.first());
    }

    private static StepStatus step(Phase phase, StepState state) {
        StepStatus s = new StepStatus();
        s.setName(phase.stepName() + "-1");
        s.setPhase(phase);
        s.setState(state);
        return s;
    }

    private static PostgresUpgradeStatus status(StepStatus... steps) {
        PostgresUpgradeStatus status = new PostgresUpgradeStatus();
        status.setSteps(new ArrayList<>(List.of(steps)));
        return status;
    }
}
