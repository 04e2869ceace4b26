package dev.pgupgrade.steps;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.PostgresUpgradeSpec;

/** A step whose only fact is that it did its job, in its own words (Aptible's repoint, deprovision...). */
public final class SimpleStep implements StepKind<SimpleStep.Result> {
    private final String script;

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message) implements StepResult {
    }

    public SimpleStep(String script) {
        this.script = script;
    }

    @Override
    public String script() {
        return script;
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return Verdict.ok(result.message() != null ? result.message() : "done");
    }
}
