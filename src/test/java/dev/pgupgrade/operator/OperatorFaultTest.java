package dev.pgupgrade.operator;

import static dev.pgupgrade.operator.OperatorEndToEndTest.NS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.engine.Conditions;
import dev.pgupgrade.testing.MockCluster;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.Upgrades;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults from outside the operator, against the real JOSDK Operator, fabric8's mock API server and
 * real PostgreSQL 13 and 17 servers: an API server answering 409/500/503, a step's pod evicted or
 * deleted mid-run, a step past its deadline. Each test asserts the end state and that no step ever
 * got a second Job. Only Validating, Dumping and Restoring run Jobs here (SchemaCheck, Verifying and
 * Analyzing are off, to stay fast; the data is compared directly).
 */
class OperatorFaultTest {
    private static final String ROWS = "500";

    @TempDir
    Path tmp;

    /** The rig of every test here: 500 accounts on the source, a Deployment of 2, server binaries for the step pods. */
    private OperatorRig rig() throws Exception {
        return new OperatorRig(tmp, Map.of("17", PostgresServer.binDir("17")), 2, "create table accounts (id int primary key, owner text)",
                "insert into accounts select g, 'owner ' || g from generate_series(1, " + ROWS + ") g");
    }

    private static PostgresUpgrade upgrade(String name) {
        PostgresUpgrade upgrade = Upgrades.leanDirect(name, NS);
        upgrade.getSpec().setStepTimeoutSeconds(60L);  // the schema's minimum; deadlines are simulated, not waited for
        return upgrade;
    }

    /** Rows and an order-independent digest of public.accounts, or "absent". */
    private static String accounts(PostgresServer server) throws Exception {
        try (Connection c = server.connect("postgres");
             ResultSet rs = c.createStatement().executeQuery("select count(*) || ' rows, md5 ' || md5(string_agg(id || ':' || owner, ',' order by id))"
                     + " from accounts where to_regclass('public.accounts') is not null")) {
            rs.next();
            return rs.getString(1);
        } catch (java.sql.SQLException e) {
            return "absent";
        }
    }

    private static Supplier<String> yaml(KubernetesClient client, PostgresUpgrade upgrade) {
        return () -> upgrade.getStatus().getMessage() + "\n" + client.getKubernetesSerialization().asJson(upgrade.getStatus());
    }

    private static void assertSucceeded(OperatorRig rig, PostgresUpgrade done) throws Exception {
        PostgresUpgradeStatus status = done.getStatus();
        assertEquals(Phase.Succeeded, status.getPhase(), yaml(rig.client, done));
        assertEquals(null, status.getFailedPhase());
        assertEquals("True", Conditions.find(status.getConditions(), Conditions.READY).getStatus());
        assertEquals(List.of(Phase.Validating, Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Repointing, Phase.ScalingUp),
                status.getSteps().stream().filter(s -> s.getState() != StepState.Skipped).map(StepStatus::getPhase).toList());
        assertTrue(status.getSteps().stream().allMatch(s -> s.getState() == StepState.Succeeded || s.getState() == StepState.Skipped),
                yaml(rig.client, done));
        assertEquals(Map.of("dumping-1", 1L, "restoring-1", 1L, "validating-1", 1L), rig.jobsPerStep(), "one Job per step, never a second");
        assertEquals(3, rig.kubelet.jobsRun());
        assertEquals(ROWS + " rows", accounts(rig.target).split(",")[0]);
        assertEquals(accounts(rig.source), accounts(rig.target), "the target holds the source's rows");
        assertEquals(0, rig.kubelet.lowestReplicas().get("Deployment/shop-api"));
        assertEquals(2, rig.replicas(), "the app is back at its recorded replicas");
        assertEquals(rig.target.url("postgres"), rig.appUrl(), "and points at the target");
    }

