package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Validating, strategy logical (logical-check.sh), before Validating's own step: whether logical
 * replication can carry this cluster. Every reason to refuse is listed at once, with what to do;
 * nothing is touched on either server.
 */
public final class LogicalCheck implements StepKind<LogicalCheck.Result> {
    public static final LogicalCheck KIND = new LogicalCheck();

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer sourceVersionNum, String walLevel, Integer maxReplicationSlots,
                         Integer usedReplicationSlots, Integer maxWalSenders, Integer usedWalSenders, String sourceSuperuser,
                         Integer targetVersionNum, Integer targetMaxLogicalWorkers, Integer targetMaxWorkerProcesses, String targetSuperuser,
                         Integer databases, Integer keylessCount, List<String> keyless, Integer fullCount, List<String> full,
                         Integer unloggedCount, List<String> unlogged, Integer triggerCount, List<String> trigger,
                         Integer largeobjectsCount, List<String> largeobjects, Integer pglogicalnodeCount, List<String> pglogicalnode)
            implements StepResult {
    }

    private LogicalCheck() {
    }

    /** Read-only on both servers: rerunnable. */
    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.before(upgrade, Names.replicationCheckStep(upgrade.getStatus()), Phase.Validating, KIND, Replication.env(upgrade));
    }

    @Override
    public String script() {
        return "logical-check.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result r, PostgresUpgradeSpec spec) {
        if (r.sourceVersionNum() == null) {
            return Verdict.failed("the replication check did not report the source's version");
        }
        if (r.sourceVersionNum() < 100000) {
            return Verdict.failed("strategy logical needs a source of PostgreSQL 10 or newer (this one is "
                    + r.sourceVersionNum() / 10000 + "); use a dump strategy (parallel, pipeline...) instead");
        }
        List<String> problems = new ArrayList<>();
        int databases = r.databases() == null ? 0 : r.databases();
        if (!"logical".equals(r.walLevel())) {
            problems.add("the source's wal_level is " + r.walLevel() + ", not logical: set wal_level = logical and restart the source");
        }
        if (!"t".equals(r.sourceSuperuser())) {
            problems.add("the source's connecting role is not a superuser: publishing every table (FOR ALL TABLES), freezing writes "
                    + "and reading every row need one");
        }
        // No target facts on platform aptible: the replica does not exist yet, and db:replicate --logical sets it up itself
        boolean target = r.targetVersionNum() != null;
        if (target && !"t".equals(r.targetSuperuser())) {
            problems.add("the target's connecting role is not a superuser: creating subscriptions needs one");
        }
        int freeSlots = nz(r.maxReplicationSlots()) - nz(r.usedReplicationSlots());
        if (freeSlots < databases) {
            problems.add("the source has " + freeSlots + " free replication slots (max_replication_slots " + nz(r.maxReplicationSlots())
                    + ", " + nz(r.usedReplicationSlots()) + " in use) for " + Figures.count(databases, "database")
                    + ": raise max_replication_slots (a restart)");
        }
        int freeSenders = nz(r.maxWalSenders()) - nz(r.usedWalSenders());
        if (freeSenders < databases) {
            problems.add("the source has " + freeSenders + " free WAL senders (max_wal_senders " + nz(r.maxWalSenders()) + ") for "
                    + Figures.count(databases, "database") + ": raise max_wal_senders (a restart)");
        }
        if (target && nz(r.targetMaxLogicalWorkers()) < databases + 1) {
            problems.add("the target's max_logical_replication_workers is " + nz(r.targetMaxLogicalWorkers()) + ", it needs at least "
                    + (databases + 1) + " (one apply worker per database, and the launcher): raise it (a restart)");
        }
        boolean full = LogicalSpec.allowsReplicaIdentityFull(spec.getLogical());
        if (!full) {
            listed(problems, r.keylessCount(), r.keyless(), "table", "have", "no primary key or replica identity, so their UPDATEs and DELETEs "
                    + "cannot be replicated: add a primary key, or allow REPLICA IDENTITY FULL for them during the upgrade "
                    + "(spec.logical.allowReplicaIdentityFull: true; every change of them is then a scan on the target)");
        }
        listed(problems, r.unloggedCount(), r.unlogged(), "unlogged table", "are", "unlogged, so their writes never reach the WAL "
                + "replication reads: ALTER TABLE ... SET LOGGED, or use a dump strategy");
        listed(problems, r.triggerCount(), r.trigger(), "trigger", "are", "ENABLE ALWAYS or ENABLE REPLICA, so they would fire again on the "
                + "target for every replicated row: disable them for the upgrade (ALTER TABLE ... ENABLE TRIGGER)");
        listed(problems, r.largeobjectsCount(), r.largeobjects(), "database", "hold", "large objects, which logical replication does not "
                + "carry: use a dump strategy");
        if (spec.getPlatform() == Platform.APTIBLE) {
            listed(problems, r.pglogicalnodeCount(), r.pglogicalnode(), "database", "hold", "a pglogical node already, so aptible db:replicate "
                    + "--logical would fail to set up (a failed earlier attempt leaves one): drop it (SELECT pglogical.drop_node(...), "
                    + "Aptible's guide: Cleanup) and run the upgrade again");
        }
        if (!problems.isEmpty()) {
            return Verdict.failed("logical replication cannot carry this cluster: " + String.join("; ", problems));
        }
        int fullTables = nz(r.fullCount()) + (full ? nz(r.keylessCount()) : 0);
        String fullNote = fullTables == 0 ? "" : "; " + Figures.count(fullTables, "table") + " with REPLICA IDENTITY FULL (each change "
                + "is a scan on the target)";
        return Verdict.ok("logical replication can carry " + Figures.count(databases, "database") + ": wal_level logical, "
                + freeSlots + " free slots" + fullNote);
    }

    private static void listed(List<String> problems, Integer count, List<String> items, String noun, String verb, String why) {
        if (count == null || count == 0) {
            return;
        }
        List<String> shown = items == null ? List.of() : items;
        problems.add(Figures.count(count, noun) + " " + verb + " " + why + " (" + String.join(", ", shown)
                + (count > shown.size() ? ", ..." : "") + ")");
    }

    private static int nz(Integer n) {
        return n == null ? 0 : n;
    }
}
