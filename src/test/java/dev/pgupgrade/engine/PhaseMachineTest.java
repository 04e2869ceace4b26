package dev.pgupgrade.engine;

import dev.pgupgrade.testing.Upgrades;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class PhaseMachineTest {

    private static final PostgresUpgradeSpec DEFAULT_SPEC = new PostgresUpgradeSpec();

    private static PostgresUpgradeSpec spec(Boolean schemaCheck, Boolean analyze) {
        PostgresUpgradeSpec spec = new PostgresUpgradeSpec();
        if (schemaCheck != null) {
            spec.setSchemaCheck(new dev.pgupgrade.api.SchemaCheckSpec(schemaCheck));
        }
        if (analyze != null) {
            spec.setAnalyze(new PhaseToggle(analyze));
        }
        return spec;
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

    @Test
    void firstPhaseIsValidating() {
        assertEquals(Phase.Validating, PhaseMachine.first());
    }

    @Nested
    class Next {
        @Test
        void validatingGoesToSchemaCheckByDefault() {
            assertEquals(Phase.SchemaCheck, PhaseMachine.next(Phase.Validating, DEFAULT_SPEC));
        }

        @Test
        void validatingGoesToSchemaCheckWhenToggleHasNoValue() {
            PostgresUpgradeSpec spec = new PostgresUpgradeSpec();
            spec.setSchemaCheck(new dev.pgupgrade.api.SchemaCheckSpec());
            assertEquals(Phase.SchemaCheck, PhaseMachine.next(Phase.Validating, spec));
        }

        @Test
        void validatingGoesToSchemaCheckWhenExplicitlyEnabled() {
            assertEquals(Phase.SchemaCheck, PhaseMachine.next(Phase.Validating, spec(true, null)));
        }

        @Test
        void validatingSkipsSchemaCheckWhenDisabled() {
            assertEquals(Phase.ScalingDown, PhaseMachine.next(Phase.Validating, spec(false, null)));
        }

        @Test
        void schemaCheckGoesToScalingDown() {
            assertEquals(Phase.ScalingDown, PhaseMachine.next(Phase.SchemaCheck, DEFAULT_SPEC));
        }

        @Test
        void scalingDownGoesToDumping() {
            assertEquals(Phase.Dumping, PhaseMachine.next(Phase.ScalingDown, DEFAULT_SPEC));
        }

        @Test
        void dumpingGoesToRestoring() {
            assertEquals(Phase.Restoring, PhaseMachine.next(Phase.Dumping, DEFAULT_SPEC));
        }

        @Test
        void restoringGoesToVerifying() {
            assertEquals(Phase.Verifying, PhaseMachine.next(Phase.Restoring, DEFAULT_SPEC));
        }

        @Test
        void restoringGoesToRepointingWhenVerificationIsOff() {
            PostgresUpgradeSpec spec = Upgrades.direct("17", 1L).getSpec();
            dev.pgupgrade.api.VerificationSpec off = new dev.pgupgrade.api.VerificationSpec();
            off.setMode(dev.pgupgrade.api.VerificationSpec.Mode.OFF);
            spec.setVerification(off);
            assertEquals(Phase.Repointing, PhaseMachine.next(Phase.Restoring, spec));
        }

        @Test
        void verifyingGoesToRepointing() {
            assertEquals(Phase.Repointing, PhaseMachine.next(Phase.Verifying, DEFAULT_SPEC));
        }

        @Test
        void repointingGoesToScalingUp() {
            assertEquals(Phase.ScalingUp, PhaseMachine.next(Phase.Repointing, DEFAULT_SPEC));
        }

        @Test
        void scalingUpGoesToAnalyzingByDefault() {
            assertEquals(Phase.Analyzing, PhaseMachine.next(Phase.ScalingUp, DEFAULT_SPEC));
        }

        @Test
        void scalingUpGoesToAnalyzingWhenExplicitlyEnabled() {
            assertEquals(Phase.Analyzing, PhaseMachine.next(Phase.ScalingUp, spec(null, true)));
        }

        @Test
        void scalingUpSkipsAnalyzingWhenDisabled() {
            assertEquals(Phase.Succeeded, PhaseMachine.next(Phase.ScalingUp, spec(null, false)));
        }

        @Test
        void analyzingGoesToSucceeded() {
            assertEquals(Phase.Succeeded, PhaseMachine.next(Phase.Analyzing, DEFAULT_SPEC));
        }

        @Test
        void rollingBackGoesToRolledBack() {
            assertEquals(Phase.RolledBack, PhaseMachine.next(Phase.RollingBack, DEFAULT_SPEC));
        }

        @Test
        void disablingSchemaCheckDoesNotAffectOtherEdges() {
            PostgresUpgradeSpec spec = spec(false, false);
            assertEquals(Phase.ScalingDown, PhaseMachine.next(Phase.SchemaCheck, spec));
            assertEquals(Phase.Succeeded, PhaseMachine.next(Phase.Analyzing, spec));
        }

        @ParameterizedTest
        @EnumSource(value = Phase.class, names = {"Succeeded", "Failed", "RolledBack"})
        void terminalPhasesHaveNoNext(Phase terminal) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> PhaseMachine.next(terminal, DEFAULT_SPEC));
            assertTrue(e.getMessage().contains(terminal.name()), e.getMessage());
        }

        @Test
        void theHappyPathVisitsEveryRunbookPhaseInOrder() {
            List<Phase> visited = new ArrayList<>();
            Phase p = PhaseMachine.first();
            while (!p.isTerminal()) {
                visited.add(p);
                p = PhaseMachine.next(p, DEFAULT_SPEC);
            }
            visited.add(p);
            assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.ScalingDown, Phase.Dumping, Phase.Restoring,
                    Phase.Verifying, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing, Phase.Succeeded), visited);
        }
    }

    @Nested
    class OnFailure {
        static Stream<StepStatus> touchingScaleDowns() {
            return Stream.of(step(Phase.ScalingDown, StepState.Succeeded), step(Phase.ScalingDown, StepState.Failed),
                    step(Phase.ScalingDown, StepState.Running));
        }

        /** Downtime phases x ScalingDown step states that count as "touched". */
        static Stream<Arguments> downtimeWithServicesTouched() {
            return Stream.of(Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Verifying, Phase.Repointing)
                    .flatMap(p -> touchingScaleDowns().map(s -> Arguments.of(p, s.getState())));
        }

        @ParameterizedTest(name = "{0} fails with ScalingDown {1} -> RollingBack")
        @MethodSource("downtimeWithServicesTouched")
        void downtimePhaseRollsBackWhenServicesWereTouched(Phase failed, StepState scalingDownState) {
            PostgresUpgradeStatus status = status(step(Phase.Validating, StepState.Succeeded),
                    step(Phase.ScalingDown, scalingDownState));
            assertTrue(PhaseMachine.servicesTouched(status));
            assertEquals(Phase.RollingBack, PhaseMachine.onFailure(failed, status));
        }

        @ParameterizedTest(name = "{0} fails with no ScalingDown step -> Failed")
        @EnumSource(value = Phase.class, names = {"ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing"})
        void downtimePhaseFailsWhenNoScalingDownStepExists(Phase failed) {
            PostgresUpgradeStatus status = status(step(Phase.Validating, StepState.Succeeded),
                    step(Phase.SchemaCheck, StepState.Succeeded), step(Phase.Dumping, StepState.Succeeded));
            assertFalse(PhaseMachine.servicesTouched(status));
            assertEquals(Phase.Failed, PhaseMachine.onFailure(failed, status));
        }

        @ParameterizedTest(name = "{0} fails with ScalingDown Skipped -> Failed")
        @EnumSource(value = Phase.class, names = {"ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing"})
        void downtimePhaseFailsWhenScalingDownWasSkipped(Phase failed) {
            PostgresUpgradeStatus status = status(step(Phase.Validating, StepState.Succeeded),
                    step(Phase.ScalingDown, StepState.Skipped), step(Phase.Dumping, StepState.Succeeded));
            assertFalse(PhaseMachine.servicesTouched(status));
            assertEquals(Phase.Failed, PhaseMachine.onFailure(failed, status));
        }

        @ParameterizedTest(name = "{0} fails with an empty history -> Failed")
        @EnumSource(value = Phase.class, names = {"ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing"})
        void downtimePhaseFailsWithEmptyHistory(Phase failed) {
            assertEquals(Phase.Failed, PhaseMachine.onFailure(failed, status()));
        }

        @ParameterizedTest(name = "{0} fails (services touched) -> Failed")
        @EnumSource(value = Phase.class, names = {"Validating", "SchemaCheck", "ScalingUp", "Analyzing", "RollingBack"})
        void nonDowntimePhaseFailsEvenWhenServicesWereTouched(Phase failed) {
            PostgresUpgradeStatus status = status(step(Phase.ScalingDown, StepState.Succeeded));
            assertTrue(PhaseMachine.servicesTouched(status));
            assertEquals(Phase.Failed, PhaseMachine.onFailure(failed, status));
        }

        @ParameterizedTest(name = "{0} fails (services untouched) -> Failed")
        @EnumSource(value = Phase.class, names = {"Validating", "SchemaCheck", "ScalingUp", "Analyzing", "RollingBack"})
        void nonDowntimePhaseFailsWhenServicesWereUntouched(Phase failed) {
            PostgresUpgradeStatus status = status(step(Phase.ScalingDown, StepState.Skipped));
            assertFalse(PhaseMachine.servicesTouched(status));
            assertEquals(Phase.Failed, PhaseMachine.onFailure(failed, status));
        }

        @ParameterizedTest
        @EnumSource(value = Phase.class, names = {"Succeeded", "Failed", "RolledBack"})
        void terminalPhasesCannotFail(Phase terminal) {
            PostgresUpgradeStatus status = status(step(Phase.ScalingDown, StepState.Succeeded));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> PhaseMachine.onFailure(terminal, status));
            assertTrue(e.getMessage().contains(terminal.name()), e.getMessage());
        }

        @Test
        void anyNonSkippedScalingDownStepCountsEvenBesideASkippedOne() {
            // a retry's ScalingDown ran although the first attempt's was skipped
            StepStatus secondAttempt = step(Phase.ScalingDown, StepState.Succeeded);
            secondAttempt.setName("scaling-down-2");
            PostgresUpgradeStatus status = status(step(Phase.ScalingDown, StepState.Skipped), secondAttempt);
            assertEquals(Phase.RollingBack, PhaseMachine.onFailure(Phase.Dumping, status));
        }
    }

    @Nested
    class PhaseEnum {
        @ParameterizedTest
        @CsvSource({
            "Validating, validating",
            "SchemaCheck, schema-check",
            "ScalingDown, scaling-down",
            "Dumping, dumping",
            "Restoring, restoring",
            "Repointing, repointing",
            "ScalingUp, scaling-up",
            "Analyzing, analyzing",
            "RollingBack, rolling-back",
            "Succeeded, succeeded",
            "Failed, failed",
            "RolledBack, rolled-back",
        })
        void stepNameIsKebabCase(Phase phase, String expected) {
            assertEquals(expected, phase.stepName());
        }

        @Test
        void exactlySucceededFailedAndRolledBackAreTerminal() {
            EnumSet<Phase> terminal = EnumSet.noneOf(Phase.class);
            for (Phase p : Phase.values()) {
                if (p.isTerminal()) {
                    terminal.add(p);
                }
            }
            assertEquals(EnumSet.of(Phase.Succeeded, Phase.Failed, Phase.RolledBack), terminal);
        }

        @Test
        void exactlyTheDataMovingPhasesAreDowntime() {
            EnumSet<Phase> downtime = EnumSet.noneOf(Phase.class);
            for (Phase p : Phase.values()) {
                if (p.isDowntime()) {
                    downtime.add(p);
                }
            }
            assertEquals(EnumSet.of(Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Verifying, Phase.Repointing), downtime);
        }

        @ParameterizedTest
        @EnumSource(value = Phase.class, names = {"Succeeded", "Failed", "RolledBack"}, mode = EnumSource.Mode.EXCLUDE)
        void everyNonTerminalPhaseHasANextAndAFailurePhase(Phase phase) {
            Phase next = PhaseMachine.next(phase, DEFAULT_SPEC);
            Phase onFailure = PhaseMachine.onFailure(phase, status());
            assertTrue(next != phase, "next of " + phase + " must move on");
            assertTrue(onFailure == Phase.Failed || onFailure == Phase.RollingBack, phase + " -> " + onFailure);
        }
    }
}
