package dev.pgupgrade.operator;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.driver.ServiceProgress;
import dev.pgupgrade.driver.World;
import dev.pgupgrade.engine.Claims;
import dev.pgupgrade.platform.PhaseWork;
import dev.pgupgrade.runner.JobStepRunner;
import dev.pgupgrade.runner.StepRunner;
import dev.pgupgrade.steps.StepSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The operator's world for one reconcile: steps are Jobs (read from the informer's cache), the apps are
 * Deployments and StatefulSets, the downtime is approved by an annotation naming the attempt, and a
 * step of Validating waits for other upgrades of the same database and for its Secrets.
 */
final class OperatorWorld implements World {
    static final Duration POLL = Duration.ofSeconds(5);
    static final Duration WAIT_FOR_SECRETS = Duration.ofSeconds(15);
    static final Duration PROGRESS_EVERY = Duration.ofSeconds(10);

    private final KubernetesClient client;
    private final InformerEventSource<Job, PostgresUpgrade> jobs;
    private final KubernetesServices services;
    private final SecretChecks secrets;
    private final List<PostgresUpgrade> all;
    private final Clock clock;

    /** @param all every upgrade the operator watches (from its cache): an Aptible database or app may be named from any namespace */
    OperatorWorld(KubernetesClient client, InformerEventSource<Job, PostgresUpgrade> jobs, KubernetesServices services, SecretChecks secrets,
                  List<PostgresUpgrade> all, Clock clock) {
        this.client = client;
        this.jobs = jobs;
        this.services = services;
        this.secrets = secrets;
        this.all = all;
        this.clock = clock;
    }

    @Override
    public StepRunner runner(PostgresUpgrade upgrade) {
        return new JobStepRunner(client, upgrade, jobs);
    }

    @Override
    public ServiceProgress services(PostgresUpgrade upgrade, PhaseWork.ServiceAction action) {
        return services.advance(upgrade, action);
    }

    /**
     * The approval names the attempt it is for: an approval left on the resource never waves a retry
     * (with a new spec and a new estimate nobody has read) into its downtime.
     */
    @Override
    public boolean approved(PostgresUpgrade upgrade) {
        var annotations = upgrade.getMetadata().getAnnotations();
        return annotations != null && attempt(upgrade).equals(annotations.get(ApprovalSpec.ANNOTATION));
    }

    @Override
    public String approval(PostgresUpgrade upgrade) {
        return "approved (annotation " + ApprovalSpec.ANNOTATION + "=" + attempt(upgrade) + ")";
    }

    @Override
    public String howToApprove(PostgresUpgrade upgrade) {
        return "kubectl annotate --overwrite pgu " + upgrade.getMetadata().getName() + " " + ApprovalSpec.ANNOTATION + "=" + attempt(upgrade)
                + " to start the downtime of attempt " + attempt(upgrade);
    }

    /** Validating's step waits for an older upgrade of the same database or app, and for Secrets GitOps may apply later. */
    @Override
    public Optional<Gate> beforeStart(PostgresUpgrade upgrade, StepSpec step) {
        if (step.phase() != Phase.Validating) {
            return Optional.empty();
        }
        Optional<String> conflict = Claims.conflict(upgrade, all);
        if (conflict.isPresent()) {
            return Optional.of(new Gate.Wait(conflict.get(), WAIT_FOR_SECRETS));
        }
        SecretChecks.Result checked = secrets.check(upgrade);
        if (!checked.invalid().isEmpty()) {
            return Optional.of(new Gate.Refuse(String.join("; ", checked.invalid())));
        }
        if (!checked.missing().isEmpty()) {
            return Optional.of(new Gate.Wait("waiting for " + String.join("; ", checked.missing()), WAIT_FOR_SECRETS));
        }
        return Optional.empty();
    }

    @Override
    public String jobOf(PostgresUpgrade upgrade, StepSpec step) {
        return Names.job(upgrade, step.name());
    }

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public Duration progressEvery() {
        return PROGRESS_EVERY;
    }

    @Override
    public Duration poll() {
        return POLL;
    }

    private static String attempt(PostgresUpgrade upgrade) {
        return String.valueOf(upgrade.getStatus().getAttempt());
    }
}
