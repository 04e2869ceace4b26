package dev.pgupgrade.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.steps.ProgressReport;
import dev.pgupgrade.steps.Results;
import dev.pgupgrade.steps.SimpleStep;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.database.Dump;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local runner with small bash scripts of the test's own: progress, results, timeouts. */
class ProcessStepRunnerTest {
    @TempDir
    Path tmp;

    private ProcessStepRunner runner(String script) throws Exception {
        Path scripts = Files.createDirectories(tmp.resolve("scripts"));
        Files.writeString(scripts.resolve("step.sh"), script);
        return new ProcessStepRunner(Files.createDirectories(tmp.resolve("work")), scripts, (ref, field) -> "unused", Map.of(), Clock.systemUTC());
    }

    private static StepSpec step(Duration timeout) {
        return new StepSpec("restoring-1", Phase.Restoring, new SimpleStep("step.sh"), Map.of(), timeout, false, true);
    }

    @Test
    void aRunningStepReportsItsLatestProgress() throws Exception {
        ProcessStepRunner runner = runner("""
                echo 'PGUPGRADE_PROGRESS {"unit":"bytes","done":10,"total":100,"estimated":false}' >&2
                echo 'PGUPGRADE_PROGRESS {"unit":"bytes","done":40,"total":100,"estimated":false}' >&2
                sleep 30
                """);
        StepSpec step = step(Duration.ofMinutes(1));
        runner.start(step);
        try {
            StepRunner.StepProgress progress = runner.poll(step);
            long deadline = System.currentTimeMillis() + 10_000;
            while (!(progress instanceof StepRunner.StepProgress.Running r && r.report() != null && r.report().done() == 40)
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
                progress = runner.poll(step);
            }
            assertEquals(new ProgressReport("bytes", 40, 100, false), ((StepRunner.StepProgress.Running) progress).report());
        } finally {
            runner.stopAll();
        }
    }

    @Test
    void aStepPastItsDeadlineIsStoppedAndSaysSo() throws Exception {
        ProcessStepRunner runner = runner("sleep 30\n");
        StepSpec step = step(Duration.ofMillis(300));
        runner.start(step);
        Thread.sleep(600);
        StepRunner.StepProgress progress = runner.poll(step);
        var finished = assertInstanceOf(StepRunner.StepProgress.Finished.class, progress);
        assertTrue(finished.outcome().problem().contains("ran longer than its limit"), finished.outcome().problem());
    }

    @Test
    void aResultIsReadOnceTheStepEnds() throws Exception {
        ProcessStepRunner runner = runner("printf '{\"ok\":true,\"bytes\":7}' > \"$RESULT_FILE\"\n");
        StepSpec step = step(Duration.ofMinutes(1));
        runner.start(step);
        StepRunner.StepProgress progress = runner.poll(step);
        long deadline = System.currentTimeMillis() + 10_000;
        while (progress instanceof StepRunner.StepProgress.Running && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
            progress = runner.poll(step);
        }
        var finished = assertInstanceOf(StepRunner.StepProgress.Finished.class, progress);
        assertEquals(0, finished.outcome().exitCode());
        assertEquals(7L, Results.parse(finished.outcome().result(), Dump.Result.class).bytes());
    }
}
