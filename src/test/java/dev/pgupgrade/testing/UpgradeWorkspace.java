package dev.pgupgrade.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.cli.Main;
import dev.pgupgrade.driver.UpgradeDriver;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.local.InvalidInputException;
import dev.pgupgrade.local.LocalUpgradeDriver;
import dev.pgupgrade.local.LocalWorld;
import dev.pgupgrade.local.ManifestLoader;
import dev.pgupgrade.local.StateFile;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.runner.FileSecretResolver;
import dev.pgupgrade.runner.ProcessStepRunner;
import dev.pgupgrade.steps.StepScripts;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A directory laid out as a user of {@code pgupgrade run} would: the manifest, a secrets directory
 * in the layout Kubernetes mounts Secrets in, and the state and work files the run leaves beside them.
 * Runs the real command line in-process.
 */
public final class UpgradeWorkspace {
    private final Path dir;
    private final Path secrets;
    private final Path manifest;

    public UpgradeWorkspace(Path dir) {
        this.dir = dir;
        this.secrets = dir.resolve("secrets");
        this.manifest = dir.resolve("upgrade.yaml");
    }

    public UpgradeWorkspace secret(String name, String key, String value) {
        try {
            Files.createDirectories(secrets.resolve(name));
            Files.writeString(secrets.resolve(name).resolve(key), value + "\n");
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A direct-platform manifest using the contract fields, with Secrets "source-db" and "target-db". */
    public UpgradeWorkspace directManifest(String name, String targetVersion, String extraSpec) {
        return manifest("""
                apiVersion: pgupgrade.dev/v1alpha1
                kind: PostgresUpgrade
                metadata:
                  name: %s
                spec:
                  platform: direct
                  source:
                    urlSecretRef: {name: source-db, key: url}
                  target:
                    urlSecretRef: {name: target-db, key: url}
                    version: "%s"
                %s""".formatted(name, targetVersion, extraSpec));
    }

    public UpgradeWorkspace manifest(String yaml) {
        try {
            Files.createDirectories(dir);
            Files.writeString(manifest, yaml);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code pgupgrade run -f upgrade.yaml --secrets-dir secrets -o json --pg-bin MAJOR=DIR [extra]}. */
    public Result run(String targetMajor, String... extra) {
        List<String> args = new ArrayList<>(List.of("--pg-bin", targetMajor + "=" + PostgresServer.binDir(targetMajor)));
        args.addAll(List.of(extra));
        return runWithArguments(args.toArray(String[]::new));
    }

    /** Runs {@code pgupgrade run -f upgrade.yaml --secrets-dir secrets -o json [extra]}, as a user would type it. */
    public Result runWithArguments(String... extra) {
        List<String> args = new ArrayList<>(List.of("run", "-f", manifest.toString(), "--secrets-dir", secrets.toString(), "-o", "json"));
        args.addAll(List.of(extra));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args.toArray(String[]::new));
        return new Result(code, out.toString(), err.toString());
    }

    /**
     * The pieces {@code pgupgrade run} wires, for tests that need to hook into a run: {@code store}
     * saves each status (the state file), {@code listener} hears each phase end.
     */
    public Driven drive(String targetMajor, Consumer<PostgresUpgrade> store, LocalUpgradeDriver.Listener listener) {
        try {
            PostgresUpgrade upgrade = ManifestLoader.load(manifest);
            upgrade.getMetadata().setGeneration(1L);
            Path work = workDir();
            var runner = new ProcessStepRunner(work, StepScripts.extractTo(work.resolve("scripts")), new FileSecretResolver(secrets),
                    Map.of("TARGET_SERVER_BINDIR", PostgresServer.binDir(targetMajor).toString()), Clock.systemUTC());
            var world = new LocalWorld(runner, false, Clock.systemUTC(), Duration.ofMillis(100));
            var driver = new LocalUpgradeDriver(new UpgradeDriver(new UpgradeEngine(new DirectPlatform())), world, store, listener,
                    Duration.ofMillis(100));
            return new Driven(upgrade, driver);
        } catch (InvalidInputException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    public StateFile state() {
        return StateFile.besideManifest(manifest);
    }

    public record Driven(PostgresUpgrade upgrade, LocalUpgradeDriver driver) {
        public PostgresUpgrade run() throws InterruptedException {
            return driver.run(upgrade);
        }
    }

    /**
     * {@code pgupgrade run} in a JVM of its own, killed with SIGKILL once {@code step} has started (its
     * pid file exists): no shutdown hook runs, so the step's process lives on as an orphan, as after a
     * crash. Returns the step's pid file as it was then, for comparing after a resumed run.
     */
    public String killRunOnceStarted(String targetMajor, String step, Duration within) throws IOException, InterruptedException {
        Path log = dir.resolve("first-run.log");
        Process run = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.pgupgrade.cli.Main", "run", "-f", manifest.toString(),
                "--secrets-dir", secrets.toString(), "--pg-bin", targetMajor + "=" + PostgresServer.binDir(targetMajor))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path pid = StateFile.workDirBeside(manifest).resolve("steps/" + step + ".pid");
        long deadline = System.currentTimeMillis() + within.toMillis();
        while (!Files.exists(pid) && System.currentTimeMillis() < deadline && run.isAlive()) {
            Thread.sleep(20);
        }
        if (!Files.exists(pid)) {
            run.destroyForcibly().waitFor();
            throw new AssertionError(step + " never started: " + Files.readString(log));
        }
        run.destroyForcibly().waitFor();
        return Files.readString(pid);
    }

    public Path dir() {
        return dir;
    }

    public Path manifest() {
        return manifest;
    }

    public Path stateFile() {
        return dir.resolve("upgrade.state.json");
    }

    public Path workDir() {
        return dir.resolve("upgrade.work");
    }

    public record Result(int exitCode, String stdout, String stderr) {
        public JsonNode resource() {
            try {
                return new ObjectMapper().readTree(stdout);
            } catch (IOException e) {
                throw new AssertionError("stdout is not the resource as JSON:\n" + stdout + "\nstderr:\n" + stderr, e);
            }
        }

        public String phase() {
            return resource().path("status").path("phase").asText();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\nstderr:\n" + stderr + "\nstdout:\n" + stdout;
        }
    }
}
