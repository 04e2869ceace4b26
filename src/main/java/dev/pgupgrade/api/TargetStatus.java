package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What the upgrade knows about a target it may create (platform aptible). {@code createdByUpgrade} is
 * recorded by Validating, BEFORE ProvisioningTarget runs db:create, and kept across retries: only a
 * target this upgrade created is ever deprovisioned by a rollback.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TargetStatus {
    private String handle;
    private Boolean createdByUpgrade;
    private Boolean deprovisioned;
    /**
     * Strategy logical on Aptible: the replication slots on the source that feed the replica, found by
     * Replicating; every rollback drops them, even once the replica is gone.
     */
    private List<String> replicationSlots;

    public String getHandle() { return handle; }
    public void setHandle(String handle) { this.handle = handle; }
    public Boolean getCreatedByUpgrade() { return createdByUpgrade; }
    public void setCreatedByUpgrade(Boolean createdByUpgrade) { this.createdByUpgrade = createdByUpgrade; }
    public Boolean getDeprovisioned() { return deprovisioned; }
    public void setDeprovisioned(Boolean deprovisioned) { this.deprovisioned = deprovisioned; }
    public List<String> getReplicationSlots() { return replicationSlots; }
    public void setReplicationSlots(List<String> replicationSlots) { this.replicationSlots = replicationSlots; }
}
