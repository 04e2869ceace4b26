package dev.pgupgrade.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.SecretUnavailableException;
import dev.pgupgrade.runner.StepRunner;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.ProgressReport;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.testing.StepResults;
import dev.pgupgrade.testing.Upgrades;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The one driver protocol, tick by tick, in a world where everything is in memory: intents before side
 * effects, what a restarted driver does with a step already running, which lost steps start again,
 * progress throttling, gates and approval. Crash safety lives here, once, for both drivers.
 */
class UpgradeDriverTest {
    private final UpgradeDriver driver = new UpgradeDriver(new UpgradeEngine(new DirectPlatform()));
    private final FakeWorld world = new FakeWorld();

    private PostgresUpgrade at(Phase phase) {
        PostgresUpgrade upgrade = Upgrades.direct("17", 1L);
        upgrade.getMetadata().setName("orders-db");
        upgrade.setStatus(driver.engine().initialize(upgrade, world.clock().instant()));
        upgrade.getStatus().setPhase(phase);
        return upgrade;
    }

    /** Ticks and stores, as a driver does; returns the tick. */
    private Tick tick(PostgresUpgrade upgrade) {
        Tick tick = driver.tick(upgrade, world);
        if (tick.stores()) {
            upgrade.setStatus(tick.status());
        }
        return tick;
    }

    @Test
    void theIntentIsStoredBeforeTheStepStarts() {
        PostgresUpgrade upgrade = at(Phase.Validating);
        Tick intent = tick(upgrade);
        assertEquals(Tick.Kind.INTENT, intent.kind());
        assertEquals("validating-1", intent.started().name());
        assertEquals(StepState.Running, upgrade.getStatus().getSteps().get(0).getState());
        assertEquals(List.of(), world.runner.started, "nothing started before the intent is stored");

        world.runner.script("validating-1", new StepRunner.StepProgress.Running());
        assertEquals(Tick.Kind.NOTHING, tick(upgrade).kind());
        assertEquals(List.of("validating-1"), world.runner.started);
    }

    /** A driver that died after storing the intent and a new one that finds the step running: one start, never two. */
    @Test
    void aRestartedDriverAdoptsTheStepItFindsRunning() {
        PostgresUpgrade upgrade = at(Phase.Validating);
        tick(upgrade);
        world.runner.script("validating-1", new StepRunner.StepProgress.Running(), finished(StepResults.ok()
                .with("sourceVersionNum", 130023).with("sourceVersion", "13.23").with("targetVersionNum", 170006).with("targetVersion", "17.6")));
        tick(upgrade);
        UpgradeDriver restarted = new UpgradeDriver(new UpgradeEngine(new DirectPlatform()));
        Tick ended = restarted.tick(upgrade, world);
        assertEquals(Tick.Kind.ENDED, ended.kind());
        assertEquals(Phase.SchemaCheck, ended.status().getPhase());
        assertEquals(List.of("validating-1"), world.runner.started, "started once, whatever the restarts");
    }

    @Test
    void aLostStepThatOnlyReadsIsStartedAgainUnderItsName() {
        PostgresUpgrade upgrade = at(Phase.Validating);
        tick(upgrade);
        world.runner.script("validating-1", new StepRunner.StepProgress.Lost("its pod was evicted"), new StepRunner.StepProgress.Running());
        Tick again = tick(upgrade);
        assertEquals(Tick.Kind.NOTHING, again.kind());
        assertEquals(List.of("validating-1"), world.runner.discarded);
        assertEquals(List.of("validating-1", "validating-1"), world.runner.started);
    }

    @Test
    void aLostRestoreIsNotStartedAgainAndTheUpgradeSaysWhy() {
        PostgresUpgrade upgrade = at(Phase.Restoring);
        tick(upgrade);
        world.runner.script("restoring-1", new StepRunner.StepProgress.Lost("Job orders-db-restoring-1 disappeared"));
        Tick ended = tick(upgrade);
        assertEquals(Tick.Kind.ENDED, ended.kind());
        assertEquals(Phase.Failed, ended.status().getPhase());
        assertTrue(ended.status().getMessage().contains("Job orders-db-restoring-1 disappeared; " + StepSpec.NOT_RERUN), ended.status().getMessage());
        assertEquals(List.of(), world.runner.discarded);
    }

    @Test
    void aRestoreThatEndedWithoutAResultSaysItIsNotStartedAgain() {
        PostgresUpgrade upgrade = at(Phase.Restoring);
        tick(upgrade);
        world.runner.script("restoring-1", new StepRunner.StepProgress.Finished(new PhaseOutcome.Ran(137, null, "the pod was killed")));
        assertTrue(tick(upgrade).status().getMessage().contains("the pod was killed; " + StepSpec.NOT_RERUN));
    }