    /** A rollback after {@code failed}: services back on the source at their replicas, nothing beyond {@code jobs} run. */
    private static PostgresUpgradeStatus assertRolledBack(OperatorRig rig, PostgresUpgrade done, Phase failed, Map<String, Long> jobs) {
        PostgresUpgradeStatus status = done.getStatus();
        assertEquals(Phase.RolledBack, status.getPhase(), yaml(rig.client, done));
        assertEquals(failed, status.getFailedPhase());
        assertTrue(status.getMessage().startsWith("Rolled back after " + failed + " failed: "), status.getMessage());
        assertEquals("True", Conditions.find(status.getConditions(), Conditions.FAILED).getStatus());
        assertEquals(failed + "Failed", Conditions.find(status.getConditions(), Conditions.FAILED).getReason());
        assertEquals(0, rig.kubelet.lowestReplicas().get("Deployment/shop-api"), "the app was taken down");
        assertEquals(2, rig.replicas(), "and is back at its recorded replicas");
        assertEquals(rig.source.url("postgres"), rig.appUrl(), "still on the source");
        assertEquals(jobs, rig.jobsPerStep(), "no step started twice, none after the failure");
        assertEquals(jobs.size(), rig.kubelet.jobsRun());
        return status;
    }

    // 1. The API server answering errors for a while.

    @Test
    void statusWritesAnsweredConflictThenUnavailableAreRetriedAndTheUpgradeSucceeds() throws Exception {
        try (OperatorRig rig = rig()) {
            // The first write (Validating starts), two in a row once Restoring is stored, and the one that ends the upgrade.
            // A 409 reaches JOSDK (reconcile retried after 2 s); a 503 is retried by fabric8's client itself.
            MockCluster.Fault conflict = rig.cluster.fail(MockCluster.statusWrite("Validating"), 1, 409);
            MockCluster.Fault unavailable = rig.cluster.fail(MockCluster.statusWrite("\"Restoring\""), 2, 503);
            MockCluster.Fault lastConflict = rig.cluster.fail(MockCluster.statusWrite("\"Succeeded\""), 1, 409);

            PostgresUpgrade done = rig.run(upgrade("contended"), 90);

            assertSucceeded(rig, done);
            assertEquals(1, conflict.answered());
            assertEquals(2, unavailable.answered());
            assertEquals(1, lastConflict.answered());
            assertTrue(rig.cluster.received(MockCluster.statusWrite()) > 4, "the failed writes were written again");
            assertEquals(3, rig.cluster.received(MockCluster.jobCreation()), "each Job was created once");
        }
    }

    @Test
    void statusWritesRefusedLongerThanJosdksRetriesDoNotLeaveTheAppsDown() throws Exception {
        try (OperatorRig rig = rig()) {
            // Six 409s in a row exhaust JOSDK's default retry (5 retries, 2 s x 1.5^n: ~26 s), with the apps already at zero
            // and no Job whose events would wake the reconciler: only a periodic reconcile can carry on.
            MockCluster.Fault conflicts = rig.cluster.fail(MockCluster.statusWrite("\"Dumping\""), 6, 409);
            PostgresUpgrade done = rig.run(upgrade("parked"), 75);

            assertEquals(6, conflicts.answered());
            assertSucceeded(rig, done);
        }
    }

    @Test
    void jobCreationsAnsweredServerErrorAreRetriedWithoutASecondJob() throws Exception {
        try (OperatorRig rig = rig()) {
            MockCluster.Fault validating = rig.cluster.fail(MockCluster.jobCreation("validating-1"), 2, 500);
            // Created, but the answer is lost: the retry must find the Job rather than make another.
            MockCluster.Fault restoring = rig.cluster.failAfterApplying(MockCluster.jobCreation("restoring-1"), 1, 500);

            PostgresUpgrade done = rig.run(upgrade("flaky-jobs"), 90);

            assertSucceeded(rig, done);
            assertEquals(2, validating.answered());
            assertEquals(1, restoring.answered());
            assertEquals(3, rig.cluster.received(MockCluster.jobCreation("validating-1")), "two refused, then created");
            // fabric8's client itself retries a 5xx, POST included: the second POST is answered AlreadyExists, which start() accepts.
            assertTrue(rig.cluster.received(MockCluster.jobCreation("restoring-1")) >= 2);
        }
    }

    @Test
    void restoringJobCreationAnsweredConflictIsRetriedNotTakenForALostRestore() throws Exception {
        try (OperatorRig rig = rig()) {
            // A 409 that is not AlreadyExists: the Job was NOT created, and fabric8 does not retry a 409 by itself.
            MockCluster.Fault conflict = rig.cluster.fail(MockCluster.jobCreation("restoring-1"), 1, 409);

            PostgresUpgrade done = rig.run(upgrade("conflicted-job"), 90);

            assertEquals(1, conflict.answered());
            assertSucceeded(rig, done);
        }
    }

    // 2. A step's pod evicted or deleted mid-run.

