package dev.pgupgrade.operator;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.engine.Claims;
import dev.pgupgrade.engine.PhaseOutcome;
import dev.pgupgrade.engine.SpecValidator;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.platform.Platforms;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.JobStepRunner;
import dev.pgupgrade.runner.StepResources;
import dev.pgupgrade.runner.StepRunner.StepProgress;
import dev.pgupgrade.steps.StepSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives PostgresUpgrades through the engine's phases. Each reconcile makes at most one step of
 * progress and ends by storing the status that describes it: an intent (a step about to start, the
 * replicas about to be changed) is stored BEFORE the side effect it announces, which runs on a
 * later reconcile and is idempotent; a result is stored as soon as it is known. So the operator may
 * die between any two lines and the next one carries on from status alone. Step Jobs are a
 * secondary event source (owner references); status-only changes do not trigger reconciles, so
 * every status write asks for a prompt requeue.
 */
@ControllerConfiguration(name = PostgresUpgradeReconciler.NAME)
public class PostgresUpgradeReconciler implements Reconciler<PostgresUpgrade>, Cleaner<PostgresUpgrade> {
    public static final String NAME = "postgresupgrade";
    private static final Logger LOG = LoggerFactory.getLogger(PostgresUpgradeReconciler.class);
    static final Duration NEXT = Duration.ofMillis(200);
    static final Duration POLL = Duration.ofSeconds(5);
    static final Duration WAIT_FOR_SECRETS = Duration.ofSeconds(15);
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(10);
    static final Duration APPROVAL_POLL = Duration.ofSeconds(5);

    private final KubernetesClient client;
    private final Clock clock;
    private final UpgradeEngine engine = new UpgradeEngine(new Platforms());
    private final KubernetesServices services;
    private final SecretChecks secrets;
    private final EventRecorder events;

    private final CrashPoints crashPoints;

    public PostgresUpgradeReconciler(KubernetesClient client, Clock clock) {
        this(client, clock, CrashPoints.NONE);
    }

    PostgresUpgradeReconciler(KubernetesClient client, Clock clock, CrashPoints crashPoints) {
        this.crashPoints = crashPoints;
        this.client = client;
        this.clock = clock;
        this.services = new KubernetesServices(client);
        this.secrets = new SecretChecks(client);
        this.events = new EventRecorder(client);
    }

    @Override
    public List<EventSource<?, PostgresUpgrade>> prepareEventSources(EventSourceContext<PostgresUpgrade> context) {
        var jobs = InformerEventSourceConfiguration.from(Job.class, PostgresUpgrade.class)
                .withNamespacesInheritedFromController()
                .withLabelSelector(StepResources.LABEL_UPGRADE)
                .build();
        return List.of(new InformerEventSource<>(jobs, context));
    }

    @Override
    public UpdateControl<PostgresUpgrade> reconcile(PostgresUpgrade upgrade, Context<PostgresUpgrade> context) {
        Instant now = clock.instant();
        PostgresUpgradeStatus status = upgrade.getStatus();
        if (status == null || status.getPhase() == null) {
            List<String> problems = problems(upgrade);
            return transition(upgrade, problems.isEmpty() ? engine.initialize(upgrade, now) : engine.rejected(upgrade, problems, now), now);
        }
        Phase phase = status.getPhase();
        if (phase.isTerminal()) {
            if (phase != Phase.Succeeded && generationChanged(upgrade)) {
                List<String> problems = problems(upgrade);
                return transition(upgrade, problems.isEmpty() ? engine.retried(upgrade, now) : engine.rejected(upgrade, problems, now), now);
            }
            return UpdateControl.noUpdate();  // a finished upgrade is left alone
        }
        if (phase.isBeforeDowntime() && generationChanged(upgrade)
                && !upgrade.getStatus().getSteps().isEmpty()) {
            // What Validating (and the rehearsal, the provisioning) checked was another spec: check this one.
            List<String> problems = problems(upgrade);
            return transition(upgrade, problems.isEmpty() ? engine.restartedForNewSpec(upgrade, phase, now)
                    : engine.rejected(upgrade, problems, now), now);
        }
        if (SpecFreeze.apply(upgrade)) {
            // Changed after the downtime began (no CEL enforcement here): the accepted spec is used and the change is said once.
            PostgresUpgradeStatus noted = SpecFreeze.refused(upgrade, now);
            if (noted != null) {
                LOG.warn("{}: the spec changed during {}; the change is refused", key(upgrade), phase);
                events.record(upgrade, true, "SpecChangeRefused", noted.getMessage(), "spec change refused at generation "
                        + upgrade.getMetadata().getGeneration(), now);
                upgrade.setStatus(noted);
                return UpdateControl.patchStatus(upgrade).rescheduleAfter(NEXT);
            }
        }
        return advance(upgrade, context, now);
    }

