package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Turns an optional phase on or off. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PhaseToggle {
    @JsonPropertyDescription("Default true.")
    private Boolean enabled;

    public PhaseToggle() {
    }

    public PhaseToggle(boolean enabled) {
        this.enabled = enabled;
    }

    public Boolean getEnabled() { return enabled; }
    public void setEnabled(Boolean enabled) { this.enabled = enabled; }

    /** Unset means on: both optional phases protect the user and are skipped only on purpose. */
    public static boolean isEnabled(PhaseToggle toggle) {
        return toggle == null || toggle.enabled == null || toggle.enabled;
    }
}
