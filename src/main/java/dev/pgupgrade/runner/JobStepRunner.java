package dev.pgupgrade.runner;

import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.ProgressReport;
import dev.pgupgrade.steps.StepSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.net.HttpURLConnection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.stream.Stream;

/**
 * Runs the steps of one upgrade as Kubernetes Jobs (see {@link StepJobBuilder}). A Job's name is
 * derived from the step's, so starting twice creates one Job; its result comes from the pod's
 * termination message, which the reconciler copies into status as soon as the Job has ended,
 * long before ttlSecondsAfterFinished removes it. Jobs are read from the operator's informer cache
 * (a Job this runner just created is put there at once); a Job missing from the cache is looked up
 * in the API server before it is called lost, since only a real loss may fail an upgrade.
 */
public final class JobStepRunner implements StepRunner {
    private static final Logger LOG = LoggerFactory.getLogger(JobStepRunner.class);
    private final KubernetesClient client;
    private final PostgresUpgrade upgrade;
    private final InformerEventSource<Job, PostgresUpgrade> jobs;

    /** @param jobs the informer over the upgrades' Jobs (null: read from the API server every time) */
    public JobStepRunner(KubernetesClient client, PostgresUpgrade upgrade, InformerEventSource<Job, PostgresUpgrade> jobs) {
        this.client = client;
        this.upgrade = upgrade;
        this.jobs = jobs;
    }

    @Override
    public void start(StepSpec step) {
        String namespace = upgrade.getMetadata().getNamespace();
        String name = Names.job(upgrade, step.name());
        if (job(name).isPresent()) {
            return;
        }
        ensureScripts();
        if (StepJobBuilder.usesWorkClaim(step)) {
            createIfAbsent(StepJobBuilder.workClaim(upgrade));
        }
        HasMetadata created = createIfAbsent(StepJobBuilder.job(upgrade, step));
        if (jobs != null && created instanceof Job job) {
            jobs.handleRecentResourceCreate(ResourceID.fromResource(upgrade), job);
        }
        LOG.info("{}/{}: created Job {} for step {}", namespace, upgrade.getMetadata().getName(), name, step.script());
    }

    @Override
    public StepProgress poll(StepSpec step) {
        String namespace = upgrade.getMetadata().getNamespace();
        String name = Names.job(upgrade, step.name());
        Optional<Job> found = job(name);
        if (found.isEmpty()) {
            return new StepProgress.Lost("Job " + name + " disappeared before it reported a result");
        }
        JobStatus status = found.get().getStatus();
        boolean failed = hasCondition(status, "Failed") || (status != null && positive(status.getFailed()));
        boolean succeeded = hasCondition(status, "Complete") || (status != null && positive(status.getSucceeded()));
        if (!failed && !succeeded) {
            return new StepProgress.Running(progressFromLog(namespace, name));
        }
        // The deadline first: the killed pod may still be listed (exit 137, no result) when the Job is marked failed.
        if (failed && ("DeadlineExceeded".equals(conditionReason(status, "Failed")) || "DeadlineExceeded".equals(conditionReason(status, "FailureTarget")))) {
            return new StepProgress.Finished(new PhaseOutcome.Ran(1, null,
                    "the step ran longer than its limit of " + step.timeout().toSeconds() + " s and was stopped (Job " + name + ")"));
        }
        Optional<ContainerStateTerminated> terminated = terminatedStep(namespace, name);
        if (terminated.isEmpty()) {
            return new StepProgress.Finished(new PhaseOutcome.Ran(failed ? 1 : 0, null,
                    "Job " + name + " " + (failed ? "failed" : "ended") + " but its pod, which holds the result, is gone"));
        }
        ContainerStateTerminated state = terminated.get();
        int exitCode = state.getExitCode() == null ? (failed ? 1 : 0) : state.getExitCode();
        String message = state.getMessage();
        if (message == null || message.isBlank()) {
            return new StepProgress.Finished(new PhaseOutcome.Ran(exitCode, null,
                    "the step's pod ended (exit code " + exitCode + ", " + Objects.toString(state.getReason(), "no reason") + ") without reporting a result; see its log: kubectl logs job/" + name));
        }
        return new StepProgress.Finished(new PhaseOutcome.Ran(exitCode, message, null));
    }

