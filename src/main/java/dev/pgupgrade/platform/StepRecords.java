package dev.pgupgrade.platform;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.StepState;

/** What status says of the steps already run: how a phase of several steps knows which comes next. */
final class StepRecords {
    private StepRecords() {
    }

    /** Whether the step named {@code name} succeeded in this upgrade. */
    static boolean succeeded(PostgresUpgrade upgrade, String name) {
        return upgrade.getStatus() != null && upgrade.getStatus().getSteps().stream()
                .anyMatch(s -> name.equals(s.getName()) && s.getState() == StepState.Succeeded);
    }
}
