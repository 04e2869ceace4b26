package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.List;

/**
 * RollingBack's first step for the logical strategy (logical-cleanup.sh): the frozen source databases
 * opened again, our subscriptions, slots and publications removed from both servers. Idempotent.
 */
public final class Cleanup implements StepKind<Cleanup.Result>, SharesWorkFiles {
    public static final Cleanup KIND = new Cleanup();

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer removedCount, List<String> removed) implements StepResult {
    }

    private Cleanup() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.before(upgrade, Names.replicationCleanupStep(upgrade.getStatus()), Phase.RollingBack, KIND, Replication.env(upgrade));
    }

    @Override
    public String script() {
        return "logical-cleanup.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        List<String> removed = result.removed() == null ? List.of() : result.removed();
        return Verdict.ok("removed the replication (" + Figures.count(result.removedCount(), "object") + ") and unfroze the source")
                .withDetails(removed, List.of());
    }
}
