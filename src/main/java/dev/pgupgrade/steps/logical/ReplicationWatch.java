package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Verdict;
import java.time.Duration;

/**
 * The watch while AwaitingApproval waits (logical-catch-up.sh with LOGICAL_WATCH=1): the same look
 * at the replication as CatchingUp's, every {@link #LOOK_SECONDS} s, for as long as the wait lasts
 * (days, maybe). It keeps status.progress.replication current through restarts of the operator (the
 * step's Job holds the connections, not the operator), stops the upgrade when our slots keep more
 * WAL than allowed or a subscription keeps failing, and never ends by itself: the driver stops it at
 * the approval. Only reads (and enables what is enabled already): rerunnable.
 */
public final class ReplicationWatch implements StepKind<ReplicationWatch.Result> {
    public static final ReplicationWatch KIND = new ReplicationWatch();
    public static final int LOOK_SECONDS = 5;
    /** Longer than any wait for an approval: the step's Job must not be stopped by its deadline. */
    public static final Duration TIMEOUT = Duration.ofDays(366);

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message) implements StepResult {
    }

    private ReplicationWatch() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        return new StepSpec(Names.replicationWatchStep(upgrade.getStatus()), Phase.AwaitingApproval, KIND,
                CatchUp.env(upgrade, true, LOOK_SECONDS), TIMEOUT, true, false);
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
        // The watch ends only by failing; an end without one is not a reason to stop the upgrade.
        return Verdict.ok("the replication watch ended");
    }
}