    @Test
    void progressIsStoredAtMostEveryProgressInterval() {
        PostgresUpgrade upgrade = at(Phase.Restoring);
        tick(upgrade);
        StepRunner.StepProgress half = new StepRunner.StepProgress.Running(new ProgressReport("bytes", 50, 100, false));
        StepRunner.StepProgress most = new StepRunner.StepProgress.Running(new ProgressReport("bytes", 80, 100, false));
        world.runner.script("restoring-1", half, most, most);
        assertEquals(Tick.Kind.PROGRESS, tick(upgrade).kind());
        assertEquals(50, upgrade.getStatus().getProgress().getDone());
        assertEquals(Tick.Kind.NOTHING, tick(upgrade).kind(), "within the interval: not worth a write");
        world.clock.advance(world.progressEvery());
        assertEquals(Tick.Kind.PROGRESS, tick(upgrade).kind());
        assertEquals(80, upgrade.getStatus().getProgress().getDone());
    }

    @Test
    void aGateThatWaitsOpensNoStepRecord() {
        PostgresUpgrade upgrade = at(Phase.Validating);
        world.gate = new World.Gate.Wait("waiting for Secret source-db", Duration.ofSeconds(15));
        Tick waiting = tick(upgrade);
        assertEquals(Tick.Kind.WAITING, waiting.kind());
        assertEquals(Duration.ofSeconds(15), waiting.again());
        assertEquals("Validating: waiting for Secret source-db", upgrade.getStatus().getMessage());
        assertTrue(upgrade.getStatus().getSteps().isEmpty(), "a step record would read as started and skip the wait");
        assertEquals(Tick.Kind.NOTHING, tick(upgrade).kind(), "the same wait is not written again");

        world.gate = null;
        assertEquals(Tick.Kind.INTENT, tick(upgrade).kind());
    }

    @Test
    void aGateThatRefusesFailsThePhase() {
        PostgresUpgrade upgrade = at(Phase.Validating);
        world.gate = new World.Gate.Refuse("spec.source.urlSecretRef: the URL is malformed");
        Tick ended = tick(upgrade);
        assertEquals(Phase.Failed, ended.status().getPhase());
        assertTrue(ended.status().getMessage().startsWith("Validating failed: spec.source.urlSecretRef: the URL is malformed."));
    }

    @Test
    void aSecretTheRunnerCannotResolveFailsThePhase() {
        PostgresUpgrade upgrade = at(Phase.Validating);
        tick(upgrade);
        world.runner.missingSecret = "spec.source.urlSecretRef: Secret key source-db/url not found";
        Tick ended = tick(upgrade);
        assertEquals(Phase.Failed, ended.status().getPhase());
        assertTrue(ended.status().getMessage().contains("Secret key source-db/url not found"));
    }

    @Test
    void theDowntimeWaitsForApprovalAndStartsOnceGiven() {
        PostgresUpgrade upgrade = at(Phase.AwaitingApproval);
        ApprovalSpec approval = new ApprovalSpec();
        approval.setRequired(true);
        upgrade.getSpec().setApproval(approval);
        Tick waiting = tick(upgrade);
        assertEquals(Tick.Kind.AWAITING_APPROVAL, waiting.kind());
        assertTrue(upgrade.getStatus().getMessage().endsWith("nothing is down yet: approve here"), upgrade.getStatus().getMessage());
        assertEquals(Tick.Kind.AWAITING_APPROVAL, tick(upgrade).kind());
        assertFalse(tick(upgrade).stores(), "the same wait is not written again");

        world.approved = true;
        Tick ended = tick(upgrade);
        assertEquals(Phase.ScalingDown, ended.status().getPhase());
        assertEquals("approved here", ended.status().getSteps().get(0).getMessage());
    }

