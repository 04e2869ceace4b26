package dev.pgupgrade.steps.aptible;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Verdict;

/**
 * A database step run behind `aptible db:tunnel` (aptible-tunnels.sh): the tunnels to the named
 * databases are opened, SOURCE_URL/TARGET_URL exported for the inner script, and always closed. The
 * result is the inner step's, and so is its judge.
 */
public class Tunnels<R extends StepResult> implements StepKind<R> {
    public static final String INNER_SCRIPT = "INNER_SCRIPT";
    /** "source", "target" or "source target"; "target?": the target only if it exists (a rollback's). */
    public static final String WHICH = "TUNNELS";

    private final StepKind<R> inner;

    private Tunnels(StepKind<R> inner) {
        this.inner = inner;
    }

    /** The direct platform's step, behind tunnels to {@code which} ("source", "target", "source target"). */
    public static StepSpec around(StepSpec step, PostgresUpgradeSpec spec, String which) {
        return step.runBy(wrap(step.kind()), new Env().putAll(Aptible.common(spec))
                .put(INNER_SCRIPT, step.kind().script()).put(WHICH, which).build());
    }

    private static <R extends StepResult> Tunnels<R> wrap(StepKind<R> inner) {
        return inner instanceof SharesWorkFiles ? new Sharing<>(inner) : new Tunnels<>(inner);
    }

    /** The wrapper of a step that shares the upgrade's working files: it runs on the work volume too. */
    private static final class Sharing<R extends StepResult> extends Tunnels<R> implements SharesWorkFiles {
        private Sharing(StepKind<R> inner) {
            super(inner);
        }
    }

    @Override
    public String script() {
        return "aptible-tunnels.sh";
    }

    @Override
    public Class<R> resultType() {
        return inner.resultType();
    }

    @Override
    public Verdict judge(R result, PostgresUpgradeSpec spec) {
        return inner.judge(result, spec);
    }

    @Override
    public void record(R result, boolean ok, StatusFacts facts) {
        inner.record(result, ok, facts);
    }
}