    /** The step's Job: from the informer's cache, else (it may not have seen it yet, or ever) from the API server. */
    private Optional<Job> job(String name) {
        String namespace = upgrade.getMetadata().getNamespace();
        if (jobs != null) {
            Optional<Job> cached = jobs.get(new ResourceID(name, namespace));
            if (cached.isPresent()) {
                return cached;
            }
        }
        return Optional.ofNullable(client.batch().v1().jobs().inNamespace(namespace).withName(name).get());
    }

    @Override
    public void stop(String stepName) {
        // deleting the Job ends its pod
        client.batch().v1().jobs().inNamespace(upgrade.getMetadata().getNamespace())
                .withName(Names.job(upgrade, stepName)).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
    }

    @Override
    public void discard(StepSpec step) {
        stop(step.name());  // the Job, and its pod if any is left
    }

    /**
     * Creates the scripts ConfigMap, or brings it up to date with this operator's scripts. (Not a JOSDK
     * dependent resource, nor the work claim: as standalone dependents each would need an informer of
     * its own, label-filtered by hand, SSA turned off for the PVC in tests, and a matcher that misses
     * removed keys; create-if-absent with the 409-then-GET check does the same in a few lines.)
     */
    private void ensureScripts() {
        ConfigMap wanted = StepJobBuilder.scripts(upgrade);
        var resource = client.configMaps().inNamespace(upgrade.getMetadata().getNamespace()).withName(wanted.getMetadata().getName());
        ConfigMap current = resource.get();
        if (current == null) {
            createIfAbsent(wanted);
        } else if (!wanted.getData().equals(current.getData())) {
            current.setData(wanted.getData());
            resource.update();
        }
    }

    /** The object as the API server has it now (just created, or already there). */
    private HasMetadata createIfAbsent(HasMetadata object) {
        try {
            return client.resource(object).create();
        } catch (KubernetesClientException e) {
            // A 409 is harmless only if the object is really there; otherwise it was not created: fail, JOSDK retries.
            HasMetadata existing = e.getCode() == HttpURLConnection.HTTP_CONFLICT ? client.resource(object).get() : null;
            if (existing == null) {
                throw e;
            }
            return existing;
        }
    }

    private Optional<ContainerStateTerminated> terminatedStep(String namespace, String jobName) {
        List<Pod> pods = client.pods().inNamespace(namespace).withLabel("job-name", jobName).list().getItems();
        return pods.stream()
                .sorted(Comparator.comparing((Pod p) -> Objects.toString(p.getMetadata().getCreationTimestamp(), "")).reversed())
                .flatMap(p -> p.getStatus() == null || p.getStatus().getContainerStatuses() == null ? Stream.<ContainerStatus>empty()
                        : p.getStatus().getContainerStatuses().stream())
                .filter(c -> "step".equals(c.getName()) && c.getState() != null && c.getState().getTerminated() != null)
                .map(c -> c.getState().getTerminated())
                .findFirst();
    }

    /** The step's latest progress line, from its pod's log (the step prints nothing secret). */
    private ProgressReport progressFromLog(String namespace, String jobName) {
        try {
            for (Pod pod : client.pods().inNamespace(namespace).withLabel("job-name", jobName).list().getItems()) {
                String log = client.pods().inNamespace(namespace).withName(pod.getMetadata().getName())
                        .inContainer("step").tailingLines(40).getLog();
                var report = ProgressReport.lastIn(log);
                if (report.isPresent()) {
                    return report.get();
                }
            }
        } catch (KubernetesClientException e) {
            LOG.debug("no progress for Job {}: {}", jobName, e.getMessage());
        }
        return null;
    }

    private static boolean hasCondition(JobStatus status, String type) {
        return status != null && status.getConditions() != null && status.getConditions().stream()
                .anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
    }

    private static String conditionReason(JobStatus status, String type) {
        return status == null || status.getConditions() == null ? null : status.getConditions().stream()
                .filter(c -> type.equals(c.getType())).map(JobCondition::getReason).findFirst().orElse(null);
    }

    private static boolean positive(Integer n) {
        return n != null && n > 0;
    }
}
