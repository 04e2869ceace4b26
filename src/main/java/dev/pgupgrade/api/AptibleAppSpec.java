package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** An Aptible app that uses the source database, and the configuration variable holding its URL. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AptibleAppSpec {
    /** Aptible handles: lower-case letters, digits, '.', '_' and '-'. Nothing a shell would read as syntax. */
    public static final String HANDLE_PATTERN = "^[a-z0-9][a-z0-9._-]*$";
    /** A configuration variable name, as a shell environment variable. */
    public static final String VARIABLE_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

    @JsonPropertyDescription("The app's handle.")
    @Required
    @Pattern(HANDLE_PATTERN)
    @Size(max = 64)
    private String handle;

    @JsonPropertyDescription("The app's environment. Default: the source database's environment.")
    @Pattern(HANDLE_PATTERN)
    @Size(max = 64)
    private String environment;

    @JsonPropertyDescription("The configuration variable that holds the database URL, e.g. DATABASE_URL. "
            + "Validating checks that it holds the source's URL; Repointing sets it to the target's (aptible config:set).")
    @Required
    @Pattern(VARIABLE_PATTERN)
    @Size(max = 128)
    private String configVariable;

    public AptibleAppSpec() {
    }

    public AptibleAppSpec(String handle, String configVariable) {
        this.handle = handle;
        this.configVariable = configVariable;
    }

    public String getHandle() { return handle; }
    public void setHandle(String handle) { this.handle = handle; }
    public String getEnvironment() { return environment; }
    public void setEnvironment(String environment) { this.environment = environment; }
    public String getConfigVariable() { return configVariable; }
    public void setConfigVariable(String configVariable) { this.configVariable = configVariable; }
}
