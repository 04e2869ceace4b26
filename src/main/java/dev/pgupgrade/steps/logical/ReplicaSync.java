package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.api.TargetStatus;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.List;

/**
 * Replicating on platform aptible (logical-replica-sync.sh): the replica db:replicate --logical made
 * copies the tables itself; this step finds its replication (a subscription per database, the slot it
 * reads on the source), then waits until every table is synchronized. Only reads: rerunnable. The
 * slots go into status, so that every later step, and any rollback, knows what to drop on the source.
 */
public final class ReplicaSync implements StepKind<ReplicaSync.Result> {
    public static final ReplicaSync KIND = new ReplicaSync();

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer databases, Integer tables, String kinds, List<String> slots, Long lagBytes,
                         Long durationMillis) implements StepResult {
    }

    private ReplicaSync() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.Replicating, KIND, new Env().putAll(Replication.env(upgrade))
                .put(CatchUp.MAX_RETAINED_MB, LogicalSpec.maxRetainedWalMegabytes(Replication.spec(upgrade)))
                .put(CatchUp.LOOK_SECONDS, 1)
                .put(CatchUp.REPORTED_DATABASES, ReplicationStatus.MAX_DATABASES).build(), true);
    }

    @Override
    public String script() {
        return "logical-replica-sync.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        if (result.slots() == null || result.slots().isEmpty()) {
            return Verdict.failed("the replication check found no replication slot of the replica on the source");
        }
        return Verdict.ok("the replica synchronized " + Figures.count(result.tables(), "table") + " of "
                + Figures.count(result.databases(), "database") + " (" + (result.kinds() == null ? "logical" : result.kinds())
                + " replication, " + Figures.count(result.slots().size(), "slot") + " on the source)");
    }

    @Override
    public void record(Result result, boolean ok, StatusFacts facts) {
        if (result.slots() == null || result.slots().isEmpty()) {
            return;
        }
        TargetStatus target = facts.status().getTarget();
        if (target == null) {
            target = new TargetStatus();
            target.setHandle(facts.spec().getTarget().getHandle());
            facts.status().setTarget(target);
        }
        target.setReplicationSlots(List.copyOf(result.slots().stream().filter(s -> s.matches("[A-Za-z0-9_]{1,63}")).toList()));
    }
}
