package dev.pgupgrade.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TargetStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.PhaseMachine;
import dev.pgupgrade.engine.SpecValidator;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.logical.ReplicaSync;
import dev.pgupgrade.testing.Upgrades;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Aptible's logical-replication route as phases and steps, decided from spec and status alone. */
class AptibleLogicalPlatformTest {
    private static final Instant NOW = Instant.parse("2026-12-02T10:00:00Z");
    private final UpgradeEngine engine = new UpgradeEngine(new Platforms());

    private static PostgresUpgrade logical() {
        PostgresUpgrade upgrade = Upgrades.aptible("17", 1L);
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(TransferSpec.Strategy.LOGICAL);
        upgrade.getSpec().setTransfer(transfer);
        return upgrade;
    }

    private PostgresUpgrade at(Phase phase) {
        PostgresUpgrade upgrade = logical();
        upgrade.setStatus(engine.initialize(upgrade, NOW));
        upgrade.getStatus().setPhase(phase);
        return upgrade;
    }

    private StepSpec step(PostgresUpgrade upgrade) {
        return assertInstanceOf(PhaseWork.RunStep.class, engine.work(upgrade)).step();
    }

    private static String env(StepSpec step, String name) {
        EnvValue value = step.env().get(name);
        return value instanceof EnvValue.Literal literal ? literal.value() : null;
    }

    @Test
    void theGuidesRouteInOrder() {
        PostgresUpgrade upgrade = logical();
        ApprovalSpec approval = new ApprovalSpec();
        approval.setRequired(true);
        upgrade.getSpec().setApproval(approval);
        upgrade.getSpec().getAptible().setDeprovisionSource(true);
        List<Phase> order = new ArrayList<>();
        for (Phase p = PhaseMachine.first(); !p.isTerminal(); p = PhaseMachine.next(p, upgrade.getSpec())) {
            order.add(p);
        }
        // no Verifying of its own: the replica's rows are compared inside the Cutover's freeze
        assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.ProvisioningTarget, Phase.Replicating, Phase.CatchingUp,
                Phase.AwaitingApproval, Phase.ScalingDown, Phase.Cutover, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing,
                Phase.DeprovisioningSource), order);
    }

    @Test
    void eachOnlinePhaseRunsItsStepBehindTunnelsWithTheReplicasSlots() {
        assertEquals("aptible-tunnels.sh", step(at(Phase.Validating)).script());
        assertEquals("logical-check.sh", env(step(at(Phase.Validating)), "INNER_SCRIPT"));
        assertEquals("source", env(step(at(Phase.Validating)), "TUNNELS"), "the replica does not exist yet");

        StepSpec replicate = step(at(Phase.ProvisioningTarget));
        assertEquals("aptible-replicate.sh", replicate.script());
        assertEquals("17", env(replicate, "TARGET_MAJOR"));

        PostgresUpgrade replicating = at(Phase.Replicating);
        StepSpec sync = step(replicating);
        assertEquals("logical-replica-sync.sh", env(sync, "INNER_SCRIPT"));
        assertEquals("source target", env(sync, "TUNNELS"));

        // what Replicating found is what every later step (and the rollback) is told to drop
        ReplicaSync.KIND.record(new ReplicaSync.Result(false, "stopped", 2, 5, "pglogical", "pgl_db_prov_sub bad;name", 0L, 1L),
                true, new StatusFacts(replicating.getStatus(), replicating.getSpec(), NOW.toString()));
        assertEquals(List.of("pgl_db_prov_sub"), replicating.getStatus().getTarget().getReplicationSlots(), "kept after a failure too; names that could break SQL are dropped");
        for (Phase phase : List.of(Phase.CatchingUp, Phase.Cutover)) {
            PostgresUpgrade at = at(phase);
            at.getStatus().setTarget(replicating.getStatus().getTarget());
            StepSpec s = step(at);
            assertEquals("replica", env(s, "LOGICAL_REPLICATION"), phase::name);
            assertEquals("pgl_db_prov_sub", env(s, "REPLICA_SLOTS"), phase::name);
        }
        StepSpec cutover = step(at(Phase.Cutover));
        assertEquals("checksums", env(cutover, "VERIFY_MODE"), "the cutover compares every row");
        assertInstanceOf(SharesWorkFiles.class, cutover.kind(), "the frozen list reaches the rollback through the work volume");
    }

    @Test
    void aRollbackRemovesTheReplicationBeforeAptiblesSide() {
        PostgresUpgrade upgrade = at(Phase.RollingBack);
        StepStatus replicating = new StepStatus();
        replicating.setName("replicating-1");
        replicating.setPhase(Phase.Replicating);
        replicating.setAttempt(1);
        replicating.setState(StepState.Succeeded);
        upgrade.getStatus().getSteps().add(replicating);
        upgrade.getStatus().setFailedPhase(Phase.CatchingUp);
        StepSpec first = step(upgrade);
        assertEquals("logical-cleanup.sh", env(first, "INNER_SCRIPT"));
        assertEquals("source target?", env(first, "TUNNELS"), "a replica already gone must not keep the source frozen");
        assertInstanceOf(SharesWorkFiles.class, first.kind());

        StepStatus cleaned = new StepStatus();
        cleaned.setName(first.name());
        cleaned.setPhase(Phase.RollingBack);
        cleaned.setAttempt(1);
        cleaned.setState(StepState.Succeeded);
        upgrade.getStatus().getSteps().add(cleaned);
        assertEquals("aptible-rollback.sh", step(upgrade).script());
    }

    @Test
    void whatTheRouteCannotDoIsRefusedUpFront() {
        PostgresUpgrade upgrade = logical();
        assertEquals(List.of(), SpecValidator.problems(upgrade));
        upgrade.getSpec().getTarget().setEnvironment("elsewhere");
        LogicalSpec logical = new LogicalSpec();
        logical.setAllowReplicaIdentityFull(true);
        upgrade.getSpec().setLogical(logical);
        RehearsalSpec rehearsal = new RehearsalSpec();
        rehearsal.setEnabled(true);
        upgrade.getSpec().setRehearsal(rehearsal);
        String problems = String.join("\n", SpecValidator.problems(upgrade));
        assertTrue(problems.contains("spec.target.environment") && problems.contains("source's environment"), problems);
        assertTrue(problems.contains("spec.logical.allowReplicaIdentityFull"), problems);
        assertTrue(problems.contains("spec.rehearsal"), problems);
    }

    @Test
    void aTargetStatusWithoutSlotsGivesAnEmptyList() {
        PostgresUpgrade upgrade = at(Phase.CatchingUp);
        upgrade.getStatus().setTarget(new TargetStatus());
        assertEquals("", env(step(upgrade), "REPLICA_SLOTS"));
    }
}
