package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** How far the running phase is (Dumping, Restoring, CatchingUp...), for {@code kubectl get pgu} and the CLI. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ProgressStatus {
    private Phase phase;
    /** bytes or items (archive entries, for the parallel restore). */
    private String unit;
    private Long done;
    private Long total;
    /** The total is an estimate (the tables' size, before the dump is written). */
    private Boolean estimated;
    private Integer percent;
    private Long etaSeconds;
    /** One line, e.g. "42% of 2.9 GiB, ETA 35s": the PROGRESS column. */
    private String summary;
    private String updatedAt;
    /** Strategy logical: the replication's lag and cost, per database and in total. */
    private ReplicationStatus replication;

    public Phase getPhase() { return phase; }
    public void setPhase(Phase phase) { this.phase = phase; }
    public String getUnit() { return unit; }
    public void setUnit(String unit) { this.unit = unit; }
    public Long getDone() { return done; }
    public void setDone(Long done) { this.done = done; }
    public Long getTotal() { return total; }
    public void setTotal(Long total) { this.total = total; }
    public Boolean getEstimated() { return estimated; }
    public void setEstimated(Boolean estimated) { this.estimated = estimated; }
    public Integer getPercent() { return percent; }
    public void setPercent(Integer percent) { this.percent = percent; }
    public Long getEtaSeconds() { return etaSeconds; }
    public void setEtaSeconds(Long etaSeconds) { this.etaSeconds = etaSeconds; }
    public String getSummary() { return summary; }
    public void setSummary(String summary) { this.summary = summary; }
    public String getUpdatedAt() { return updatedAt; }
    public void setUpdatedAt(String updatedAt) { this.updatedAt = updatedAt; }
    public ReplicationStatus getReplication() { return replication; }
    public void setReplication(ReplicationStatus replication) { this.replication = replication; }
}
