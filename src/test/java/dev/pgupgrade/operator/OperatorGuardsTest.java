package dev.pgupgrade.operator;

import static dev.pgupgrade.operator.OperatorEndToEndTest.NS;
import static dev.pgupgrade.operator.OperatorEndToEndTest.service;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.testing.Upgrades;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.Operators;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guards around a running upgrade, with the real Operator: deleting the resource mid-downtime
 * rolls back first (finalizer); a second upgrade of the same database waits for the first; a spec
 * changed after the downtime began is refused, not half-applied.
 */
class OperatorGuardsTest {
    @TempDir
    Path tmp;

    private static PostgresUpgrade lean(String name) {
        return Upgrades.leanDirect(name, NS);
    }

    /** 300 accounts on the source, a Deployment of 3; the step pods need no server binaries here. */
    private OperatorRig rig() throws Exception {
        return new OperatorRig(tmp, Map.of(), 3, "create table accounts (id int primary key)", "insert into accounts select generate_series(1, 300)");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(60, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void deletingTheResourceDuringTheDowntimeRollsBackBeforeItGoes() throws Exception {
        try (OperatorRig rig = rig()) {
            CountDownLatch deleted = new CountDownLatch(1);
            rig.kubelet.beforeStep("dumping-1", () -> {
                rig.client.resources(PostgresUpgrade.class).inNamespace(NS).withName("deleted").delete();
                deleted.countDown();
            });
            rig.start();
            rig.client.resource(lean("deleted")).create();
            await(deleted);
            // held by the finalizer until the rollback has run
            PostgresUpgrade rolledBack = rig.cluster.await(NS, "deleted", u -> u.getStatus() != null
                    && u.getStatus().getPhase() == Phase.RolledBack, 60);
            assertNotNull(rolledBack.getMetadata().getDeletionTimestamp());
            assertTrue(rolledBack.getStatus().getSteps().stream().anyMatch(s -> s.getPhase() == Phase.RollingBack));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (rig.client.resources(PostgresUpgrade.class).inNamespace(NS).withName("deleted").get() != null && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertNull(rig.client.resources(PostgresUpgrade.class).inNamespace(NS).withName("deleted").get(), "then it goes");
            assertEquals(3, rig.replicas());
            assertEquals(0, rig.kubelet.lowestReplicas().get("Deployment/shop-api"), "it had been scaled down");
            assertTrue(rig.client.v1().events().inNamespace(NS).list().getItems().stream().map(Event::getMessage)
                    .anyMatch(m -> m.contains("being deleted during")));
        }
    }

    @Test
    void aSecondUpgradeOfTheSameDatabaseWaitsForTheFirst() throws Exception {
        try (OperatorRig rig = rig()) {
            CountDownLatch secondSeen = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            // hold the first in Dumping until the second has said why it waits
            rig.kubelet.beforeStep("dumping-1", () -> {
                secondSeen.countDown();
                await(release);
            });
            rig.start();
            try {
                rig.client.resource(lean("first")).create();
                await(secondSeen);
                PostgresUpgrade second = lean("second");
                second.getSpec().setServices(List.of());
                rig.client.resource(second).create();
                PostgresUpgrade waiting = rig.cluster.await(NS, "second", u -> u.getStatus() != null && u.getStatus().getMessage() != null
                        && u.getStatus().getMessage().contains("waiting for PostgresUpgrade first"), 30);
                assertTrue(waiting.getStatus().getMessage().contains("same database URL (Secret key source-db/url"), waiting.getStatus().getMessage());
                assertEquals(Phase.Validating, waiting.getStatus().getPhase());
                assertTrue(waiting.getStatus().getSteps().isEmpty(), "no step of the second was started");
                release.countDown();

                PostgresUpgrade first = Operators.awaitEnd(rig.cluster, "first", 120);
                assertEquals(Phase.Succeeded, first.getStatus().getPhase(), first.getStatus()::getMessage);
                // then the second goes: its target now holds the first's restore, so it stops in Validating
                PostgresUpgrade after = Operators.awaitEnd(rig.cluster, "second", 120);
                assertEquals(Phase.Failed, after.getStatus().getPhase());
                assertEquals(Phase.Validating, after.getStatus().getFailedPhase());
                assertTrue(after.getStatus().getMessage().contains("the target already holds objects of its own"), after.getStatus().getMessage());
            } finally {
                release.countDown();
            }
        }
    }

    @Test
    void aSpecChangedAfterTheDowntimeBeganIsRefusedNotApplied() throws Exception {
        try (OperatorRig rig = rig()) {
            CountDownLatch changed = new CountDownLatch(1);
            // The mock API server enforces no CEL rule, like an API server without CRD validation rules.
            rig.kubelet.beforeStep("restoring-1", () -> {
                rig.cluster.edit(NS, "frozen", u -> {
                    u.getSpec().setServices(List.of());  // would leave shop-api at zero if it were applied
                    return u;
                });
                changed.countDown();
                try {
                    Thread.sleep(1500);  // give the operator time to notice before the restore ends
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            rig.start();
            rig.client.resource(lean("frozen")).create();
            await(changed);
            PostgresUpgrade done = Operators.awaitEnd(rig.cluster, "frozen", 120);
            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
            var refused = Conditions.find(done.getStatus().getConditions(), Conditions.SPEC_CHANGE_REFUSED);
            assertNotNull(refused, "the refusal is a condition");
            assertEquals("True", refused.getStatus());
            assertEquals(3, rig.replicas(),
                    "the accepted spec's service came back");
            assertEquals(rig.target.url("postgres"), rig.appUrl(), "and was repointed");
        }
    }

    @Test
    void aSpecChangedBeforeTheDowntimeIsValidatedAgainAndAnOldApprovalDoesNotCarryOver() throws Exception {
        try (OperatorRig rig = rig()) {
            rig.start();
            PostgresUpgrade upgrade = lean("gated");
            dev.pgupgrade.api.ApprovalSpec approval = new dev.pgupgrade.api.ApprovalSpec();
            approval.setRequired(true);
            upgrade.getSpec().setApproval(approval);
            rig.client.resource(upgrade).create();
            rig.cluster.await(NS, "gated", u -> u.getStatus() != null && u.getStatus().getPhase() == Phase.AwaitingApproval, 60);
            // The approval arrives in the same write as a spec edit, so the operator can never act on the
            // approval alone (two writes raced: the operator sometimes opened the downtime in between).
            // What was validated is gone: the approval was for the old spec.
            rig.cluster.edit(NS, "gated", u -> {
                u.getMetadata().setAnnotations(new java.util.HashMap<>(java.util.Map.of(dev.pgupgrade.api.ApprovalSpec.ANNOTATION, "1")));
                u.getSpec().setStepTimeoutSeconds(3600L);
                return u;
            });
            PostgresUpgrade again = rig.cluster.await(NS, "gated", u -> u.getStatus().getAttempt() == 2
                    && u.getStatus().getPhase() == Phase.AwaitingApproval, 60);
            assertTrue(again.getStatus().getSteps().stream().anyMatch(s -> "validating-2".equals(s.getName())), "validated again");
            assertTrue(again.getStatus().getMessage().contains("approved=2"), again.getStatus().getMessage());
            Thread.sleep(1500);
            assertEquals(Phase.AwaitingApproval, rig.client.resources(PostgresUpgrade.class).inNamespace(NS).withName("gated").get()
                    .getStatus().getPhase(), "attempt 1's approval does not open attempt 2's downtime");
            assertEquals(3, rig.replicas());
            annotate(rig.client, "gated", "2");
            PostgresUpgrade done = Operators.awaitEnd(rig.cluster, "gated", 120);
            assertEquals(Phase.Succeeded, done.getStatus().getPhase(), done.getStatus()::getMessage);
        }
    }

    private static void annotate(KubernetesClient client, String name, String value) {
        MockCluster.edit(client, NS, name, u -> {
            java.util.Map<String, String> annotations = new java.util.HashMap<>(u.getMetadata().getAnnotations() == null
                    ? java.util.Map.of() : u.getMetadata().getAnnotations());
            annotations.put(dev.pgupgrade.api.ApprovalSpec.ANNOTATION, value);
            u.getMetadata().setAnnotations(annotations);
            return u;
        });
    }
}
