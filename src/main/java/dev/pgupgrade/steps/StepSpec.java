package dev.pgupgrade.steps;

import dev.pgupgrade.api.Phase;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One unit of database work: a step kind's script run with these environment variables. The same
 * spec runs as a local process or as a Kubernetes Job.
 *
 * @param name       unique within one upgrade and deterministic ("dumping-1"), so starting it twice is harmless
 * @param kind       the script, its result's type and its judge
 * @param rerunnable whether a run that vanished without a result may simply be started again; false
 *                   for steps that write to the target, where a second run over a half-finished one would harm
 * @param endsPhase  true for the phase's own step; false for an inventory step whose findings are
 *                   stored in status before the phase's own step acts on them (ScalingDown on Aptible
 *                   records every service's container count before anything is scaled)
 */
public record StepSpec(String name, Phase phase, StepKind<?> kind, Map<String, EnvValue> env, Duration timeout, boolean rerunnable,
                       boolean endsPhase) {
    /** Why a step that vanished or ended without a result is not started again, said wherever that happens. */
    public static final String NOT_RERUN = "this step writes to the target, so it is not started again by itself";

    public StepSpec {
        Objects.requireNonNull(name);
        Objects.requireNonNull(phase);
        Objects.requireNonNull(kind);
        env = Map.copyOf(env);
        Objects.requireNonNull(timeout);
    }

    /** The script the runner starts. */
    public String script() {
        return kind.script();
    }

    /** The same step with more environment (a platform's connections, say). */
    public StepSpec withEnv(Map<String, EnvValue> more) {
        return new StepSpec(name, phase, kind, new Env().putAll(env).putAll(more).build(), timeout, rerunnable, endsPhase);
    }

    /** The same step run by another kind (a wrapper around this one, such as Aptible's tunnels). */
    public StepSpec runBy(StepKind<?> wrapper, Map<String, EnvValue> more) {
        return new StepSpec(name, phase, wrapper, new Env().putAll(env).putAll(more).build(), timeout, rerunnable, endsPhase);
    }
}
