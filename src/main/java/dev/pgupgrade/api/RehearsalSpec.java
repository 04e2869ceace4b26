package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;

/**
 * The runbook's "Test the upgrade", before any downtime: a backup of the source is restored into a
 * temporary database, dumped twice (the second run is timed, with warm caches as in the real window),
 * restored into a temporary target, and the times become {@code status.estimate}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RehearsalSpec {
    @JsonPropertyDescription("Run the rehearsal (platform aptible). Default false.")
    private Boolean enabled;

    @JsonPropertyDescription("The backup to rehearse with (its id as aptible backup:list shows it). Default: the source's latest backup.")
    @Pattern("^[0-9]{1,18}$")
    private String backupId;

    public Boolean getEnabled() { return enabled; }
    public void setEnabled(Boolean enabled) { this.enabled = enabled; }
    public String getBackupId() { return backupId; }
    public void setBackupId(String backupId) { this.backupId = backupId; }

    public static boolean isEnabled(RehearsalSpec spec) {
        return spec != null && Boolean.TRUE.equals(spec.enabled);
    }
}
