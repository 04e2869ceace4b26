package dev.pgupgrade.engine;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ProgressStatus;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.steps.Figures;
import java.util.Locale;
import java.util.List;

/**
 * The sentences status.message is made of: what happens now, and after a failure what went wrong and
 * what to do. One place, so the same situation always reads the same, in the CLI and in kubectl.
 */
final class StatusMessages {
    private StatusMessages() {
    }

    /** What the phase does, for a phase that is starting. */
    static String describe(Phase phase, PostgresUpgrade upgrade) {
        String target = upgrade.getSpec().getTarget().getVersion();
        return switch (phase) {
            case Validating -> "Validating: checking that both servers answer and their versions fit";
            case SchemaCheck -> "SchemaCheck: restoring the source's schema into a throwaway PostgreSQL " + target;
            case Rehearsal -> "Rehearsal: restoring a backup into temporary databases to time the dump and the restore";
            case ProvisioningTarget -> "ProvisioningTarget: creating the target database (or adopting an existing empty one)";
            case AwaitingApproval -> "AwaitingApproval: nothing is down yet; set the annotation " + ApprovalSpec.ANNOTATION
                    + "=" + attempt(upgrade.getStatus()) + " to start the downtime" + estimate(upgrade.getStatus());
            case DeprovisioningSource -> "DeprovisioningSource: deprovisioning the source database, as the spec asks";
            case Replicating -> "Replicating: copying the source at the starting point of new replication slots while the apps run";
            case CatchingUp -> "CatchingUp: the target applies what the source wrote since the copy; the apps still run on the source";
            case Cutover -> "Cutover: freezing writes on the source, waiting for the target to apply the last of them, setting sequences";
            case ScalingDown -> "ScalingDown: recording the services' replicas and scaling them to zero";
            case Dumping -> "Dumping: pg_dumpall of the source";
            case Restoring -> "Restoring: loading the dump into the target";
            case Verifying -> "Verifying: comparing the target with the source before any app uses it";
            case Repointing -> "Repointing: pointing the services at the target";
            case ScalingUp -> "ScalingUp: scaling the services back to their recorded replicas";
            case Analyzing -> "Analyzing: VACUUM ANALYZE in every database of the target";
            case RollingBack -> "RollingBack: bringing the services back on the source";
            case Succeeded -> "Succeeded";
            case Failed -> "Failed";
            case RolledBack -> "RolledBack";
        };
    }

    /** @param replication whether the logical strategy's replication (or freeze) is there to undo */
    static String failure(Phase failed, Phase next, String why, boolean replication) {
        String what = failed + " failed: " + why + ".";
        return switch (next) {
            case RollingBack -> what + (replication ? " Rolling back: the replication is removed, the source unfrozen, the services back on it."
                    : " Rolling back: the services return to the source, which was only ever read.");
            case Failed -> what + " " + advice(failed);
            default -> what;
        };
    }

    private static String advice(Phase failed) {
        return switch (failed) {
            case Validating, SchemaCheck, ScalingDown, Dumping ->
                    "Nothing was written to the source or the target. Fix the cause and run the upgrade again.";
            case Restoring, Verifying, Repointing ->
                    "The source was only read and is intact; the target may hold a partial restore: drop the databases and roles it restored before running the upgrade again.";
            case Replicating, CatchingUp, Cutover ->
                    "The source is intact; the target may hold a partial copy: drop the databases and roles it received before running the upgrade again.";
            case Rehearsal, ProvisioningTarget, AwaitingApproval ->
                    "No app was touched and nothing is down. Fix the cause and run the upgrade again.";
            case ScalingUp -> "The data is on the target and the services point at it: scale them up by hand.";
            case DeprovisioningSource -> "The upgrade itself is complete and the apps use the target; deprovision the source by hand when it suits you.";
            case Analyzing -> "The data is on the target and the services use it: run VACUUM ANALYZE on the target by hand.";
            case RollingBack -> "The rollback did not finish: check the services and scale them back by hand.";
            default -> "";
        };
    }

    /** " (the rehearsal expects N s of downtime; see status.estimate)" when a rehearsal measured it, else "". */
    static String estimate(PostgresUpgradeStatus status) {
        if (status == null || status.getEstimate() == null || status.getEstimate().getDowntimeSeconds() == null) {
            return "";
        }
        return String.format(Locale.ROOT, " (the rehearsal expects %.0f s of downtime; see status.estimate)",
                status.getEstimate().getDowntimeSeconds());
    }

