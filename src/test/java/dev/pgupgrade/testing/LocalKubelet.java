package dev.pgupgrade.testing;

import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.runner.ProcessStepRunner;
import dev.pgupgrade.runner.StepResources;
import dev.pgupgrade.runner.StepRunner.StepProgress;
import dev.pgupgrade.steps.StepSpec;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What a cluster does beside the API server, for tests against fabric8's mock API server: it runs
 * every Job's container as a local bash process (with the same ProcessStepRunner as {@code pgupgrade
 * run}), then writes the pod with its termination message and the Job's status back, as kubelet and
 * the Job controller would; and it plays the Deployment and StatefulSet controllers, keeping one pod
 * per replica and reporting them ready. A claim maps to one local directory, so Dumping and
 * Restoring share the dump as they share a volume in a cluster.
 */
public final class LocalKubelet implements AutoCloseable {
    /** The kubelet truncates termination messages to 4096 bytes; so does this one, to catch results that are too big. */
    static final int TERMINATION_MESSAGE_LIMIT = 4096;

    private final KubernetesClient client;
    private final String namespace;
    private final StepContainers containers;
    private final Set<String> seenJobs = ConcurrentHashMap.newKeySet();
    private final Map<String, Integer> lowestReplicas = new ConcurrentHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
    private final ExecutorService steps = Executors.newCachedThreadPool();
    private final Map<String, Runnable> beforeStep = new ConcurrentHashMap<>();
    private final Map<String, Kill> kills = new ConcurrentHashMap<>();
    /** How long a step runs before an injected kill: long enough to have started its work. */
    static final Duration KILL_AFTER = Duration.ofMillis(300);

    /** How the cluster ends a step's pod from outside, and what it leaves in the API. */
    private enum Kill {
        /** kubelet evicted the pod: Failed pod (reason Evicted, DisruptionTarget), container killed, Job BackoffLimitExceeded. */
        EVICTED,
        /** someone deleted the pod: it is gone, the Job counts it failed (backoffLimit 0): BackoffLimitExceeded. */
        POD_DELETED,
        /** activeDeadlineSeconds passed: the Job controller deleted the pod, Job Failed with reason DeadlineExceeded. */
        DEADLINE_EXCEEDED,
        /** the same, seen while the killed pod is still listed (it terminates before it is removed). */
        DEADLINE_EXCEEDED_POD_LISTED
    }
    private volatile Map<String, String> environment = Map.of();
    private volatile boolean servingLogs;
    private final Map<String, Path> logs = new ConcurrentHashMap<>();

    /** @param serverBinaries server binaries per major, standing in for the image's /usr/lib/postgresql/MAJOR/bin */
    public LocalKubelet(KubernetesClient client, String namespace, Path root, Map<String, Path> serverBinaries) {
        this.client = client;
        this.namespace = namespace;
        this.containers = new StepContainers(client, namespace, root, serverBinaries);
    }

    /**
     * Lets the cluster serve the logs of step pods, as kubelet does: each step's pod exists (Running)
     * while its process runs. Off by default. (A Job deleted while it runs always has its process killed.)
     */
    public LocalKubelet servingLogs(MockCluster cluster) {
        servingLogs = true;
        cluster.podLogs(this::logOf);
        return this;
    }

