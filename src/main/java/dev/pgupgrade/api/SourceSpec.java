package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;

/** The database being upgraded. The tool only ever reads from it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SourceSpec {
    /** The source's libpq URL (postgresql://user:password@host:port/db), with a role that can read everything. */
    @JsonPropertyDescription("Secret key holding the source's libpq URL (postgresql://user:password@host:port/db); the role must be able to read everything.")
    @Required
    private SecretKeyRef urlSecretRef;

    public SecretKeyRef getUrlSecretRef() { return urlSecretRef; }
    public void setUrlSecretRef(SecretKeyRef urlSecretRef) { this.urlSecretRef = urlSecretRef; }
}
