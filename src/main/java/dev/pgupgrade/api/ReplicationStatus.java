package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/**
 * Strategy logical, while the target applies the source's writes (CatchingUp, AwaitingApproval): how
 * far behind it is, measured against the source's current WAL position, and what that costs the
 * source. Totals first, then each database (the most lagging first, at most {@link #MAX_DATABASES}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class ReplicationStatus {
    /** Status is stored in etcd: a cluster of thousands of databases shows the ones that matter. */
    public static final int MAX_DATABASES = 50;

    /** Bytes of the source's WAL the subscribers have still to apply, summed over the databases. */
    private Long lagBytes;
    /** Seconds since the source was where the slowest subscriber now is. */
    private Double lagSeconds;
    /** WAL our slots make the source keep (the largest of them: the oldest decides what is kept). */
    private Long retainedBytes;
    private List<DatabaseReplication> databases = new ArrayList<>();

    public Long getLagBytes() { return lagBytes; }
    public void setLagBytes(Long lagBytes) { this.lagBytes = lagBytes; }
    public Double getLagSeconds() { return lagSeconds; }
    public void setLagSeconds(Double lagSeconds) { this.lagSeconds = lagSeconds; }
    public Long getRetainedBytes() { return retainedBytes; }
    public void setRetainedBytes(Long retainedBytes) { this.retainedBytes = retainedBytes; }
    public List<DatabaseReplication> getDatabases() { return databases; }
    public void setDatabases(List<DatabaseReplication> databases) { this.databases = databases == null ? new ArrayList<>() : databases; }

    /** One source database, its slot on the source and its subscription on the target. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class DatabaseReplication {
        private String database;
        private Long lagBytes;
        private Double lagSeconds;
        private Long retainedBytes;
        /** streaming: its apply worker runs; stopped: it does not (failing and retried, or not enabled). */
        private String state;

        public String getDatabase() { return database; }
        public void setDatabase(String database) { this.database = database; }
        public Long getLagBytes() { return lagBytes; }
        public void setLagBytes(Long lagBytes) { this.lagBytes = lagBytes; }
        public Double getLagSeconds() { return lagSeconds; }
        public void setLagSeconds(Double lagSeconds) { this.lagSeconds = lagSeconds; }
        public Long getRetainedBytes() { return retainedBytes; }
        public void setRetainedBytes(Long retainedBytes) { this.retainedBytes = retainedBytes; }
        public String getState() { return state; }
        public void setState(String state) { this.state = state; }
    }
}
