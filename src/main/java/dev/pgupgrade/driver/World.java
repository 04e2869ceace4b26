package dev.pgupgrade.driver;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.StepRunner;
import dev.pgupgrade.steps.StepSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * What a driver works with, besides the engine: where steps run, who looks after the apps, how a
 * human approves, what must hold before a step may start, and the clock. The operator's world is a
 * Kubernetes cluster; pgupgrade run's, this machine.
 */
public interface World {
    StepRunner runner(PostgresUpgrade upgrade);

    /** The apps' side of ScalingDown, Repointing, ScalingUp and RollingBack. */
    ServiceProgress services(PostgresUpgrade upgrade, PhaseWork.ServiceAction action);

    /** Whether a human approved this attempt's downtime. */
    boolean approved(PostgresUpgrade upgrade);

    /** How they said so, for status ("approved with --approve"). */
    String approval(PostgresUpgrade upgrade);

    /** How to approve, for status ("run again with --approve to start the downtime"). */
    String howToApprove(PostgresUpgrade upgrade);

    /** What keeps a step from starting now (another upgrade, a missing Secret), if anything. */
    default Optional<Gate> beforeStart(PostgresUpgrade upgrade, StepSpec step) {
        return Optional.empty();
    }

    /** The Job that runs a step, recorded with its intent, or null when steps are not Jobs. */
    default String jobOf(PostgresUpgrade upgrade, StepSpec step) {
        return null;
    }

    /**
     * Whether the driver goes on ticking while it waits for an approval (the operator), so that a step
     * started then (the replication's watch) is looked after. pgupgrade run returns instead, and starts none.
     */
    default boolean watchesWhileWaiting() {
        return true;
    }

    Clock clock();

    /** How often a running step's progress is stored: it is for humans, not worth a write per poll. */
    Duration progressEvery();

    /** How long to wait before looking at a running step again. */
    Duration poll();

    /** What keeps a step from starting. */
    sealed interface Gate {
        /** Not yet: said in status, looked at again later. */
        record Wait(String why, Duration again) implements Gate {
        }

        /** Never: the phase fails with the reason. */
        record Refuse(String why) implements Gate {
        }
    }
}
