package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What happened so far. The phase machine's only memory: everything needed to resume is here. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class PostgresUpgradeStatus {
    private Phase phase;
    /** One sentence for humans: what is happening now, or what went wrong and what to do. */
    private String message;
    private Long observedGeneration;
    /** Incremented by a retry; step names carry it so a retry never reuses an old step's result. */
    private Integer attempt;
    /** Versions as the servers report them, e.g. "13.23" and "17.6". */
    private String sourceVersion;
    private String targetVersion;
    private String startedAt;
    private String completedAt;
    /** Progress of the running Dumping or Restoring step; cleared when the phase ends. */
    private ProgressStatus progress;
    /** The target an Aptible upgrade provisions: whether this upgrade created it (so may deprovision it). */
    private TargetStatus target;
    /** What the rehearsal measured. */
    private EstimateStatus estimate;
    /**
     * The spec as it was when the downtime began (ScalingDown). From then on the upgrade works with
     * this copy: a later change (possible where the CRD's CEL rule is not enforced) is refused, never
     * half-applied to services already scaled down.
     */
    private PostgresUpgradeSpec acceptedSpec;
    /** The phase the upgrade failed in, when it failed. */
    private Phase failedPhase;
    private List<Condition> conditions = new ArrayList<>();
    private List<StepStatus> steps = new ArrayList<>();
    /** Each declared service's recorded replicas (written before it is scaled down). */
    private List<ServiceStatus> services = new ArrayList<>();

    public Phase getPhase() { return phase; }
    public void setPhase(Phase phase) { this.phase = phase; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
    public Long getObservedGeneration() { return observedGeneration; }
    public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
    public Integer getAttempt() { return attempt; }
    public void setAttempt(Integer attempt) { this.attempt = attempt; }
    public String getSourceVersion() { return sourceVersion; }
    public void setSourceVersion(String sourceVersion) { this.sourceVersion = sourceVersion; }
    public String getTargetVersion() { return targetVersion; }
    public void setTargetVersion(String targetVersion) { this.targetVersion = targetVersion; }
    public String getStartedAt() { return startedAt; }
    public void setStartedAt(String startedAt) { this.startedAt = startedAt; }
    public String getCompletedAt() { return completedAt; }
    public void setCompletedAt(String completedAt) { this.completedAt = completedAt; }
    public ProgressStatus getProgress() { return progress; }
    public void setProgress(ProgressStatus progress) { this.progress = progress; }
    public TargetStatus getTarget() { return target; }
    public void setTarget(TargetStatus target) { this.target = target; }
    public EstimateStatus getEstimate() { return estimate; }
    public void setEstimate(EstimateStatus estimate) { this.estimate = estimate; }
    public PostgresUpgradeSpec getAcceptedSpec() { return acceptedSpec; }
    public void setAcceptedSpec(PostgresUpgradeSpec acceptedSpec) { this.acceptedSpec = acceptedSpec; }
    public Phase getFailedPhase() { return failedPhase; }
    public void setFailedPhase(Phase failedPhase) { this.failedPhase = failedPhase; }
    public List<Condition> getConditions() { return conditions; }
    public void setConditions(List<Condition> conditions) { this.conditions = conditions == null ? new ArrayList<>() : conditions; }
    public List<ServiceStatus> getServices() { return services; }
    public void setServices(List<ServiceStatus> services) { this.services = services == null ? new ArrayList<>() : services; }
    public List<StepStatus> getSteps() { return steps; }
    public void setSteps(List<StepStatus> steps) { this.steps = steps == null ? new ArrayList<>() : steps; }
}
