package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;

/** The database being upgraded. The tool only ever reads from it (until DeprovisioningSource, when asked for). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SourceSpec {
    /** The source's libpq URL (postgresql://user:password@host:port/db), with a role that can read everything. */
    @JsonPropertyDescription("Platform direct: Secret key holding the source's libpq URL (postgresql://user:password@host:port/db); the role must be able to read everything.")
    private SecretKeyRef urlSecretRef;

    @JsonPropertyDescription("Platform aptible: the source database's handle.")
    @Pattern(AptibleAppSpec.HANDLE_PATTERN)
    @Size(max = 64)
    private String handle;

    @JsonPropertyDescription("Platform aptible: the environment (handle) the source database lives in.")
    @Pattern(AptibleAppSpec.HANDLE_PATTERN)
    @Size(max = 64)
    private String environment;

    public SecretKeyRef getUrlSecretRef() { return urlSecretRef; }
    public void setUrlSecretRef(SecretKeyRef urlSecretRef) { this.urlSecretRef = urlSecretRef; }
    public String getHandle() { return handle; }
    public void setHandle(String handle) { this.handle = handle; }
    public String getEnvironment() { return environment; }
    public void setEnvironment(String environment) { this.environment = environment; }
}
