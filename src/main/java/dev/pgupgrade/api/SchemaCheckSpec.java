package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * SchemaCheck: the source's schema restored into a throwaway server of the target major, and a
 * search for objects a dump cannot carry at all (pg_dump skips them silently), before any downtime.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SchemaCheckSpec extends PhaseToggle {
    public enum OnUncarried {
        /** Objects a dump cannot carry stop the upgrade before any downtime, named. */
        @JsonProperty("fail") FAIL,
        /** They are named in status and events, and the upgrade goes on without them. */
        @JsonProperty("warn") WARN
    }

    @JsonPropertyDescription("fail (default): objects a dump and restore cannot carry (made in pg_catalog, added to a built-in"
            + " operator family) stop the upgrade before any downtime, named; warn: name them and go on without them.")
    private OnUncarried onUncarried;

    public SchemaCheckSpec() {
    }

    public SchemaCheckSpec(boolean enabled) {
        super(enabled);
    }

    public OnUncarried getOnUncarried() { return onUncarried; }
    public void setOnUncarried(OnUncarried onUncarried) { this.onUncarried = onUncarried; }

    public static boolean warnsOnUncarried(PhaseToggle toggle) {
        return toggle instanceof SchemaCheckSpec s && s.onUncarried == OnUncarried.WARN;
    }
}
