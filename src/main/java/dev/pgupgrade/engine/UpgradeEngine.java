package dev.pgupgrade.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.platform.UpgradePlatform;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.ProgressReport;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.StepVerdicts;
import dev.pgupgrade.steps.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The runbook as a pure function of the resource: spec + status + what a step reported -> the next
 * status. No I/O: the driver (driver/UpgradeDriver, for the operator and pgupgrade run alike) does the
 * work the engine asks for and stores the status it returns. Every method returns a new status and
 * leaves its argument alone.
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
        status.setMessage(StatusMessages.describe(PhaseMachine.first(), upgrade));
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

    /** The intent to run {@code step}, to be stored before the step is started. {@code job}: the Job that will run it, if any. */
    public PostgresUpgradeStatus stepStarted(PostgresUpgrade upgrade, StepSpec step, String job, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        StepStatus record = stepRecord(status, step.name(), step.phase(), now);
        record.setAttempt(status.getAttempt());
        record.setState(StepState.Running);
        record.setStartedAt(timestamp(now));
        record.setJob(job);
        return status;
    }

    /**
     * The intent of ScalingDown: each service's current replicas, stored before anything is scaled.
     * A service already recorded keeps its record: after a restart the workload may show the zero the
     * operator set itself, and that must never replace what the app really had.
     */
    public PostgresUpgradeStatus servicesRecorded(PostgresUpgrade upgrade, List<ServiceStatus> observed, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        for (ServiceStatus seen : observed) {
            boolean known = status.getServices().stream().anyMatch(s -> s.getKind().equals(seen.getKind())
                    && s.getName().equals(seen.getName()) && Objects.equals(s.getApp(), seen.getApp()));
            if (!known) {
                ServiceStatus record = new ServiceStatus(seen.getKind(), seen.getName(), seen.getReplicas());
                record.setApp(seen.getApp());
                status.getServices().add(record);
            }
        }
        openStep(status, now);
        return status;
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
        status.setAttempt(StatusMessages.attempt(status) + 1);
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
        status.setMessage(StatusMessages.retrying(status, upgrade));
        return withConditions(status, upgrade, now);
    }

    /**
     * The resource is being deleted. During the downtime with services touched, the way out is the
     * rollback (the finalizer holds the deletion until it ends); anywhere else there is nothing to
     * undo and the resource may go.
     *
     * @return the status to continue with (RollingBack), or empty when the deletion may proceed now
     */
    public Optional<PostgresUpgradeStatus> deleted(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus current = upgrade.getStatus();
        if (current == null || current.getPhase() == null) {
            return Optional.empty();
        }
        Phase phase = current.getPhase();
        if (phase == Phase.RollingBack || phase == Phase.ScalingUp) {
            // the rollback must finish, and so must a scale-up: either way the apps end up running
            return Optional.of(copy(current));
        }
        boolean replication = PhaseMachine.cleanupNeeded(current);
        if (!replication && (phase.isTerminal() || !phase.isDowntime() || !PhaseMachine.servicesTouched(current))) {
            return Optional.empty();
        }
        PostgresUpgradeStatus status = copy(current);
        if (phase.isTerminal()) {
            // a rollback that did not finish (Failed): the replication it was to remove is removed now
            status.setCompletedAt(null);
        } else {
            status.setFailedPhase(phase);
        }
        status.setPhase(Phase.RollingBack);
        status.setProgress(null);
        status.setMessage(StatusMessages.deletedDuring(phase, replication));
        return Optional.of(withConditions(status, upgrade, now));
    }

    /**
     * The spec changed before the downtime began (say during a long AwaitingApproval): what was
     * checked no longer holds, so the upgrade starts over at Validating as a new attempt. Nothing
     * was scaled, repointed or restored yet.
     */
    public PostgresUpgradeStatus restartedForNewSpec(PostgresUpgrade upgrade, Phase was, Instant now) {
        PostgresUpgradeStatus status = retried(upgrade, now);
        status.setMessage(StatusMessages.restartedForNewSpec(was, status, upgrade));
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

    /**
     * The spec changed after the upgrade succeeded: nothing is redone (the source was left as it was, the
     * apps use the target), but the change is acknowledged -- observedGeneration follows it and a condition
     * says it was not applied -- so kstatus, Flux and Argo CD see a finished resource, not one waiting forever.
     */
    public PostgresUpgradeStatus specChangedAfterSuccess(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        Long generation = upgrade.getMetadata().getGeneration();
        status.setConditions(Conditions.set(status.getConditions(), Conditions.SPEC_CHANGE_REFUSED, true, "AlreadySucceeded",
                StatusMessages.specChangedAfterSuccess(generation), generation, conditionTime(now)));
        status.setObservedGeneration(generation);
        return withConditions(status, upgrade, now);
    }

    /** A spec that fails validation ends the upgrade before anything is touched, listing every problem. */
    public PostgresUpgradeStatus rejected(PostgresUpgrade upgrade, List<String> problems, Instant now) {
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
        status.setMessage(StatusMessages.rejected(problems));
        return withConditions(status, upgrade, now);
    }

    /** What the running step last said about its progress (see {@link Progress}). */
    public PostgresUpgradeStatus progressed(PostgresUpgrade upgrade, ProgressReport report, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        StepStatus running = status.getSteps().stream().filter(s -> s.getState() == StepState.Running && s.getPhase() == status.getPhase())
                .reduce((a, b) -> b).orElse(null);
        status.setProgress(Progress.of(status.getPhase(), report, running == null ? null : durationSeconds(running.getStartedAt(), now),
                timestamp(now)));
        if (report.replication() != null) {
            LogicalSpec logical = upgrade.getSpec().getLogical();
            int warn = LogicalSpec.warnRetainedWalMegabytes(logical);
            Long retained = report.replication().getRetainedBytes();
            boolean over = retained != null && retained > warn * 1024L * 1024;
            status.setConditions(Conditions.set(status.getConditions(), Conditions.WAL_RETAINED, over, over ? "OverWarningLimit" : "WithinLimit",
                    StatusMessages.walRetained(report.replication(), over, warn, LogicalSpec.maxRetainedWalMegabytes(logical)),
                    upgrade.getMetadata().getGeneration(), conditionTime(now)));
        }
        return status;
    }

    /**
     * The downtime was approved: the phase ends; a watch that ran while it waited (strategy logical) is
     * recorded as stopped, with what it last saw.
     */
    public PostgresUpgradeStatus approved(PostgresUpgrade upgrade, StepSpec watch, String approval, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        StepStatus record = watch == null ? null : find(status, watch.name());
        if (record != null && record.getState() == StepState.Running) {
            end(record, StepState.Succeeded, StatusMessages.watchStopped(status.getProgress()), now);
        }
        return phaseEnded(withStatus(upgrade, status), null, new PhaseOutcome.Completed(approval), now);
    }

    /** Steps still recorded Running in a phase the upgrade has left (a watch, a step interrupted by a deletion). */
    public static List<String> runningInEarlierPhases(PostgresUpgradeStatus status) {
        return status == null || status.getPhase() == null ? List.of() : status.getSteps().stream()
                .filter(s -> s.getState() == StepState.Running && s.getPhase() != null && s.getPhase() != status.getPhase())
                .map(StepStatus::getName).toList();
    }

    /** Those steps were stopped: recorded as such, so status never shows a step running in a phase long gone. */
    public PostgresUpgradeStatus stepsStopped(PostgresUpgrade upgrade, List<String> names, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        for (String name : names) {
            StepStatus record = find(status, name);
            if (record != null && record.getState() == StepState.Running) {
                end(record, StepState.Failed, StatusMessages.stoppedBehind(record.getPhase(), status.getPhase(), status.getMessage()), now);
            }
        }
        return status;
    }

    /** A step record ends now: its state, when, how long it took, and what it said. */
    private static void end(StepStatus record, StepState state, String message, Instant now) {
        record.setState(state);
        record.setFinishedAt(timestamp(now));
        record.setDurationSeconds(durationSeconds(record.getStartedAt(), now));
        record.setMessage(message);
    }

    private static PostgresUpgrade withStatus(PostgresUpgrade upgrade, PostgresUpgradeStatus status) {
        PostgresUpgrade copy = new PostgresUpgrade();
        copy.setMetadata(upgrade.getMetadata());
        copy.setSpec(upgrade.getSpec());
        copy.setStatus(status);
        return copy;
    }

    /**
     * A step ended. The phase's own step ends the phase; a step that runs before it (see
     * {@link StepSpec#endsPhase}) only records what it found, and the phase goes on with its next
     * step, unless it failed.
     */
    public PostgresUpgradeStatus stepEnded(PostgresUpgrade upgrade, StepSpec step, PhaseOutcome outcome, Instant now) {
        if (step.endsPhase()) {
            return phaseEnded(upgrade, step.kind(), outcome, now);
        }
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        Verdict verdict = StepVerdicts.judge(step.kind(), outcome, upgrade.getSpec(), new StatusFacts(status, upgrade.getSpec(), timestamp(now)));
        if (!verdict.ok()) {
            StepStatus failed = find(status, step.name());
            if (failed != null) {
                end(failed, StepState.Failed, verdict.message(), now);
            }
            return phaseEnded(withStatus(upgrade, status), null, new PhaseOutcome.Refused(verdict.message()), now);
        }
        // No record of the phase's own step is opened here: its intent is stored when it starts, like any step's.
        end(stepRecord(status, step.name(), step.phase(), now), StepState.Succeeded, verdict.message(), now);
        return status;
    }

    /**
     * Records how the current phase ended and moves to the phase that follows.
     *
     * @param kind the kind of the step that did the phase's work, or null when no step did
     */
    public PostgresUpgradeStatus phaseEnded(PostgresUpgrade upgrade, StepKind<?> kind, PhaseOutcome outcome, Instant now) {
        PostgresUpgradeStatus status = copy(upgrade.getStatus());
        Phase phase = status.getPhase();
        Verdict verdict = StepVerdicts.judge(kind, outcome, upgrade.getSpec(), new StatusFacts(status, upgrade.getSpec(), timestamp(now)));

        StepStatus record = stepRecord(status, Names.step(phase, status), phase, now);
        end(record, outcome instanceof PhaseOutcome.Skipped ? StepState.Skipped : verdict.ok() ? StepState.Succeeded : StepState.Failed,
                verdict.message(), now);
        record.setBytes(verdict.bytes());
        record.setExpectedErrors(verdict.expectedErrors());
        record.setUnexpectedErrors(verdict.unexpectedErrors());
        record.setMismatches(verdict.mismatches());
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
        // From here on the upgrade works with this spec: the downtime began, or replication objects exist that it names
        if ((next == Phase.ScalingDown || next == Phase.Replicating) && status.getAcceptedSpec() == null) {
            // with the strategy it resolved to, so that a later version whose default differs goes on with the same
            PostgresUpgradeSpec accepted = COPIER.convertValue(upgrade.getSpec(), PostgresUpgradeSpec.class);
            TransferSpec.withStrategyIfUnset(accepted, TransferSpec.strategy(upgrade.getSpec()));
            status.setAcceptedSpec(accepted);
        }
        if (!verdict.ok()) {
            status.setFailedPhase(phase);
        }
        status.setMessage(verdict.ok() ? StatusMessages.describe(next, upgrade) : StatusMessages.failure(phase, next, verdict.message(),
                PhaseMachine.cleanupNeeded(status)));
        if (next.isTerminal()) {
            status.setCompletedAt(timestamp(now));
            if (Conditions.find(status.getConditions(), Conditions.WAL_RETAINED) != null) {
                status.setConditions(Conditions.set(status.getConditions(), Conditions.WAL_RETAINED, false, "ReplicationEnded",
                        "the upgrade ended: no slot of ours keeps WAL on the source", upgrade.getMetadata().getGeneration(),
                        conditionTime(now)));
            }
            if (next == Phase.Succeeded) {
                status.setMessage(StatusMessages.succeeded(status, durationSeconds(status.getStartedAt(), now),
                        PhaseMachine.sourceMayBeFrozen(status)));
            } else if (next == Phase.RolledBack) {
                status.setMessage(StatusMessages.rolledBack(status));
            }
        }
        status.setObservedGeneration(upgrade.getMetadata().getGeneration());
        return withConditions(status, upgrade, now);
    }

    /** " (the rehearsal expects N s of downtime; see status.estimate)" when a rehearsal measured it, else "". */
    public static String estimate(PostgresUpgradeStatus status) {
        return StatusMessages.estimate(status);
    }

    private static PostgresUpgradeStatus withConditions(PostgresUpgradeStatus status, PostgresUpgrade upgrade, Instant now) {
        Phase phase = status.getPhase();
        Long generation = upgrade.getMetadata().getGeneration();
        String at = conditionTime(now);
        String message = status.getMessage();
        status.setConditions(Conditions.set(status.getConditions(), Conditions.READY, phase == Phase.Succeeded,
                phase == Phase.Succeeded ? "UpgradeSucceeded" : phase.name(), message, generation, at));
        status.setConditions(Conditions.set(status.getConditions(), Conditions.PROGRESSING, !phase.isTerminal(),
                phase.name(), message, generation, at));
        // A failure is a fact from the moment it happens, also while the rollback is still running.
        boolean failed = status.getFailedPhase() != null;
        status.setConditions(Conditions.set(status.getConditions(), Conditions.FAILED, failed,
                failed ? status.getFailedPhase() + "Failed" : "NoFailure", failed ? message : "no failure", generation, at));
        // kstatus reads these two (with observedGeneration): in progress until terminal, stalled when it ended badly
        status.setConditions(Conditions.set(status.getConditions(), Conditions.RECONCILING, !phase.isTerminal(),
                phase.name(), message, generation, at));
        boolean stalled = phase == Phase.Failed || phase == Phase.RolledBack;
        status.setConditions(Conditions.set(status.getConditions(), Conditions.STALLED, stalled,
                stalled ? phase.name() : "NotStalled", stalled ? message : "not stalled", generation, at));
        return status;
    }

    /** The current phase's step record, Running since now unless it already exists: so a phase the driver works through itself has a duration. */
    private static void openStep(PostgresUpgradeStatus status, Instant now) {
        String name = Names.step(status.getPhase(), status);
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

    static StepStatus find(PostgresUpgradeStatus status, String name) {
        return status.getSteps().stream().filter(s -> name.equals(s.getName())).findFirst().orElse(null);
    }

    /** Conditions are stamped in whole seconds, as Kubernetes writes them. */
    private static String conditionTime(Instant now) {
        return now.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    public static String timestamp(Instant instant) {
        return instant.truncatedTo(ChronoUnit.MILLIS).toString();
    }

    private static Double durationSeconds(String startedAt, Instant now) {
        if (startedAt == null) {
            return null;
        }
        return Math.max(0, Duration.between(Instant.parse(startedAt), now).toMillis()) / 1000.0;
    }

    static PostgresUpgradeStatus copy(PostgresUpgradeStatus status) {
        return COPIER.convertValue(status, PostgresUpgradeStatus.class);
    }
}
