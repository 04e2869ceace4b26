package dev.pgupgrade.engine;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.platform.UpgradePlatform;
import dev.pgupgrade.steps.StepSpec;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The runbook as a pure function of the resource: spec + status + what a step reported -> the next
 * status. No I/O: drivers (the local runner, the operator) do the work the engine asks for and store
 * the status it returns. Every method returns a new status and leaves its argument alone.
 *
 * <p>Drivers follow one protocol, which keeps them crash-safe: {@link #initialize}; then, until the
 * phase is terminal, ask for {@link #work}; for a step, store {@link #stepStarted} BEFORE starting it
 * (the runner's start is idempotent by step name), and store {@link #phaseEnded} once it has ended.
 */
public final class UpgradeEngine {
    private static final ObjectMapper COPIER = new ObjectMapper();
    private final UpgradePlatform platform;

    public UpgradeEngine(UpgradePlatform platform) {
        this.platform = platform;
    }

    /** The status an upgrade starts with, or the one it has if it already started. */
    public PostgresUpgradeStatus initialize(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus current = upgrade.getStatus();
        if (current != null && current.getPhase() != null) {
            return copy(current);
        }
        PostgresUpgradeStatus status = new PostgresUpgradeStatus();
        status.setPhase(PhaseMachine.first());
        status.setAttempt(1);
        status.setStartedAt(timestamp(now));
        status.setObservedGeneration(upgrade.getMetadata().getGeneration());
        status.setMessage(describe(PhaseMachine.first(), upgrade));
        return withConditions(status, upgrade, now);
    }

    /** What the current phase needs done. */
    public PhaseWork work(PostgresUpgrade upgrade) {
        Phase phase = upgrade.getStatus().getPhase();
        if (phase.isTerminal()) {
            throw new IllegalStateException("the upgrade is " + phase + ": nothing left to do");
        }
        return platform.work(phase, upgrade);
    }

    /** Whether the status already records {@code step} as started (so a restarted driver must not record it again). */
    public static boolean isStarted(PostgresUpgradeStatus status, StepSpec step) {
        StepStatus s = find(status, step.name());
        return s != null && s.getState() == StepState.Running;
    }

    /** The intent to run {@code step}, to be stored before the step is started. */
    public PostgresUpgradeStatus stepStarted(PostgresUpgrade upgrade, StepSpec step, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        StepStatus record = stepRecord(status, step.name(), step.phase(), now);
        record.setAttempt(status.getAttempt());
        record.setState(StepState.Running);
        record.setStartedAt(timestamp(now));
        return status;
    }

    /**
     * The intent of ScalingDown: each service's current replicas, stored before anything is scaled.
     * A service already recorded keeps its record: after a restart the workload may show the zero the
     * operator set itself, and that must never replace what the app really had.
     */
    public PostgresUpgradeStatus servicesRecorded(PostgresUpgrade upgrade, java.util.List<dev.pgupgrade.api.ServiceStatus> observed, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        recordServices(status, observed);
        openStep(status, now);
        return status;
    }

    private static void recordServices(PostgresUpgradeStatus status, java.util.List<dev.pgupgrade.api.ServiceStatus> observed) {
        for (dev.pgupgrade.api.ServiceStatus seen : observed) {
            boolean known = status.getServices().stream()
                    .anyMatch(s -> s.getKind().equals(seen.getKind()) && s.getName().equals(seen.getName())
                            && java.util.Objects.equals(s.getApp(), seen.getApp()));
            if (!known) {
                dev.pgupgrade.api.ServiceStatus record = new dev.pgupgrade.api.ServiceStatus(seen.getKind(), seen.getName(), seen.getReplicas());
                record.setApp(seen.getApp());
                status.getServices().add(record);
            }
        }
    }

    /** Where the copy of a repointed service's previous URL is kept (a Secret's name, never the value). */
    public PostgresUpgradeStatus backupRecorded(PostgresUpgrade upgrade, String backupSecret, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        status.getServices().forEach(s -> s.setBackupSecret(backupSecret));
        openStep(status, now);
        return status;
    }

    /**
     * A new generation of the spec after Failed or RolledBack: start again at Validating, as attempt
     * N+1 (step names carry the attempt, so no old step result is reused). The history stays.
     */
    public PostgresUpgradeStatus retried(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        status.setAttempt((status.getAttempt() == null ? 1 : status.getAttempt()) + 1);
        // The recorded counts go, unless the last rollback did not finish: then the services may still be at
        // zero, and only these records know what they ran (a new inventory would record the zeros; it never
        // replaces a record).
        if (status.getFailedPhase() != Phase.RollingBack) {
            status.getServices().clear();
        }
        status.setPhase(PhaseMachine.first());
        status.setFailedPhase(null);
        status.setCompletedAt(null);
        status.setAcceptedSpec(null);
        status.setObservedGeneration(upgrade.getMetadata().getGeneration());
        status.setMessage("Retrying (attempt " + status.getAttempt() + ") after the spec changed. " + describe(PhaseMachine.first(), upgrade));
        return withConditions(status, upgrade, now);
    }

    /**
     * The resource is being deleted. During the downtime with services touched, the way out is the
     * rollback (the finalizer holds the deletion until it ends); anywhere else there is nothing to
     * undo and the resource may go.
     *
     * @return the status to continue with (RollingBack), or empty when the deletion may proceed now
     */
    public java.util.Optional<PostgresUpgradeStatus> deleted(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus current = upgrade.getStatus();
        if (current == null || current.getPhase() == null) {
            return java.util.Optional.empty();
        }
        Phase phase = current.getPhase();
        if (phase == Phase.RollingBack || phase == Phase.ScalingUp) {
            // the rollback must finish, and so must a scale-up: either way the apps end up running
            return java.util.Optional.of(copy(current));
        }
        if (!phase.isDowntime() || !PhaseMachine.servicesTouched(current)) {
            return java.util.Optional.empty();
        }
        PostgresUpgradeStatus status = copy(current);
        status.setFailedPhase(phase);
        status.setPhase(Phase.RollingBack);
        status.setProgress(null);
        status.setMessage("The PostgresUpgrade is being deleted during " + phase
                + ": rolling back first (services back on the source) before it goes.");
        return java.util.Optional.of(withConditions(status, upgrade, now));
    }

    /**
     * The spec changed before the downtime began (say during a long AwaitingApproval): what was
     * checked no longer holds, so the upgrade starts over at Validating as a new attempt. Nothing
     * was scaled, repointed or restored yet.
     */
    public PostgresUpgradeStatus restartedForNewSpec(PostgresUpgrade upgrade, Phase was, Instant now) {
        PostgresUpgradeStatus status = retried(upgrade, now);
        status.setMessage("The spec changed during " + was + ", before any downtime: validating it again (attempt "
                + status.getAttempt() + "). " + describe(PhaseMachine.first(), upgrade));
        return withConditions(status, upgrade, now);
    }

    /** The same status with another message, e.g. what a phase the driver works through itself is waiting for. */
    public PostgresUpgradeStatus waiting(PostgresUpgrade upgrade, String message, Instant now) {
        PostgresUpgradeStatus status = waitingToStart(upgrade, message, now);
        openStep(status, now);
        return status;
    }

    /**
     * What a step is waiting for before it may start (a Secret, another upgrade, an approval). No step
     * record is opened: that would read as "started" and let a restarted driver skip the wait.
     */
    public PostgresUpgradeStatus waitingToStart(PostgresUpgrade upgrade, String message, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        status.setMessage(status.getPhase() + ": " + message);
        return withConditions(status, upgrade, now);
    }

    /** The current phase's step record, Running since now unless it already exists: so a phase the driver works through itself has a duration. */
    private static void openStep(PostgresUpgradeStatus status, Instant now) {
        String name = DirectPlatform.stepName(status.getPhase(), status);
        if (find(status, name) == null) {
            stepRecord(status, name, status.getPhase(), now).setState(StepState.Running);
        }
    }

    /** The step record named {@code name}, added (started now, in this attempt) if status has none yet. */
    private static StepStatus stepRecord(PostgresUpgradeStatus status, String name, Phase phase, Instant now) {
        StepStatus record = find(status, name);
        if (record == null) {
            record = new StepStatus();
            record.setName(name);
            record.setAttempt(status.getAttempt());
            record.setStartedAt(timestamp(now));
            status.getSteps().add(record);
        }
        record.setPhase(phase);
        return record;
    }

    /** A spec that fails validation ends the upgrade before anything is touched, listing every problem. */
    public PostgresUpgradeStatus rejected(PostgresUpgrade upgrade, java.util.List<String> problems, Instant now) {
        PostgresUpgradeStatus status = upgrade.getStatus() == null ? new PostgresUpgradeStatus() : copy(upgrade.getStatus());
        if (status.getStartedAt() == null) {
            status.setStartedAt(timestamp(now));
        }
        if (status.getAttempt() == null) {
            status.setAttempt(1);
        }
        status.setPhase(Phase.Failed);
        status.setFailedPhase(Phase.Validating);
        status.setCompletedAt(timestamp(now));
        status.setObservedGeneration(upgrade.getMetadata().getGeneration());
        status.setMessage("The spec is invalid: " + String.join("; ", problems) + ". Nothing was touched: correct the spec to retry.");
        return withConditions(status, upgrade, now);
    }

    /**
     * What the running step last said about its progress, with a percentage and an ETA from the rate
     * since the step started. A total that is only an estimate never shows 100% before the step ends.
     */
    public PostgresUpgradeStatus progressed(PostgresUpgrade upgrade, dev.pgupgrade.steps.ProgressReport report, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        dev.pgupgrade.api.ProgressStatus progress = new dev.pgupgrade.api.ProgressStatus();
        progress.setPhase(status.getPhase());
        progress.setUnit(report.unit());
        progress.setDone(report.done());
        progress.setTotal(report.total());
        progress.setEstimated(report.estimated() ? Boolean.TRUE : null);
        Integer percent = null;
        Long eta = null;
        if (report.total() > 0) {
            percent = (int) Math.min(report.estimated() ? 99 : 100, report.done() * 100 / report.total());
            StepStatus running = status.getSteps().stream().filter(s -> s.getState() == StepState.Running && s.getPhase() == status.getPhase())
                    .reduce((a, b) -> b).orElse(null);
            Double elapsed = running == null ? null : durationSeconds(running.getStartedAt(), now);
            if (elapsed != null && elapsed > 0 && report.done() > 0) {
                double rate = report.done() / elapsed;
                eta = Math.max(0, Math.round((report.total() - report.done()) / rate));
            }
        }
        progress.setPercent(percent);
        progress.setEtaSeconds(eta);
        String of = "bytes".equals(report.unit()) ? StepJudge.bytes(report.total()) : report.total() + " " + report.unit();
        progress.setSummary(percent == null ? StepJudge.bytes(report.done()) + " so far"
                : percent + "% of " + (report.estimated() ? "~" : "") + of + (eta == null ? "" : ", ETA " + eta + "s"));
        progress.setUpdatedAt(timestamp(now));
        status.setProgress(progress);
        return status;
    }

    /**
     * A step ended. The phase's own step ends the phase; an inventory step (see {@link StepSpec#endsPhase})
     * only records what it found (the services' container counts) and the phase goes on with its next
     * step, unless the inventory failed.
     */
    public PostgresUpgradeStatus stepEnded(PostgresUpgrade upgrade, StepSpec step, PhaseOutcome outcome, Instant now) {
        if (step.endsPhase()) {
            return phaseEnded(upgrade, outcome, now);
        }
        Verdict verdict = StepJudge.judgeInventory(outcome);
        if (!verdict.ok()) {
            return phaseEnded(upgrade, new PhaseOutcome.Refused(verdict.message()), now);
        }
        // No record of the phase's own step is opened here: its intent is stored when it starts, like any step's.
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        recordServices(status, ResultFacts.services(((PhaseOutcome.Ran) outcome).result()));
        StepStatus record = stepRecord(status, step.name(), step.phase(), now);
        record.setState(StepState.Succeeded);
        record.setFinishedAt(timestamp(now));
        record.setDurationSeconds(durationSeconds(record.getStartedAt(), now));
        record.setMessage(verdict.message());
        return status;
    }

    /** Records how the current phase ended and moves to the phase that follows. */
    public PostgresUpgradeStatus phaseEnded(PostgresUpgrade upgrade, PhaseOutcome outcome, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        Phase phase = status.getPhase();
        Verdict verdict = StepJudge.judge(phase, upgrade.getSpec(), outcome);
        if (outcome instanceof PhaseOutcome.Ran ran && ran.result() != null) {
            ResultFacts.record(status, phase, upgrade.getSpec(), ran.result(), verdict.ok(), timestamp(now));
        }

        StepStatus record = stepRecord(status, DirectPlatform.stepName(phase, status), phase, now);
        record.setFinishedAt(timestamp(now));
        record.setDurationSeconds(durationSeconds(record.getStartedAt(), now));
        record.setState(outcome instanceof PhaseOutcome.Skipped ? StepState.Skipped
                : verdict.ok() ? StepState.Succeeded : StepState.Failed);
        record.setMessage(verdict.message());
        record.setBytes(verdict.bytes());
        record.setExpectedErrors(verdict.expectedErrors());
        record.setUnexpectedErrors(verdict.unexpectedErrors());
        record.setErrors(verdict.errors());
        record.setDetails(verdict.details());
        if (verdict.sourceVersion() != null) {
            status.setSourceVersion(verdict.sourceVersion());
        }
        if (verdict.targetVersion() != null) {
            status.setTargetVersion(verdict.targetVersion());
        }

        status.setProgress(null);
        Phase next = verdict.ok() ? PhaseMachine.next(phase, upgrade.getSpec()) : PhaseMachine.onFailure(phase, status);
        status.setPhase(next);
        if (next == Phase.ScalingDown && status.getAcceptedSpec() == null) {
            status.setAcceptedSpec(COPIER.convertValue(upgrade.getSpec(), dev.pgupgrade.api.PostgresUpgradeSpec.class));
        }
        if (!verdict.ok()) {
            status.setFailedPhase(phase);
        }
        status.setMessage(verdict.ok() ? describe(next, upgrade) : failureMessage(phase, next, verdict.message()));
        if (next.isTerminal()) {
            status.setCompletedAt(timestamp(now));
            if (next == Phase.Succeeded) {
                status.setMessage(successMessage(status, now));
            } else if (next == Phase.RolledBack) {
                status.setMessage(rolledBackMessage(status));
            }
        }
        status.setObservedGeneration(upgrade.getMetadata().getGeneration());
        return withConditions(status, upgrade, now);
    }

    private PostgresUpgradeStatus withConditions(PostgresUpgradeStatus status, PostgresUpgrade upgrade, Instant now) {
        Phase phase = status.getPhase();
        Long generation = upgrade.getMetadata().getGeneration();
        String at = now.truncatedTo(ChronoUnit.SECONDS).toString();
        String message = status.getMessage();
        status.setConditions(Conditions.set(status.getConditions(), Conditions.READY, phase == Phase.Succeeded,
                phase == Phase.Succeeded ? "UpgradeSucceeded" : phase.name(), message, generation, at));
        status.setConditions(Conditions.set(status.getConditions(), Conditions.PROGRESSING, !phase.isTerminal(),
                phase.name(), message, generation, at));
        // A failure is a fact from the moment it happens, also while the rollback is still running.
        boolean failed = status.getFailedPhase() != null;
        status.setConditions(Conditions.set(status.getConditions(), Conditions.FAILED, failed,
                failed ? status.getFailedPhase() + "Failed" : "NoFailure", failed ? message : "no failure", generation, at));
        return status;
    }

    static String describe(Phase phase, PostgresUpgrade upgrade) {
        String target = upgrade.getSpec().getTarget().getVersion();
        return switch (phase) {
            case Validating -> "Validating: checking that both servers answer and their versions fit";
            case SchemaCheck -> "SchemaCheck: restoring the source's schema into a throwaway PostgreSQL " + target;
            case Rehearsal -> "Rehearsal: restoring a backup into temporary databases to time the dump and the restore";
            case ProvisioningTarget -> "ProvisioningTarget: creating the target database (or adopting an existing empty one)";
            case AwaitingApproval -> "AwaitingApproval: nothing is down yet; set the annotation " + dev.pgupgrade.api.ApprovalSpec.ANNOTATION
                    + "=" + (upgrade.getStatus() == null || upgrade.getStatus().getAttempt() == null ? 1 : upgrade.getStatus().getAttempt())
                    + " to start the downtime" + estimate(upgrade.getStatus());
            case DeprovisioningSource -> "DeprovisioningSource: deprovisioning the source database, as the spec asks";
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

    private static String failureMessage(Phase failed, Phase next, String why) {
        String what = failed + " failed: " + why + ".";
        return switch (next) {
            case RollingBack -> what + " Rolling back: the services return to the source, which was only ever read.";
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
    public static String estimate(PostgresUpgradeStatus status) {
        if (status == null || status.getEstimate() == null || status.getEstimate().getDowntimeSeconds() == null) {
            return "";
        }
        return String.format(java.util.Locale.ROOT, " (the rehearsal expects %.0f s of downtime; see status.estimate)",
                status.getEstimate().getDowntimeSeconds());
    }

    private static String rolledBackMessage(PostgresUpgradeStatus status) {
        String cause = status.getSteps().stream()
                .filter(s -> s.getPhase() == status.getFailedPhase() && s.getState() == StepState.Failed)
                .reduce((first, second) -> second).map(StepStatus::getMessage).orElse("see the step history");
        return "Rolled back after " + status.getFailedPhase() + " failed: " + cause
                + ". The services run on the source again with their recorded replicas; the source was only read."
                + ((status.getFailedPhase() == Phase.Restoring || status.getFailedPhase() == Phase.Verifying) && !targetDeprovisioned(status)
                    ? " The target may hold a partial restore: drop the databases and roles it restored before retrying." : "");
    }

    private static boolean targetDeprovisioned(PostgresUpgradeStatus status) {
        return status.getTarget() != null && Boolean.TRUE.equals(status.getTarget().getDeprovisioned());
    }

    private static String successMessage(PostgresUpgradeStatus status, Instant now) {
        Double seconds = durationSeconds(status.getStartedAt(), now);
        return "Upgraded PostgreSQL " + status.getSourceVersion() + " to " + status.getTargetVersion()
                + (seconds != null ? " in " + String.format(java.util.Locale.ROOT, "%.1f s", seconds) : "")
                + ". The source was left as it was: decommission it when you no longer need it.";
    }

    static StepStatus find(PostgresUpgradeStatus status, String name) {
        return status.getSteps().stream().filter(s -> name.equals(s.getName())).findFirst().orElse(null);
    }

    public static String timestamp(Instant instant) {
        return instant.truncatedTo(ChronoUnit.MILLIS).toString();
    }

    private static Double durationSeconds(String startedAt, Instant now) {
        if (startedAt == null) {
            return null;
        }
        long millis = Duration.between(Instant.parse(startedAt), now).toMillis();
        return Math.max(0, millis) / 1000.0;
    }

    static PostgresUpgradeStatus copy(PostgresUpgradeStatus status) {
        return COPIER.convertValue(status, PostgresUpgradeStatus.class);
    }
}
