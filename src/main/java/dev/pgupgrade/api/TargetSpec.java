package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** The database of the new major version the source is copied into. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TargetSpec {
    /** Major versions only: "17", or "9.6" style for the old numbering. */
    public static final String VERSION_PATTERN = "^([1-9][0-9]|9\\.[0-6])$";
    public static final int MAX_DISK_GB = 16384;
    public static final int MIN_CONTAINER_MB = 256;
    public static final int MAX_CONTAINER_MB = 786432;

    /** The target's libpq URL. The password of this URL's role is never changed by the restore. */
    @JsonPropertyDescription("Platform direct: Secret key holding the target's libpq URL. The restore never changes this role's password.")
    private SecretKeyRef urlSecretRef;

    /** The target server's major version, such as "17". The upgrade stops if the server reports another. */
    @JsonPropertyDescription("Major version of the target server, e.g. \"17\". The upgrade stops if the server reports another.")
    @Required
    @Pattern(VERSION_PATTERN)
    private String version;

    @JsonPropertyDescription("Platform aptible: the handle of the database to create (aptible db:create), or of an existing empty one to adopt.")
    @Pattern(AptibleAppSpec.HANDLE_PATTERN)
    @Size(max = 64)
    private String handle;

    @JsonPropertyDescription("Platform aptible: the environment to create the target in. Default: the source's.")
    @Pattern(AptibleAppSpec.HANDLE_PATTERN)
    @Size(max = 64)
    private String environment;

    @JsonPropertyDescription("Platform aptible: the target's disk size in GB (db:create --disk-size).")
    @Min(1)
    @Max(MAX_DISK_GB)
    private Integer diskSizeGB;

    @JsonPropertyDescription("Platform aptible: the target's container size in MB (db:create --container-size). Default: Aptible's.")
    @Min(MIN_CONTAINER_MB)
    @Max(MAX_CONTAINER_MB)
    private Integer containerSizeMB;

    public SecretKeyRef getUrlSecretRef() { return urlSecretRef; }
    public void setUrlSecretRef(SecretKeyRef urlSecretRef) { this.urlSecretRef = urlSecretRef; }
    public String getVersion() { return version; }
    public void setVersion(String version) { this.version = version; }
    public String getHandle() { return handle; }
    public void setHandle(String handle) { this.handle = handle; }
    public String getEnvironment() { return environment; }
    public void setEnvironment(String environment) { this.environment = environment; }
    public Integer getDiskSizeGB() { return diskSizeGB; }
    public void setDiskSizeGB(Integer diskSizeGB) { this.diskSizeGB = diskSizeGB; }
    public Integer getContainerSizeMB() { return containerSizeMB; }
    public void setContainerSizeMB(Integer containerSizeMB) { this.containerSizeMB = containerSizeMB; }
}
