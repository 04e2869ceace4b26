package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * A gate before the downtime starts: the upgrade waits in AwaitingApproval until a human sets the
 * annotation {@value #ANNOTATION} to the attempt number in status ({@code "1"} for the first; so an
 * approval is never carried over to a retry), or passes --approve to pgupgrade run, typically after
 * reading {@code status.estimate}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ApprovalSpec {
    public static final String ANNOTATION = "pgupgrade.dev/approved";

    @JsonPropertyDescription("Wait in AwaitingApproval before ScalingDown until the annotation pgupgrade.dev/approved is set to the attempt number in status (\"1\" for the first). Default false.")
    private Boolean required;

    public Boolean getRequired() { return required; }
    public void setRequired(Boolean required) { this.required = required; }

    public static boolean isRequired(ApprovalSpec spec) {
        return spec != null && Boolean.TRUE.equals(spec.required);
    }
}
