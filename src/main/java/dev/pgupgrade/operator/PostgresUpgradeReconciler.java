package dev.pgupgrade.operator;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.driver.Tick;
import dev.pgupgrade.driver.UpgradeDriver;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.engine.SpecValidator;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.metrics.OperatorMetrics;
import dev.pgupgrade.platform.Platforms;
import dev.pgupgrade.runner.StepResources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.temporal.ChronoUnit;

/**
 * Drives PostgresUpgrades: each reconcile is one tick of the driver ({@link UpgradeDriver}), whose
 * status is stored, then reconciled again soon. Status is the operator's only state store, so it is
 * written with optimistic locking and put in JOSDK's cache at once
 * ({@link PrimaryUpdateAndCacheUtils}): the next reconcile always sees it, and a write based on a stale
 * copy fails (JOSDK retries with the fresh one) instead of overwriting a newer status. Step Jobs are a
 * secondary event source (owner references) and are read from its cache.
 */
@ControllerConfiguration(name = PostgresUpgradeReconciler.NAME)
public class PostgresUpgradeReconciler implements Reconciler<PostgresUpgrade>, Cleaner<PostgresUpgrade> {
    public static final String NAME = "postgresupgrade";
    private static final Logger LOG = LoggerFactory.getLogger(PostgresUpgradeReconciler.class);

    private final KubernetesClient client;
    private final Clock clock;
    private final UpgradeDriver driver = new UpgradeDriver(new UpgradeEngine(new Platforms()));
    private final KubernetesServices services;
    private final SecretChecks secrets;
    private final EventRecorder events;
    private final CrashPoints crashPoints;
    private final OperatorMetrics metrics;
    private InformerEventSource<Job, PostgresUpgrade> jobs;

    public PostgresUpgradeReconciler(KubernetesClient client, Clock clock) {
        this(client, clock, CrashPoints.NONE, new OperatorMetrics(clock));
    }

    PostgresUpgradeReconciler(KubernetesClient client, Clock clock, CrashPoints crashPoints, OperatorMetrics metrics) {
        this.crashPoints = crashPoints;
        this.metrics = metrics;
        this.client = client;
        this.clock = clock;
        this.services = new KubernetesServices(client);
        this.secrets = new SecretChecks(client);
        this.events = new EventRecorder(client);
    }

    @Override
    public List<EventSource<?, PostgresUpgrade>> prepareEventSources(EventSourceContext<PostgresUpgrade> context) {
        // /metrics reads every upgrade's status from the controller's own cache at each scrape
        var upgrades = context.getPrimaryCache();
        metrics.upgradesFrom(() -> upgrades.list().toList());
        jobs = new InformerEventSource<>(InformerEventSourceConfiguration.from(Job.class, PostgresUpgrade.class)
                .withName("jobs")
                .withNamespacesInheritedFromController()
                .withLabelSelector(StepResources.LABEL_UPGRADE)
                .build(), context);
        return List.of(jobs);
    }

