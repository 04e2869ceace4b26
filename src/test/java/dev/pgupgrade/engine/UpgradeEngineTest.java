package dev.pgupgrade.engine;

import dev.pgupgrade.testing.Upgrades;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.testing.StepResults;
import dev.pgupgrade.steps.StepScripts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class UpgradeEngineTest {
    private static final Instant T0 = Instant.parse("2025-03-01T10:00:00.250Z");
    private static final long GENERATION = 3L;
    private static final long MIB = 1024L * 1024L;

    private final UpgradeEngine engine = new UpgradeEngine(new DirectPlatform());

    // ---- builders ----------------------------------------------------------------------------------

    static PostgresUpgrade upgrade(String targetVersion) {
        return Upgrades.direct(targetVersion, GENERATION);
    }

    static StepResults result(boolean ok, String message, Integer sourceVersionNum, String sourceVersion,
                              Integer targetVersionNum, String targetVersion, Integer errorCount, List<String> errorLines,
                              List<String> roles, List<String> databases, Long bytes, Long durationMillis, Integer dbCount) {
        return (ok ? StepResults.ok() : StepResults.failed(null)).with("message", message).with("sourceVersionNum", sourceVersionNum)
                .with("sourceVersion", sourceVersion).with("targetVersionNum", targetVersionNum).with("targetVersion", targetVersion)
                .with("errorCount", errorCount).with("errorLines", errorLines).with("preexistingRoles", roles)
                .with("preexistingDatabases", databases).with("bytes", bytes).with("durationMillis", durationMillis).with("databases", dbCount);
    }

    static StepResults validated(int sourceNum, String source, int targetNum, String target) {
        return result(true, null, sourceNum, source, targetNum, target, null, null, null, null, null, null, null);
    }

    static StepResults schemaChecked() {
        return result(true, null, null, null, null, null, 0, List.of(), List.of("postgres"), List.of("postgres"), null, 800L, null);
    }

    static StepResults dumped(long bytes, long millis) {
        return result(true, null, null, null, null, null, null, null, null, null, bytes, millis, null);
    }

    static StepResults restored(int errorCount, List<String> lines, List<String> roles, List<String> dbs, long bytes, long millis) {
        return result(true, null, null, null, null, null, errorCount, lines, roles, dbs, bytes, millis, null);
    }

    static StepResults verified(int mismatches) {
        return StepResults.ok().with("durationMillis", 1200).with("databases", 3).with("mode", "checksums").with("tables", 9)
                .with("mismatchCount", mismatches)
                .with("mismatches", mismatches == 0 ? List.of() : List.of("orders: rows public.orders: source 10, target 9"))
                .with("summaries", List.of("orders: 9 tables (9 with content checksums), 2 sequences, 0 large objects: " + mismatches + " mismatches"));
    }

    static StepResults analyzed(int databases) {
        return result(true, null, null, null, null, null, null, null, null, null, null, 1200L, databases);
    }

    static StepResults failedResult(String message) {
        return result(false, message, null, null, null, null, null, null, null, null, null, null, null);
    }

    static PhaseOutcome.Ran ran(StepResults r) {
        return r.ran();
    }

    /** The kind of the step that does the current phase's work, or null when no step does. */
    private StepKind<?> kind(PostgresUpgrade u) {
        return u.getStatus().getPhase().isTerminal() || !(engine.work(u) instanceof PhaseWork.RunStep run) ? null : run.step().kind();
    }

    static Instant at(double seconds) {
        return T0.plusMillis(Math.round(seconds * 1000));
    }

    /** Drives the current phase the way a driver does: work -> (stepStarted) -> phaseEnded; stores each status. */
    private PhaseWork drive(PostgresUpgrade u, PhaseOutcome outcome, Instant start, Instant end) {
        PhaseWork work = engine.work(u);
        if (work instanceof PhaseWork.RunStep run) {
            assertFalse(UpgradeEngine.isStarted(u.getStatus(), run.step()));
            u.setStatus(engine.stepStarted(u, run.step(), null, start));
            assertTrue(UpgradeEngine.isStarted(u.getStatus(), run.step()));
        }
        u.setStatus(engine.phaseEnded(u, work instanceof PhaseWork.RunStep run ? run.step().kind() : null, outcome, end));
        return work;
    }

    private static StepStatus step(PostgresUpgradeStatus status, String name) {
        return status.getSteps().stream().filter(s -> name.equals(s.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no step " + name + " in " + names(status)));
    }

    private static List<String> names(PostgresUpgradeStatus status) {
        return status.getSteps().stream().map(StepStatus::getName).toList();
    }

    private static Condition condition(PostgresUpgradeStatus status, String type) {
        Condition c = Conditions.find(status.getConditions(), type);
        assertNotNull(c, "condition " + type);
        return c;
    }

    /** An upgrade initialized at T0 and driven through the given phases with successful outcomes. */
    private PostgresUpgrade startedAndAt(Phase stopAt, PostgresUpgrade u) {
        u.setStatus(engine.initialize(u, T0));
        double t = 1;
        while (u.getStatus().getPhase() != stopAt) {
            Phase phase = u.getStatus().getPhase();
            PhaseOutcome outcome = switch (phase) {
                case Validating -> ran(validated(130023, "13.23", 170006, "17.6"));
                case SchemaCheck -> ran(schemaChecked());
                case Dumping -> ran(dumped(5 * MIB, 1500));
                case Restoring -> ran(restored(0, List.of(), List.of("postgres"), List.of("postgres"), 5 * MIB, 2000));
                case Analyzing -> ran(analyzed(2));
                default -> new PhaseOutcome.Skipped("no services declared");
            };
            drive(u, outcome, at(t), at(t + 1));
            t += 2;
            if (u.getStatus().getPhase().isTerminal() && u.getStatus().getPhase() != stopAt) {
                throw new AssertionError("ended " + u.getStatus().getPhase() + " before " + stopAt + ": " + u.getStatus().getMessage());
            }
        }
        return u;
    }

    // ---- initialize ------------------------------------------------------------------------------

    /** What kstatus (Flux, kubectl wait) and any condition reader see, pinned for every phase. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Phase.class)
    void everyPhaseMapsToTheConditionsGitOpsToolsRead(Phase phase) {
        PostgresUpgrade u = upgrade("17");
        u.setStatus(engine.initialize(u, T0));
        u.getStatus().setPhase(phase);
        if (phase == Phase.Failed || phase == Phase.RolledBack || phase == Phase.RollingBack) {
            u.getStatus().setFailedPhase(Phase.Restoring);
        }
        PostgresUpgradeStatus s = engine.waitingToStart(u, "looked at", T0);
        boolean ended = phase == Phase.Succeeded || phase == Phase.Failed || phase == Phase.RolledBack;
        boolean endedBadly = phase == Phase.Failed || phase == Phase.RolledBack;
        assertEquals(ended ? "False" : "True", condition(s, Conditions.RECONCILING).getStatus(), "Reconciling (kstatus: InProgress)");
        assertEquals(endedBadly ? "True" : "False", condition(s, Conditions.STALLED).getStatus(), "Stalled (kstatus: Failed)");
        assertEquals(phase == Phase.Succeeded ? "True" : "False", condition(s, Conditions.READY).getStatus(), "Ready");
        assertEquals(ended ? "False" : "True", condition(s, Conditions.PROGRESSING).getStatus(), "Progressing");
        s.getConditions().forEach(c -> assertEquals(GENERATION, c.getObservedGeneration(), c.getType() + ": kstatus compares it with metadata.generation"));
        assertEquals(GENERATION, s.getObservedGeneration());
    }

    /** A spec edited after success: acknowledged (kstatus must not see an upgrade in progress forever), nothing redone. */
    @Test
    void aSpecChangedAfterSuccessIsAcknowledgedNotRedone() {
        PostgresUpgrade u = startedAndAt(Phase.Succeeded, upgrade("17"));
        int steps = u.getStatus().getSteps().size();
        u.getMetadata().setGeneration(GENERATION + 1);
        PostgresUpgradeStatus s = engine.specChangedAfterSuccess(u, T0.plusSeconds(600));
        assertEquals(Phase.Succeeded, s.getPhase());
        assertEquals(GENERATION + 1, s.getObservedGeneration());
        assertEquals(steps, s.getSteps().size());
        assertEquals("True", condition(s, Conditions.READY).getStatus());
        assertEquals("False", condition(s, Conditions.RECONCILING).getStatus());
        assertEquals("True", condition(s, Conditions.SPEC_CHANGE_REFUSED).getStatus());
        assertEquals("AlreadySucceeded", condition(s, Conditions.SPEC_CHANGE_REFUSED).getReason());
        assertTrue(condition(s, Conditions.SPEC_CHANGE_REFUSED).getMessage().contains("create a new PostgresUpgrade"));
        s.getConditions().forEach(c -> assertEquals(GENERATION + 1, c.getObservedGeneration(), c.getType()));
        assertEquals(condition(u.getStatus(), Conditions.READY).getLastTransitionTime(), condition(s, Conditions.READY).getLastTransitionTime(),
                "Ready did not change: its transition time stays");
    }

    @Nested
    class Initialize {
        @Test
        void startsAtValidatingWithAttemptOneAndConditions() {
            PostgresUpgrade u = upgrade("17");
            PostgresUpgradeStatus s = engine.initialize(u, T0);

            assertEquals(Phase.Validating, s.getPhase());
            assertEquals(1, s.getAttempt());
            assertEquals("2025-03-01T10:00:00.250Z", s.getStartedAt());
            assertEquals(GENERATION, s.getObservedGeneration());
            assertTrue(s.getMessage().startsWith("Validating:"), s.getMessage());
            assertNull(s.getCompletedAt());
            assertTrue(s.getSteps().isEmpty());

            Condition ready = condition(s, Conditions.READY);
            assertEquals("False", ready.getStatus());
            assertEquals("Validating", ready.getReason());
            assertEquals("2025-03-01T10:00:00Z", ready.getLastTransitionTime(), "conditions are in whole seconds");
            assertEquals(GENERATION, ready.getObservedGeneration());
            Condition progressing = condition(s, Conditions.PROGRESSING);
            assertEquals("True", progressing.getStatus());
            assertEquals("Validating", progressing.getReason());
            Condition failed = condition(s, Conditions.FAILED);
            assertEquals("False", failed.getStatus());
            assertEquals("NoFailure", failed.getReason());
            assertEquals("no failure", failed.getMessage());
            assertEquals(List.of("Ready", "Progressing", "Failed", "Reconciling", "Stalled"), s.getConditions().stream().map(Condition::getType).toList());
        }

        @Test
        void doesNotMutateTheResource() {
            PostgresUpgrade u = upgrade("17");
            engine.initialize(u, T0);
            assertNull(u.getStatus());
        }

        @Test
        void returnsAnAlreadyStartedStatusUnchanged() {
            PostgresUpgrade u = startedAndAt(Phase.Dumping, upgrade("17"));
            PostgresUpgradeStatus stored = u.getStatus();

            PostgresUpgradeStatus again = engine.initialize(u, T0.plus(Duration.ofHours(5)));

            assertNotSame(stored, again);
            assertEquals(Phase.Dumping, again.getPhase());
            assertEquals(stored.getStartedAt(), again.getStartedAt());
            assertEquals(stored.getMessage(), again.getMessage());
            assertEquals(names(stored), names(again));
            assertEquals(List.of("validating-1", "schema-check-1", "scaling-down-1"), names(again));
            assertEquals(condition(stored, Conditions.READY).getLastTransitionTime(),
                    condition(again, Conditions.READY).getLastTransitionTime());
            assertEquals("13.23", again.getSourceVersion());
        }

        @Test
        void aStatusWithoutPhaseIsStartedAfresh() {
            PostgresUpgrade u = upgrade("17");
            PostgresUpgradeStatus empty = new PostgresUpgradeStatus();
            empty.setMessage("left over");
            u.setStatus(empty);
            PostgresUpgradeStatus s = engine.initialize(u, T0);
            assertEquals(Phase.Validating, s.getPhase());
            assertEquals(1, s.getAttempt());
            assertNotEquals("left over", s.getMessage());
        }
    }

    // ---- work ---------------------------------------------------------------------------------------

    @Nested
    class Work {
        @Test
        void validatingRunsTheValidateScriptWithBothUrlsFromSecrets() {
            PostgresUpgrade u = upgrade("17");
            u.setStatus(engine.initialize(u, T0));
            StepSpec step = assertInstanceOf(PhaseWork.RunStep.class, engine.work(u)).step();
            assertEquals("validating-1", step.name());
            assertEquals(Phase.Validating, step.phase());
            assertEquals("validate.sh", step.script());
            assertEquals(Steps.DEFAULT_TIMEOUT, step.timeout());
            EnvValue.FromSecret sourceUrl = assertInstanceOf(EnvValue.FromSecret.class, step.env().get("SOURCE_URL"));
            assertEquals("source-db/url", sourceUrl.ref().toString());
            assertEquals("spec.source.urlSecretRef", sourceUrl.field());
            EnvValue.FromSecret targetUrl = assertInstanceOf(EnvValue.FromSecret.class, step.env().get("TARGET_URL"));
            assertEquals("target-db/url", targetUrl.ref().toString());
        }

        @Test
        void stepTimeoutComesFromTheSpec() {
            PostgresUpgrade u = upgrade("17");
            u.getSpec().setStepTimeoutSeconds(900L);
            u.setStatus(engine.initialize(u, T0));
            StepSpec step = assertInstanceOf(PhaseWork.RunStep.class, engine.work(u)).step();
            assertEquals(Duration.ofMinutes(15), step.timeout());
        }

        @Test
        void restoringIsNotRerunnable() {
            PostgresUpgrade u = startedAndAt(Phase.Restoring, Upgrades.withStrategy(upgrade("17"), TransferSpec.Strategy.PARALLEL));
            StepSpec step = assertInstanceOf(PhaseWork.RunStep.class, engine.work(u)).step();
            assertEquals("restoring-1", step.name());
            assertFalse(step.rerunnable());
            // strategy parallel restores with pg_restore; only the target's URL reaches the step, with
            // the transfer's knobs, their defaults set here (0 jobs: as many as the step has CPUs)
            assertEquals("restore-parallel.sh", step.script());
            assertEquals(java.util.Set.of("TARGET_URL", "RESTORE_MAINTENANCE_WORK_MEM", "TRANSFER_JOBS"), step.env().keySet());
            assertEquals(EnvValue.of("0"), step.env().get("TRANSFER_JOBS"));
            assertEquals(EnvValue.of("256MB"), step.env().get("RESTORE_MAINTENANCE_WORK_MEM"));
        }

        @Test
        void theDefaultStrategyIsPipelineOnDirectAndParallelOnAptible() {
            PostgresUpgrade direct = startedAndAt(Phase.Restoring, upgrade("17"));
            StepSpec step = assertInstanceOf(PhaseWork.RunStep.class, engine.work(direct)).step();
            assertEquals("pipeline.sh", step.script());
            assertTrue(step.env().containsKey("SOURCE_URL"), "the pipeline reads the source while it restores");
            assertEquals(TransferSpec.Strategy.PIPELINE, TransferSpec.strategy(direct.getSpec()));
            assertEquals(TransferSpec.Strategy.PARALLEL, TransferSpec.strategy(Upgrades.aptible("17", GENERATION).getSpec()));
            PostgresUpgrade named = Upgrades.withStrategy(upgrade("17"), TransferSpec.Strategy.DUMPALL);
            assertEquals(TransferSpec.Strategy.DUMPALL, TransferSpec.strategy(named.getSpec()), "a strategy named in the spec is the one");
        }

        @Test
        void servicePhasesHaveNothingToDoWithoutServices() {
            PostgresUpgrade u = startedAndAt(Phase.ScalingDown, upgrade("17"));
            PhaseWork.NothingToDo nothing = assertInstanceOf(PhaseWork.NothingToDo.class, engine.work(u));
            assertEquals("no services declared", nothing.reason());
        }

        @Test
        void terminalPhaseHasNoWork() {
            PostgresUpgrade u = startedAndAt(Phase.Succeeded, upgrade("17"));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> engine.work(u));
            assertTrue(e.getMessage().contains("Succeeded"), e.getMessage());
        }
    }

    // ---- the happy path ---------------------------------------------------------------------------

    @Test
    void happyPathRunsEveryPhaseAndRecordsTheHistory() {
        // a strategy with a Dumping phase of its own (direct's default, pipeline, has none)
        PostgresUpgrade u = Upgrades.withStrategy(upgrade("17"), TransferSpec.Strategy.PARALLEL);
        u.setStatus(engine.initialize(u, T0));
        List<Phase> phases = new ArrayList<>(List.of(u.getStatus().getPhase()));

        drive(u, ran(validated(130023, "13.23", 170006, "17.6")), at(1), at(3.5));
        phases.add(u.getStatus().getPhase());
        assertEquals("13.23", u.getStatus().getSourceVersion());
        assertEquals("17.6", u.getStatus().getTargetVersion());

        drive(u, ran(schemaChecked()), at(4), at(10));
        phases.add(u.getStatus().getPhase());

        PhaseWork scalingDown = drive(u, new PhaseOutcome.Skipped("no services declared"), at(10), at(10.2));
        assertInstanceOf(PhaseWork.NothingToDo.class, scalingDown);
        phases.add(u.getStatus().getPhase());

        drive(u, ran(dumped(5 * MIB + MIB / 2, 30_500)), at(11), at(41.5));
        phases.add(u.getStatus().getPhase());

        drive(u, ran(restored(2, List.of("line 18: ERROR:  role \"postgres\" already exists",
                        "line 30: ERROR:  database \"orders\" already exists"),
                List.of("postgres"), List.of("orders", "postgres"), 5 * MIB + MIB / 2, 61_000)), at(42), at(103));
        phases.add(u.getStatus().getPhase());

        drive(u, ran(verified(0)), at(103), at(103.9));
        phases.add(u.getStatus().getPhase());

        assertInstanceOf(PhaseWork.NothingToDo.class, drive(u, new PhaseOutcome.Skipped("no services declared"), at(104), at(104)));
        phases.add(u.getStatus().getPhase());
        assertInstanceOf(PhaseWork.NothingToDo.class, drive(u, new PhaseOutcome.Skipped("no services declared"), at(105), at(105)));
        phases.add(u.getStatus().getPhase());

        drive(u, ran(analyzed(3)), at(106), at(120.25));
        phases.add(u.getStatus().getPhase());

        assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.ScalingDown, Phase.Dumping, Phase.Restoring,
                Phase.Verifying, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing, Phase.Succeeded), phases);

        PostgresUpgradeStatus s = u.getStatus();
        assertEquals(List.of("validating-1", "schema-check-1", "scaling-down-1", "dumping-1", "restoring-1",
                "verifying-1", "repointing-1", "scaling-up-1", "analyzing-1"), names(s));
        StepStatus verifying = s.getSteps().get(5);
        assertEquals(List.of("orders: 9 tables (9 with content checksums), 2 sequences, 0 large objects: 0 mismatches"), verifying.getDetails());
        assertEquals(List.of(StepState.Succeeded, StepState.Succeeded, StepState.Skipped, StepState.Succeeded,
                        StepState.Succeeded, StepState.Succeeded, StepState.Skipped, StepState.Skipped, StepState.Succeeded),
                s.getSteps().stream().map(StepStatus::getState).toList());
        assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.ScalingDown, Phase.Dumping, Phase.Restoring,
                        Phase.Verifying, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing),
                s.getSteps().stream().map(StepStatus::getPhase).toList());

        StepStatus validating = step(s, "validating-1");
        assertEquals(2.5, validating.getDurationSeconds());
        assertEquals("2025-03-01T10:00:01.250Z", validating.getStartedAt());
        assertEquals("2025-03-01T10:00:03.750Z", validating.getFinishedAt());
        assertEquals(1, validating.getAttempt());
        assertEquals("source PostgreSQL 13.23, target PostgreSQL 17.6", validating.getMessage());

        assertEquals("schema restored into a throwaway PostgreSQL 17", step(s, "schema-check-1").getMessage());
        assertEquals(6.0, step(s, "schema-check-1").getDurationSeconds());

        StepStatus scaledDown = step(s, "scaling-down-1");
        assertEquals("no services declared", scaledDown.getMessage());
        assertEquals(0.0, scaledDown.getDurationSeconds(), "a skipped phase without stepStarted starts when it ends");
        assertEquals(scaledDown.getStartedAt(), scaledDown.getFinishedAt());

        StepStatus dumping = step(s, "dumping-1");
        assertEquals(30.5, dumping.getDurationSeconds());
        assertEquals("dumped 5.5 MiB in 30.5 s", dumping.getMessage());
        assertEquals(5 * MIB + MIB / 2, dumping.getBytes());

        StepStatus restoring = step(s, "restoring-1");
        assertEquals(61.0, restoring.getDurationSeconds());
        assertEquals("restored 5.5 MiB in 61.0 s (2 expected errors: already exists)", restoring.getMessage());
        assertEquals(2, restoring.getExpectedErrors());
        assertEquals(0, restoring.getUnexpectedErrors());
        assertTrue(restoring.getErrors().isEmpty());

        StepStatus analyzing = step(s, "analyzing-1");
        assertEquals("VACUUM ANALYZE done in 3 databases", analyzing.getMessage());
        assertEquals(14.25, analyzing.getDurationSeconds());

        assertEquals(Phase.Succeeded, s.getPhase());
        assertNull(s.getFailedPhase());
        assertEquals("2025-03-01T10:02:00.500Z", s.getCompletedAt());
        assertEquals("Upgraded PostgreSQL 13.23 to 17.6 in 120.3 s. The source was left as it was: decommission it when you no longer need it.",
                s.getMessage());
        assertEquals(GENERATION, s.getObservedGeneration());

        Condition ready = condition(s, Conditions.READY);
        assertEquals("True", ready.getStatus());
        assertEquals("UpgradeSucceeded", ready.getReason());
        assertEquals(s.getMessage(), ready.getMessage());
        assertEquals("2025-03-01T10:02:00Z", ready.getLastTransitionTime());
        Condition progressing = condition(s, Conditions.PROGRESSING);
        assertEquals("False", progressing.getStatus());
        assertEquals("Succeeded", progressing.getReason());
        assertEquals("2025-03-01T10:02:00Z", progressing.getLastTransitionTime());
        Condition failed = condition(s, Conditions.FAILED);
        assertEquals("False", failed.getStatus());
        assertEquals("2025-03-01T10:00:00Z", failed.getLastTransitionTime(), "Failed stayed False: its transition time is kept");
        s.getConditions().forEach(c -> assertEquals(GENERATION, c.getObservedGeneration(), c.getType()));
    }

    @Test
    void disabledOptionalPhasesAreLeftOut() {
        PostgresUpgrade u = upgrade("17");
        u.getSpec().setSchemaCheck(new dev.pgupgrade.api.SchemaCheckSpec(false));
        u.getSpec().setAnalyze(new PhaseToggle(false));
        dev.pgupgrade.api.VerificationSpec off = new dev.pgupgrade.api.VerificationSpec();
        off.setMode(dev.pgupgrade.api.VerificationSpec.Mode.OFF);
        u.getSpec().setVerification(off);
        startedAndAt(Phase.Succeeded, u);
        assertEquals(List.of("validating-1", "scaling-down-1", "dumping-1", "restoring-1", "repointing-1", "scaling-up-1"),
                names(u.getStatus()));
    }

    @Test
    void conditionTransitionTimeIsKeptWhileItsStatusStaysAndReasonFollowsThePhase() {
        PostgresUpgrade u = upgrade("17");
        u.setStatus(engine.initialize(u, T0));
        drive(u, ran(validated(130023, "13.23", 170006, "17.6")), T0.plusSeconds(100), T0.plusSeconds(200));

        Condition progressing = condition(u.getStatus(), Conditions.PROGRESSING);
        assertEquals("True", progressing.getStatus());
        assertEquals("SchemaCheck", progressing.getReason());
        assertEquals(u.getStatus().getMessage(), progressing.getMessage());
        assertEquals("2025-03-01T10:00:00Z", progressing.getLastTransitionTime());
        Condition ready = condition(u.getStatus(), Conditions.READY);
        assertEquals("SchemaCheck", ready.getReason());
        assertEquals("2025-03-01T10:00:00Z", ready.getLastTransitionTime());
    }

    @Test
    void observedGenerationFollowsTheResource() {
        PostgresUpgrade u = upgrade("17");
        u.setStatus(engine.initialize(u, T0));
        u.getMetadata().setGeneration(7L);
        drive(u, ran(validated(130023, "13.23", 170006, "17.6")), at(1), at(2));
        assertEquals(7L, u.getStatus().getObservedGeneration());
        u.getStatus().getConditions().forEach(c -> assertEquals(7L, c.getObservedGeneration(), c.getType()));
    }

    @Test
    void phaseEndedReturnsACopyAndLeavesTheStoredStatusAlone() {
        PostgresUpgrade u = upgrade("17");
        PostgresUpgradeStatus initial = engine.initialize(u, T0);
        u.setStatus(initial);
        StepSpec step = ((PhaseWork.RunStep) engine.work(u)).step();

        PostgresUpgradeStatus started = engine.stepStarted(u, step, null, at(1));
        assertNotSame(initial, started);
        assertTrue(initial.getSteps().isEmpty(), "stepStarted must not touch its argument");
        u.setStatus(started);

        PostgresUpgradeStatus ended = engine.phaseEnded(u, kind(u), ran(validated(130023, "13.23", 170006, "17.6")), at(2));
        assertNotSame(started, ended);
        assertEquals(Phase.Validating, started.getPhase());
        assertEquals(StepState.Running, started.getSteps().get(0).getState());
        assertNull(started.getSteps().get(0).getFinishedAt());
        assertNull(started.getSourceVersion());
        assertEquals("True", condition(started, Conditions.PROGRESSING).getStatus());
        assertEquals("Validating", condition(started, Conditions.PROGRESSING).getReason());
        assertEquals(Phase.SchemaCheck, ended.getPhase());
        assertEquals(StepState.Succeeded, ended.getSteps().get(0).getState());
    }

    @Test
    void stepStartedRecordsRunningAndIsStartedSeesIt() {
        PostgresUpgrade u = upgrade("17");
        u.setStatus(engine.initialize(u, T0));
        StepSpec step = ((PhaseWork.RunStep) engine.work(u)).step();
        assertFalse(UpgradeEngine.isStarted(u.getStatus(), step));

        PostgresUpgradeStatus s = engine.stepStarted(u, step, null, at(1.5));
        assertTrue(UpgradeEngine.isStarted(s, step));
        StepStatus record = step(s, "validating-1");
        assertEquals(StepState.Running, record.getState());
        assertEquals(Phase.Validating, record.getPhase());
        assertEquals(1, record.getAttempt());
        assertEquals("2025-03-01T10:00:01.750Z", record.getStartedAt());
        assertNull(record.getFinishedAt());
        assertEquals(Phase.Validating, s.getPhase(), "starting a step does not move the phase");

        // a second stepStarted (a restarted driver) updates the same record instead of adding one
        u.setStatus(s);
        PostgresUpgradeStatus again = engine.stepStarted(u, step, null, at(9));
        assertEquals(1, again.getSteps().size());
        assertEquals("2025-03-01T10:00:09.250Z", again.getSteps().get(0).getStartedAt());

        u.setStatus(engine.phaseEnded(u, kind(u), ran(validated(130023, "13.23", 170006, "17.6")), at(3)));
        assertFalse(UpgradeEngine.isStarted(u.getStatus(), step), "a finished step is no longer running");
    }

    // ---- failures -------------------------------------------------------------------------------------

    @Nested
    class Failures {
        private void assertFailedIn(PostgresUpgradeStatus s, Phase phase) {
            assertEquals(Phase.Failed, s.getPhase());
            assertEquals(phase, s.getFailedPhase());
            assertNotNull(s.getCompletedAt());
            assertEquals("False", condition(s, Conditions.READY).getStatus());
            assertEquals("False", condition(s, Conditions.PROGRESSING).getStatus());
            Condition failed = condition(s, Conditions.FAILED);
            assertEquals("True", failed.getStatus());
            assertEquals(phase.name() + "Failed", failed.getReason());
            assertEquals(s.getMessage(), failed.getMessage());
        }

        @Test
        void targetServerOfAnotherMajorFailsValidatingNamingTheSpecField() {
            PostgresUpgrade u = upgrade("17");
            u.setStatus(engine.initialize(u, T0));
            drive(u, ran(validated(130023, "13.23", 160004, "16.4")), at(1), at(2));

            PostgresUpgradeStatus s = u.getStatus();
            assertFailedIn(s, Phase.Validating);
            assertTrue(s.getMessage().startsWith("Validating failed: spec.target.version is \"17\" but the target server runs PostgreSQL 16"),
                    s.getMessage());
            assertTrue(s.getMessage().endsWith("Fix the cause and run the upgrade again."), s.getMessage());
            StepStatus validating = step(s, "validating-1");
            assertEquals(StepState.Failed, validating.getState());
            assertTrue(validating.getMessage().contains("spec.target.version"), validating.getMessage());
            assertEquals("16.4", s.getTargetVersion(), "versions are recorded even when they do not fit");
            assertEquals("2025-03-01T10:00:02.250Z", s.getCompletedAt());
            assertEquals("2025-03-01T10:00:02Z", condition(s, Conditions.FAILED).getLastTransitionTime());
        }

        @Test
        void targetOlderThanSourceIsRefused() {
            PostgresUpgrade u = upgrade("13");
            u.setStatus(engine.initialize(u, T0));
            drive(u, ran(validated(150004, "15.4", 130016, "13.16")), at(1), at(2));

            assertFailedIn(u.getStatus(), Phase.Validating);
            assertTrue(u.getStatus().getMessage().contains("older than the source's PostgreSQL 15"), u.getStatus().getMessage());
        }

        @Test
        void unexpectedRestoreErrorFailsWithoutRollbackWhenNoServiceWasTouched() {
            PostgresUpgrade u = startedAndAt(Phase.Restoring, upgrade("17"));
            String bad = "line 77: ERROR:  relation \"public.orders\" already exists";
            drive(u, ran(restored(3, List.of("line 18: ERROR:  role \"postgres\" already exists", bad,
                            "line 90: ERROR:  role \"reporting\" already exists"),
                    List.of("postgres"), List.of("postgres"), 4096, 500)), at(50), at(51));

            PostgresUpgradeStatus s = u.getStatus();
            assertFailedIn(s, Phase.Restoring);
            StepStatus restoring = step(s, "restoring-1");
            assertEquals(StepState.Failed, restoring.getState());
            assertEquals(1, restoring.getExpectedErrors());
            assertEquals(2, restoring.getUnexpectedErrors());
            assertEquals(List.of(bad, "line 90: ERROR:  role \"reporting\" already exists"), restoring.getErrors());
            assertEquals(4096L, restoring.getBytes());
            assertEquals("the restore into the target reported errors: 2 unexpected errors, first: " + bad, restoring.getMessage());
            assertTrue(s.getMessage().startsWith("Restoring failed: the restore into the target reported errors"), s.getMessage());
            assertTrue(s.getMessage().contains("drop the databases and roles it restored"), s.getMessage());
        }

        @Test
        void aResultWithOkFalseCarriesItsMessage() {
            PostgresUpgrade u = startedAndAt(Phase.Dumping, upgrade("17"));
            drive(u, ran(failedResult("cannot query the source server: connection refused")), at(50), at(51));

            PostgresUpgradeStatus s = u.getStatus();
            assertFailedIn(s, Phase.Dumping);
            assertEquals("cannot query the source server: connection refused", step(s, "dumping-1").getMessage());
            assertEquals("Dumping failed: cannot query the source server: connection refused. "
                    + "Nothing was written to the source or the target. Fix the cause and run the upgrade again.", s.getMessage());
        }

        @Test
        void aStepWithoutResultFailsWithTheRunnersProblem() {
            PostgresUpgrade u = startedAndAt(Phase.SchemaCheck, upgrade("17"));
            drive(u, new PhaseOutcome.Ran(124, null, "the step ran longer than its limit of 60 s and was stopped"), at(50), at(110));

            PostgresUpgradeStatus s = u.getStatus();
            assertFailedIn(s, Phase.SchemaCheck);
            StepStatus check = step(s, "schema-check-1");
            assertEquals(StepState.Failed, check.getState());
            assertEquals("the step ran longer than its limit of 60 s and was stopped", check.getMessage());
            assertEquals(60.0, check.getDurationSeconds());
        }

        @Test
        void aStepWithoutResultOrProblemReportsItsExitCode() {
            PostgresUpgrade u = startedAndAt(Phase.Analyzing, upgrade("17"));
            drive(u, new PhaseOutcome.Ran(3, null, null), at(50), at(51));

            PostgresUpgradeStatus s = u.getStatus();
            assertFailedIn(s, Phase.Analyzing);
            assertEquals("the step ended with exit code 3 without reporting a result; see the step log",
                    step(s, "analyzing-1").getMessage());
            assertTrue(s.getMessage().endsWith("run VACUUM ANALYZE on the target by hand."), s.getMessage());
        }

        @Test
        void refusedPhaseFails() {
            PostgresUpgrade u = upgrade("17");
            u.setStatus(engine.initialize(u, T0));
            u.setStatus(engine.phaseEnded(u, kind(u), new PhaseOutcome.Refused("spec.source.urlSecretRef: Secret key source-db/url not found"), at(1)));

            PostgresUpgradeStatus s = u.getStatus();
            assertFailedIn(s, Phase.Validating);
            StepStatus validating = step(s, "validating-1");
            assertEquals(StepState.Failed, validating.getState());
            assertEquals("spec.source.urlSecretRef: Secret key source-db/url not found", validating.getMessage());
            assertEquals(0.0, validating.getDurationSeconds());
            assertNull(s.getSourceVersion());
        }

        @Test
        void failureAfterServicesWereScaledDownRollsBack() {
            // ScalingDown as the operator would record it: it ran and succeeded.
            PostgresUpgrade u = startedAndAt(Phase.ScalingDown, upgrade("17"));
            u.setStatus(engine.phaseEnded(u, kind(u), ran(result(true, "scaled 2 services to zero", null, null, null, null, null,
                    null, null, null, null, null, null)), at(20)));
            assertEquals(Phase.Dumping, u.getStatus().getPhase());
            assertEquals(StepState.Succeeded, step(u.getStatus(), "scaling-down-1").getState());

            drive(u, ran(failedResult("pg_dumpall failed")), at(21), at(22));
            PostgresUpgradeStatus s = u.getStatus();
            assertEquals(Phase.RollingBack, s.getPhase());
            assertEquals(Phase.Dumping, s.getFailedPhase());
            assertNull(s.getCompletedAt());
            assertEquals("Dumping failed: pg_dumpall failed. Rolling back: the services return to the source, which was only ever read.",
                    s.getMessage());
            assertEquals("True", condition(s, Conditions.PROGRESSING).getStatus());
            assertEquals("RollingBack", condition(s, Conditions.PROGRESSING).getReason());

            u.setStatus(engine.phaseEnded(u, kind(u), ran(result(true, null, null, null, null, null, null, null, null, null, null, null, null)), at(30)));
            s = u.getStatus();
            assertEquals(Phase.RolledBack, s.getPhase());
            assertEquals(Phase.Dumping, s.getFailedPhase(), "the failed phase survives the rollback");
            assertNotNull(s.getCompletedAt());
            assertEquals(StepState.Succeeded, step(s, "rolling-back-1").getState());
            Condition failed = condition(s, Conditions.FAILED);
            assertEquals("True", failed.getStatus());
            assertEquals("DumpingFailed", failed.getReason());
        }

        @Test
        void rolledBackMessageSaysWhatFailed() {
            PostgresUpgrade u = startedAndAt(Phase.ScalingDown, upgrade("17"));
            u.setStatus(engine.phaseEnded(u, kind(u), ran(result(true, null, null, null, null, null, null, null, null, null, null, null, null)), at(20)));
            drive(u, ran(failedResult("pg_dumpall failed")), at(21), at(22));
            u.setStatus(engine.phaseEnded(u, kind(u), ran(result(true, null, null, null, null, null, null, null, null, null, null, null, null)), at(30)));

            assertEquals(Phase.RolledBack, u.getStatus().getPhase());
            assertTrue(u.getStatus().getMessage().contains("pg_dumpall failed"), u.getStatus().getMessage());
            assertTrue(condition(u.getStatus(), Conditions.FAILED).getMessage().contains("Dumping"),
                    condition(u.getStatus(), Conditions.FAILED).getMessage());
        }
    }

    @org.junit.jupiter.api.Nested
    class Progress {
        @Test
        void percentAndEtaFollowTheRateSinceTheStepStarted() {
            PostgresUpgrade u = upgrade("17");
            u.setStatus(engine.initialize(u, T0));
            u.getStatus().setPhase(Phase.Restoring);
            PhaseWork.RunStep restore = (PhaseWork.RunStep) engine.work(u);
            u.setStatus(engine.stepStarted(u, restore.step(), null, at(0)));

            PostgresUpgradeStatus s = engine.progressed(u, new dev.pgupgrade.steps.ProgressReport("bytes", 256L * MIB, 1024L * MIB, false), at(10));

            assertEquals(25, s.getProgress().getPercent());
            assertEquals(30L, s.getProgress().getEtaSeconds(), "768 MiB left at 25.6 MiB/s");
            assertEquals("25% of 1.0 GiB, ETA 30s", s.getProgress().getSummary());
            assertEquals(Phase.Restoring, s.getProgress().getPhase());
        }

        @Test
        void anEstimatedTotalNeverShowsDoneEarly() {
            PostgresUpgrade u = upgrade("17");
            u.setStatus(engine.initialize(u, T0));
            PostgresUpgradeStatus s = engine.progressed(u, new dev.pgupgrade.steps.ProgressReport("bytes", 2000, 1000, true), at(5));
            assertEquals(99, s.getProgress().getPercent());
            assertTrue(s.getProgress().getSummary().startsWith("99% of ~"), s.getProgress().getSummary());
        }

        @Test
        void progressIsClearedWhenThePhaseEnds() {
            PostgresUpgrade u = upgrade("17");
            u.setStatus(engine.initialize(u, T0));
            u.setStatus(engine.progressed(u, new dev.pgupgrade.steps.ProgressReport("bytes", 1, 10, false), at(1)));
            u.setStatus(engine.phaseEnded(u, kind(u), ran(validated(130023, "13.23", 170006, "17.6")), at(2)));
            assertEquals(null, u.getStatus().getProgress());
        }
    }
}