    /** The last 64 KiB of the log of a step's pod ("JOB-pod"), or null. */
    public String logOf(String podName) {
        Path log = logs.get(podName);
        if (log == null || !Files.exists(log)) {
            return null;
        }
        try {
            byte[] bytes = Files.readAllBytes(log);
            int from = Math.max(0, bytes.length - 65536);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }

    public LocalKubelet start() {
        loop.scheduleWithFixedDelay(this::tick, 0, 100, TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Environment every step process gets besides the Job's own, standing in for what the image
     * provides (e.g. PATH with the aptible CLI, here the fake one).
     */
    public LocalKubelet withEnvironment(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
        return this;
    }

    /** Runs {@code action} just before the Job of a step (its label, e.g. "verifying-1") starts: a fault from outside. */
    public LocalKubelet beforeStep(String step, Runnable action) {
        beforeStep.put(step, action);
        return this;
    }

    /** The pod of a step's Job (its label, e.g. "dumping-1") is evicted mid-run: its container is killed (exit 137) without a result. */
    public LocalKubelet evictDuring(String step) {
        kills.put(step, Kill.EVICTED);
        return this;
    }

    /** The pod of a step's Job is deleted mid-run: its process is killed and the pod is gone; the Job fails (backoffLimit 0). */
    public LocalKubelet deletePodDuring(String step) {
        kills.put(step, Kill.POD_DELETED);
        return this;
    }

    /**
     * A step's Job runs past its activeDeadlineSeconds (which the schema keeps at 60 s or more, too long to wait for):
     * the Job controller kills the process, removes the pod and marks the Job Failed with reason DeadlineExceeded.
     */
    public LocalKubelet deadlineExceeded(String step) {
        return deadlineExceeded(step, false);
    }

    /** As {@link #deadlineExceeded(String)}; with {@code podStillListed} the killed pod (exit 137, no result) is still in the API. */
    public LocalKubelet deadlineExceeded(String step, boolean podStillListed) {
        kills.put(step, podStillListed ? Kill.DEADLINE_EXCEEDED_POD_LISTED : Kill.DEADLINE_EXCEEDED);
        return this;
    }

    /** The fewest replicas each workload ("Deployment/name") was seen at: proves it was scaled down. */
    public Map<String, Integer> lowestReplicas() {
        return Map.copyOf(lowestReplicas);
    }

    /** How many Jobs were run. */
    public int jobsRun() {
        return seenJobs.size();
    }

    private void tick() {
        try {
            for (Job job : client.batch().v1().jobs().inNamespace(namespace).list().getItems()) {
                if (job.getStatus() == null || (job.getStatus().getSucceeded() == null && job.getStatus().getFailed() == null)) {
                    if (seenJobs.add(job.getMetadata().getName())) {
                        steps.submit(() -> run(job));
                    }
                }
            }
            for (Deployment d : client.apps().deployments().inNamespace(namespace).list().getItems()) {
                reconcileWorkload("Deployment", d.getMetadata().getName(), orOne(d.getSpec().getReplicas()), d.getSpec().getSelector().getMatchLabels(),
                        ready -> client.apps().deployments().inNamespace(namespace).withName(d.getMetadata().getName()).editStatus(x -> {
                            x.setStatus(new io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder().withReplicas(ready).withReadyReplicas(ready)
                                    .withAvailableReplicas(ready).withUpdatedReplicas(ready).withObservedGeneration(x.getMetadata().getGeneration()).build());
                            return x;
                        }), d.getStatus() == null ? null : d.getStatus().getReadyReplicas());
            }
            for (StatefulSet s : client.apps().statefulSets().inNamespace(namespace).list().getItems()) {
                reconcileWorkload("StatefulSet", s.getMetadata().getName(), orOne(s.getSpec().getReplicas()), s.getSpec().getSelector().getMatchLabels(),
                        ready -> client.apps().statefulSets().inNamespace(namespace).withName(s.getMetadata().getName()).editStatus(x -> {
                            x.setStatus(new io.fabric8.kubernetes.api.model.apps.StatefulSetStatusBuilder().withReplicas(ready).withReadyReplicas(ready)
                                    .withAvailableReplicas(ready).withObservedGeneration(x.getMetadata().getGeneration()).build());
                            return x;
                        }), s.getStatus() == null ? null : s.getStatus().getReadyReplicas());
            }
        } catch (RuntimeException e) {
            // the mock server is shutting down, or a write raced with the operator's: next tick
        }
    }

    private void reconcileWorkload(String kind, String name, int replicas, Map<String, String> selector,
                                   java.util.function.IntConsumer writeStatus, Integer readyNow) {
        lowestReplicas.merge(kind + "/" + name, replicas, Math::min);
        List<Pod> pods = client.pods().inNamespace(namespace).withLabels(selector).list().getItems();
        for (int i = pods.size(); i < replicas; i++) {
            client.pods().inNamespace(namespace).resource(new PodBuilder().withNewMetadata().withName(name + "-pod-" + i)
                    .withLabels(selector).endMetadata().withNewSpec().addNewContainer().withName("app").withImage("app").endContainer().endSpec()
                    .build()).createOr(existing -> existing.update());
        }
        for (Pod pod : pods) {
            int index = Integer.parseInt(pod.getMetadata().getName().substring(pod.getMetadata().getName().lastIndexOf('-') + 1));
            if (index >= replicas) {
                client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).delete();
            }
        }
        if (readyNow == null || readyNow != replicas) {
            writeStatus.accept(replicas);
        }
    }

    private void run(Job job) {
        String jobName = job.getMetadata().getName();
        try {
            Container container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
            StepSpec step = containers.stepOf(job, container, environment);
            Runnable fault = beforeStep.remove(job.getMetadata().getLabels().get(StepResources.LABEL_STEP));
            if (fault != null) {
                fault.run();
            }
            Path workDir = containers.workDirOf(job);
            Path scripts = containers.scriptsOf(job);
            ProcessStepRunner runner = new ProcessStepRunner(workDir, scripts, containers.secrets(), environment, Clock.systemUTC());
            runner.start(step);
            Kill kill = kills.remove(job.getMetadata().getLabels().get(StepResources.LABEL_STEP));
            if (kill != null) {
                long until = System.nanoTime() + KILL_AFTER.toNanos();
                while (System.nanoTime() < until && runner.poll(step) instanceof StepProgress.Running) {
                    Thread.sleep(20);
                }
                runner.stopAll();  // SIGKILL to the step and its children, as the container runtime does
                killed(job, kill);
                return;
            }
            if (servingLogs) {
                logs.put(jobName + "-pod", runner.logFile(step));
                client.pods().inNamespace(namespace).resource(new PodBuilder().withNewMetadata().withName(jobName + "-pod").withNamespace(namespace)
                        .withLabels(Map.of("job-name", jobName, "batch.kubernetes.io/job-name", jobName)).endMetadata()
                        .withSpec(job.getSpec().getTemplate().getSpec()).withNewStatus().withPhase("Running").endStatus().build()).create();
            }
            StepProgress progress = runner.poll(step);
            long looks = 0;
            while (progress instanceof StepProgress.Running) {
                Thread.sleep(100);
                if (++looks % 10 == 0 && client.batch().v1().jobs().inNamespace(namespace).withName(jobName).get() == null) {
                    runner.stopAll();  // the Job was deleted: its pod goes, its container is killed
                    if (servingLogs) {
                        client.pods().inNamespace(namespace).withName(jobName + "-pod").delete();
                    }
                    return;
                }
                progress = runner.poll(step);
            }
            if (servingLogs) {
                client.pods().inNamespace(namespace).withName(jobName + "-pod").delete();
            }
            PhaseOutcome.Ran ran = ((StepProgress.Finished) progress).outcome();
            finish(job, ran.exitCode(), StepContainers.terminationMessage(runner.resultFile(step)));
        } catch (Exception e) {
            // what a container runtime would say when it cannot start the container: said, not swallowed
            System.err.println("LocalKubelet: job " + job.getMetadata().getName() + " could not run: " + e);
            finish(job, 128, "");
        }
    }

    private void finish(Job job, int exitCode, String message) {
        String jobName = job.getMetadata().getName();
        boolean ok = exitCode == 0;
        String now = Instant.now().toString();
        Pod pod = new PodBuilder().withNewMetadata().withName(jobName + "-pod").withNamespace(namespace)
                .withLabels(Map.of("job-name", jobName, "batch.kubernetes.io/job-name", jobName)).withCreationTimestamp(now).endMetadata()
                .withSpec(job.getSpec().getTemplate().getSpec())
                .withNewStatus().withPhase(ok ? "Succeeded" : "Failed")
                    .addNewContainerStatus().withName("step").withNewState().withNewTerminated()
                        .withExitCode(exitCode).withMessage(message).withReason(ok ? "Completed" : "Error").withFinishedAt(now)
                    .endTerminated().endState().endContainerStatus()
                .endStatus().build();
        client.pods().inNamespace(namespace).resource(pod).create();
        client.batch().v1().jobs().inNamespace(namespace).withName(jobName).editStatus(j -> {
            j.setStatus(new JobStatusBuilder().withSucceeded(ok ? 1 : null).withFailed(ok ? null : 1).withCompletionTime(ok ? now : null)
                    .withConditions(new JobConditionBuilder().withType(ok ? "Complete" : "Failed").withStatus("True")
                            .withReason(ok ? null : "BackoffLimitExceeded").build()).build());
            return j;
        });
    }

    /** What kubelet and the Job controller leave behind after killing a step's pod. */
    private void killed(Job job, Kill kill) {
        String jobName = job.getMetadata().getName();
        String now = Instant.now().toString();
        if (kill == Kill.EVICTED || kill == Kill.DEADLINE_EXCEEDED_POD_LISTED) {
            boolean evicted = kill == Kill.EVICTED;
            PodBuilder pod = new PodBuilder().withNewMetadata().withName(jobName + "-pod").withNamespace(namespace)
                    .withLabels(Map.of("job-name", jobName, "batch.kubernetes.io/job-name", jobName)).withCreationTimestamp(now).endMetadata()
                    .withSpec(job.getSpec().getTemplate().getSpec())
                    .withNewStatus().withPhase("Failed")
                        .withReason(evicted ? "Evicted" : null).withMessage(evicted ? "The node was low on resource: memory." : null)
                        .addNewContainerStatus().withName("step").withNewState().withNewTerminated()
                            .withExitCode(137).withReason("Error").withFinishedAt(now)
                        .endTerminated().endState().endContainerStatus()
                    .endStatus();
            if (evicted) {
                pod.editStatus().addNewCondition().withType("DisruptionTarget").withStatus("True").withReason("TerminationByKubelet")
                        .withMessage("The node was low on resource: memory.").endCondition().endStatus();
            }
            client.pods().inNamespace(namespace).resource(pod.build()).create();
        }
        boolean deadline = kill == Kill.DEADLINE_EXCEEDED || kill == Kill.DEADLINE_EXCEEDED_POD_LISTED;
        String reason = deadline ? "DeadlineExceeded" : "BackoffLimitExceeded";
        String message = deadline ? "Job was active longer than specified deadline" : "Job has reached the specified backoff limit";
        client.batch().v1().jobs().inNamespace(namespace).withName(jobName).editStatus(j -> {
            // Since Kubernetes 1.31 the Job controller sets FailureTarget first, then Failed once the pod is terminal.
            j.setStatus(new JobStatusBuilder().withFailed(1).withActive(0).withConditions(
                    new JobConditionBuilder().withType("FailureTarget").withStatus("True").withReason(reason).withMessage(message).build(),
                    new JobConditionBuilder().withType("Failed").withStatus("True").withReason(reason).withMessage(message).build()).build());
            return j;
        });
    }

    private static int orOne(Integer n) {
        return n == null ? 1 : n;
    }

    @Override
    public void close() {
        loop.shutdownNow();
        steps.shutdownNow();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static Path dir(Path path) {
        try {
            return Files.createDirectories(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