    @Override
    public UpdateControl<PostgresUpgrade> reconcile(PostgresUpgrade upgrade, Context<PostgresUpgrade> context) {
        Instant now = clock.instant();
        UpgradeEngine engine = driver.engine();
        PostgresUpgradeStatus status = upgrade.getStatus();
        if (status == null || status.getPhase() == null) {
            List<String> problems = SpecValidator.problems(upgrade);
            return store(upgrade, context, problems.isEmpty() ? engine.initialize(upgrade, now) : engine.rejected(upgrade, problems, now),
                    UpgradeDriver.NEXT, now);
        }
        Phase phase = status.getPhase();
        if (phase.isTerminal()) {
            if (phase != Phase.Succeeded && generationChanged(upgrade)) {
                List<String> problems = SpecValidator.problems(upgrade);
                return store(upgrade, context, problems.isEmpty() ? engine.retried(upgrade, now) : engine.rejected(upgrade, problems, now),
                        UpgradeDriver.NEXT, now);
            }
            if (phase == Phase.Succeeded && generationChanged(upgrade)) {
                PostgresUpgradeStatus acknowledged = engine.specChangedAfterSuccess(upgrade, now);
                Condition refused = Conditions.find(acknowledged.getConditions(), Conditions.SPEC_CHANGE_REFUSED);
                events.record(upgrade, true, "SpecChangeRefused", refused.getMessage(), "spec change after success at generation "
                        + upgrade.getMetadata().getGeneration(), now);
                return store(upgrade, context, acknowledged, UpgradeDriver.NEXT, now);
            }
            return UpdateControl.noUpdate();  // a finished upgrade is left alone
        }
        if (phase.isBeforeDowntime() && status.getAcceptedSpec() == null && generationChanged(upgrade) && !status.getSteps().isEmpty()) {
            // What Validating (and the rehearsal, the provisioning) checked was another spec: check this one.
            List<String> problems = SpecValidator.problems(upgrade);
            return store(upgrade, context, problems.isEmpty() ? engine.restartedForNewSpec(upgrade, phase, now)
                    : engine.rejected(upgrade, problems, now), UpgradeDriver.NEXT, now);
        }
        if (SpecFreeze.apply(upgrade)) {
            // Changed after the downtime began (no CEL enforcement here): the accepted spec is used and the change is said once.
            PostgresUpgradeStatus noted = SpecFreeze.refused(upgrade, now);
            if (noted != null) {
                LOG.warn("{}: the spec changed during {}; the change is refused", key(upgrade), phase);
                events.record(upgrade, true, "SpecChangeRefused", noted.getMessage(), "spec change refused at generation "
                        + upgrade.getMetadata().getGeneration(), now);
                return store(upgrade, context, noted, UpgradeDriver.NEXT, now);
            }
        }
        return tick(upgrade, context, now);
    }

    /**
     * Deleting the resource mid-upgrade: the finalizer holds the deletion while services are down and
     * the rollback brings them back (or a scale-up finishes), then lets it go.
     */
    @Override
    public DeleteControl cleanup(PostgresUpgrade upgrade, Context<PostgresUpgrade> context) {
        Instant now = clock.instant();
        var continuing = driver.engine().deleted(upgrade, now);
        if (continuing.isEmpty()) {
            return DeleteControl.defaultDelete();
        }
        SpecFreeze.apply(upgrade);
        UpdateControl<PostgresUpgrade> control = continuing.get().getPhase() != upgrade.getStatus().getPhase()
                ? store(upgrade, context, continuing.get(), UpgradeDriver.NEXT, now)
                : tick(upgrade, context, now);
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(control.getScheduleDelay().orElse(OperatorWorld.POLL.toMillis()));
    }

    /**
     * An exception left reconcile (an API error, say): JOSDK retries with backoff; status says so, so that
     * `kubectl describe` shows why nothing moves. It is cleared by the next status the driver writes.
     */
    @Override
    public ErrorStatusUpdateControl<PostgresUpgrade> updateErrorStatus(PostgresUpgrade upgrade, Context<PostgresUpgrade> context, Exception e) {
        if (upgrade.getStatus() == null || upgrade.getStatus().getPhase() == null) {
            return ErrorStatusUpdateControl.defaultErrorProcessing();
        }
        LOG.warn("{}: reconcile failed, retrying: {}", key(upgrade), e.toString());
        PostgresUpgradeStatus status = upgrade.getStatus();
        status.setConditions(Conditions.set(status.getConditions(), Conditions.RECONCILE_ERROR, true, e.getClass().getSimpleName(),
                "the operator could not complete a reconcile and retries with backoff: " + Conditions.errorText(e),
                upgrade.getMetadata().getGeneration(), clock.instant().truncatedTo(ChronoUnit.SECONDS).toString()));
        return ErrorStatusUpdateControl.patchStatus(upgrade);
    }

