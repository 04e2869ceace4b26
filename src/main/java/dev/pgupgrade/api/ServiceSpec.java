package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * An app that uses the source database (direct platform): scaled to zero for the dump and restore,
 * pointed at the target, and scaled back to the replicas it had.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.kind == 'Deployment' || self.kind == 'StatefulSet'", message = "kind must be Deployment or StatefulSet")
public class ServiceSpec {
    @JsonPropertyDescription("Deployment or StatefulSet.")
    @Required
    private String kind;

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    private String name;

    /** The app's Secret key that holds its database URL; Repointing writes the target's URL there. */
    @JsonPropertyDescription("The app's Secret key holding its database URL; Repointing writes the target's URL there (the previous value is kept in <upgrade>-url-backup).")
    private SecretKeyRef urlSecretRef;

    public String getKind() { return kind; }
    public void setKind(String kind) { this.kind = kind; }
    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public SecretKeyRef getUrlSecretRef() { return urlSecretRef; }
    public void setUrlSecretRef(SecretKeyRef urlSecretRef) { this.urlSecretRef = urlSecretRef; }
}
