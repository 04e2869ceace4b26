package dev.pgupgrade.platform;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.StepScripts;
import dev.pgupgrade.steps.StepSpec;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Any PostgreSQL server reachable by URL. The database phases are step scripts; the service phases
 * (Deployments and StatefulSets) need the Kubernetes API and are done by the operator's driver.
 */
public final class DirectPlatform implements UpgradePlatform {
    /** A step runs at most this long unless the spec says otherwise. */
    public static final Duration DEFAULT_STEP_TIMEOUT = Duration.ofHours(6);

    @Override
    public PhaseWork work(Phase phase, PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        return switch (phase) {
            case Validating -> run(upgrade, phase, StepScripts.VALIDATE, true, source(spec), target(spec));
            case SchemaCheck -> run(upgrade, phase, StepScripts.SCHEMA_CHECK, true, source(spec),
                    Map.of("TARGET_MAJOR", EnvValue.of(spec.getTarget().getVersion())));
            case Dumping -> switch (TransferSpec.strategy(spec.getTransfer())) {
                case DUMPALL -> run(upgrade, phase, StepScripts.DUMP, true, source(spec), target(spec));
                case PARALLEL -> run(upgrade, phase, StepScripts.DUMP_PARALLEL, true, source(spec), target(spec), transfer(spec));
                case STREAM -> new PhaseWork.NothingToDo("strategy stream: the dump streams into the target during Restoring");
                case PIPELINE -> new PhaseWork.NothingToDo("strategy pipeline: the tables are copied straight into the target during Restoring");
            };
            // A second restore over a half-finished one would fail on, or duplicate, what the first wrote.
            case Restoring -> switch (TransferSpec.strategy(spec.getTransfer())) {
                case DUMPALL -> run(upgrade, phase, StepScripts.RESTORE, false, target(spec), transfer(spec));
                case PARALLEL -> run(upgrade, phase, StepScripts.RESTORE_PARALLEL, false, target(spec), transfer(spec));
                case STREAM -> run(upgrade, phase, StepScripts.STREAM, false, source(spec), target(spec), transfer(spec));
                case PIPELINE -> run(upgrade, phase, StepScripts.PIPELINE, false, source(spec), target(spec), transfer(spec));
            };
            case Verifying -> run(upgrade, phase, StepScripts.VERIFY, true, source(spec), target(spec), verification(spec));
            case Analyzing -> run(upgrade, phase, StepScripts.ANALYZE, true, target(spec), transfer(spec));
            case ScalingDown -> services(spec, PhaseWork.ServiceAction.SCALE_DOWN);
            case Repointing -> services(spec, PhaseWork.ServiceAction.REPOINT);
            case ScalingUp -> services(spec, PhaseWork.ServiceAction.SCALE_UP);
            case RollingBack -> services(spec, PhaseWork.ServiceAction.ROLL_BACK);
            case AwaitingApproval -> new PhaseWork.AwaitApproval();
            case ProvisioningTarget -> new PhaseWork.NothingToDo("platform direct: the target server exists already");
            case Rehearsal -> new PhaseWork.Unsupported("spec.rehearsal: the rehearsal needs platform aptible (backup:restore)");
            case DeprovisioningSource -> new PhaseWork.Unsupported("spec.aptible.deprovisionSource: platform direct never deprovisions a server");
            case Succeeded, Failed, RolledBack -> throw new IllegalArgumentException(phase + " is terminal");
        };
    }

    private static PhaseWork services(PostgresUpgradeSpec spec, PhaseWork.ServiceAction action) {
        return spec.getServices().isEmpty() ? new PhaseWork.NothingToDo("no services declared") : new PhaseWork.ServiceWork(action);
    }

    /** Deterministic per phase and attempt, so that a restarted driver finds the step it started. */
    public static String stepName(Phase phase, PostgresUpgradeStatus status) {
        int attempt = status == null || status.getAttempt() == null ? 1 : status.getAttempt();
        return phase.stepName() + "-" + attempt;
    }

    /** The strategy's knobs; jobs unset means the CPUs the step has (nproc in the step). */
    static Map<String, EnvValue> transfer(PostgresUpgradeSpec spec) {
        TransferSpec t = spec.getTransfer();
        Map<String, EnvValue> env = new HashMap<>();
        env.put("RESTORE_MAINTENANCE_WORK_MEM", EnvValue.of(t == null || t.getMaintenanceWorkMem() == null
                ? TransferSpec.DEFAULT_MAINTENANCE_WORK_MEM : t.getMaintenanceWorkMem()));
        if (t != null && t.getJobs() != null) {
            env.put("TRANSFER_JOBS", EnvValue.of(Integer.toString(t.getJobs())));
        }
        return env;
    }

    static Map<String, EnvValue> verification(PostgresUpgradeSpec spec) {
        VerificationSpec v = spec.getVerification();
        return Map.of(
                "VERIFY_MODE", EnvValue.of(VerificationSpec.mode(v).wireName()),
                "VERIFY_MAX_CHECKSUM_MB", EnvValue.of(Integer.toString(v == null || v.getMaxChecksumTableMegabytes() == null
                        ? VerificationSpec.DEFAULT_MAX_CHECKSUM_MB : v.getMaxChecksumTableMegabytes())),
                "VERIFY_PARALLELISM", EnvValue.of(Integer.toString(v == null || v.getParallelism() == null
                        ? VerificationSpec.DEFAULT_PARALLELISM : v.getParallelism())),
                "VERIFY_STATEMENT_TIMEOUT_SECONDS", EnvValue.of(Integer.toString(v == null || v.getStatementTimeoutSeconds() == null
                        ? VerificationSpec.DEFAULT_STATEMENT_TIMEOUT_SECONDS : v.getStatementTimeoutSeconds())));
    }

    private static Map<String, EnvValue> source(PostgresUpgradeSpec spec) {
        return Map.of("SOURCE_URL", EnvValue.secret(spec.getSource().getUrlSecretRef(), "spec.source.urlSecretRef"));
    }

    private static Map<String, EnvValue> target(PostgresUpgradeSpec spec) {
        return Map.of("TARGET_URL", EnvValue.secret(spec.getTarget().getUrlSecretRef(), "spec.target.urlSecretRef"));
    }

    @SafeVarargs
    private static PhaseWork run(PostgresUpgrade upgrade, Phase phase, String script, boolean rerunnable,
                                 Map<String, EnvValue>... envs) {
        return new PhaseWork.RunStep(step(upgrade, stepName(phase, upgrade.getStatus()), phase, script, rerunnable, true, envs));
    }

    @SafeVarargs
    static StepSpec step(PostgresUpgrade upgrade, String name, Phase phase, String script, boolean rerunnable, boolean endsPhase,
                         Map<String, EnvValue>... envs) {
        Map<String, EnvValue> env = new HashMap<>();
        for (Map<String, EnvValue> part : envs) {
            env.putAll(part);
        }
        Long timeout = upgrade.getSpec().getStepTimeoutSeconds();
        Duration limit = timeout == null ? DEFAULT_STEP_TIMEOUT : Duration.ofSeconds(timeout);
        return new StepSpec(name, phase, script, env, limit, rerunnable, endsPhase);
    }
}
