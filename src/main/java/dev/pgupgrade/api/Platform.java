package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/** Where the databases live, which decides how services are scaled and repointed. */
public enum Platform {
    /** Any reachable PostgreSQL server, by URL; apps are Deployments and StatefulSets. */
    @JsonProperty("direct") DIRECT,
    /** Aptible databases and apps, driven through the aptible CLI. */
    @JsonProperty("aptible") APTIBLE;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
