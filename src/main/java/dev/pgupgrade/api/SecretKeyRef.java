package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * A key of a Secret in the resource's namespace, like a container's {@code secretKeyRef}. Locally
 * ({@code pgupgrade run}) it is the file {@code SECRETS_DIR/name/key}, the layout Kubernetes mounts
 * Secrets in.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretKeyRef {
    /** A DNS-1123 subdomain, as Kubernetes requires of Secret names. */
    public static final String NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    /** Secret data keys: alphanumerics, '-', '_' and '.'. */
    public static final String KEY_PATTERN = "^[-._a-zA-Z0-9]+$";

    @JsonPropertyDescription("Name of a Secret in this namespace.")
    @Required
    @Pattern(NAME_PATTERN)
    private String name;

    @JsonPropertyDescription("Key in that Secret.")
    @Required
    @Pattern(KEY_PATTERN)
    private String key;

    public SecretKeyRef() {
    }

    public SecretKeyRef(String name, String key) {
        this.name = name;
        this.key = key;
    }

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getKey() { return key; }
    public void setKey(String key) { this.key = key; }

    @Override
    public String toString() {
        return name + "/" + key;
    }
}
