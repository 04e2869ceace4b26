package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** What to upgrade, to what, and which apps go down for it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.platform != 'direct' || (has(self.source.urlSecretRef) && has(self.target.urlSecretRef))",
        message = "platform direct needs source.urlSecretRef and target.urlSecretRef")
@ValidationRule(value = "self.platform != 'aptible' || (has(self.aptible) && has(self.source.handle) && has(self.source.environment)"
        + " && has(self.target.handle) && has(self.target.diskSizeGB))",
        message = "platform aptible needs aptible.tokenSecretRef, source.handle, source.environment, target.handle and target.diskSizeGB")
@ValidationRule(value = "self.platform == 'direct' || !has(self.services) || self.services.size() == 0",
        message = "services are Kubernetes workloads (platform direct); on aptible list aptible.apps")
@ValidationRule(value = "self.platform == 'aptible' || (!has(self.aptible) && (!has(self.rehearsal) || !has(self.rehearsal.enabled) || !self.rehearsal.enabled))",
        message = "aptible and rehearsal are for platform aptible")
@ValidationRule(value = "self.platform != 'aptible' || !has(self.transfer) || !has(self.transfer.strategy) || self.transfer.strategy != 'logical'"
        + " || ((!has(self.target.environment) || self.target.environment == self.source.environment)"
        + " && (!has(self.rehearsal) || !has(self.rehearsal.enabled) || !self.rehearsal.enabled)"
        + " && (!has(self.logical) || !has(self.logical.allowReplicaIdentityFull) || !self.logical.allowReplicaIdentityFull))",
        message = "aptible with strategy logical: the replica is created in the source's environment (target.environment, if set, is the"
                + " source's), no rehearsal, no logical.allowReplicaIdentityFull")
public class PostgresUpgradeSpec {
    @JsonPropertyDescription("direct: any PostgreSQL reachable by URL, apps are Deployments/StatefulSets. aptible: Aptible databases and apps through the aptible CLI.")
    @Required
    private Platform platform;

    @JsonPropertyDescription("The database to upgrade. It is only ever read.")
    @Required
    private SourceSpec source;

    @JsonPropertyDescription("The database of the new major version the source is copied into.")
    @Required
    private TargetSpec target;

    /** Apps to scale down, repoint and scale back up. None: nothing is scaled or repointed. */
    @Size(max = 50)
    @ValidationRule(value = "self.all(x, self.exists_one(y, y.kind == x.kind && y.name == x.name))",
            message = "each service (kind and name) may be listed once")
    @JsonPropertyDescription("Apps to scale down, repoint and scale back up: Deployments or StatefulSets in this namespace. None: nothing is scaled or repointed (stop writes yourself).")
    private List<ServiceSpec> services = new ArrayList<>();

    @JsonPropertyDescription("Platform aptible: the access token, the apps using the source, and what may be deprovisioned.")
    private AptibleSpec aptible;

    @JsonPropertyDescription("Rehearsal (platform aptible): restore a backup into temporary databases before any downtime and record the expected downtime in status.estimate.")
    private RehearsalSpec rehearsal;

    @JsonPropertyDescription("AwaitingApproval: wait for a human before the downtime starts.")
    private ApprovalSpec approval;

    /** Restore a schema-only dump into a throwaway server of the target major before any downtime (default on). */
    @JsonPropertyDescription("SchemaCheck: restore a schema-only dump into a throwaway server of the target major, and look for objects a dump cannot carry, before any downtime (default on).")
    private SchemaCheckSpec schemaCheck;

    @JsonPropertyDescription("How the data moves during the downtime window: strategy, jobs, restore session settings.")
    private TransferSpec transfer;

    @JsonPropertyDescription("Strategy logical: the cutover's catch-up timeout and the WAL the source may keep for the target.")
    private LogicalSpec logical;

    @JsonPropertyDescription("Verifying: compare the target with the source (inventory, row counts, content checksums) before the apps are pointed at it.")
    private VerificationSpec verification;

    /** VACUUM ANALYZE every database of the target after the apps are back (default on). */
    @JsonPropertyDescription("Analyzing: VACUUM ANALYZE every database of the target once the apps are back (default on).")
    private PhaseToggle analyze;

    /** Container image for the step Jobs (operator only). Default: the official postgres image of the target major. */
    @Size(max = 512)
    @Pattern("^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$")
    @JsonPropertyDescription("Container image of the step Jobs (operator). Default: postgres:<target.version> (direct), the pgupgrade toolbox for the target major (aptible).")
    private String image;

    /** The volume the dump is written to and restored from (operator only). */
    @JsonPropertyDescription("The PersistentVolumeClaim the dump is written to and restored from (operator).")
    private WorkVolumeSpec workVolume;

    /** Seconds one step may run before it is stopped and the upgrade fails (default 6 hours). */
    @Min(60)
    @Max(604800)
    @JsonPropertyDescription("Seconds one step may run before it is stopped and the upgrade fails (default 21600).")
    private Long stepTimeoutSeconds;

    public Platform getPlatform() { return platform; }
    public void setPlatform(Platform platform) { this.platform = platform; }
    public SourceSpec getSource() { return source; }
    public void setSource(SourceSpec source) { this.source = source; }
    public TargetSpec getTarget() { return target; }
    public void setTarget(TargetSpec target) { this.target = target; }
    public List<ServiceSpec> getServices() { return services; }
    public void setServices(List<ServiceSpec> services) { this.services = services == null ? new ArrayList<>() : services; }
    public AptibleSpec getAptible() { return aptible; }
    public void setAptible(AptibleSpec aptible) { this.aptible = aptible; }
    public RehearsalSpec getRehearsal() { return rehearsal; }
    public void setRehearsal(RehearsalSpec rehearsal) { this.rehearsal = rehearsal; }
    public ApprovalSpec getApproval() { return approval; }
    public void setApproval(ApprovalSpec approval) { this.approval = approval; }
    public SchemaCheckSpec getSchemaCheck() { return schemaCheck; }
    public void setSchemaCheck(SchemaCheckSpec schemaCheck) { this.schemaCheck = schemaCheck; }
    public LogicalSpec getLogical() { return logical; }
    public void setLogical(LogicalSpec logical) { this.logical = logical; }
    public TransferSpec getTransfer() { return transfer; }
    public void setTransfer(TransferSpec transfer) { this.transfer = transfer; }
    public VerificationSpec getVerification() { return verification; }
    public void setVerification(VerificationSpec verification) { this.verification = verification; }
    public PhaseToggle getAnalyze() { return analyze; }
    public void setAnalyze(PhaseToggle analyze) { this.analyze = analyze; }
    public String getImage() { return image; }
    public void setImage(String image) { this.image = image; }
    public WorkVolumeSpec getWorkVolume() { return workVolume; }
    public void setWorkVolume(WorkVolumeSpec workVolume) { this.workVolume = workVolume; }
    public Long getStepTimeoutSeconds() { return stepTimeoutSeconds; }
    public void setStepTimeoutSeconds(Long stepTimeoutSeconds) { this.stepTimeoutSeconds = stepTimeoutSeconds; }
}