    @Test
    void validatingPodDeletedFailsBeforeAnythingIsTouched() throws Exception {
        try (OperatorRig rig = rig()) {
            rig.kubelet.deletePodDuring("validating-1");

            PostgresUpgrade done = rig.run(upgrade("validating-deleted"), 90);

            PostgresUpgradeStatus status = done.getStatus();
            assertEquals(Phase.Failed, status.getPhase(), yaml(rig.client, done));
            assertEquals(Phase.Validating, status.getFailedPhase());
            assertTrue(status.getMessage().contains("Job validating-deleted-validating-1 failed but its pod, which holds the result, is gone"),
                    status.getMessage());
            assertTrue(status.getMessage().contains("Nothing was written to the source or the target"), status.getMessage());
            assertEquals(Map.of("validating-1", 1L), rig.jobsPerStep());
            assertEquals(2, rig.kubelet.lowestReplicas().get("Deployment/shop-api"), "the app was never scaled");
            assertEquals(rig.source.url("postgres"), rig.appUrl());
            assertEquals("absent", accounts(rig.target));
        }
    }

    @Test
    void dumpingPodEvictedRollsBackWithTheKilledPodAsCause() throws Exception {
        try (OperatorRig rig = rig()) {
            rig.kubelet.evictDuring("dumping-1");

            PostgresUpgrade done = rig.run(upgrade("dump-evicted"), 90);

            // Dumping only reads the source, so a rerun would be safe; today it fails (clearly) and rolls back.
            PostgresUpgradeStatus status = assertRolledBack(rig, done, Phase.Dumping, Map.of("validating-1", 1L, "dumping-1", 1L));
            assertTrue(status.getMessage().contains("the step's pod ended (exit code 137, Error) without reporting a result"), status.getMessage());
            assertTrue(status.getMessage().contains("kubectl logs job/dump-evicted-dumping-1"), status.getMessage());
            assertEquals("absent", accounts(rig.target), "nothing was restored");
        }
    }

    @Test
    void restoringPodEvictedIsNotRestoredAgainAndRollsBackSayingSo() throws Exception {
        try (OperatorRig rig = rig()) {
            rig.kubelet.evictDuring("restoring-1");

            PostgresUpgrade done = rig.run(upgrade("restore-evicted"), 90);

            PostgresUpgradeStatus status = assertRolledBack(rig, done, Phase.Restoring,
                    Map.of("validating-1", 1L, "dumping-1", 1L, "restoring-1", 1L));
            Thread.sleep(1000);  // a second restore would be created on a later reconcile: give it the chance
            assertEquals(1L, rig.jobsPerStep().get("restoring-1"), "a half-finished restore is never run over");
            assertTrue(status.getMessage().contains("exit code 137"), status.getMessage());
            // The user must learn that the restore was not retried and that the target may be half-restored.
            assertTrue(status.getMessage().contains("not started again"), "the message does not say the restore was not retried: " + status.getMessage());
            assertTrue(status.getMessage().contains("partial restore"), "the message does not warn of a partial restore: " + status.getMessage());
        }
    }

    // 3. A step past its deadline (activeDeadlineSeconds).

    @Test
    void restoringPastItsDeadlineRollsBackNamingTheDeadline() throws Exception {
        try (OperatorRig rig = rig()) {
            rig.kubelet.deadlineExceeded("restoring-1");

            PostgresUpgrade done = rig.run(upgrade("restore-late"), 90);

            PostgresUpgradeStatus status = assertRolledBack(rig, done, Phase.Restoring,
                    Map.of("validating-1", 1L, "dumping-1", 1L, "restoring-1", 1L));
            assertTrue(status.getMessage().contains("the step ran longer than its limit of 60 s and was stopped (Job restore-late-restoring-1)"),
                    status.getMessage());
        }
    }

    @Test
    void restoringPastItsDeadlineNamesTheDeadlineWhileTheKilledPodIsStillListed() throws Exception {
        try (OperatorRig rig = rig()) {
            rig.kubelet.deadlineExceeded("restoring-1", true);

            PostgresUpgrade done = rig.run(upgrade("restore-late-pod"), 90);

            PostgresUpgradeStatus status = assertRolledBack(rig, done, Phase.Restoring,
                    Map.of("validating-1", 1L, "dumping-1", 1L, "restoring-1", 1L));
            assertTrue(status.getMessage().contains("ran longer than its limit of 60 s"), "the deadline is not named: " + status.getMessage());
        }
    }
}
