package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/** The Aptible account and apps an upgrade on platform aptible works with. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AptibleSpec {
    @JsonPropertyDescription("Secret key holding an Aptible access token (APTIBLE_ACCESS_TOKEN); it reaches the step pods only as a secretKeyRef.")
    @Required
    private SecretKeyRef tokenSecretRef;

    @JsonPropertyDescription("The Aptible apps that use the source database: all their services are scaled to zero for the dump and restore, "
            + "the configuration variable is pointed at the target, and the services come back with their recorded container counts.")
    @Size(max = 50)
    @ValidationRule(value = "self.all(x, self.exists_one(y, y.handle == x.handle))", message = "each app may be listed once")
    private List<AptibleAppSpec> apps = new ArrayList<>();

    @JsonPropertyDescription("DeprovisioningSource: deprovision the source database (aptible db:deprovision) once the upgrade succeeded. Default false: the source is left running.")
    private Boolean deprovisionSource;

    @JsonPropertyDescription("When a target (or a rehearsal's temporary database) created by this upgrade is deprovisioned, "
            + "purge its orphaned final backups (aptible backup:orphaned, backup:purge). Default false.")
    private Boolean purgeOrphanedBackups;

    public SecretKeyRef getTokenSecretRef() { return tokenSecretRef; }
    public void setTokenSecretRef(SecretKeyRef tokenSecretRef) { this.tokenSecretRef = tokenSecretRef; }
    public List<AptibleAppSpec> getApps() { return apps; }
    public void setApps(List<AptibleAppSpec> apps) { this.apps = apps == null ? new ArrayList<>() : apps; }
    public Boolean getDeprovisionSource() { return deprovisionSource; }
    public void setDeprovisionSource(Boolean deprovisionSource) { this.deprovisionSource = deprovisionSource; }
    public Boolean getPurgeOrphanedBackups() { return purgeOrphanedBackups; }
    public void setPurgeOrphanedBackups(Boolean purgeOrphanedBackups) { this.purgeOrphanedBackups = purgeOrphanedBackups; }

    public static boolean deprovisionsSource(AptibleSpec spec) {
        return spec != null && Boolean.TRUE.equals(spec.deprovisionSource);
    }

    public static boolean purgesBackups(AptibleSpec spec) {
        return spec != null && Boolean.TRUE.equals(spec.purgeOrphanedBackups);
    }
}