    /** Strategy logical: the replication is watched for as long as the approval takes, and the watch stopped once it comes. */
    @Test
    void anOnlineUpgradeWatchesTheReplicationWhileItWaitsAndStopsTheWatchAtTheApproval() {
        PostgresUpgrade upgrade = online(at(Phase.AwaitingApproval));
        Tick intent = tick(upgrade);
        assertEquals(Tick.Kind.INTENT, intent.kind());
        assertEquals("awaiting-approval-1-replication-watch", intent.started().name());
        world.runner.script("awaiting-approval-1-replication-watch", new StepRunner.StepProgress.Running(new ProgressReport("bytes", 0, 0, false,
                replication(3L << 20, 0.4, 48L << 20))));
        Tick progressed = tick(upgrade);
        assertEquals(Tick.Kind.PROGRESS, progressed.kind());
        assertEquals("lag 3.0 MiB / 0.4 s, WAL kept 48.0 MiB, 1/1 streaming", upgrade.getStatus().getProgress().getSummary());
        assertEquals("False", condition(upgrade, "WalRetained"), "48 MiB is under the default warning (5120 MiB)");
        Tick waiting = tick(upgrade);
        assertEquals(Tick.Kind.AWAITING_APPROVAL, waiting.kind(), "the wait is said once the watch runs");
        assertEquals(List.of("awaiting-approval-1-replication-watch"), world.runner.started);

        world.approved = true;
        Tick ended = tick(upgrade);
        assertEquals(Phase.ScalingDown, ended.status().getPhase());
        assertEquals(List.of("awaiting-approval-1-replication-watch"), world.runner.stopped);
        var watch = ended.status().getSteps().stream().filter(s -> s.getName().endsWith("replication-watch")).findFirst().orElseThrow();
        assertEquals(StepState.Succeeded, watch.getState());
        assertTrue(watch.getMessage().contains("lag 3.0 MiB"), watch.getMessage());
    }

    @Test
    void aWatchThatFailsEndsTheWaitInARollback() {
        PostgresUpgrade upgrade = online(at(Phase.AwaitingApproval));
        tick(upgrade);
        world.runner.script("awaiting-approval-1-replication-watch", finished(StepResults.failed(
                "our slots make the source keep 20 MiB of WAL, over spec.logical.maxRetainedWalMegabytes (16)")));
        upgrade.getStatus().getSteps().add(replicatingStep());
        Tick ended = tick(upgrade);
        assertEquals(Phase.RollingBack, ended.status().getPhase());
        assertTrue(ended.status().getMessage().contains("over spec.logical.maxRetainedWalMegabytes"), ended.status().getMessage());
        assertEquals(StepState.Failed, ended.status().getSteps().stream().filter(s -> s.getName().endsWith("replication-watch"))
                .findFirst().orElseThrow().getState());
    }

    @Test
    void pastTheWarningLimitTheConditionSaysSo() {
        PostgresUpgrade upgrade = online(at(Phase.AwaitingApproval));
        upgrade.getSpec().getLogical().setWarnRetainedWalMegabytes(32);
        tick(upgrade);
        world.runner.script("awaiting-approval-1-replication-watch", new StepRunner.StepProgress.Running(new ProgressReport("bytes", 0, 0, false,
                replication(40L << 20, 12.5, 48L << 20))));
        tick(upgrade);
        assertEquals("True", condition(upgrade, "WalRetained"));
    }

    @Test
    void pgupgradeRunStartsNoWatchItWouldLeaveBehind() {
        PostgresUpgrade upgrade = online(at(Phase.AwaitingApproval));
        world.watches = false;
        assertEquals(Tick.Kind.AWAITING_APPROVAL, tick(upgrade).kind());
        assertEquals(List.of(), world.runner.started);
    }

    @Test
    void aStepLeftRunningInAPhaseTheUpgradeLeftIsStoppedFirst() {
        PostgresUpgrade upgrade = at(Phase.Restoring);
        tick(upgrade);
        upgrade.getStatus().setPhase(Phase.RollingBack);  // what a deletion mid-restore does
        Tick stopped = tick(upgrade);
        assertEquals(Tick.Kind.INTENT, stopped.kind());
        assertEquals(List.of("restoring-1"), world.runner.stopped);
        assertEquals(StepState.Failed, upgrade.getStatus().getSteps().get(0).getState());
        assertTrue(upgrade.getStatus().getSteps().get(0).getMessage().contains("left Restoring for RollingBack"));
        assertEquals(List.of(), UpgradeEngine.runningInEarlierPhases(upgrade.getStatus()));
    }

    private static PostgresUpgrade online(PostgresUpgrade upgrade) {
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(TransferSpec.Strategy.LOGICAL);
        upgrade.getSpec().setTransfer(transfer);
        upgrade.getSpec().setLogical(new LogicalSpec());
        ApprovalSpec approval = new ApprovalSpec();
        approval.setRequired(true);
        upgrade.getSpec().setApproval(approval);
        return upgrade;
    }

    private static ReplicationStatus replication(long lag, double seconds, long retained) {
        ReplicationStatus replication = new ReplicationStatus();
        replication.setLagBytes(lag);
        replication.setLagSeconds(seconds);
        replication.setRetainedBytes(retained);
        ReplicationStatus.DatabaseReplication shop = new ReplicationStatus.DatabaseReplication();
        shop.setDatabase("shop");
        shop.setLagBytes(lag);
        shop.setLagSeconds(seconds);
        shop.setRetainedBytes(retained);
        shop.setState("streaming");
        replication.setDatabases(List.of(shop));
        return replication;
    }

