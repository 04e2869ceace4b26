package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.TargetStatus;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.Arrays;
import java.util.List;

/**
 * Replicating on platform aptible (logical-replica-sync.sh): the replica db:replicate --logical made
 * copies the tables itself; this step finds its replication (a subscription per database, the slot it
 * reads on the source), then waits until every table is synchronized. Only reads: rerunnable. The
 * slots go into status, so that every later step, and any rollback, knows what to drop on the source;
 * what else the replication put on the source (publications, pglogical's provider node) goes into the
 * working files the cleanup reads, even once the replica is gone.
 */
public final class ReplicaSync implements StepKind<ReplicaSync.Result>, SharesWorkFiles {
    public static final ReplicaSync KIND = new ReplicaSync();

    @JsonIgnoreProperties(ignoreUnknown = true)
    /** {@code slots}: space-separated, reported as soon as they are found (also by a failure), however many. */
    public record Result(boolean ok, String message, Integer databases, Integer tables, String kinds, String slots, Long lagBytes,
                         Long durationMillis) implements StepResult {
        List<String> slotNames() {
            return slots == null ? List.of() : Arrays.stream(slots.trim().split("\\s+")).filter(s -> s.matches("[A-Za-z0-9_]{1,63}")).toList();
        }
    }

    private ReplicaSync() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        // the catch-up's watch of the slots (lag, retained WAL and its limit, what progress names), looking every second
        return Steps.of(upgrade, Phase.Replicating, KIND, CatchUp.env(upgrade, false, 1), true);
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
        int slots = result.slotNames().size();
        if (slots == 0 || result.databases() == null || slots != result.databases()) {
            return Verdict.failed("the replica's replication has " + Figures.count(slots, "slot") + " on the source for "
                    + Figures.count(result.databases(), "database") + ": one per database is needed");
        }
        return Verdict.ok("the replica synchronized " + Figures.count(result.tables(), "table") + " of "
                + Figures.count(result.databases(), "database") + " (" + (result.kinds() == null ? "logical" : result.kinds())
                + " replication, " + Figures.count(slots, "slot") + " on the source)");
    }

    /** Also after a failure: what was found is what the rollback must drop. */
    @Override
    public void record(Result result, boolean ok, StatusFacts facts) {
        if (result.slotNames().isEmpty()) {
            return;
        }
        TargetStatus target = facts.status().getTarget();
        if (target == null) {
            target = new TargetStatus();
            target.setHandle(facts.spec().getTarget().getHandle());
            facts.status().setTarget(target);
        }
        target.setReplicationSlots(result.slotNames());
    }
}
