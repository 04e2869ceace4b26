package dev.pgupgrade.platform;

import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.AptibleSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.StepScripts;
import dev.pgupgrade.steps.StepSpec;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Aptible databases and apps, through the aptible CLI inside the step (a Job pod with the toolbox
 * image, or a local process). Every phase is a step script; the database work reuses the direct
 * platform's scripts behind {@code aptible db:tunnel} (aptible-tunnels.sh opens the tunnels, exports
 * SOURCE_URL/TARGET_URL and runs the inner script). Handles, environments and variable names reach
 * the scripts as environment variables only, and the CRD and the validator restrict them to
 * characters no shell reads as syntax.
 */
public final class AptiblePlatform implements UpgradePlatform {
    /** The role Aptible databases are reached with; the runbook's password filter keeps the target's. */
    public static final String APTIBLE_ROLE = "aptible";

    @Override
    public PhaseWork work(Phase phase, PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        return switch (phase) {
            case Validating -> run(upgrade, phase, StepScripts.APTIBLE_VALIDATE, true, apps(spec));
            case SchemaCheck -> tunnels(upgrade, phase, StepScripts.SCHEMA_CHECK, "source", true,
                    Map.of("TARGET_MAJOR", EnvValue.of(spec.getTarget().getVersion())));
            case Rehearsal -> run(upgrade, phase, StepScripts.APTIBLE_REHEARSAL, true, rehearsal(upgrade), DirectPlatform.transfer(spec));
            case ProvisioningTarget -> run(upgrade, phase, StepScripts.APTIBLE_PROVISION, true, provisioning(spec));
            case AwaitingApproval -> new PhaseWork.AwaitApproval();
            case ScalingDown -> scalingDown(upgrade);
            case Dumping -> switch (TransferSpec.strategy(spec.getTransfer())) {
                case DUMPALL -> tunnels(upgrade, phase, StepScripts.DUMP, "source", true, Map.of("TARGET_USER", EnvValue.of(APTIBLE_ROLE)));
                case PARALLEL -> tunnels(upgrade, phase, StepScripts.DUMP_PARALLEL, "source", true,
                        Map.of("TARGET_USER", EnvValue.of(APTIBLE_ROLE)), DirectPlatform.transfer(spec));
                case STREAM -> new PhaseWork.NothingToDo("strategy stream: the dump streams into the target during Restoring");
                case PIPELINE -> new PhaseWork.NothingToDo("strategy pipeline: the tables are copied straight into the target during Restoring");
            };
            // A second restore over a half-finished one would fail on, or duplicate, what the first wrote.
            case Restoring -> switch (TransferSpec.strategy(spec.getTransfer())) {
                case DUMPALL -> tunnels(upgrade, phase, StepScripts.RESTORE, "target", false, DirectPlatform.transfer(spec));
                case PARALLEL -> tunnels(upgrade, phase, StepScripts.RESTORE_PARALLEL, "target", false, DirectPlatform.transfer(spec));
                case STREAM -> tunnels(upgrade, phase, StepScripts.STREAM, "source target", false, DirectPlatform.transfer(spec));
                case PIPELINE -> tunnels(upgrade, phase, StepScripts.PIPELINE, "source target", false, DirectPlatform.transfer(spec));
            };
            case Verifying -> tunnels(upgrade, phase, StepScripts.VERIFY, "source target", true, DirectPlatform.verification(spec));
            case Repointing -> spec.getAptible().getApps().isEmpty() ? new PhaseWork.NothingToDo("no apps declared")
                    : run(upgrade, phase, StepScripts.APTIBLE_REPOINT, true, apps(spec));
            case ScalingUp -> spec.getAptible().getApps().isEmpty() ? new PhaseWork.NothingToDo("no apps declared")
                    : run(upgrade, phase, StepScripts.APTIBLE_SERVICES, true, recordedCounts(upgrade.getStatus()), apps(spec),
                    Map.of("SERVICES_ACTION", EnvValue.of("up")));
            case Analyzing -> tunnels(upgrade, phase, StepScripts.ANALYZE, "target", true, DirectPlatform.transfer(spec));
            case DeprovisioningSource -> run(upgrade, phase, StepScripts.APTIBLE_DEPROVISION_SOURCE, true);
            case RollingBack -> run(upgrade, phase, StepScripts.APTIBLE_ROLLBACK, true, rollback(upgrade));
            case Succeeded, Failed, RolledBack -> throw new IllegalArgumentException(phase + " is terminal");
        };
    }

