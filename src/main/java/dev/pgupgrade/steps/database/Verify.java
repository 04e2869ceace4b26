package dev.pgupgrade.steps.database;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.List;
import java.util.Map;

/**
 * Verifying (verify.sh): both servers answer the same questions (inventories, and row counts and
 * content checksums generated from the source's catalog); a difference is a mismatch. Read-only.
 */
public final class Verify implements StepKind<Verify.Result> {
    public static final Verify KIND = new Verify();
    public static final String MODE = "VERIFY_MODE";
    public static final String MAX_CHECKSUM_MB = "VERIFY_MAX_CHECKSUM_MB";
    public static final String PARALLELISM = "VERIFY_PARALLELISM";
    public static final String STATEMENT_TIMEOUT_SECONDS = "VERIFY_STATEMENT_TIMEOUT_SECONDS";
    /** both; or target, comparing with the source's answers stored by the logical strategy's copy. */
    public static final String SIDES = "VERIFY_SIDES";
    /** Where those answers are, under WORK_DIR. */
    public static final String FACTS_DIR = "VERIFY_FACTS_DIR";
    public static final String STORED_SOURCE_FACTS = "logical/source-facts";
    /** Where the pipeline strategy's copy leaves its proofs (pipeline.sh), under WORK_DIR. */
    public static final String PROVEN_DIR = "VERIFY_PROVEN_DIR";
    public static final String COPY_PROOFS = "copy-proofs";

    /** spec.verification with its defaults. */
    public record Inputs(VerificationSpec.Mode mode, int maxChecksumMb, int parallelism, int statementTimeoutSeconds) {
        public static Inputs of(VerificationSpec v) {
            return new Inputs(VerificationSpec.mode(v),
                    v == null || v.getMaxChecksumTableMegabytes() == null ? VerificationSpec.DEFAULT_MAX_CHECKSUM_MB : v.getMaxChecksumTableMegabytes(),
                    v == null || v.getParallelism() == null ? VerificationSpec.DEFAULT_PARALLELISM : v.getParallelism(),
                    v == null || v.getStatementTimeoutSeconds() == null ? VerificationSpec.DEFAULT_STATEMENT_TIMEOUT_SECONDS
                            : v.getStatementTimeoutSeconds());
        }

        public Map<String, EnvValue> env() {
            return new Env().put(MODE, mode.wireName()).put(MAX_CHECKSUM_MB, maxChecksumMb).put(PARALLELISM, parallelism)
                    .put(STATEMENT_TIMEOUT_SECONDS, statementTimeoutSeconds).build();
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, String mode, Integer databases, Integer tables, Integer mismatchCount,
                         List<String> mismatches, List<String> summaries, Long durationMillis) implements StepResult {
    }

    private Verify() {
    }

    /**
     * Needs both servers' connections. Strategy logical: the target, still at the copy's starting point
     * (its subscriptions are disabled), is compared with the source's answers read at that very point
     * during Replicating, while the source itself has moved on.
     */
    public static StepSpec step(PostgresUpgrade upgrade) {
        Map<String, EnvValue> env = new Env().putAll(Inputs.of(upgrade.getSpec().getVerification()).env())
                .putAll(LogicalSpec.isLogical(upgrade.getSpec()) ? Map.of(SIDES, EnvValue.of("target"), FACTS_DIR, EnvValue.of(STORED_SOURCE_FACTS))
                        : Map.of(SIDES, EnvValue.of("both")))
                .putAll(copyProves(upgrade.getSpec()) ? Map.of(PROVEN_DIR, EnvValue.of(COPY_PROOFS)) : Map.of())
                .build();
        return Steps.of(upgrade, Phase.Verifying, KIND, env, true);
    }

    /**
     * Whether the copy proves the tables it can as it goes (strategy pipeline, when Verifying compares
     * content): the source's rows hashed in flight, the target's read back while the indexes build, so
     * Verifying, inside the downtime, need not read those tables again on both servers.
     */
    public static boolean copyProves(PostgresUpgradeSpec spec) {
        return TransferSpec.strategy(spec) == TransferSpec.Strategy.PIPELINE
                && VerificationSpec.mode(spec.getVerification()) == VerificationSpec.Mode.CHECKSUMS;
    }

    @Override
    public String script() {
        return "verify.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        List<String> summaries = result.summaries() == null ? List.of() : result.summaries();
        List<String> mismatches = result.mismatches() == null ? List.of() : result.mismatches();
        if (result.mismatchCount() == null) {
            return Verdict.failed("the verification step did not report its findings");
        }
        int found = result.mismatchCount();
        String checked = Figures.count(result.databases(), "database") + ", " + Figures.count(result.tables(), "table") + " (" + result.mode() + ")";
        if (found == 0) {
            return Verdict.ok("target matches the source: " + checked).withDetails(summaries, List.of()).withMismatches(0);
        }
        String what = Figures.count(found, "mismatch") + " between source and target (" + checked + ")"
                + (mismatches.isEmpty() ? "" : ", first: " + mismatches.get(0));
        if (VerificationSpec.warnOnly(spec.getVerification())) {
            return Verdict.ok("WARNING: " + what + "; going on because verification.onMismatch is warn").withDetails(summaries, mismatches).withMismatches(found);
        }
        return Verdict.failed("the target does not match the source: " + what).withDetails(summaries, mismatches).withMismatches(found);
    }
}
