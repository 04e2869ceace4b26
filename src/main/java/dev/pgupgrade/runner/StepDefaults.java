package dev.pgupgrade.runner;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings every step script needs that are not the upgrade's own, with their defaults: the step
 * scripts hold no default of their own (they fail loudly on a missing value), so every default is here.
 * The environment the runner itself was started with may change them (tests make Aptible's retries
 * fast; a mirror's operator may wait longer for tunnels).
 */
public final class StepDefaults {
    /** Seconds libpq waits for a connection: a step never hangs on an unreachable server. */
    public static final String CONNECT_TIMEOUT = "PGCONNECT_TIMEOUT";
    /** Attempts of an Aptible CLI call that is safe to repeat. */
    public static final String APTIBLE_RETRIES = "APTIBLE_RETRIES";
    /** The first pause between those attempts, doubled each time. */
    public static final String APTIBLE_RETRY_DELAY_SECONDS = "APTIBLE_RETRY_DELAY_SECONDS";
    /** How long `aptible db:tunnel` may take to come up. */
    public static final String APTIBLE_TUNNEL_TIMEOUT_SECONDS = "APTIBLE_TUNNEL_TIMEOUT_SECONDS";
    /** When a step runs as root (locally), the unprivileged user SchemaCheck's throwaway server runs as. */
    public static final String SERVER_USER = "PGUPGRADE_SERVER_USER";

    private static final Map<String, String> DEFAULTS = Map.of(
            CONNECT_TIMEOUT, "10",
            APTIBLE_RETRIES, "4",
            APTIBLE_RETRY_DELAY_SECONDS, "3",
            APTIBLE_TUNNEL_TIMEOUT_SECONDS, "120",
            SERVER_USER, "nobody");

    private StepDefaults() {
    }

    /** The defaults, each replaced by the value {@code environment} has for it, if any. */
    public static Map<String, String> from(Map<String, String> environment) {
        Map<String, String> env = new LinkedHashMap<>();
        DEFAULTS.forEach((name, value) -> env.put(name, environment.getOrDefault(name, value)));
        return env;
    }
}