    /**
     * ScalingDown in two steps, so that the counts are in status before anything changes: an
     * inventory step reads every service's container count, the engine records them, then the phase's
     * own step scales them to zero. A restarted driver never reads counts again once recorded.
     */
    private static PhaseWork scalingDown(PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        if (spec.getAptible().getApps().isEmpty()) {
            return new PhaseWork.NothingToDo("no apps declared");
        }
        String inventory = inventoryStepName(upgrade.getStatus());
        boolean recorded = upgrade.getStatus().getSteps().stream()
                .anyMatch(s -> inventory.equals(s.getName()) && s.getState() == StepState.Succeeded);
        if (!recorded) {
            return new PhaseWork.RunStep(DirectPlatform.step(upgrade, inventory, Phase.ScalingDown, StepScripts.APTIBLE_SERVICES, true, false,
                    common(spec), apps(spec), Map.of("SERVICES_ACTION", EnvValue.of("inventory"))));
        }
        return run(upgrade, Phase.ScalingDown, StepScripts.APTIBLE_SERVICES, true, recordedCounts(upgrade.getStatus()), apps(spec),
                Map.of("SERVICES_ACTION", EnvValue.of("down")));
    }

    public static String inventoryStepName(PostgresUpgradeStatus status) {
        return DirectPlatform.stepName(Phase.ScalingDown, status) + "-inventory";
    }

    /** The recorded counts, one "app service count" line each: what ScalingUp and a rollback restore. */
    private static Map<String, EnvValue> recordedCounts(PostgresUpgradeStatus status) {
        String lines = status.getServices().stream()
                .filter(s -> ServiceStatus.APTIBLE_SERVICE.equals(s.getKind()))
                .map(s -> s.getApp() + " " + s.getName() + " " + s.getReplicas())
                .collect(Collectors.joining("\n"));
        return Map.of("SERVICE_COUNTS", EnvValue.of(lines));
    }

    /** One "handle environment VARIABLE" line per app. */
    private static Map<String, EnvValue> apps(PostgresUpgradeSpec spec) {
        String lines = spec.getAptible().getApps().stream()
                .map(a -> a.getHandle() + " " + appEnvironment(spec, a) + " " + a.getConfigVariable())
                .collect(Collectors.joining("\n"));
        return Map.of("APPS", EnvValue.of(lines));
    }

    private static String appEnvironment(PostgresUpgradeSpec spec, AptibleAppSpec app) {
        return app.getEnvironment() != null ? app.getEnvironment() : spec.getSource().getEnvironment();
    }

    public static String targetEnvironment(PostgresUpgradeSpec spec) {
        return spec.getTarget().getEnvironment() != null ? spec.getTarget().getEnvironment() : spec.getSource().getEnvironment();
    }

    private static Map<String, EnvValue> provisioning(PostgresUpgradeSpec spec) {
        Map<String, EnvValue> env = new HashMap<>();
        env.put("TARGET_DISK_SIZE_GB", EnvValue.of(Integer.toString(spec.getTarget().getDiskSizeGB())));
        if (spec.getTarget().getContainerSizeMB() != null) {
            env.put("TARGET_CONTAINER_SIZE_MB", EnvValue.of(Integer.toString(spec.getTarget().getContainerSizeMB())));
        }
        return env;
    }

    /** The temporaries are named after the resource and the attempt, so a rerun finds (and removes) its own leftovers. */
    private static Map<String, EnvValue> rehearsal(PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        PostgresUpgradeStatus status = upgrade.getStatus();
        String base = upgrade.getMetadata().getName() + "-rh" + (status.getAttempt() == null ? 1 : status.getAttempt());
        Map<String, EnvValue> env = new HashMap<>(provisioning(spec));
        env.put("REHEARSAL_PREFIX", EnvValue.of(upgrade.getMetadata().getName() + "-rh"));
        env.put("UPGRADE_STARTED_AT", EnvValue.of(String.valueOf(status.getStartedAt())));
        env.put("REHEARSAL_SOURCE_HANDLE", EnvValue.of(base + "-src"));
        env.put("REHEARSAL_TARGET_HANDLE", EnvValue.of(base + "-dst"));
        String backup = spec.getRehearsal() == null ? null : spec.getRehearsal().getBackupId();
        if (RehearsalSpec.isEnabled(spec.getRehearsal()) && backup != null) {
            env.put("REHEARSAL_BACKUP_ID", EnvValue.of(backup));
        }
        env.put("PURGE_ORPHANED_BACKUPS", EnvValue.of(AptibleSpec.purgesBackups(spec.getAptible()) ? "1" : "0"));
        // The rehearsal times the strategy's own dump and restore; the streaming strategies have no
        // separate dump, so they are rehearsed as the runbook's (an upper bound).
        boolean parallel = TransferSpec.strategy(spec.getTransfer()) == TransferSpec.Strategy.PARALLEL;
        env.put("REHEARSAL_DUMP_SCRIPT", EnvValue.of(parallel ? StepScripts.DUMP_PARALLEL : StepScripts.DUMP));
        env.put("REHEARSAL_RESTORE_SCRIPT", EnvValue.of(parallel ? StepScripts.RESTORE_PARALLEL : StepScripts.RESTORE));
        return env;
    }