    /** One tick of the driver: its status stored (with an Event when the phase changed), then the next tick scheduled. */
    private UpdateControl<PostgresUpgrade> tick(PostgresUpgrade upgrade, Context<PostgresUpgrade> context, Instant now) {
        OperatorWorld world = new OperatorWorld(client, jobs, services, secrets,
                context == null ? List.of() : context.getPrimaryCache().list().toList(), clock);
        Tick tick = driver.tick(upgrade, world);
        if (!tick.stores()) {
            return UpdateControl.<PostgresUpgrade>noUpdate().rescheduleAfter(tick.again());
        }
        return store(upgrade, context, tick.status(), tick.again(), now);
    }

    /**
     * Stores a new status: optimistic locking on the resource version, and JOSDK's cache updated at once,
     * so the next reconcile works from it. Status-only changes do not trigger reconciles: the next tick
     * is scheduled.
     */
    private UpdateControl<PostgresUpgrade> store(PostgresUpgrade upgrade, Context<PostgresUpgrade> context, PostgresUpgradeStatus next,
                                                 Duration again, Instant now) {
        if (Conditions.find(next.getConditions(), Conditions.RECONCILE_ERROR) != null
                && "True".equals(Conditions.find(next.getConditions(), Conditions.RECONCILE_ERROR).getStatus())) {
            next.setConditions(Conditions.set(next.getConditions(), Conditions.RECONCILE_ERROR, false, "Reconciled",
                    "the last reconcile completed", upgrade.getMetadata().getGeneration(), now.truncatedTo(ChronoUnit.SECONDS).toString()));
        }
        crashPoints.beforeStatusWrite(upgrade, next);
        PostgresUpgradeStatus previous = upgrade.getStatus();
        Phase from = previous == null ? null : previous.getPhase();
        if (from != next.getPhase()) {
            boolean bad = next.getPhase() == Phase.Failed || next.getPhase() == Phase.RolledBack || next.getPhase() == Phase.RollingBack;
            String identity = "attempt " + next.getAttempt() + ": " + from + " -> " + next.getPhase();
            events.record(upgrade, bad, next.getPhase().name(), describe(next), identity, now);
            LOG.info("{}: {} -> {}: {}", key(upgrade), from, next.getPhase(), next.getMessage());
        }
        Condition wal = Conditions.find(next.getConditions(), Conditions.WAL_RETAINED);
        Condition walBefore = previous == null ? null : Conditions.find(previous.getConditions(), Conditions.WAL_RETAINED);
        if (wal != null && "True".equals(wal.getStatus()) && (walBefore == null || !"True".equals(walBefore.getStatus()))) {
            // once per crossing: the event's name derives from the moment the condition turned True
            events.record(upgrade, true, "WalRetained", wal.getMessage(), "wal retained since " + wal.getLastTransitionTime(), now);
            LOG.warn("{}: {}", key(upgrade), wal.getMessage());
        }
        PostgresUpgrade stored = PrimaryUpdateAndCacheUtils.updateAndCacheResource(upgrade, context, u -> {
            u.setStatus(next);
            return u;
        }, u -> client.resource(u).updateStatus(), 0, 0, 50);
        upgrade.setStatus(stored.getStatus());
        metrics.phaseStored(from, next.getPhase(), next.getFailedPhase());
        return UpdateControl.<PostgresUpgrade>noUpdate().rescheduleAfter(again);
    }

    /** The event text: the last finished step's result, then what happens now. */
    private static String describe(PostgresUpgradeStatus status) {
        List<StepStatus> steps = status.getSteps();
        StepStatus last = steps.isEmpty() ? null : steps.get(steps.size() - 1);
        String done = last != null && last.getState() != null && last.getState() != StepState.Running && last.getMessage() != null
                ? last.getPhase() + " " + last.getState().name().toLowerCase(Locale.ROOT) + ": " + last.getMessage() + ". " : "";
        return done + status.getMessage();
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
