package dev.pgupgrade.engine;

import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.steps.aptible.Aptible;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import dev.pgupgrade.api.Phase;
import java.util.Objects;

/**
 * What an upgrade works on (its source, its target, its apps), so that two upgrades never work on
 * the same thing at once: the one created first goes first, the other waits in Validating until it
 * ended. Pure.
 */
public final class Claims {
    private Claims() {
    }

    /**
     * Why {@code self} must wait, or empty: an active upgrade among {@code others} sharing something
     * with it that is older, or already past Validating (a retried older upgrade never barges into a
     * newer one's downtime). {@code others} should span every namespace where claims are global
     * (Aptible databases and apps belong to the account, not to a namespace).
     */
    public static Optional<String> conflict(PostgresUpgrade self, Collection<PostgresUpgrade> others) {
        Map<String, String> mine = claims(self);
        return others.stream()
                .filter(o -> !sameResource(o, self) && active(o) && (before(o, self) || pastValidating(o)))
                .sorted(ORDER)
                .flatMap(o -> {
                    Map<String, String> theirs = claims(o);
                    return mine.entrySet().stream().filter(e -> theirs.containsKey(e.getKey()))
                            .map(e -> "waiting for PostgresUpgrade " + o.getMetadata().getName() + ", which works on the same "
                                    + e.getValue() + " (" + theirs.get(e.getKey()) + " there); this upgrade starts once it ended");
                })
                .findFirst();
    }

    /** Each thing an upgrade touches, as a key (platform, kind and name) with words for messages. */
    static Map<String, String> claims(PostgresUpgrade upgrade) {
        Map<String, String> claims = new LinkedHashMap<>();
        PostgresUpgradeSpec spec = upgrade.getSpec();
        if (spec == null || spec.getSource() == null || spec.getTarget() == null) {
            return claims;
        }
        if (spec.getPlatform() == Platform.APTIBLE) {
            // a database is one claim whether it is a source or a target: upgrading A into B and B into C at once is as bad
            claims.put("aptible-db:" + spec.getSource().getEnvironment() + "/" + spec.getSource().getHandle(), "Aptible database " + spec.getSource().getHandle());
            claims.put("aptible-db:" + Aptible.targetEnvironment(spec) + "/" + spec.getTarget().getHandle(), "Aptible database " + spec.getTarget().getHandle());
            if (spec.getAptible() != null) {
                for (AptibleAppSpec app : spec.getAptible().getApps()) {
                    String environment = app.getEnvironment() != null ? app.getEnvironment() : spec.getSource().getEnvironment();
                    claims.put("aptible-app:" + environment + "/" + app.getHandle(), "Aptible app " + app.getHandle());
                }
            }
        } else {
            // Secrets and workloads are namespaced: the same names in two namespaces are different things
            String ns = upgrade.getMetadata().getNamespace() + "/";
            if (spec.getSource().getUrlSecretRef() != null) {
                claims.put("url:" + ns + spec.getSource().getUrlSecretRef(), "database URL (Secret key " + spec.getSource().getUrlSecretRef() + ")");
            }
            if (spec.getTarget().getUrlSecretRef() != null) {
                claims.put("url:" + ns + spec.getTarget().getUrlSecretRef(), "database URL (Secret key " + spec.getTarget().getUrlSecretRef() + ")");
            }
            for (ServiceSpec service : spec.getServices()) {
                claims.put("workload:" + ns + service.getKind() + "/" + service.getName(), service.getKind() + " " + service.getName());
            }
        }
        return claims;
    }

    private static boolean pastValidating(PostgresUpgrade upgrade) {
        return upgrade.getStatus() != null && upgrade.getStatus().getPhase() != null && upgrade.getStatus().getPhase() != Phase.Validating;
    }

    private static boolean active(PostgresUpgrade upgrade) {
        return upgrade.getStatus() == null || upgrade.getStatus().getPhase() == null || !upgrade.getStatus().getPhase().isTerminal();
    }

    private static boolean sameResource(PostgresUpgrade a, PostgresUpgrade b) {
        if (a.getMetadata().getUid() != null && b.getMetadata().getUid() != null) {
            return a.getMetadata().getUid().equals(b.getMetadata().getUid());
        }
        return a.getMetadata().getName().equals(b.getMetadata().getName())
                && Objects.equals(a.getMetadata().getNamespace(), b.getMetadata().getNamespace());
    }

    /** Older first; the same second: by namespace and name, so both sides agree on who goes first. */
    private static final Comparator<PostgresUpgrade> ORDER = Comparator
            .comparing((PostgresUpgrade u) -> u.getMetadata().getCreationTimestamp() == null ? "" : u.getMetadata().getCreationTimestamp())
            .thenComparing(u -> String.valueOf(u.getMetadata().getNamespace()))
            .thenComparing(u -> u.getMetadata().getName());

    private static boolean before(PostgresUpgrade other, PostgresUpgrade self) {
        return ORDER.compare(other, self) < 0;
    }
}
