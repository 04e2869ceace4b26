package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;

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

    public String getHandle() { return handle; }
    public void setHandle(String handle) { this.handle = handle; }
    public Boolean getCreatedByUpgrade() { return createdByUpgrade; }
    public void setCreatedByUpgrade(Boolean createdByUpgrade) { this.createdByUpgrade = createdByUpgrade; }
    public Boolean getDeprovisioned() { return deprovisioned; }
    public void setDeprovisioned(Boolean deprovisioned) { this.deprovisioned = deprovisioned; }
}
