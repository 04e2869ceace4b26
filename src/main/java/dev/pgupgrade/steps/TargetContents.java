package dev.pgupgrade.steps;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The one emptiness rule for targets, on every platform: a target is restored into only when it holds
 * nothing of anyone's -- no user object of any kind in any database it can enter (relations,
 * functions, types, schemas, extensions beyond the defaults, operators, large objects...: what the
 * step's target-objects.sql counts), no role but the connecting one, the bootstrap superuser and the
 * platform's own, no tablespace and no subscription. Empty databases are fine: the restore's "already
 * exists" for them is expected. Pure.
 */
public final class TargetContents {
    /** User objects of one kind in one database of the target (target-objects.sql). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record TargetObject(String database, String kind, Integer count) {
    }

    /** A cluster-wide fact about the target: a role (name, bootstrap), or how many roles, tablespaces, subscriptions. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record TargetFact(String kind, String name, Boolean bootstrap, Integer count) {
    }

    /** How many findings a message lists before it says "and N more". */
    static final int LISTED = 8;

    private TargetContents() {
    }

    /**
     * What the target holds that a restore would mix with, as one sentence; empty when nothing.
     *
     * @param platformRoles roles the platform itself puts on every new server (Aptible: aptible, postgres)
     */
    public static Optional<String> problem(List<TargetObject> objects, List<TargetFact> cluster, Set<String> platformRoles) {
        List<String> found = new ArrayList<>();
        Map<String, List<String>> perDatabase = new LinkedHashMap<>();
        for (TargetObject object : orEmpty(objects)) {
            if (object.count() != null && object.count() > 0) {
                perDatabase.computeIfAbsent(object.database(), d -> new ArrayList<>()).add(Figures.count(object.count(), object.kind()));
            }
        }
        perDatabase.forEach((database, kinds) -> found.add("database " + Shown.name(database) + ": " + String.join(", ", kinds)));
        List<String> roles = new ArrayList<>();
        int listedRoles = 0;
        int totalRoles = 0;
        for (TargetFact fact : orEmpty(cluster)) {
            switch (fact.kind() == null ? "" : fact.kind()) {
                case "role" -> {
                    listedRoles++;
                    if (!Boolean.TRUE.equals(fact.bootstrap()) && !platformRoles.contains(fact.name())) {
                        roles.add(Shown.name(fact.name()));
                    }
                }
                case "roles" -> totalRoles = fact.count() == null ? 0 : fact.count();
                case "tablespace", "subscription" -> found.add(Figures.count(fact.count(), fact.kind()));
                default -> {
                }
            }
        }
        int unlisted = Math.max(0, totalRoles - listedRoles);  // not shown by the step: cannot be shown to be the platform's
        if (!roles.isEmpty() || unlisted > 0) {
            found.add("roles " + String.join(", ", roles) + (unlisted > 0 ? (roles.isEmpty() ? "" : " ") + "and " + unlisted + " more" : ""));
        }
        if (found.isEmpty()) {
            return Optional.empty();
        }
        String listed = String.join("; ", found.subList(0, Math.min(LISTED, found.size())))
                + (found.size() > LISTED ? "; and " + (found.size() - LISTED) + " more" : "");
        return Optional.of("the target already holds objects of its own (" + listed
                + "); a restore would mix them with the source's, so it is never restored into: point the target at an empty server, or drop what it holds first");
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }
}
