package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** What the rehearsal measured: the downtime window to expect, before any downtime starts. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class EstimateStatus {
    /** The backup the rehearsal restored and dumped. */
    private String backupId;
    /** The second (timed) dump of the restored backup. */
    private Double dumpSeconds;
    private Double restoreSeconds;
    /** Dump plus restore: the window during which the apps are down. */
    private Double downtimeSeconds;
    private Long bytes;
    private String measuredAt;

    public String getBackupId() { return backupId; }
    public void setBackupId(String backupId) { this.backupId = backupId; }
    public Double getDumpSeconds() { return dumpSeconds; }
    public void setDumpSeconds(Double dumpSeconds) { this.dumpSeconds = dumpSeconds; }
    public Double getRestoreSeconds() { return restoreSeconds; }
    public void setRestoreSeconds(Double restoreSeconds) { this.restoreSeconds = restoreSeconds; }
    public Double getDowntimeSeconds() { return downtimeSeconds; }
    public void setDowntimeSeconds(Double downtimeSeconds) { this.downtimeSeconds = downtimeSeconds; }
    public Long getBytes() { return bytes; }
    public void setBytes(Long bytes) { this.bytes = bytes; }
    public String getMeasuredAt() { return measuredAt; }
    public void setMeasuredAt(String measuredAt) { this.measuredAt = measuredAt; }
}
