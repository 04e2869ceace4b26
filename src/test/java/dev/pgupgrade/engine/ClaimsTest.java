package dev.pgupgrade.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.testing.Upgrades;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ClaimsTest {
    private static PostgresUpgrade named(PostgresUpgrade u, String name, String created) {
        u.getMetadata().setName(name);
        u.getMetadata().setNamespace("shop");
        u.getMetadata().setCreationTimestamp(created);
        return u;
    }

    private static PostgresUpgrade aptible(String name, String created, String source, String target, String... apps) {
        PostgresUpgrade u = named(Upgrades.aptible("16", 1L), name, created);
        u.getSpec().getSource().setHandle(source);
        u.getSpec().getTarget().setHandle(target);
        u.getSpec().getAptible().setApps(new java.util.ArrayList<>(java.util.Arrays.stream(apps).map(a -> new AptibleAppSpec(a, "DATABASE_URL")).toList()));
        return u;
    }

    @Test
    void theLaterOfTwoUpgradesOfOneDatabaseWaitsAndTheEarlierDoesNot() {
        PostgresUpgrade first = aptible("first", "2026-11-23T10:00:00Z", "shop-db", "shop-db-16");
        PostgresUpgrade second = aptible("second", "2026-11-23T10:05:00Z", "shop-db", "shop-db-17");
        assertEquals(Optional.of("waiting for PostgresUpgrade first, which works on the same Aptible database shop-db (Aptible database shop-db there);"
                + " this upgrade starts once it ended"), Claims.conflict(second, List.of(first, second)));
        assertEquals(Optional.empty(), Claims.conflict(first, List.of(first, second)), "no deadlock: the older one goes");
    }

    @Test
    void oneUpgradesTargetIsAnothersSourceAndAppsAreSharedToo() {
        PostgresUpgrade chain = aptible("a", "2026-11-23T10:00:00Z", "db-12", "db-16");
        PostgresUpgrade next = aptible("b", "2026-11-23T10:01:00Z", "db-16", "db-17");
        assertTrue(Claims.conflict(next, List.of(chain)).orElseThrow().contains("Aptible database db-16"));
        PostgresUpgrade appA = aptible("c", "2026-11-23T10:00:00Z", "x", "x2", "shop-web");
        PostgresUpgrade appB = aptible("d", "2026-11-23T10:01:00Z", "y", "y2", "shop-web");
        assertTrue(Claims.conflict(appB, List.of(appA)).orElseThrow().contains("Aptible app shop-web"));
    }

    @Test
    void finishedUpgradesClaimNothingAndUnrelatedOnesNeverWait() {
        PostgresUpgrade done = aptible("done", "2026-11-23T10:00:00Z", "shop-db", "shop-db-16");
        PostgresUpgradeStatus status = new PostgresUpgradeStatus();
        status.setPhase(Phase.RolledBack);
        done.setStatus(status);
        PostgresUpgrade retry = aptible("retry", "2026-11-23T11:00:00Z", "shop-db", "shop-db-16");
        assertEquals(Optional.empty(), Claims.conflict(retry, List.of(done)));
        PostgresUpgrade direct = named(Upgrades.direct("17", 1L), "direct", "2026-11-23T09:00:00Z");
        PostgresUpgrade other = named(Upgrades.direct("17", 1L), "other", "2026-11-23T09:30:00Z");
        other.getSpec().getSource().setUrlSecretRef(new SecretKeyRef("billing-db", "url"));
        other.getSpec().getTarget().setUrlSecretRef(new SecretKeyRef("billing-new", "url"));
        assertEquals(Optional.empty(), Claims.conflict(other, List.of(direct)));
    }

    @Test
    void aRetriedOlderUpgradeNeverBargesIntoANewerOnesDowntime() {
        PostgresUpgrade older = aptible("older", "2026-11-23T10:00:00Z", "shop-db", "shop-db-16", "shop-web");
        PostgresUpgrade newer = aptible("newer", "2026-11-23T11:00:00Z", "shop-db", "shop-db-17", "shop-web");
        PostgresUpgradeStatus downtime = new PostgresUpgradeStatus();
        downtime.setPhase(Phase.Restoring);
        newer.setStatus(downtime);
        assertTrue(Claims.conflict(older, List.of(newer)).orElseThrow().contains("waiting for PostgresUpgrade newer"));
    }

    @Test
    void aptibleClaimsSpanNamespacesDirectOnesDoNot() {
        PostgresUpgrade a = aptible("a", "2026-11-23T10:00:00Z", "shop-db", "shop-db-16");
        PostgresUpgrade b = aptible("b", "2026-11-23T10:01:00Z", "shop-db", "other-16");
        b.getMetadata().setNamespace("team-b");
        assertTrue(Claims.conflict(b, List.of(a)).isPresent(), "the same Aptible database, from another namespace");
        PostgresUpgrade x = named(Upgrades.direct("17", 1L), "x", "2026-11-23T09:00:00Z");
        PostgresUpgrade y = named(Upgrades.direct("17", 1L), "y", "2026-11-23T09:30:00Z");
        y.getMetadata().setNamespace("team-b");
        assertEquals(Optional.empty(), Claims.conflict(y, List.of(x)), "Secret source-db/url of another namespace is another Secret");
    }
}
