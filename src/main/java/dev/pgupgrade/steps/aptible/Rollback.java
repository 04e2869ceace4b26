package dev.pgupgrade.steps.aptible;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.AptibleSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;

/**
 * RollingBack on Aptible (aptible-rollback.sh): variables back to the source's URL if Repointing
 * started, services to their recorded counts, the target deprovisioned if this attempt created it
 * (and its final backups purged when asked). What to undo is decided here, from status alone.
 */
public final class Rollback implements StepKind<Rollback.Result> {
    public static final Rollback KIND = new Rollback();
    public static final String RESTORE_CONFIG = "RESTORE_CONFIG";
    public static final String DEPROVISION_TARGET = "DEPROVISION_TARGET";
    public static final String STARTED_AT = "UPGRADE_STARTED_AT";
    public static final String PURGE_ORPHANED_BACKUPS = "PURGE_ORPHANED_BACKUPS";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Boolean targetDeprovisioned) implements StepResult {
    }

    private Rollback() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        PostgresUpgradeStatus status = upgrade.getStatus();
        PostgresUpgradeSpec spec = upgrade.getSpec();
        // ours: recorded as created by this upgrade, for this very handle, and provisioned in this attempt
        boolean ours = status.getTarget() != null && Boolean.TRUE.equals(status.getTarget().getCreatedByUpgrade())
                && spec.getTarget().getHandle().equals(status.getTarget().getHandle())
                && started(status, Phase.ProvisioningTarget);
        return Steps.of(upgrade, Phase.RollingBack, KIND, new Env().putAll(Aptible.common(spec)).putAll(Aptible.apps(spec))
                .putAll(Aptible.recordedCounts(status))
                .put(RESTORE_CONFIG, started(status, Phase.Repointing))
                .put(STARTED_AT, String.valueOf(status.getStartedAt()))
                .put(DEPROVISION_TARGET, ours)
                .put(PURGE_ORPHANED_BACKUPS, AptibleSpec.purgesBackups(spec.getAptible())).build(), true);
    }

    /** Whether the phase ran (or started) in the current attempt. */
    private static boolean started(PostgresUpgradeStatus status, Phase phase) {
        int attempt = status.getAttempt() == null ? 1 : status.getAttempt();
        return status.getSteps().stream().filter(s -> s.getPhase() == phase)
                .filter(s -> s.getAttempt() == null || s.getAttempt() == attempt)
                .anyMatch(s -> s.getState() != null && s.getState() != StepState.Skipped);
    }

    @Override
    public String script() {
        return "aptible-rollback.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return Verdict.ok(result.message() != null ? result.message() : "done");
    }

    @Override
    public void record(Result result, boolean ok, StatusFacts facts) {
        if (Boolean.TRUE.equals(result.targetDeprovisioned()) && facts.status().getTarget() != null) {
            facts.status().getTarget().setDeprovisioned(true);
        }
    }
}
