package dev.pgupgrade.steps.aptible;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.AptibleSpec;
import dev.pgupgrade.api.EstimateStatus;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.RestoreErrors;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.steps.database.Dump;
import dev.pgupgrade.steps.database.Restore;
import dev.pgupgrade.steps.database.Transfer;
import java.util.List;

/**
 * Rehearsal (aptible-rehearsal.sh), the runbook's "test the upgrade": a backup restored into a
 * temporary database at the source's size, a temporary target, the strategy's own dump (twice, the
 * second timed) and restore (timed, errors judged like the real one); both temporaries removed however
 * the step ends. The timings become status.estimate.
 */
public final class Rehearsal implements StepKind<Rehearsal.Result> {
    public static final Rehearsal KIND = new Rehearsal();
    public static final String PREFIX = "REHEARSAL_PREFIX";
    public static final String SOURCE_HANDLE = "REHEARSAL_SOURCE_HANDLE";
    public static final String TARGET_HANDLE = "REHEARSAL_TARGET_HANDLE";
    /** Optional: the latest backup when absent. */
    public static final String BACKUP_ID = "REHEARSAL_BACKUP_ID";
    public static final String DUMP_SCRIPT = "REHEARSAL_DUMP_SCRIPT";
    public static final String RESTORE_SCRIPT = "REHEARSAL_RESTORE_SCRIPT";
    public static final String STARTED_AT = "UPGRADE_STARTED_AT";
    public static final String PURGE_ORPHANED_BACKUPS = "PURGE_ORPHANED_BACKUPS";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer errorCount, List<String> errorLines, List<String> preexistingRoles,
                         List<String> preexistingDatabases, Long bytes, String backupId, Long dumpMillis, Long restoreMillis)
            implements StepResult, RestoreErrors {
    }

    private Rehearsal() {
    }

    /** The temporaries are named after the resource and the attempt, so a rerun finds (and removes) its own leftovers. */
    public static StepSpec step(PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        String backup = RehearsalSpec.isEnabled(spec.getRehearsal()) ? spec.getRehearsal().getBackupId() : null;
        // The rehearsal times the strategy's own dump and restore; the streaming strategies have no
        // separate dump, so they are rehearsed as the runbook's (an upper bound).
        boolean parallel = TransferSpec.strategy(spec) == TransferSpec.Strategy.PARALLEL;
        Env env = new Env().putAll(Aptible.common(spec)).putAll(Provision.sizes(spec)).putAll(Transfer.of(spec.getTransfer()).env())
                .put(PREFIX, Names.rehearsalPrefix(upgrade))
                .put(STARTED_AT, String.valueOf(upgrade.getStatus().getStartedAt()))
                .put(SOURCE_HANDLE, Names.rehearsalSource(upgrade))
                .put(TARGET_HANDLE, Names.rehearsalTarget(upgrade))
                .putIfPresent(BACKUP_ID, backup)
                .put(PURGE_ORPHANED_BACKUPS, AptibleSpec.purgesBackups(spec.getAptible()))
                .put(DUMP_SCRIPT, (parallel ? Dump.PARALLEL : Dump.RUNBOOK).script())
                .put(RESTORE_SCRIPT, (parallel ? Restore.PARALLEL : Restore.RUNBOOK).script());
        return Steps.of(upgrade, Phase.Rehearsal, KIND, env.build(), true);
    }

    @Override
    public String script() {
        return "aptible-rehearsal.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        if (result.dumpMillis() == null || result.restoreMillis() == null) {
            return Verdict.failed("the rehearsal did not report its timings");
        }
        String timing = "rehearsal with backup " + result.backupId() + ": dump " + Figures.seconds(result.dumpMillis()) + ", restore "
                + Figures.seconds(result.restoreMillis()) + ", expected downtime " + Figures.seconds(result.dumpMillis() + result.restoreMillis());
        return RestoreErrors.judge(result, timing, "the rehearsal's restore into a temporary PostgreSQL target reported errors");
    }

    @Override
    public void record(Result result, boolean ok, StatusFacts facts) {
        if (ok && result.dumpMillis() != null && result.restoreMillis() != null) {
            EstimateStatus estimate = new EstimateStatus();
            estimate.setBackupId(result.backupId());
            estimate.setDumpSeconds(result.dumpMillis() / 1000.0);
            estimate.setRestoreSeconds(result.restoreMillis() / 1000.0);
            estimate.setDowntimeSeconds((result.dumpMillis() + result.restoreMillis()) / 1000.0);
            estimate.setBytes(result.bytes());
            estimate.setMeasuredAt(facts.now());
            facts.status().setEstimate(estimate);
        }
    }
}
