package dev.pgupgrade.local;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.driver.ServiceProgress;
import dev.pgupgrade.driver.World;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.StepRunner;
import java.time.Clock;
import java.time.Duration;

/**
 * pgupgrade run's world: steps are local processes, there are no apps to scale (Preflight refuses
 * spec.services up front), and the downtime is approved on the command line (--approve).
 */
public final class LocalWorld implements World {
    /** How often progress is stored and printed while a step runs. */
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    private final StepRunner runner;
    private final boolean approved;
    private final Clock clock;
    private final Duration poll;

    /** @param approved whether a human approved the downtime up front (pgupgrade run --approve) */
    public LocalWorld(StepRunner runner, boolean approved, Clock clock, Duration poll) {
        this.runner = runner;
        this.approved = approved;
        this.clock = clock;
        this.poll = poll;
    }

    @Override
    public StepRunner runner(PostgresUpgrade upgrade) {
        return runner;
    }

    @Override
    public ServiceProgress services(PostgresUpgrade upgrade, PhaseWork.ServiceAction action) {
        // Preflight refuses services up front; this keeps a hand-edited state file from getting further.
        return new ServiceProgress.Failed("spec.services: pgupgrade run cannot scale or repoint Kubernetes services");
    }

    @Override
    public boolean approved(PostgresUpgrade upgrade) {
        return approved;
    }

    @Override
    public String approval(PostgresUpgrade upgrade) {
        return "approved with --approve";
    }

    @Override
    public String howToApprove(PostgresUpgrade upgrade) {
        return "run again with --approve to start the downtime";
    }

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public Duration progressEvery() {
        return PROGRESS_EVERY;
    }

    /** pgupgrade run returns at an approval it does not have: a watch it started would be left running behind the user's back. */
    @Override
    public boolean watchesWhileWaiting() {
        return false;
    }

    @Override
    public Duration poll() {
        return poll;
    }
}
