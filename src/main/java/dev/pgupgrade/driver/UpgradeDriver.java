package dev.pgupgrade.driver;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.SecretUnavailableException;
import dev.pgupgrade.runner.StepRunner;
import dev.pgupgrade.runner.StepRunner.StepProgress;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.StepSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The one driver protocol, for the operator and for pgupgrade run alike: each tick makes at most one
 * step of progress and returns the status that describes it, which the caller stores before it ticks
 * again. An intent (a step about to start, the replicas about to change) is returned BEFORE the side
 * effect it announces, which happens on a later tick and is idempotent; a result is returned as soon
 * as it is known. So a driver may die between any two lines and the next carries on from status alone.
 *
 * <p>The reconciler is tick, store the status, reschedule; the CLI is tick, save the state file, sleep.
 */
public final class UpgradeDriver {
    /** The next tick after a status was stored: at once, nearly. */
    public static final Duration NEXT = Duration.ofMillis(200);

    private final UpgradeEngine engine;

    public UpgradeDriver(UpgradeEngine engine) {
        this.engine = engine;
    }

    public UpgradeEngine engine() {
        return engine;
    }

    /** One step of progress in the current phase (the upgrade must not be terminal). */
    public Tick tick(PostgresUpgrade upgrade, World world) {
        Instant now = world.clock().instant();
        List<String> leftBehind = UpgradeEngine.runningInEarlierPhases(upgrade.getStatus());
        if (!leftBehind.isEmpty()) {
            // The upgrade moved on while they ran (the resource deleted mid-phase, say): stopped before this
            // phase's work, so a copy never races the rollback that removes what it copies into.
            StepRunner runner = world.runner(upgrade);
            leftBehind.forEach(runner::stop);
            return Tick.store(engine.stepsStopped(upgrade, leftBehind, now), Tick.Kind.INTENT, NEXT);
        }
        PhaseWork work = engine.work(upgrade);
        if (work instanceof PhaseWork.RunStep run) {
            return step(upgrade, run.step(), world, now);
        }
        if (work instanceof PhaseWork.ServiceWork serviceWork) {
            return services(upgrade, world.services(upgrade, serviceWork.action()), now);
        }
        if (work instanceof PhaseWork.AwaitApproval await) {
            StepSpec watch = world.watchesWhileWaiting() ? await.watch() : null;
            if (world.approved(upgrade)) {
                if (watch != null) {
                    world.runner(upgrade).stop(watch.name());  // idempotent: a crash before the status below is stored stops it again
                }
                return ended(engine.approved(upgrade, watch, world.approval(upgrade), now));
            }
            if (watch != null) {
                Tick watching = step(upgrade, watch, world, now);
                if (watching.stores()) {
                    return watching;  // its intent, its progress, or its failure
                }
            }
            PostgresUpgradeStatus waiting = engine.waiting(upgrade, "waiting for approval; nothing is down yet"
                    + UpgradeEngine.estimate(upgrade.getStatus()) + ": " + world.howToApprove(upgrade), now);
            return changed(upgrade, waiting)
                    ? Tick.store(waiting, Tick.Kind.AWAITING_APPROVAL, world.poll())
                    : new Tick(null, world.poll(), Tick.Kind.AWAITING_APPROVAL, null);
        }
        if (work instanceof PhaseWork.NothingToDo nothing) {
            return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Skipped(nothing.reason()), now));
        }
        return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Refused(((PhaseWork.Unsupported) work).reason()), now));
    }

    private Tick step(PostgresUpgrade upgrade, StepSpec step, World world, Instant now) {
        if (!UpgradeEngine.isStarted(upgrade.getStatus(), step)) {
            var gate = world.beforeStart(upgrade, step);
            if (gate.isPresent() && gate.get() instanceof World.Gate.Refuse refuse) {
                return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Refused(refuse.why()), now));
            }
            if (gate.isPresent() && gate.get() instanceof World.Gate.Wait wait) {
                // no step record is opened: the wait is looked at again on the next tick
                PostgresUpgradeStatus waiting = engine.waitingToStart(upgrade, wait.why(), now);
                return changed(upgrade, waiting) ? Tick.store(waiting, Tick.Kind.WAITING, wait.again()) : Tick.nothing(wait.again());
            }
            return Tick.intent(engine.stepStarted(upgrade, step, world.jobOf(upgrade, step), now), step, NEXT);  // intent first
        }
        StepRunner runner = world.runner(upgrade);
        try {
            runner.start(step);  // idempotent by name: a step already started is left alone
        } catch (SecretUnavailableException e) {
            return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Refused(e.getMessage()), now));
        }
        StepProgress progress = runner.poll(step);
        if (progress instanceof StepProgress.Running running) {
            if (running.report() != null && progressIsStale(upgrade.getStatus(), world.progressEvery(), now)) {
                PostgresUpgradeStatus progressed = engine.progressed(upgrade, running.report(), now);
                if (!Objects.equals(summary(progressed), summary(upgrade.getStatus()))) {
                    return Tick.store(progressed, Tick.Kind.PROGRESS, world.poll());
                }
            }
            return Tick.nothing(world.poll());
        }
        if (progress instanceof StepProgress.Finished finished) {
            PhaseOutcome.Ran ran = finished.outcome();
            if (ran.result() == null && !step.rerunnable() && ran.problem() != null) {
                // No result from a step that writes to the target: say that it is not run again by itself.
                ran = new PhaseOutcome.Ran(ran.exitCode(), null, ran.problem() + "; " + StepSpec.NOT_RERUN);
            }
            return ended(engine.stepEnded(upgrade, step, ran, now));
        }
        StepProgress.Lost lost = (StepProgress.Lost) progress;
        if (step.rerunnable()) {
            runner.discard(step);  // it only read, or wrote its own files: running it again is harmless
            try {
                runner.start(step);
            } catch (SecretUnavailableException e) {
                return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Refused(e.getMessage()), now));
            }
            return Tick.nothing(world.poll());
        }
        return ended(engine.stepEnded(upgrade, step, new PhaseOutcome.Ran(-1, null, lost.what() + "; " + StepSpec.NOT_RERUN), now));
    }

    private Tick services(PostgresUpgrade upgrade, ServiceProgress progress, Instant now) {
        if (progress instanceof ServiceProgress.RecordReplicas record) {
            return Tick.store(engine.servicesRecorded(upgrade, record.observed(), now), Tick.Kind.INTENT, NEXT);
        }
        if (progress instanceof ServiceProgress.RecordBackup backup) {
            return Tick.store(engine.backupRecorded(upgrade, backup.secretName(), now), Tick.Kind.INTENT, NEXT);
        }
        if (progress instanceof ServiceProgress.InProgress inProgress) {
            PostgresUpgradeStatus waiting = engine.waiting(upgrade, inProgress.what(), now);
            Duration again = Duration.ofSeconds(2);
            return changed(upgrade, waiting) ? Tick.store(waiting, Tick.Kind.WAITING, again) : Tick.nothing(again);
        }
        if (progress instanceof ServiceProgress.Done done) {
            return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Completed(done.message()), now));
        }
        return ended(engine.phaseEnded(upgrade, null, new PhaseOutcome.Refused(((ServiceProgress.Failed) progress).reason()), now));
    }

    private static Tick ended(PostgresUpgradeStatus status) {
        return Tick.store(status, Tick.Kind.ENDED, NEXT);
    }

    /** A wait is stored only when what it says changed: a status write per poll would be noise. */
    private static boolean changed(PostgresUpgrade upgrade, PostgresUpgradeStatus waiting) {
        return !Objects.equals(waiting.getMessage(), upgrade.getStatus().getMessage())
                || waiting.getSteps().size() != upgrade.getStatus().getSteps().size();
    }

    private static boolean progressIsStale(PostgresUpgradeStatus status, Duration every, Instant now) {
        return status.getProgress() == null || status.getProgress().getUpdatedAt() == null
                || Duration.between(Instant.parse(status.getProgress().getUpdatedAt()), now).compareTo(every) >= 0;
    }

    private static String summary(PostgresUpgradeStatus status) {
        return status.getProgress() == null ? null : status.getProgress().getSummary();
    }
}
