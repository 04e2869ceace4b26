package dev.pgupgrade.cli;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.local.InvalidInputException;
import dev.pgupgrade.driver.UpgradeDriver;
import dev.pgupgrade.local.LocalUpgradeDriver;
import dev.pgupgrade.local.LocalWorld;
import dev.pgupgrade.local.ManifestLoader;
import dev.pgupgrade.local.Preflight;
import dev.pgupgrade.local.StateFile;
import dev.pgupgrade.platform.Platforms;
import dev.pgupgrade.runner.FileSecretResolver;
import dev.pgupgrade.runner.ProcessStepRunner;
import dev.pgupgrade.steps.StepScripts;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import dev.pgupgrade.metrics.MetricsFile;

/** {@code pgupgrade run -f upgrade.yaml}: the whole upgrade with local processes, no cluster. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs a PostgresUpgrade to the end with local processes (psql, pg_dumpall) instead of Kubernetes Jobs.",
                "Status is saved beside the manifest (NAME.state.json, work files in NAME.work/), so running the same",
                "command again after an interruption resumes where it stopped."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:Succeeded", "1:Failed (status says where and why)", "2:bad command-line usage",
                "3:invalid manifest, Secret or machine setup; nothing was touched", "4:RolledBack",
                "5:internal error", "6:waiting for approval (spec.approval.required); run again with --approve",
                "130:interrupted; run again to resume"})
final class RunCommand implements Callable<Integer> {
    enum Output { json, yaml }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The PostgresUpgrade manifest (YAML or JSON).")
    Path manifest;

    @Option(names = "--secrets-dir", paramLabel = "DIR", defaultValue = "secrets",
            description = "Where Secrets are: key KEY of Secret NAME is the file DIR/NAME/KEY (default: ${DEFAULT-VALUE}).")
    Path secretsDir;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print the final resource (spec and status) on stdout: ${COMPLETION-CANDIDATES}.")
    Output output;

    @Option(names = "--pg-bin", paramLabel = "MAJOR=DIR",
            description = "Server binaries (initdb, pg_ctl, postgres) of a major, for SchemaCheck's throwaway server. Repeatable.")
    Map<String, Path> pgBins = new HashMap<>();

    @Option(names = "--approve", description = "Approve the downtime (spec.approval.required): go past AwaitingApproval.")
    boolean approve;

    @Option(names = "--metrics-file", paramLabel = "FILE",
            description = "At the end (also a failure, a rollback, the approval gate), write the upgrade's figures there in Prometheus text format: "
                    + "phase and step durations, downtime, bytes moved, mismatches, replication lag (docs/observability.md).")
    Path metricsFile;

    @Option(names = "--reset", description = "Forget the saved state and work files of this manifest and start from the beginning.")
    boolean reset;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        try {
            return execute(err);
        } catch (InvalidInputException e) {
            e.problems().forEach(p -> err.println("pgupgrade: " + p));
            err.flush();
            return ExitCodes.INVALID_INPUT;
        }
    }

    private int execute(PrintWriter err) throws Exception {
        PostgresUpgrade manifestUpgrade = ManifestLoader.load(manifest);
        FileSecretResolver secrets = new FileSecretResolver(secretsDir);
        Map<String, String> localEnv = Preflight.check(manifestUpgrade, secrets, pgBins, System.getenv());
        if (metricsFile != null && (Files.isDirectory(metricsFile) || !Files.isDirectory(metricsFile.toAbsolutePath().getParent()))) {
            throw new InvalidInputException("--metrics-file " + metricsFile + ": " + (Files.isDirectory(metricsFile)
                    ? "is a directory" : "its directory " + metricsFile.toAbsolutePath().getParent() + " does not exist"));
        }

        StateFile state = StateFile.besideManifest(manifest.toAbsolutePath());
        Path workDir = StateFile.workDirBeside(manifest.toAbsolutePath());
        Files.createDirectories(workDir);
        try (FileChannel lockChannel = FileChannel.open(workDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockChannel.tryLock()) {
            if (lock == null) {
                throw new InvalidInputException(manifest + ": another pgupgrade run is working on this manifest");
            }
            if (reset) {
                rollBackBeforeReset(state, workDir, secrets, localEnv, err);
                state.delete();
                deleteContents(workDir, workDir.resolve(".lock"));
            }
            PostgresUpgrade upgrade = resumeOrStart(manifestUpgrade, state, err);
            if (upgrade.getStatus() != null && upgrade.getStatus().getPhase() != null && upgrade.getStatus().getPhase().isTerminal()) {
                err.println("pgupgrade: this upgrade already ended (" + upgrade.getStatus().getPhase() + "); run with --reset to start it again");
                return finish(upgrade, err);
            }
            return runToEnd(upgrade, state, workDir, secrets, localEnv, err);
        }
    }

    private int runToEnd(PostgresUpgrade upgrade, StateFile state, Path workDir, FileSecretResolver secrets,
                         Map<String, String> localEnv, PrintWriter err) throws InterruptedException {
        Path scripts = StepScripts.extractTo(workDir.resolve("scripts"));
        ProcessStepRunner runner = new ProcessStepRunner(workDir, scripts, secrets, localEnv, Clock.systemUTC());
        Thread stopSteps = new Thread(() -> {
            runner.stopAll();
            System.err.println("pgupgrade: interrupted; the state is saved in " + state.path() + ": run the same command again to resume");
        });
        Runtime.getRuntime().addShutdownHook(stopSteps);
        try {
            boolean resumed = upgrade.getStatus() != null;
            err.println("pgupgrade: " + (resumed ? "resuming" : "starting") + " upgrade " + upgrade.getMetadata().getName()
                    + " to PostgreSQL " + upgrade.getSpec().getTarget().getVersion()
                    + (resumed ? " at " + upgrade.getStatus().getPhase() : "") + " (state: " + state.path() + ")");
            err.flush();
            ProgressPrinter printer = new ProgressPrinter(err);
            LocalUpgradeDriver driver = new LocalUpgradeDriver(new UpgradeDriver(new UpgradeEngine(new Platforms())),
                    new LocalWorld(runner, approve, Clock.systemUTC(), Duration.ofMillis(100)), state::save, printer, Duration.ofMillis(100));
            PostgresUpgrade done = driver.run(upgrade);
            return finish(done, err);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(stopSteps);
            } catch (IllegalStateException shuttingDown) {
                // the hook is already running
            }
        }
    }

    /**
     * --reset of an upgrade that left something behind to undo (the logical strategy's replication
     * objects, a frozen source): the rollback runs first, as a deletion does in the operator. Nothing
     * else is forgotten until it ended.
     */
    private void rollBackBeforeReset(StateFile state, Path workDir, FileSecretResolver secrets, Map<String, String> localEnv,
                                     PrintWriter err) throws InterruptedException, InvalidInputException {
        var saved = state.load();
        if (saved.isEmpty() || saved.get().getStatus() == null) {
            return;
        }
        PostgresUpgrade upgrade = saved.get();
        var rollback = new UpgradeEngine(new Platforms()).deleted(upgrade, Clock.systemUTC().instant());
        if (rollback.isEmpty()) {
            return;
        }
        err.println("pgupgrade: --reset: rolling back what this upgrade left on the servers before forgetting it");
        err.flush();
        upgrade.setStatus(rollback.get());
        state.save(upgrade);
        runToEnd(upgrade, state, workDir, secrets, localEnv, err);
        PostgresUpgrade after = state.load().orElse(upgrade);
        if (after.getStatus().getPhase() == Phase.Failed) {
            throw new InvalidInputException(manifest + ": --reset: the rollback did not finish (" + after.getStatus().getMessage()
                    + "); the state is kept: fix the cause and run --reset again");
        }
    }

    private PostgresUpgrade resumeOrStart(PostgresUpgrade fromManifest, StateFile state, PrintWriter err) throws InvalidInputException {
        var saved = state.load();
        if (saved.isEmpty()) {
            if (fromManifest.getMetadata().getGeneration() == null) {
                fromManifest.getMetadata().setGeneration(1L);
            }
            fromManifest.setStatus(null);  // a manifest's own status is never trusted
            return fromManifest;
        }
        PostgresUpgrade previous = saved.get();
        if (!fromManifest.getMetadata().getName().equals(previous.getMetadata().getName()) || !StateFile.sameSpec(fromManifest, previous)) {
            throw new InvalidInputException(manifest + ": the manifest changed since this upgrade started (state in " + state.path()
                    + "); restore the manifest to resume, or run with --reset to start over");
        }
        return previous;
    }

    private int finish(PostgresUpgrade upgrade, PrintWriter err) {
        err.println("pgupgrade: " + upgrade.getStatus().getPhase() + ": " + upgrade.getStatus().getMessage());
        if (metricsFile != null) {
            try {
                MetricsFile.write(metricsFile, upgrade, Clock.systemUTC());
            } catch (IOException e) {
                // the upgrade's outcome stands; only its figures are missing
                err.println("pgupgrade: could not write --metrics-file " + metricsFile + ": " + e.getMessage());
            }
        }
        err.flush();
        if (output != null) {
            KubernetesSerialization serialization = new KubernetesSerialization();
            PrintWriter out = spec.commandLine().getOut();
            out.println(output == Output.json ? serialization.asJson(upgrade) : serialization.asYaml(upgrade));
            out.flush();
        }
        return ExitCodes.of(upgrade.getStatus().getPhase());
    }

    private static void deleteContents(Path dir, Path keep) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir) && !p.equals(keep)) {
                    Files.delete(p);
                }
            }
        }
    }
}
