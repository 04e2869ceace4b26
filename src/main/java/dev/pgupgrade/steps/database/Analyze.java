package dev.pgupgrade.steps.database;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.List;

/** Analyzing (analyze.sh): statistics in stages, then VACUUM, in every database of the target. */
public final class Analyze implements StepKind<Analyze.Result> {
    public static final Analyze KIND = new Analyze();

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer databases, List<String> databaseNames, Long durationMillis) implements StepResult {
    }

    private Analyze() {
    }

    /** Needs the target's connection. */
    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.Analyzing, KIND, Transfer.of(upgrade.getSpec().getTransfer()).env(), true);
    }

    @Override
    public String script() {
        return "analyze.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return Verdict.ok("VACUUM ANALYZE done in " + Figures.count(result.databases(), "database"));
    }
}
