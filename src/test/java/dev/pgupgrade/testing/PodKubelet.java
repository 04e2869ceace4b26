package dev.pgupgrade.testing;

import dev.pgupgrade.runner.ProcessStepRunner;
import dev.pgupgrade.runner.StepRunner.StepProgress;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.StepSpec;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The node of a {@link KubeControlPlane}: what kubelet does for the pods the real controllers create. A
 * Job's pod has its container run as a local bash process (the same ProcessStepRunner as {@code pgupgrade
 * run}), reported Running, then Succeeded or Failed with the exit code and the result as its termination
 * message: the real Job controller turns that into the Job's status. A pod deleted meanwhile (the garbage
 * collector after its Job was deleted, the Job controller past activeDeadlineSeconds) has its process
 * killed. Any other pod (a ReplicaSet's, a StatefulSet's) is reported Running and Ready at once, so the
 * Deployment and StatefulSet controllers count it.
 *
 * <p>With {@link #servingLogs()}, it registers a Node whose kubelet endpoint is its own HTTPS server and
 * binds each Job pod to it: {@code kubectl logs} and the operator's progress reading go through the API
 * server's pods/log proxy to this node, as in a cluster. Without it pods stay unbound and logs are
 * unavailable, as with an unreachable kubelet.
 */
public final class PodKubelet implements AutoCloseable {
    private final KubernetesClient client;
    private final String namespace;
    private final StepContainers containers;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Map<String, Integer> lowestReplicas = new ConcurrentHashMap<>();
    private final Map<String, Runnable> beforeStep = new ConcurrentHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
    private final ExecutorService steps = Executors.newCachedThreadPool();
    private volatile int jobPodsRun;
    private volatile Map<String, String> environment = Map.of();
    private final Map<String, Path> logs = new ConcurrentHashMap<>();
    private volatile NodeLogs nodeLogs;
    private final Set<ProcessStepRunner> running = ConcurrentHashMap.newKeySet();

    public PodKubelet(KubernetesClient client, String namespace, Path root, Map<String, Path> serverBinaries) {
        this.client = client;
        this.namespace = namespace;
        this.containers = new StepContainers(client, namespace, root, serverBinaries);
    }

    public PodKubelet start() {
        loop.scheduleWithFixedDelay(this::tick, 0, 150, TimeUnit.MILLISECONDS);
        return this;
    }

    /** Serves the Job pods' logs through a Node of its own (see the class comment). */
    public PodKubelet servingLogs() {
        nodeLogs = NodeLogs.start(client, logs);
        return this;
    }

    /** Environment every container gets besides its own, standing in for what the image provides (e.g. PATH with the fake aptible). */
    public PodKubelet withEnvironment(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
        return this;
    }

    /** Runs {@code action} just before the pod of a step (its label, e.g. "verifying-1") starts its container. */
    public PodKubelet beforeStep(String step, Runnable action) {
        beforeStep.put(step, action);
        return this;
    }

    /** The lowest replicas each Deployment was seen with ("Deployment/name"). */
    public Map<String, Integer> lowestReplicas() {
        return Map.copyOf(lowestReplicas);
    }

    /** How many Job pods ran a container. */
    public int jobPodsRun() {
        return jobPodsRun;
    }

    private void tick() {
        try {
            for (Deployment d : client.apps().deployments().inNamespace(namespace).list().getItems()) {
                lowestReplicas.merge("Deployment/" + d.getMetadata().getName(), d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas(),
                        Math::min);
            }
            for (Pod pod : client.pods().inNamespace(namespace).list().getItems()) {
                if (pod.getMetadata().getDeletionTimestamp() != null && NodeLogs.NODE.equals(pod.getSpec().getNodeName())) {
                    // a pod on a node goes only when its kubelet says its containers are gone (run() kills a running one)
                    client.pods().inNamespace(namespace).withName(pod.getMetadata().getName()).withGracePeriod(0).delete();
                    continue;
                }
                String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
                if ((phase != null && !"Pending".equals(phase)) || pod.getMetadata().getDeletionTimestamp() != null
                        || !seen.add(pod.getMetadata().getUid())) {
                    continue;
                }
                OwnerReference owner = pod.getMetadata().getOwnerReferences().stream().filter(o -> "Job".equals(o.getKind())).findFirst().orElse(null);
                if (owner == null) {
                    try {
                        setStatus(pod.getMetadata().getName(), p -> running(p, true));
                    } catch (RuntimeException e) {
                        seen.remove(pod.getMetadata().getUid());  // not reported yet: next tick
                        throw e;
                    }
                } else {
                    steps.submit(() -> run(pod.getMetadata().getName(), owner.getName()));
                }
            }
        } catch (RuntimeException e) {
            // the API server is going away, or a write raced: next tick
        }
    }

    private void run(String podName, String jobName) {
        try {
            Job job = client.batch().v1().jobs().inNamespace(namespace).withName(jobName).get();
            Pod pod = client.pods().inNamespace(namespace).withName(podName).get();
            if (job == null || pod == null) {
                return;
            }
            jobPodsRun++;
            StepSpec step = containers.stepOf(job, pod.getSpec().getContainers().get(0), environment);
            Runnable fault = beforeStep.remove(StepContainers.stepLabel(job));
            if (fault != null) {
                fault.run();
            }
            ProcessStepRunner runner = new ProcessStepRunner(containers.workDirOf(job), containers.scriptsOf(job), containers.secrets(), environment,
                    Clock.systemUTC());
            running.add(runner);
            runner.start(step);
            if (nodeLogs != null) {
                logs.put(namespace + "/" + podName, runner.logFile(step));
                nodeLogs.bind(namespace, podName);
            }
            setStatus(podName, p -> running(p, false));
            StepProgress progress = runner.poll(step);
            long looks = 0;
            while (progress instanceof StepProgress.Running) {
                Thread.sleep(100);
                if (++looks % 5 == 0) {
                    Pod now = client.pods().inNamespace(namespace).withName(podName).get();
                    if (now == null || now.getMetadata().getDeletionTimestamp() != null) {
                        runner.stopAll();  // the pod is going: its container is killed
                        return;
                    }
                }
                progress = runner.poll(step);
            }
            PhaseOutcome.Ran ran = ((StepProgress.Finished) progress).outcome();
            String message = StepContainers.terminationMessage(runner.resultFile(step));
            setStatus(podName, p -> terminated(p, ran.exitCode(), message));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();  // closing: close() kills what still runs
        } catch (Exception e) {
            System.err.println("PodKubelet: pod " + podName + " could not run: " + e);
            setStatus(podName, p -> terminated(p, 128, ""));
        }
    }

    private static PodStatus running(Pod pod, boolean ready) {
        String now = Instant.now().toString();
        String container = pod.getSpec().getContainers().get(0).getName();
        return new PodStatusBuilder().withPhase("Running").withStartTime(now).withPodIP("127.0.0.1")
                .withConditions(List.of(
                        new PodConditionBuilder().withType("PodScheduled").withStatus("True").withLastTransitionTime(now).build(),
                        new PodConditionBuilder().withType("Initialized").withStatus("True").withLastTransitionTime(now).build(),
                        new PodConditionBuilder().withType("ContainersReady").withStatus(ready ? "True" : "False").withLastTransitionTime(now).build(),
                        new PodConditionBuilder().withType("Ready").withStatus(ready ? "True" : "False").withLastTransitionTime(now).build()))
                .withContainerStatuses(new ContainerStatusBuilder().withName(container).withImage(pod.getSpec().getContainers().get(0).getImage())
                        .withImageID("").withReady(ready).withStarted(true).withRestartCount(0)
                        .withNewState().withNewRunning().withStartedAt(now).endRunning().endState().build())
                .build();
    }

    private static PodStatus terminated(Pod pod, int exitCode, String message) {
        String now = Instant.now().toString();
        String container = pod.getSpec().getContainers().get(0).getName();
        boolean ok = exitCode == 0;
        return new PodStatusBuilder().withPhase(ok ? "Succeeded" : "Failed").withStartTime(now).withPodIP("127.0.0.1")
                .withConditions(new PodConditionBuilder().withType("Ready").withStatus("False").withReason("PodCompleted").withLastTransitionTime(now).build())
                .withContainerStatuses(new ContainerStatusBuilder().withName(container).withImage(pod.getSpec().getContainers().get(0).getImage())
                        .withImageID("").withReady(false).withStarted(false).withRestartCount(0)
                        .withNewState().withNewTerminated().withExitCode(exitCode).withMessage(message).withReason(ok ? "Completed" : "Error")
                        .withFinishedAt(now).withStartedAt(now).endTerminated().endState().build())
                .build();
    }

    /** kubelet's status write: get, compute, put, again on a 409. */
    private void setStatus(String podName, Function<Pod, PodStatus> status) {
        for (int attempt = 1; attempt <= 10; attempt++) {
            Pod pod = client.pods().inNamespace(namespace).withName(podName).get();
            if (pod == null) {
                return;
            }
            pod.setStatus(status.apply(pod));
            try {
                client.pods().inNamespace(namespace).resource(pod).updateStatus();
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 404) {
                    return;
                }
                if (e.getCode() != 409) {
                    throw e;
                }
            }
        }
    }

    @Override
    public void close() {
        loop.shutdownNow();
        steps.shutdownNow();
        running.forEach(ProcessStepRunner::stopAll);  // no step process outlives its test
        if (nodeLogs != null) {
            nodeLogs.close();
        }
    }
}