    /**
     * Deleting the resource mid-upgrade: the finalizer holds the deletion while services are down and
     * the rollback brings them back (or a scale-up finishes), then lets it go. Status is written
     * directly here: JOSDK does not patch it from a cleanup.
     */
    @Override
    public DeleteControl cleanup(PostgresUpgrade upgrade, Context<PostgresUpgrade> context) {
        Instant now = clock.instant();
        var continuing = engine.deleted(upgrade, now);
        if (continuing.isEmpty()) {
            return DeleteControl.defaultDelete();
        }
        SpecFreeze.apply(upgrade);
        UpdateControl<PostgresUpgrade> control;
        if (continuing.get().getPhase() != upgrade.getStatus().getPhase()) {
            control = transition(upgrade, continuing.get(), now);
        } else {
            control = advance(upgrade, context, now);
        }
        if (control.isPatchStatus()) {
            PostgresUpgrade patch = new PostgresUpgrade();
            patch.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(upgrade.getMetadata().getName())
                    .withNamespace(upgrade.getMetadata().getNamespace()).build());
            patch.setStatus(upgrade.getStatus());
            client.resource(patch).patchStatus();
        }
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(control.getScheduleDelay().orElse(POLL.toMillis()));
    }

    /** One step of progress in the current phase. */
    private UpdateControl<PostgresUpgrade> advance(PostgresUpgrade upgrade, Context<PostgresUpgrade> context, Instant now) {
        PhaseWork work = engine.work(upgrade);
        if (work instanceof PhaseWork.RunStep run) {
            return step(upgrade, run.step(), context, now);
        }
        if (work instanceof PhaseWork.ServiceWork serviceWork) {
            return services(upgrade, serviceWork.action(), now);
        }
        if (work instanceof PhaseWork.AwaitApproval) {
            return approval(upgrade, now);
        }
        if (work instanceof PhaseWork.NothingToDo nothing) {
            return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Skipped(nothing.reason()), now), now);
        }
        return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Refused(((PhaseWork.Unsupported) work).reason()), now), now);
    }

    private UpdateControl<PostgresUpgrade> step(PostgresUpgrade upgrade, StepSpec step, Context<PostgresUpgrade> context, Instant now) {
        if (!UpgradeEngine.isStarted(upgrade.getStatus(), step)) {
            if (step.phase() == Phase.Validating) {
                // every watched namespace: an Aptible database or app may be named from any of them
                var conflict = context == null ? java.util.Optional.<String>empty()
                        : Claims.conflict(upgrade, context.getPrimaryCache().list().toList());
                if (conflict.isPresent()) {
                    return waitToStart(upgrade, conflict.get(), now, WAIT_FOR_SECRETS);
                }
                SecretChecks.Result checked = secrets.check(upgrade);
                if (!checked.invalid().isEmpty()) {
                    return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Refused(String.join("; ", checked.invalid())), now), now);
                }
                if (!checked.missing().isEmpty()) {
                    return waitToStart(upgrade, "waiting for " + String.join("; ", checked.missing()), now, WAIT_FOR_SECRETS);
                }
            }
            PostgresUpgradeStatus started = engine.stepStarted(upgrade, step, now);
            started.getSteps().stream().filter(s -> step.name().equals(s.getName()))
                    .forEach(s -> s.setJob(StepResources.jobName(upgrade, step)));
            return transition(upgrade, started, now);  // the intent is stored; the Job is created next time
        }
        JobStepRunner jobs = new JobStepRunner(client, upgrade);
        jobs.start(step);
        StepProgress progress = jobs.poll(step);
        if (progress instanceof StepProgress.Running running) {
            if (running.report() != null && progressIsStale(upgrade.getStatus(), now)) {
                PostgresUpgradeStatus progressed = engine.progressed(upgrade, running.report(), now);
                if (!Objects.equals(summary(progressed), summary(upgrade.getStatus()))) {
                    upgrade.setStatus(progressed);
                    return UpdateControl.patchStatus(upgrade).rescheduleAfter(POLL);
                }
            }
            return UpdateControl.<PostgresUpgrade>noUpdate().rescheduleAfter(POLL);
        }
        if (progress instanceof StepProgress.Finished finished) {
            PhaseOutcome.Ran ran = finished.outcome();
            if (ran.result() == null && !step.rerunnable() && ran.problem() != null) {
                // No result from a step that writes to the target: say that it is not run again by itself.
                ran = new PhaseOutcome.Ran(ran.exitCode(), null, ran.problem() + "; " + StepSpec.NOT_RERUN);
            }
            return transition(upgrade, engine.stepEnded(upgrade, step, ran, now), now);
        }
        StepProgress.Lost lost = (StepProgress.Lost) progress;
        if (step.rerunnable()) {
            LOG.warn("{}: {}; starting it again", key(upgrade), lost.what());
            jobs.discard(step);
            jobs.start(step);
            return UpdateControl.<PostgresUpgrade>noUpdate().rescheduleAfter(POLL);
        }
        return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Ran(-1, null,
                lost.what() + "; " + StepSpec.NOT_RERUN), now), now);
    }

    private UpdateControl<PostgresUpgrade> services(PostgresUpgrade upgrade, PhaseWork.ServiceAction action, Instant now) {
        ServiceProgress progress = services.advance(upgrade, action);
        if (progress instanceof ServiceProgress.RecordReplicas record) {
            return transition(upgrade, engine.servicesRecorded(upgrade, record.observed(), now), now);
        }
        if (progress instanceof ServiceProgress.RecordBackup backup) {
            return transition(upgrade, engine.backupRecorded(upgrade, backup.secretName(), now), now);
        }
        if (progress instanceof ServiceProgress.InProgress inProgress) {
            return waitFor(upgrade, inProgress.what(), now, Duration.ofSeconds(2));
        }
        if (progress instanceof ServiceProgress.Done done) {
            return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Completed(done.message()), now), now);
        }
        return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Refused(((ServiceProgress.Failed) progress).reason()), now), now);
    }

    /**
     * The gate before the downtime. Annotations do not change the generation, so the gate is polled;
     * a human (or a GitOps commit) sets the annotation after reading the estimate.
     */
    private UpdateControl<PostgresUpgrade> approval(PostgresUpgrade upgrade, Instant now) {
        // The approval names the attempt it is for: an approval left on the resource never waves a retry
        // (with a new spec and a new estimate nobody has read) into its downtime.
        String attempt = String.valueOf(upgrade.getStatus().getAttempt());
        var annotations = upgrade.getMetadata().getAnnotations();
        if (annotations != null && attempt.equals(annotations.get(ApprovalSpec.ANNOTATION))) {
            return transition(upgrade, engine.phaseEnded(upgrade, new PhaseOutcome.Completed(
                    "approved (annotation " + ApprovalSpec.ANNOTATION + "=" + attempt + ")"), now), now);
        }
        return waitFor(upgrade, "waiting for approval; nothing is down yet" + UpgradeEngine.estimate(upgrade.getStatus())
                + ": kubectl annotate --overwrite pgu " + upgrade.getMetadata().getName() + " " + ApprovalSpec.ANNOTATION + "=" + attempt
                + " to start the downtime of attempt " + attempt, now, APPROVAL_POLL);
    }

    /** Progress is written at most every {@link #PROGRESS_EVERY}: it is for humans, not worth an API write per poll. */
    private static boolean progressIsStale(PostgresUpgradeStatus status, Instant now) {
        return status.getProgress() == null || status.getProgress().getUpdatedAt() == null
                || Duration.between(Instant.parse(status.getProgress().getUpdatedAt()), now).compareTo(PROGRESS_EVERY) >= 0;
    }

    private static String summary(PostgresUpgradeStatus status) {
        return status.getProgress() == null ? null : status.getProgress().getSummary();
    }

    /** Status says what the phase is waiting for (written only when that changes). */
    private UpdateControl<PostgresUpgrade> waitFor(PostgresUpgrade upgrade, String what, Instant now, Duration again) {
        return wait(upgrade, engine.waiting(upgrade, what, now), again);
    }

    /** The same before a step may start: no step record is opened, so the wait is checked again next time. */
    private UpdateControl<PostgresUpgrade> waitToStart(PostgresUpgrade upgrade, String what, Instant now, Duration again) {
        return wait(upgrade, engine.waitingToStart(upgrade, what, now), again);
    }

    private UpdateControl<PostgresUpgrade> wait(PostgresUpgrade upgrade, PostgresUpgradeStatus waiting, Duration again) {
        if (Objects.equals(waiting.getMessage(), upgrade.getStatus().getMessage())) {
            return UpdateControl.<PostgresUpgrade>noUpdate().rescheduleAfter(again);
        }
        upgrade.setStatus(waiting);
        return UpdateControl.patchStatus(upgrade).rescheduleAfter(again);
    }

    /** Stores a new status, with an Event when the phase changed. */
    private UpdateControl<PostgresUpgrade> transition(PostgresUpgrade upgrade, PostgresUpgradeStatus next, Instant now) {
        crashPoints.beforeStatusWrite(upgrade, next);
        PostgresUpgradeStatus previous = upgrade.getStatus();
        Phase from = previous == null ? null : previous.getPhase();
        if (from != next.getPhase()) {
            boolean bad = next.getPhase() == Phase.Failed || next.getPhase() == Phase.RolledBack || next.getPhase() == Phase.RollingBack;
            String identity = "attempt " + next.getAttempt() + ": " + from + " -> " + next.getPhase();
            events.record(upgrade, bad, next.getPhase().name(), describe(next), identity, now);
            LOG.info("{}: {} -> {}: {}", key(upgrade), from, next.getPhase(), next.getMessage());
        }
        upgrade.setStatus(next);
        return UpdateControl.patchStatus(upgrade).rescheduleAfter(NEXT);
    }

    /** The event text: the last finished step's result, then what happens now. */
    private static String describe(PostgresUpgradeStatus status) {
        List<StepStatus> steps = status.getSteps();
        StepStatus last = steps.isEmpty() ? null : steps.get(steps.size() - 1);
        String done = last != null && last.getState() != null && last.getState() != dev.pgupgrade.api.StepState.Running && last.getMessage() != null
                ? last.getPhase() + " " + last.getState().name().toLowerCase(java.util.Locale.ROOT) + ": " + last.getMessage() + ". " : "";
        return done + status.getMessage();
    }

    /** What the reconciler refuses before anything starts; the same checks pgupgrade run makes, as far as they apply here. */
    private static List<String> problems(PostgresUpgrade upgrade) {
        return new ArrayList<>(SpecValidator.problems(upgrade));
    }

    private static boolean generationChanged(PostgresUpgrade upgrade) {
        Long generation = upgrade.getMetadata().getGeneration();
        Long observed = upgrade.getStatus().getObservedGeneration();
        return generation != null && observed != null && generation > observed;
    }

    private static String key(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getNamespace() + "/" + upgrade.getMetadata().getName();
    }
}
