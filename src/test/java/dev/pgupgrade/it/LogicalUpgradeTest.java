package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.local.StateFile;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.LogicalFixtures;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.UpgradeWorkspace;
import dev.pgupgrade.testing.WriteLoad;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The online strategy through {@code pgupgrade run}, real servers, real scripts, with an app writing
 * to the source the whole time: the target must hold every acknowledged write and sequences at least
 * the source's, and neither server may keep a publication, slot or subscription of ours.
 */
class LogicalUpgradeTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "PostgreSQL {0} -> {1}, online, writes flowing")
    @CsvSource({"10, 17", "13, 17", "15, 18"})
    void onlineUpgradeKeepsEveryAcknowledgedWrite(String sourceMajor, String targetMajor) throws Exception {
        try (PostgresServer source = PostgresServer.start(sourceMajor, LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start(targetMajor)) {
            LogicalFixtures.dataset(source);
            UpgradeWorkspace ws = workspace(source, target, targetMajor, "");
            UpgradeWorkspace.Result run;
            List<Long> acknowledged;
            try (WriteLoad load = new WriteLoad(source::connect, "shop", 20).start()) {
                Thread.sleep(500);
                run = ws.run(targetMajor);
                acknowledged = load.acknowledged();
                assertFalse(load.running(), "the writer was let in after the cutover: " + load.stoppedBecause());
            }
            assertEquals(0, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals(List.of("Validating", "Validating", "SchemaCheck", "Replicating", "Verifying", "CatchingUp", "ScalingDown", "Cutover",
                    "Repointing", "ScalingUp", "Analyzing"), DirectUpgradeTest.phases(status), status::toString);
            assertTrue(DirectUpgradeTest.step(status, "Verifying").path("message").asText().startsWith("target matches the source"),
                    status::toString);
            assertTrue(acknowledged.size() > 20, "the writer wrote during the upgrade: " + acknowledged.size());

            // the source stays frozen; opened again, it equals the target in every row, object and sequence
            assertEquals(0, source.queryInt("template1", "select count(*) from pg_database where datname = 'shop' and datallowconn"));
            LogicalFixtures.unfreeze(source);
            String diff = ClusterSnapshot.of(source).without("role passwords", "postgres ")
                    .diff(ClusterSnapshot.of(target).without("role passwords", "postgres "));
            assertEquals("", diff, "source and target differ after the cutover");

            // every acknowledged insert is on the target, and the target's sequence is past all of them
            Set<Long> onTarget = new HashSet<>(LogicalFixtures.longs(target, "shop", "select id from load_events"));
            List<Long> missing = acknowledged.stream().filter(id -> !onTarget.contains(id)).toList();
            assertEquals(List.of(), missing, "acknowledged writes missing on the target");
            long next = LogicalFixtures.longs(target, "shop", "select nextval('load_events_id_seq')").get(0);
            assertTrue(next > acknowledged.get(acknowledged.size() - 1), "the target's sequence would hand out an id already used: " + next);
            LogicalFixtures.assertNoReplicationLeft(source, target);
            for (String text : List.of(run.stdout(), run.stderr(), Files.readString(ws.stateFile()))) {
                assertFalse(text.contains(source.password()) || text.contains(target.password()), "a password leaked");
            }
        }
    }

    @Test
    void refusesWhatReplicationCannotCarryAndTouchesNothing() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17")) {
            source.execute("postgres", "create table \"no key|here\" (a int, b text)", "insert into \"no key|here\" values (1, 'x')");
            UpgradeWorkspace.Result run = workspace(source, target, "17", "").run("17");
            assertEquals(1, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Validating", status.path("failedPhase").asText(), status::toString);
            String message = status.path("message").asText();
            assertTrue(message.contains("wal_level is replica, not logical") && message.contains("restart"), message);
            assertTrue(message.contains("\"no key|here\"") && message.contains("primary key"), message);
            LogicalFixtures.assertNoReplicationLeft(source, target);
            assertEquals(0, target.queryInt("postgres", "select count(*) from pg_database where datname not in ('postgres', 'template0', 'template1')"));
        }
    }

    /**
     * Allowed explicitly, a table without a key is replicated with REPLICA IDENTITY FULL: its UPDATEs
     * and DELETEs while replicating reach the target, and the source gets its own identity back.
     */
    @Test
    void aKeylessTableIsCarriedWithFullIdentityWhenAllowed() throws Exception {
        try (PostgresServer source = PostgresServer.start("13", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17")) {
            LogicalFixtures.dataset(source);
            source.execute("shop", "create table \"no key|here\" (a int, b text)",
                    "insert into \"no key|here\" select g, 'row ' || g from generate_series(1, 200) g");
            UpgradeWorkspace ws = workspace(source, target, "17", "  approval: {required: true}\n")
                    .directManifest("online", "17", "  transfer: {strategy: logical}\n  logical: {catchUpTimeoutSeconds: 20, allowReplicaIdentityFull: true}\n"
                            + "  approval: {required: true}\n");
            UpgradeWorkspace.Result waiting = ws.run("17");
            assertEquals(6, waiting.exitCode(), waiting::toString);
            assertEquals(1, source.queryInt("shop", "select count(*) from pg_class where relname = 'no key|here' and relreplident = 'f'"));
            // what the apps do meanwhile reaches the target, keyless or not
            source.execute("shop", "update \"no key|here\" set b = 'changed' where a <= 50", "delete from \"no key|here\" where a > 150");

            UpgradeWorkspace.Result run = ws.run("17", "--approve");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(50, target.queryInt("shop", "select count(*) from \"no key|here\" where b = 'changed'"));
            assertEquals(150, target.queryInt("shop", "select count(*) from \"no key|here\""));
            LogicalFixtures.unfreeze(source);
            assertEquals(1, source.queryInt("shop", "select count(*) from pg_class where relname = 'no key|here' and relreplident = 'd'"),
                    "the source's replica identity is set back");
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    /**
     * A row inserted on the target by hand collides with one the source writes later: the subscription
     * cannot apply it and keeps retrying, the cutover refuses to freeze (or does not catch up), and the
     * upgrade rolls back to the source with nothing of ours left; the source's row is there, unfrozen.
     */
    @Test
    void aSubscriptionThatCannotApplyRollsBackAtTheCutover() throws Exception {
        try (PostgresServer source = PostgresServer.start("13", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17")) {
            LogicalFixtures.dataset(source);
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("online", "17", "  transfer: {strategy: logical}\n  logical: {catchUpTimeoutSeconds: 5}\n"
                            + "  approval: {required: true}\n");
            assertEquals(6, ws.run("17").exitCode());
            target.execute("shop", "insert into items values (900001, 'by hand', 1)");
            source.execute("shop", "insert into items values (900001, 'from the app', 2)");

            UpgradeWorkspace.Result run = ws.run("17", "--approve");
            assertEquals(4, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Cutover", status.path("failedPhase").asText(), status::toString);
            String message = status.path("message").asText();
            // the failing subscription retries, so it is either caught not connected before the freeze or not caught up after it
            assertTrue(message.contains("conflicting"), message);
            assertEquals(1, source.queryInt("shop", "select count(*) from items where id = 900001 and name = 'from the app'"));
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    /** The source restarts while replicating (a crash, a failover): the subscriptions reconnect and nothing is lost. */
    @Test
    void theSourceRestartingWhileReplicatingLosesNothing() throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17")) {
            LogicalFixtures.dataset(source);
            UpgradeWorkspace ws = workspace(source, target, "17", "  approval: {required: true}\n");
            assertEquals(6, ws.run("17").exitCode());
            source.execute("shop", "insert into items select g, 'before the restart', 1 from generate_series(900001, 900100) g");
            source.restart();
            source.execute("shop", "insert into items select g, 'after the restart', 1 from generate_series(900101, 900200) g");

            UpgradeWorkspace.Result run = ws.run("17", "--approve");
            assertEquals(0, run.exitCode(), run::toString);
            assertEquals(200, target.queryInt("shop", "select count(*) from items where id > 900000"));
            LogicalFixtures.unfreeze(source);
            assertEquals("", ClusterSnapshot.of(source).without("role passwords", "postgres ")
                    .diff(ClusterSnapshot.of(target).without("role passwords", "postgres ")));
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    /** DDL on the source while replicating is not replicated: the cutover sees it, refuses, and rolls everything back. */
    @Test
    void ddlDuringReplicationIsRefusedAtCutoverAndRolledBack() throws Exception {
        try (PostgresServer source = PostgresServer.start("14", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17")) {
            LogicalFixtures.dataset(source);
            UpgradeWorkspace ws = workspace(source, target, "17", "  approval: {required: true}\n");
            UpgradeWorkspace.Result waiting = ws.run("17");
            assertEquals(6, waiting.exitCode(), waiting::toString);
            assertEquals("AwaitingApproval", waiting.phase(), waiting::toString);
            assertEquals(3, source.queryInt("postgres", "select count(*) from pg_replication_slots where slot_name like 'pgupgrade\\_%'"),
                    "one slot per database while replicating");
            source.execute("shop", "create table added_later (id int primary key)");

            UpgradeWorkspace.Result run = ws.run("17", "--approve");
            assertEquals(4, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("RolledBack", status.path("phase").asText(), status::toString);
            assertEquals("Cutover", status.path("failedPhase").asText(), status::toString);
            assertTrue(status.toString().contains("added_later"), status::toString);
            // unfrozen, and nothing of ours left
            assertEquals(0, source.queryInt("postgres", "select count(*) from pg_database where not datallowconn and datname <> 'template0'"));
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    /**
     * {@code pgupgrade run} killed with SIGKILL while a replication step runs (no shutdown hook: the
     * step lives on as an orphan), then run again: it adopts the running step rather than starting a
     * second one, the source never holds more than one slot of ours per database, and every write the
     * app saw acknowledged is on the target.
     */
    @ParameterizedTest(name = "pgupgrade run killed during {0}")
    @ValueSource(strings = {"replicating-1", "catching-up-1"})
    void pgupgradeRunKilledMidPhaseResumesWithoutASecondSlotOrALostWrite(String step) throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17")) {
            LogicalFixtures.dataset(source);
            UpgradeWorkspace ws = workspace(source, target, "17", "");
            Path pid = StateFile.workDirBeside(ws.manifest()).resolve("steps/" + step + ".pid");
            AtomicInteger mostSlots = new AtomicInteger();
            AtomicBoolean watching = new AtomicBoolean(true);
            Thread slots = new Thread(() -> {
                while (watching.get()) {
                    try {
                        mostSlots.accumulateAndGet(source.queryInt("template1", "select count(*) from pg_replication_slots"), Math::max);
                        Thread.sleep(100);
                    } catch (Exception e) {
                        // the cutover ends other sessions: look again
                    }
                }
            });
            UpgradeWorkspace.Result run;
            List<Long> acknowledged;
            String pidBefore;
            try (WriteLoad load = new WriteLoad(source::connect, "shop", 20).start()) {
                slots.start();
                pidBefore = ws.killRunOnceStarted("17", step, Duration.ofSeconds(180));

                run = ws.run("17");
                acknowledged = load.acknowledged();
            } finally {
                watching.set(false);
                slots.join();
            }
            assertEquals(0, run.exitCode(), run::toString);
            assertTrue(run.stderr().contains("resuming upgrade online to PostgreSQL 17"), run.stderr());
            assertEquals(pidBefore, Files.readString(pid), step + " was started a second time");
            assertEquals(List.of("Validating", "Validating", "SchemaCheck", "Replicating", "Verifying", "CatchingUp", "ScalingDown", "Cutover",
                    "Repointing", "ScalingUp", "Analyzing"), DirectUpgradeTest.phases(run.resource().path("status")));
            assertTrue(mostSlots.get() <= 3, "at most one slot per database (3), seen: " + mostSlots.get());
            Set<Long> onTarget = new HashSet<>(LogicalFixtures.longs(target, "shop", "select id from load_events"));
            assertEquals(List.of(), acknowledged.stream().filter(id -> !onTarget.contains(id)).toList(), "acknowledged writes lost");
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    /**
     * {@code pgupgrade run --reset} of an upgrade that is replicating: the rollback runs first (as a
     * deletion does under the operator), so nothing of ours is left on either server and the source
     * takes writes; only then is the state forgotten and the upgrade started again, which Validating
     * refuses while the target holds the first attempt's copy.
     */
    @Test
    void resetOfAReplicatingUpgradeRollsBackFirstAndLeavesNothing() throws Exception {
        try (PostgresServer source = PostgresServer.start("15", LogicalFixtures.LOGICAL); PostgresServer target = PostgresServer.start("17")) {
            LogicalFixtures.dataset(source);
            UpgradeWorkspace ws = workspace(source, target, "17", "  approval: {required: true}\n");
            UpgradeWorkspace.Result waiting = ws.run("17");
            assertEquals(6, waiting.exitCode(), waiting::toString);
            assertEquals(3, source.queryInt("template1", "select count(*) from pg_replication_slots"), "replicating: one slot per database");

            UpgradeWorkspace.Result reset = ws.run("17", "--reset");
            assertTrue(reset.stderr().contains("--reset: rolling back what this upgrade left on the servers"), reset::toString);
            LogicalFixtures.assertNoReplicationLeft(source, target);
            assertEquals(0, source.queryInt("template1", "select count(*) from pg_database where not datallowconn and datname <> 'template0'"));
            source.execute("shop", "insert into items select g, 'after the reset', 1 from generate_series(900001, 900010) g");
            // the new attempt: the target still holds the first one's copy, which Validating refuses, touching nothing
            assertEquals(1, reset.exitCode(), reset::toString);
            JsonNode status = new ObjectMapper().readTree(Files.readString(ws.stateFile())).path("status");
            assertEquals(1, status.path("attempt").asInt(), "a new upgrade, from the beginning: " + status);
            assertEquals("Failed", status.path("phase").asText(), status::toString);
            assertEquals("Validating", status.path("failedPhase").asText(), status::toString);
            LogicalFixtures.assertNoReplicationLeft(source, target);
        }
    }

    private UpgradeWorkspace workspace(PostgresServer source, PostgresServer target, String targetMajor, String extra) {
        return new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source.url("postgres"))
                .secret("target-db", "url", target.url("postgres"))
                .directManifest("online", targetMajor, "  transfer: {strategy: logical}\n  logical: {catchUpTimeoutSeconds: 20}\n" + extra);
    }
}
