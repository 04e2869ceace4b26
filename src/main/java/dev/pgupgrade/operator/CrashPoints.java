package dev.pgupgrade.operator;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;

/**
 * Where a real operator process can die with consequences: after this reconcile's side effects (a
 * Job created, a workload scaled, a Secret written) and before the status that records them is
 * written. Tests stop the operator there and start a new one; production passes {@link #NONE}.
 */
@FunctionalInterface
public interface CrashPoints {
    CrashPoints NONE = (upgrade, next) -> {
    };

    /** Called just before {@code next} is handed to the API server as the new status of {@code upgrade}. */
    void beforeStatusWrite(PostgresUpgrade upgrade, PostgresUpgradeStatus next);
}