    /**
     * What a rollback undoes, decided from status alone: configuration only if Repointing started;
     * the recorded counts; the target only if this upgrade created it.
     */
    private static Map<String, EnvValue> rollback(PostgresUpgrade upgrade) {
        PostgresUpgradeStatus status = upgrade.getStatus();
        PostgresUpgradeSpec spec = upgrade.getSpec();
        Map<String, EnvValue> env = new HashMap<>(recordedCounts(status));
        env.putAll(apps(spec));
        env.put("RESTORE_CONFIG", EnvValue.of(started(status, Phase.Repointing) ? "1" : "0"));
        // ours: recorded as created by this upgrade, for this very handle, and provisioned in this attempt
        boolean ours = status.getTarget() != null && Boolean.TRUE.equals(status.getTarget().getCreatedByUpgrade())
                && spec.getTarget().getHandle().equals(status.getTarget().getHandle())
                && started(status, Phase.ProvisioningTarget);
        env.put("UPGRADE_STARTED_AT", EnvValue.of(String.valueOf(status.getStartedAt())));
        env.put("DEPROVISION_TARGET", EnvValue.of(ours ? "1" : "0"));
        env.put("PURGE_ORPHANED_BACKUPS", EnvValue.of(AptibleSpec.purgesBackups(spec.getAptible()) ? "1" : "0"));
        return env;
    }

    private static boolean started(PostgresUpgradeStatus status, Phase phase) {
        int attempt = status.getAttempt() == null ? 1 : status.getAttempt();
        return status.getSteps().stream().filter(s -> s.getPhase() == phase)
                .filter(s -> s.getAttempt() == null || s.getAttempt() == attempt)
                .map(StepStatus::getState).anyMatch(state -> state != null && state != StepState.Skipped);
    }

    /** Who and what every Aptible step works on. */
    private static Map<String, EnvValue> common(PostgresUpgradeSpec spec) {
        Map<String, EnvValue> env = new HashMap<>();
        env.put("APTIBLE_ACCESS_TOKEN", EnvValue.secret(spec.getAptible().getTokenSecretRef(), "spec.aptible.tokenSecretRef"));
        env.put("SOURCE_HANDLE", EnvValue.of(spec.getSource().getHandle()));
        env.put("SOURCE_ENVIRONMENT", EnvValue.of(spec.getSource().getEnvironment()));
        env.put("TARGET_HANDLE", EnvValue.of(spec.getTarget().getHandle()));
        env.put("TARGET_ENVIRONMENT", EnvValue.of(targetEnvironment(spec)));
        env.put("TARGET_MAJOR", EnvValue.of(spec.getTarget().getVersion()));
        return env;
    }

    /** A direct-platform script behind tunnels to the named databases ("source", "target" or both). */
    @SafeVarargs
    private static PhaseWork tunnels(PostgresUpgrade upgrade, Phase phase, String inner, String which, boolean rerunnable,
                                     Map<String, EnvValue>... envs) {
        Map<String, EnvValue> env = new HashMap<>();
        for (Map<String, EnvValue> part : envs) {
            env.putAll(part);
        }
        env.put("INNER_SCRIPT", EnvValue.of(inner));
        env.put("TUNNELS", EnvValue.of(which));
        return run(upgrade, phase, StepScripts.APTIBLE_TUNNELS, rerunnable, env);
    }

    @SafeVarargs
    private static PhaseWork run(PostgresUpgrade upgrade, Phase phase, String script, boolean rerunnable, Map<String, EnvValue>... envs) {
        Map<String, EnvValue>[] all = java.util.Arrays.copyOf(envs, envs.length + 1);
        all[envs.length] = common(upgrade.getSpec());
        return new PhaseWork.RunStep(DirectPlatform.step(upgrade, DirectPlatform.stepName(phase, upgrade.getStatus()), phase, script,
                rerunnable, true, all));
    }
}
