package dev.pgupgrade.steps;

import dev.pgupgrade.api.Phase;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One unit of database work: a script from {@link StepScripts} run with these environment variables.
 * The same spec runs as a local process or as a Kubernetes Job.
 *
 * @param name       unique within one upgrade and deterministic ("dumping-1"), so starting it twice is harmless
 * @param rerunnable whether a run that vanished without a result may simply be started again; false
 *                   for steps that write to the target, where a second run over a half-finished one would harm
 * @param endsPhase  true for the phase's own step; false for an inventory step whose findings are
 *                   stored in status before the phase's own step acts on them (ScalingDown on Aptible
 *                   records every service's container count before anything is scaled)
 */
public record StepSpec(String name, Phase phase, String script, Map<String, EnvValue> env, Duration timeout, boolean rerunnable,
                       boolean endsPhase) {
    /** Why a step that vanished or ended without a result is not started again, said wherever that happens. */
    public static final String NOT_RERUN = "this step writes to the target, so it is not started again by itself";

    public StepSpec {
        Objects.requireNonNull(name);
        Objects.requireNonNull(phase);
        Objects.requireNonNull(script);
        env = Map.copyOf(env);
        Objects.requireNonNull(timeout);
    }

    public StepSpec(String name, Phase phase, String script, Map<String, EnvValue> env, Duration timeout, boolean rerunnable) {
        this(name, phase, script, env, timeout, rerunnable, true);
    }
}
