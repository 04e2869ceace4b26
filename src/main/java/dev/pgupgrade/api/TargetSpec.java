package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** The database of the new major version the source is copied into. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TargetSpec {
    /** Major versions only: "17", or "9.6" style for the old numbering. */
    public static final String VERSION_PATTERN = "^([1-9][0-9]|9\\.[0-6])$";

    /** The target's libpq URL. The password of this URL's role is never changed by the restore. */
    @JsonPropertyDescription("Secret key holding the target's libpq URL. The restore never changes this role's password.")
    @Required
    private SecretKeyRef urlSecretRef;

    /** The target server's major version, such as "17". The upgrade stops if the server reports another. */
    @JsonPropertyDescription("Major version of the target server, e.g. \"17\". The upgrade stops if the server reports another.")
    @Required
    @Pattern(VERSION_PATTERN)
    private String version;

    public SecretKeyRef getUrlSecretRef() { return urlSecretRef; }
    public void setUrlSecretRef(SecretKeyRef urlSecretRef) { this.urlSecretRef = urlSecretRef; }
    public String getVersion() { return version; }
    public void setVersion(String version) { this.version = version; }
}
