package dev.pgupgrade.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.testing.Upgrades;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The online strategy's phases as the direct platform and the engine see them: which step, and the way out. */
class LogicalPhasesTest {
    private final DirectPlatform platform = new DirectPlatform();
    private final UpgradeEngine engine = new UpgradeEngine(platform);
    private static final Instant NOW = Instant.parse("2026-12-02T00:00:00Z");

    private static PostgresUpgrade logical(Phase phase, StepStatus... steps) {
        PostgresUpgrade u = Upgrades.direct("17", 1L);
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(TransferSpec.Strategy.LOGICAL);
        u.getSpec().setTransfer(transfer);
        PostgresUpgradeStatus status = new PostgresUpgradeStatus();
        status.setPhase(phase);
        status.setAttempt(1);
        status.setSteps(new ArrayList<>(List.of(steps)));
        u.setStatus(status);
        return u;
    }

    private static StepStatus step(String name, Phase phase, StepState state) {
        StepStatus s = new StepStatus();
        s.setName(name);
        s.setPhase(phase);
        s.setState(state);
        s.setAttempt(1);
        return s;
    }

    private static String script(PhaseWork work) {
        return assertInstanceOf(PhaseWork.RunStep.class, work).step().script();
    }

    @Test
    void validatingChecksWhatReplicationCanCarryFirst() {
        assertEquals("logical-check.sh", script(platform.work(Phase.Validating, logical(Phase.Validating))));
        PostgresUpgrade checked = logical(Phase.Validating, step("validating-1-replication-check", Phase.Validating, StepState.Succeeded));
        assertEquals("validate.sh", script(platform.work(Phase.Validating, checked)));
    }

    @Test
    void eachOnlinePhaseHasItsStep() {
        assertEquals("logical-copy.sh", script(platform.work(Phase.Replicating, logical(Phase.Replicating))));
        assertEquals("logical-catch-up.sh", script(platform.work(Phase.CatchingUp, logical(Phase.CatchingUp))));
        assertEquals("logical-cutover.sh", script(platform.work(Phase.Cutover, logical(Phase.Cutover))));
        var verify = assertInstanceOf(PhaseWork.RunStep.class, platform.work(Phase.Verifying, logical(Phase.Verifying))).step();
        assertEquals(EnvValue.of("target"), verify.env().get("VERIFY_SIDES"), "Verifying compares the target with the stored source facts");
    }

    @Test
    void theRollbackCleansUpFirstThenBringsTheServicesBack() {
        StepStatus replicated = step("replicating-1", Phase.Replicating, StepState.Succeeded);
        assertEquals("logical-cleanup.sh", script(platform.work(Phase.RollingBack, logical(Phase.RollingBack, replicated))));
        PostgresUpgrade cleaned = logical(Phase.RollingBack, replicated, step("rolling-back-1-replication-cleanup", Phase.RollingBack, StepState.Succeeded));
        ServiceSpec api = new ServiceSpec();
        api.setKind("Deployment");
        api.setName("shop-api");
        cleaned.getSpec().setServices(List.of(api));
        assertEquals(PhaseWork.ServiceAction.ROLL_BACK, assertInstanceOf(PhaseWork.ServiceWork.class, platform.work(Phase.RollingBack, cleaned)).action());
    }

    @Test
    void deletingTheResourceWhileReplicatingRollsBackEvenWithNoServiceTouched() {
        var next = engine.deleted(logical(Phase.CatchingUp, step("replicating-1", Phase.Replicating, StepState.Succeeded)), NOW);
        assertTrue(next.isPresent());
        assertEquals(Phase.RollingBack, next.get().getPhase());
        assertEquals(Phase.CatchingUp, next.get().getFailedPhase());
        // before anything was replicated, nothing to undo: the deletion goes ahead
        assertTrue(engine.deleted(logical(Phase.SchemaCheck), NOW).isEmpty());
        // after success the source stays frozen on purpose: nothing to undo either
        assertTrue(engine.deleted(logical(Phase.Succeeded, step("replicating-1", Phase.Replicating, StepState.Succeeded),
                step("cutover-1", Phase.Cutover, StepState.Succeeded)), NOW).isEmpty());
    }

    @Test
    void aRollbackThatDidNotFinishIsRunAgainOnDeletion() {
        PostgresUpgrade failed = logical(Phase.Failed, step("replicating-1", Phase.Replicating, StepState.Succeeded),
                step("rolling-back-1-replication-cleanup", Phase.RollingBack, StepState.Failed));
        failed.getStatus().setFailedPhase(Phase.RollingBack);
        var next = engine.deleted(failed, NOW);
        assertTrue(next.isPresent());
        assertEquals(Phase.RollingBack, next.get().getPhase());
    }
}
