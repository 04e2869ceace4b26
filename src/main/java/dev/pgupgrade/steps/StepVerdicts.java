package dev.pgupgrade.steps;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import java.util.Optional;

/**
 * What a phase's outcome means. What every step shares is decided here (no result, a result that is
 * not JSON, ok false, a non-zero exit code); what a step's own facts mean, by its kind's judge.
 */
public final class StepVerdicts {
    private StepVerdicts() {
    }

    /** The verdict on a phase's work; a step's facts are recorded into {@code facts} on the way. */
    public static Verdict judge(StepKind<?> kind, PhaseOutcome outcome, PostgresUpgradeSpec spec, StatusFacts facts) {
        if (outcome instanceof PhaseOutcome.Skipped skipped) {
            return Verdict.ok(skipped.reason());
        }
        if (outcome instanceof PhaseOutcome.Completed completed) {
            return Verdict.ok(completed.message());
        }
        if (outcome instanceof PhaseOutcome.Refused refused) {
            return Verdict.failed(refused.reason());
        }
        PhaseOutcome.Ran ran = (PhaseOutcome.Ran) outcome;
        if (ran.result() == null || ran.result().isBlank()) {
            return Verdict.failed(ran.problem() != null ? ran.problem()
                    : "the step ended with exit code " + ran.exitCode() + " without reporting a result; see the step log");
        }
        Optional<JsonNode> tree = Results.tree(ran.result());
        if (tree.isEmpty()) {
            return Verdict.failed("the step's result is not a JSON object; see the step log");
        }
        if (!tree.get().path("ok").asBoolean(false)) {
            String message = tree.get().path("message").asText(null);
            Verdict failed = Verdict.failed(message != null ? message : "the step failed with exit code " + ran.exitCode());
            if (kind != null) {
                record(kind, tree.get(), false, facts);
            }
            return failed;
        }
        if (ran.exitCode() != 0) {
            return Verdict.failed("the step reported success but exited with code " + ran.exitCode() + "; see the step log");
        }
        if (kind == null) {
            return Verdict.ok(tree.get().path("message").asText("done"));
        }
        return judged(kind, tree.get(), spec, facts);
    }

    private static <R extends StepResult> Verdict judged(StepKind<R> kind, JsonNode tree, PostgresUpgradeSpec spec, StatusFacts facts) {
        Optional<R> result = Results.as(tree, kind.resultType());
        if (result.isEmpty()) {
            return Verdict.failed("the step's result does not have the fields " + kind.script() + " reports; see the step log");
        }
        Verdict verdict = kind.judge(result.get(), spec);
        kind.record(result.get(), verdict.ok(), facts);
        return verdict;
    }

    private static <R extends StepResult> void record(StepKind<R> kind, JsonNode tree, boolean ok, StatusFacts facts) {
        Results.as(tree, kind.resultType()).ifPresent(result -> kind.record(result, ok, facts));
    }
}
