package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.Locale;
import java.util.Map;

/**
 * CatchingUp (logical-catch-up.sh): the subscriptions enabled, then watched until the target is within
 * {@link LogicalSpec#CAUGHT_UP_BYTES} of the source's current WAL position; the WAL our slots retain
 * is bounded by spec.logical.maxRetainedWalMegabytes. Its progress lines carry the lag per database
 * (status.progress.replication). Only enables and reads: rerunnable.
 */
public final class CatchUp implements StepKind<CatchUp.Result> {
    public static final CatchUp KIND = new CatchUp();
    public static final String CAUGHT_UP_BYTES = "LOGICAL_CAUGHT_UP_BYTES";
    public static final String MAX_RETAINED_MB = "LOGICAL_MAX_RETAINED_MB";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer databases, Long lagBytes, Double lagSeconds, Long retainedBytes, Long durationMillis)
            implements StepResult {
    }

    private CatchUp() {
    }

    public static final String WATCH = "LOGICAL_WATCH";
    public static final String LOOK_SECONDS = "LOGICAL_LOOK_SECONDS";
    /** How many databases a progress line names (the most lagging): what status keeps of them. */
    public static final String REPORTED_DATABASES = "LOGICAL_REPORTED_DATABASES";

    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.CatchingUp, KIND, env(upgrade, false, 1), true);
    }

    /** What the catch-up and the watch of {@link ReplicationWatch} are both given. */
    static Map<String, EnvValue> env(PostgresUpgrade upgrade, boolean watch, int lookSeconds) {
        return new Env().putAll(Replication.env(upgrade))
                .put(CAUGHT_UP_BYTES, LogicalSpec.CAUGHT_UP_BYTES)
                .put(MAX_RETAINED_MB, LogicalSpec.maxRetainedWalMegabytes(Replication.spec(upgrade)))
                .put(WATCH, watch)
                .put(LOOK_SECONDS, lookSeconds)
                .put(REPORTED_DATABASES, ReplicationStatus.MAX_DATABASES).build();
    }

    @Override
    public String script() {
        return "logical-catch-up.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return Verdict.ok("the target applies the source's writes as they come: " + Figures.bytes(result.lagBytes()) + " behind ("
                + (result.lagSeconds() == null ? "?" : String.format(Locale.ROOT, "%.1f", result.lagSeconds())) + " s), "
                + Figures.bytes(result.retainedBytes()) + " of WAL kept by our slots, caught up in " + Figures.seconds(result.durationMillis()));
    }
}