    static String rolledBack(PostgresUpgradeStatus status) {
        String cause = status.getSteps().stream()
                .filter(s -> s.getPhase() == status.getFailedPhase() && s.getState() == StepState.Failed)
                .reduce((first, second) -> second).map(StepStatus::getMessage).orElse("see the step history");
        boolean targetGone = status.getTarget() != null && Boolean.TRUE.equals(status.getTarget().getDeprovisioned());
        return "Rolled back after " + status.getFailedPhase() + " failed: " + cause
                + ". The services run on the source again with their recorded replicas; the source was only read."
                + ((status.getFailedPhase() == Phase.Restoring || status.getFailedPhase() == Phase.Verifying) && !targetGone
                    ? " The target may hold a partial restore: drop the databases and roles it restored before retrying." : "");
    }

    /** @param frozen whether the cutover froze the source (strategy logical) */
    static String succeeded(PostgresUpgradeStatus status, Double seconds, boolean frozen) {
        return "Upgraded PostgreSQL " + status.getSourceVersion() + " to " + status.getTargetVersion()
                + (seconds != null ? " in " + String.format(Locale.ROOT, "%.1f s", seconds) : "")
                + (frozen ? ". The source's databases stay frozen (they accept no connection), so nothing writes to the old server by mistake: "
                        + "ALTER DATABASE ... ALLOW_CONNECTIONS true from template1 opens one (docs/online.md); decommission it when you no longer need it."
                        : ". The source was left as it was: decommission it when you no longer need it.");
    }

    static String retrying(PostgresUpgradeStatus status, PostgresUpgrade upgrade) {
        return "Retrying (attempt " + status.getAttempt() + ") after the spec changed. " + describe(Phase.Validating, upgrade);
    }

    static String restartedForNewSpec(Phase was, PostgresUpgradeStatus status, PostgresUpgrade upgrade) {
        return "The spec changed during " + was + ", before any downtime: validating it again (attempt "
                + status.getAttempt() + "). " + describe(Phase.Validating, upgrade);
    }

    static String deletedDuring(Phase phase, boolean replication) {
        return "The PostgresUpgrade is being deleted during " + phase + ": rolling back first ("
                + (replication ? "replication removed, the source unfrozen, " : "") + "services back on the source) before it goes.";
    }

    static String specChangedAfterSuccess(Long generation) {
        return "the spec changed (generation " + generation + ") after the upgrade succeeded: nothing was redone; "
                + "to upgrade again, create a new PostgresUpgrade";
    }

    static String rejected(List<String> problems) {
        return "The spec is invalid: " + String.join("; ", problems) + ". Nothing was touched: correct the spec to retry.";
    }

    static int attempt(PostgresUpgradeStatus status) {
        return status == null || status.getAttempt() == null ? 1 : status.getAttempt();
    }

    /** The WalRetained condition's message. */
    static String walRetained(ReplicationStatus replication, boolean overWarning, int warnMegabytes, int maxMegabytes) {
        String retained = Figures.bytes(replication.getRetainedBytes() == null ? 0L : replication.getRetainedBytes());
        if (overWarning) {
            return "our replication slots make the source keep " + retained + " of WAL, over spec.logical.warnRetainedWalMegabytes ("
                    + warnMegabytes + " MiB); past maxRetainedWalMegabytes (" + maxMegabytes + " MiB) the upgrade stops and removes them. "
                    + "The target is " + Figures.bytes(replication.getLagBytes()) + " behind: see status.progress.replication for the slowest "
                    + "database, or approve the cutover sooner";
        }
        return "our replication slots make the source keep " + retained + " of WAL (warning past " + warnMegabytes + " MiB)";
    }

    /** The watch's step record once the approval stopped it. */
    static String watchStopped(ProgressStatus last) {
        return "watched the replication until the approval" + (last == null || last.getReplication() == null ? ""
                : "; last seen: " + Progress.replicationSummary(last.getReplication()));
    }

    /** A step stopped because the upgrade left its phase while it ran. */
    static String stoppedBehind(Phase its, Phase now, String why) {
        String because = why == null ? "" : why.startsWith(now + ": ") ? why.substring(now.name().length() + 2) : why;
        return "stopped: the upgrade left " + its + " for " + now + " while this step ran" + (because.isBlank() ? "" : " (" + because.strip() + ")");
    }
}
