package dev.pgupgrade.local;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.engine.PhaseOutcome;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.SecretUnavailableException;
import dev.pgupgrade.runner.StepRunner;
import dev.pgupgrade.runner.StepRunner.StepProgress;
import dev.pgupgrade.steps.StepSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Drives one upgrade to a terminal phase on this machine: the engine decides, the runner does, and
 * every status the engine returns is stored (through {@code store}) before the next side effect, so a
 * run killed at any point resumes from the stored status.
 */
public final class LocalUpgradeDriver {
    /** Told about progress, for humans. */
    public interface Listener {
        default void stepStarting(StepSpec step) {
        }

        default void phaseEnded(PostgresUpgradeStatus before, PostgresUpgradeStatus after) {
        }

        default void progressed(PostgresUpgradeStatus status) {
        }
    }

    private final UpgradeEngine engine;
    private final StepRunner runner;
    private final Consumer<PostgresUpgrade> store;
    private final Listener listener;
    private final Clock clock;
    private final Duration pollInterval;
    private final boolean approved;
    /** How often progress is stored and printed while a step runs. */
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    public LocalUpgradeDriver(UpgradeEngine engine, StepRunner runner, Consumer<PostgresUpgrade> store, Listener listener,
                              Clock clock, Duration pollInterval) {
        this(engine, runner, store, listener, clock, pollInterval, false);
    }

    /** @param approved whether a human approved the downtime up front (pgupgrade run --approve) */
    public LocalUpgradeDriver(UpgradeEngine engine, StepRunner runner, Consumer<PostgresUpgrade> store, Listener listener,
                              Clock clock, Duration pollInterval, boolean approved) {
        this.approved = approved;
        this.engine = engine;
        this.runner = runner;
        this.store = store;
        this.listener = listener;
        this.clock = clock;
        this.pollInterval = pollInterval;
    }

    /**
     * Runs until the upgrade is Succeeded, Failed or RolledBack, and returns it with its final status;
     * or, at AwaitingApproval without approval, returns it there (not terminal) with status saying so.
     */
    public PostgresUpgrade run(PostgresUpgrade upgrade) throws InterruptedException {
        save(upgrade, engine.initialize(upgrade, clock.instant()));
        while (!upgrade.getStatus().getPhase().isTerminal()) {
            PostgresUpgradeStatus before = upgrade.getStatus();
            PhaseWork work = engine.work(upgrade);
            PhaseOutcome outcome;
            if (work instanceof PhaseWork.RunStep run) {
                outcome = runStep(upgrade, run.step());
                if (!run.step().endsPhase()) {
                    save(upgrade, engine.stepEnded(upgrade, run.step(), outcome, clock.instant()));
                    listener.phaseEnded(before, upgrade.getStatus());
                    continue;
                }
            } else if (work instanceof PhaseWork.AwaitApproval) {
                if (!approved) {
                    save(upgrade, engine.waiting(upgrade, "waiting for approval; nothing is down yet" + UpgradeEngine.estimate(upgrade.getStatus())
                            + ": run again with --approve to start the downtime",
                            clock.instant()));
                    return upgrade;
                }
                outcome = new PhaseOutcome.Completed("approved with --approve");
            } else if (work instanceof PhaseWork.NothingToDo nothing) {
                outcome = new PhaseOutcome.Skipped(nothing.reason());
            } else if (work instanceof PhaseWork.ServiceWork) {
                // Preflight refuses services up front; this keeps a hand-edited state file from getting further.
                outcome = new PhaseOutcome.Refused("spec.services: pgupgrade run cannot scale or repoint Kubernetes services");
            } else {
                outcome = new PhaseOutcome.Refused(((PhaseWork.Unsupported) work).reason());
            }
            save(upgrade, engine.phaseEnded(upgrade, outcome, clock.instant()));
            listener.phaseEnded(before, upgrade.getStatus());
        }
        return upgrade;
    }

    private PhaseOutcome runStep(PostgresUpgrade upgrade, StepSpec step) throws InterruptedException {
        if (!UpgradeEngine.isStarted(upgrade.getStatus(), step)) {
            save(upgrade, engine.stepStarted(upgrade, step, clock.instant()));  // intent first
        }
        listener.stepStarting(step);
        while (true) {
            try {
                runner.start(step);
            } catch (SecretUnavailableException e) {
                return new PhaseOutcome.Refused(e.getMessage());
            }
            StepProgress progress = runner.poll(step);
            long lastReport = clock.millis();
            while (progress instanceof StepProgress.Running running) {
                if (running.report() != null && clock.millis() - lastReport >= PROGRESS_EVERY.toMillis()) {
                    save(upgrade, engine.progressed(upgrade, running.report(), clock.instant()));
                    listener.progressed(upgrade.getStatus());
                    lastReport = clock.millis();
                }
                Thread.sleep(pollInterval.toMillis());
                progress = runner.poll(step);
            }
            if (progress instanceof StepProgress.Finished finished) {
                return finished.outcome();
            }
            StepProgress.Lost lost = (StepProgress.Lost) progress;
            if (!step.rerunnable()) {
                return new PhaseOutcome.Ran(-1, null, lost.what()
                        + "; " + StepSpec.NOT_RERUN);
            }
            runner.discard(step);  // it only read, or wrote its own files: running it again is harmless
        }
    }

    private void save(PostgresUpgrade upgrade, PostgresUpgradeStatus status) {
        upgrade.setStatus(status);
        store.accept(upgrade);
    }
}