    private static StepStatus replicatingStep() {
        StepStatus replicated = new StepStatus();
        replicated.setName("replicating-1");
        replicated.setPhase(Phase.Replicating);
        replicated.setState(StepState.Succeeded);
        replicated.setAttempt(1);
        return replicated;
    }

    private static String condition(PostgresUpgrade upgrade, String type) {
        var c = Conditions.find(upgrade.getStatus().getConditions(), type);
        return c == null ? null : c.getStatus();
    }

    @Test
    void theServicesReplicasAreRecordedBeforeAnythingIsScaled() {
        PostgresUpgrade upgrade = at(Phase.ScalingDown);
        upgrade.getSpec().setServices(new ArrayList<>(Upgrades.leanDirect("x", "y").getSpec().getServices()));
        world.services.add(new ServiceProgress.RecordReplicas(List.of(new ServiceStatus("Deployment", "shop-api", 3))));
        world.services.add(new ServiceProgress.InProgress("waiting for Deployment shop-api to scale to 0"));
        world.services.add(new ServiceProgress.Done("scaled 1 service to 0"));

        assertEquals(Tick.Kind.INTENT, tick(upgrade).kind());
        assertEquals(3, upgrade.getStatus().getServices().get(0).getReplicas());
        assertEquals(Tick.Kind.WAITING, tick(upgrade).kind());
        Tick ended = tick(upgrade);
        assertEquals(Phase.Dumping, ended.status().getPhase());
        assertNull(ended.status().getFailedPhase());
    }

    private static StepRunner.StepProgress finished(StepResults result) {
        return new StepRunner.StepProgress.Finished(result.ran());
    }

    /** Steps, services, approval and a gate, in memory; the clock moves when told. */
    static final class FakeWorld implements World {
        final FakeRunner runner = new FakeRunner();
        final MovingClock clock = new MovingClock();
        final Deque<ServiceProgress> services = new ArrayDeque<>();
        boolean approved;
        boolean watches = true;
        Gate gate;

        @Override
        public boolean watchesWhileWaiting() {
            return watches;
        }

        @Override
        public StepRunner runner(PostgresUpgrade upgrade) {
            return runner;
        }

        @Override
        public ServiceProgress services(PostgresUpgrade upgrade, PhaseWork.ServiceAction action) {
            return services.isEmpty() ? new ServiceProgress.Failed("no service progress scripted") : services.poll();
        }

        @Override
        public boolean approved(PostgresUpgrade upgrade) {
            return approved;
        }

        @Override
        public String approval(PostgresUpgrade upgrade) {
            return "approved here";
        }

        @Override
        public String howToApprove(PostgresUpgrade upgrade) {
            return "approve here";
        }

        @Override
        public Optional<Gate> beforeStart(PostgresUpgrade upgrade, StepSpec step) {
            return Optional.ofNullable(gate);
        }

        @Override
        public Clock clock() {
            return clock;
        }

        @Override
        public Duration progressEvery() {
            return Duration.ofSeconds(10);
        }

        @Override
        public Duration poll() {
            return Duration.ofSeconds(5);
        }
    }

    /** Starts are recorded (idempotent by name, as runners must be); polls answer what the test scripted, the last one repeating. */
    static final class FakeRunner implements StepRunner {
        final List<String> started = new ArrayList<>();
        final List<String> discarded = new ArrayList<>();
        final List<String> stopped = new ArrayList<>();
        final Map<String, Deque<StepProgress>> scripted = new HashMap<>();
        private final List<String> running = new ArrayList<>();
        String missingSecret;

        void script(String step, StepProgress... progress) {
            scripted.put(step, new ArrayDeque<>(List.of(progress)));
        }

        @Override
        public void start(StepSpec step) throws SecretUnavailableException {
            if (missingSecret != null) {
                throw new SecretUnavailableException(missingSecret);
            }
            if (!running.contains(step.name())) {
                running.add(step.name());
                started.add(step.name());
            }
        }

        @Override
        public StepProgress poll(StepSpec step) {
            Deque<StepProgress> answers = scripted.get(step.name());
            return answers.size() > 1 ? answers.poll() : answers.peek();
        }

        @Override
        public void discard(StepSpec step) {
            running.remove(step.name());
            discarded.add(step.name());
        }

        @Override
        public void stop(String stepName) {
            running.remove(stepName);
            stopped.add(stepName);
        }
    }

    static final class MovingClock extends Clock {
        private Instant now = Instant.parse("2026-12-01T10:00:00Z");

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
