package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.steps.database.Restore;
import dev.pgupgrade.steps.database.Transfer;
import dev.pgupgrade.steps.database.Verify;
import java.util.List;

/**
 * Replicating (logical-copy.sh): publications and slots on the source, the copy into the target at
 * the slots' starting point (pipeline.sh, judged as Restoring's), the source's answers for Verifying
 * read at that same point, and the subscriptions, disabled. Writes to the target, so never started
 * twice by itself: a failure rolls back, which removes what it created.
 */
public final class LogicalCopy implements StepKind<LogicalCopy.Result>, SharesWorkFiles {
    public static final LogicalCopy KIND = new LogicalCopy();
    public static final String REPLICA_IDENTITY_FULL = "LOGICAL_REPLICA_IDENTITY_FULL";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Restore.Result copy, Integer databases, Integer identityFull, Long durationMillis,
                         List<String> consistentPoints) implements StepResult {
    }

    private LogicalCopy() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        return Steps.of(upgrade, Phase.Replicating, KIND, new Env().putAll(Replication.env(upgrade))
                .put(REPLICA_IDENTITY_FULL, LogicalSpec.allowsReplicaIdentityFull(spec.getLogical()))
                .putAll(Restore.pipelineEnv(Transfer.of(spec.getTransfer())))
                .putAll(Verify.Inputs.of(spec.getVerification()).env()).build(), false);
    }

    @Override
    public String script() {
        return "logical-copy.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        if (result.copy() == null) {
            return Verdict.failed("the copy did not report what it restored");
        }
        Verdict copied = Restore.PIPELINE.judge(result.copy(), spec);
        if (!copied.ok()) {
            return copied;
        }
        return copied.withOutcome(true, "copied " + Figures.count(result.databases(), "database") + " at their slots' starting points ("
                + copied.message() + ")" + (result.identityFull() == null || result.identityFull() == 0 ? ""
                : "; " + Figures.count(result.identityFull(), "table") + " without a key set to REPLICA IDENTITY FULL until the cutover")
                + "; subscriptions created, disabled until Verifying compared the copy");
    }
}
