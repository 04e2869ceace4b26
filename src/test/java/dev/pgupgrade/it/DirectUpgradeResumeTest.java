package dev.pgupgrade.it;

import static dev.pgupgrade.it.DirectUpgradeTest.phases;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.local.LocalUpgradeDriver;
import dev.pgupgrade.local.ManifestLoader;
import dev.pgupgrade.local.StateFile;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.testing.ClusterSnapshot;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run that dies mid-upgrade resumes from its state file: no finished step runs again, nothing is lost. */
class DirectUpgradeResumeTest {
    @TempDir
    Path tmp;

    /** Stands for the process dying: thrown by the store right after it saved a given phase. */
    static final class Crash extends RuntimeException {
    }

    @Test
    void runKilledAfterDumpingResumesAtRestoring() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17")) {
            source.execute("postgres", "create table t (id int primary key)", "insert into t select generate_series(1, 1000)");
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    // strategy parallel: the run dies once its Dumping step has ended (pipeline has none)
                    .directManifest("resumed", "17", "  transfer: {strategy: parallel}\n");

            // First run: the same pieces pgupgrade run wires, with a store that dies once Restoring is recorded.
            StateFile state = ws.state();
            Path workDir = ws.workDir();
            Consumer<PostgresUpgrade> dyingStore = u -> {
                state.save(u);
                if (u.getStatus().getPhase() == Phase.Restoring) {
                    throw new Crash();
                }
            };
            UpgradeWorkspace.Driven first = ws.drive("17", dyingStore, new LocalUpgradeDriver.Listener() { });
            assertThrows(Crash.class, first::run);
            String dumpPid = Files.readString(workDir.resolve("steps/dumping-1.pid"));
            assertEquals(Phase.Restoring, state.load().orElseThrow().getStatus().getPhase());

            // Second run, a new process as far as the upgrade can tell: picks up at Restoring.
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("Succeeded", run.phase());
            assertEquals(List.of("Validating", "SchemaCheck", "ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing", "ScalingUp", "Analyzing"),
                    phases(run.resource().path("status")), "each phase recorded once");
            assertEquals(dumpPid, Files.readString(workDir.resolve("steps/dumping-1.pid")), "the dump ran again");
            assertEquals(1, countOccurrences(Files.readString(workDir.resolve("steps/validating-1.log")), "connecting to the source"));
            assertEquals("", ClusterSnapshot.of(source).without("role passwords", "postgres ")
                    .diff(ClusterSnapshot.of(target).without("role passwords", "postgres ")), "source and target differ");
        }
    }

    @Test
    void processKilledDuringAStepResumesWithoutRunningItAgain() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17")) {
            source.execute("postgres", "create table t (id int primary key)", "insert into t select generate_series(1, 1000)");
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("killed", "17", "");
            // A separate JVM running pgupgrade run, killed with SIGKILL while SchemaCheck's throwaway
            // server is starting: no shutdown hook runs, the step's process lives on as an orphan.
            String pidBefore = ws.killRunOnceStarted("17", "schema-check-1", Duration.ofSeconds(60));
            Path schemaCheckPid = StateFile.workDirBeside(ws.manifest()).resolve("steps/schema-check-1.pid");

            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(0, run.exitCode(), run::toString);
            assertEquals("Succeeded", run.phase());
            assertTrue(run.stderr().contains("resuming upgrade killed to PostgreSQL 17 at SchemaCheck"), run.stderr());
            assertEquals(pidBefore, Files.readString(schemaCheckPid), "SchemaCheck was started a second time");
            assertEquals(List.of("Validating", "SchemaCheck", "ScalingDown", "Dumping", "Restoring", "Verifying", "Repointing", "ScalingUp", "Analyzing"),
                    phases(run.resource().path("status")));
        }
    }

    @Test
    void interruptedRestoreIsNotRunAgainBlindly() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17")) {
            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("lost-restore", "17", "");
            // The state a run leaves when it dies while psql is restoring: Restoring recorded as Running,
            // its pid file written, its process gone without an exit code.
            PostgresUpgrade upgrade = ManifestLoader.load(ws.manifest());
            upgrade.getMetadata().setGeneration(1L);
            var engine = new UpgradeEngine(new DirectPlatform());
            upgrade.setStatus(engine.initialize(upgrade, java.time.Instant.now()));
            upgrade.getStatus().setPhase(Phase.Restoring);
            var work = (dev.pgupgrade.platform.PhaseWork.RunStep) engine.work(upgrade);
            upgrade.setStatus(engine.stepStarted(upgrade, work.step(), null, java.time.Instant.now()));
            StateFile.besideManifest(ws.manifest()).save(upgrade);
            Path steps = StateFile.workDirBeside(ws.manifest()).resolve("steps");
            Files.createDirectories(steps);
            Files.writeString(steps.resolve("restoring-1.pid"), "999999999 " + System.currentTimeMillis() + "\n");

            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(1, run.exitCode(), run::toString);
            var status = run.resource().path("status");
            assertEquals("Restoring", status.path("failedPhase").asText());
            org.junit.jupiter.api.Assertions.assertTrue(status.path("message").asText().contains("not started again by itself"), status::toString);
        }
    }

    private static int countOccurrences(String text, String needle) {
        return text.split(java.util.regex.Pattern.quote(needle), -1).length - 1;
    }
}
