package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;

/** The online strategy's limits and choices (spec.transfer.strategy: logical). Defaults live here. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!has(self.warnRetainedWalMegabytes) || self.warnRetainedWalMegabytes < (has(self.maxRetainedWalMegabytes) ? self.maxRetainedWalMegabytes : 10240)",
        message = "spec.logical.warnRetainedWalMegabytes must be below maxRetainedWalMegabytes (default 10240)")
public class LogicalSpec {
    public static final int DEFAULT_CATCH_UP_TIMEOUT_SECONDS = 60;
    public static final int DEFAULT_MAX_RETAINED_WAL_MEGABYTES = 10240;
    /** CatchingUp ends once every database is this close to the source's current WAL position. */
    public static final long CAUGHT_UP_BYTES = 1024 * 1024;

    @JsonPropertyDescription("Tables without a primary key or replica identity: give them REPLICA IDENTITY FULL on the source for the upgrade (set back at the cutover or the rollback) instead of refusing; every UPDATE and DELETE of them is then a scan on the target (default false).")
    private Boolean allowReplicaIdentityFull;

    @JsonPropertyDescription("Cutover: seconds to wait, writes frozen, for the target to apply the source's last writes; exceeded, the upgrade rolls back to the source (default 60).")
    @Min(5)
    @Max(3600)
    private Integer catchUpTimeoutSeconds;

    @JsonPropertyDescription("WAL the replication slots may make the source keep, in MiB, before the upgrade warns (condition WalRetained and a Warning event); below maxRetainedWalMegabytes (default: half of it).")
    @Min(8)
    @Max(10485759)
    private Integer warnRetainedWalMegabytes;

    @JsonPropertyDescription("WAL the replication slots may make the source keep, in MiB, while the target catches up or waits for the approval; past it the upgrade stops and removes its slots rather than fill the source's disk (default 10240).")
    @Min(16)
    @Max(10485760)
    private Integer maxRetainedWalMegabytes;

    public Boolean getAllowReplicaIdentityFull() { return allowReplicaIdentityFull; }
    public void setAllowReplicaIdentityFull(Boolean allowReplicaIdentityFull) { this.allowReplicaIdentityFull = allowReplicaIdentityFull; }
    public Integer getCatchUpTimeoutSeconds() { return catchUpTimeoutSeconds; }
    public void setCatchUpTimeoutSeconds(Integer catchUpTimeoutSeconds) { this.catchUpTimeoutSeconds = catchUpTimeoutSeconds; }
    public Integer getWarnRetainedWalMegabytes() { return warnRetainedWalMegabytes; }
    public void setWarnRetainedWalMegabytes(Integer warnRetainedWalMegabytes) { this.warnRetainedWalMegabytes = warnRetainedWalMegabytes; }
    public Integer getMaxRetainedWalMegabytes() { return maxRetainedWalMegabytes; }
    public void setMaxRetainedWalMegabytes(Integer maxRetainedWalMegabytes) { this.maxRetainedWalMegabytes = maxRetainedWalMegabytes; }

    public static boolean allowsReplicaIdentityFull(LogicalSpec spec) {
        return spec != null && Boolean.TRUE.equals(spec.allowReplicaIdentityFull);
    }

    public static int catchUpTimeoutSeconds(LogicalSpec spec) {
        return spec == null || spec.catchUpTimeoutSeconds == null ? DEFAULT_CATCH_UP_TIMEOUT_SECONDS : spec.catchUpTimeoutSeconds;
    }

    public static int maxRetainedWalMegabytes(LogicalSpec spec) {
        return spec == null || spec.maxRetainedWalMegabytes == null ? DEFAULT_MAX_RETAINED_WAL_MEGABYTES : spec.maxRetainedWalMegabytes;
    }

    /** Past this the upgrade warns: the setting, or half of the limit. */
    public static int warnRetainedWalMegabytes(LogicalSpec spec) {
        return spec == null || spec.warnRetainedWalMegabytes == null ? maxRetainedWalMegabytes(spec) / 2 : spec.warnRetainedWalMegabytes;
    }

    /** Whether the spec asks for the online strategy. */
    public static boolean isLogical(PostgresUpgradeSpec spec) {
        return TransferSpec.strategy(spec) == TransferSpec.Strategy.LOGICAL;
    }
}
