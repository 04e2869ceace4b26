package dev.pgupgrade.steps;

import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import java.time.Duration;
import java.util.Map;

/** Turns a step kind and its environment into the StepSpec of one upgrade's phase. */
public final class Steps {
    /** A step runs at most this long unless spec.stepTimeoutSeconds says otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofHours(6);

    private Steps() {
    }

    /** The phase's own step in the current attempt. */
    public static StepSpec of(PostgresUpgrade upgrade, Phase phase, StepKind<?> kind, Map<String, EnvValue> env, boolean rerunnable) {
        return new StepSpec(Names.step(phase, upgrade.getStatus()), phase, kind, env, timeout(upgrade), rerunnable, true);
    }

    /** A step whose findings are stored before the phase's own step runs (see {@link StepSpec#endsPhase}). */
    public static StepSpec before(PostgresUpgrade upgrade, String name, Phase phase, StepKind<?> kind, Map<String, EnvValue> env) {
        return new StepSpec(name, phase, kind, env, timeout(upgrade), true, false);
    }

    public static Duration timeout(PostgresUpgrade upgrade) {
        Long seconds = upgrade.getSpec().getStepTimeoutSeconds();
        return seconds == null ? DEFAULT_TIMEOUT : Duration.ofSeconds(seconds);
    }
}
