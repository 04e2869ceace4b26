package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;

/** What to upgrade, to what, and which apps go down for it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PostgresUpgradeSpec {
    @Required
    private Platform platform;

    @Required
    private SourceSpec source;

    @Required
    private TargetSpec target;

    /** Apps to scale down, repoint and scale back up. None: nothing is scaled or repointed. */
    private List<ServiceSpec> services = new ArrayList<>();

    /** Restore a schema-only dump into a throwaway server of the target major before any downtime (default on). */
    private PhaseToggle schemaCheck;

    /** VACUUM ANALYZE every database of the target after the apps are back (default on). */
    private PhaseToggle analyze;

    /** Seconds one step may run before it is stopped and the upgrade fails (default 6 hours). */
    @io.fabric8.generator.annotation.Min(60)
    @io.fabric8.generator.annotation.Max(604800)
    private Long stepTimeoutSeconds;

    public Platform getPlatform() { return platform; }
    public void setPlatform(Platform platform) { this.platform = platform; }
    public SourceSpec getSource() { return source; }
    public void setSource(SourceSpec source) { this.source = source; }
    public TargetSpec getTarget() { return target; }
    public void setTarget(TargetSpec target) { this.target = target; }
    public List<ServiceSpec> getServices() { return services; }
    public void setServices(List<ServiceSpec> services) { this.services = services == null ? new ArrayList<>() : services; }
    public PhaseToggle getSchemaCheck() { return schemaCheck; }
    public void setSchemaCheck(PhaseToggle schemaCheck) { this.schemaCheck = schemaCheck; }
    public PhaseToggle getAnalyze() { return analyze; }
    public void setAnalyze(PhaseToggle analyze) { this.analyze = analyze; }
    public Long getStepTimeoutSeconds() { return stepTimeoutSeconds; }
    public void setStepTimeoutSeconds(Long stepTimeoutSeconds) { this.stepTimeoutSeconds = stepTimeoutSeconds; }
}
