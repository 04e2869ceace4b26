package dev.pgupgrade.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
    public Driven drive(String targetMajor, java.util.function.Consumer<dev.pgupgrade.api.PostgresUpgrade> store,
                        dev.pgupgrade.local.LocalUpgradeDriver.Listener listener) {
        try {
            dev.pgupgrade.api.PostgresUpgrade upgrade = dev.pgupgrade.local.ManifestLoader.load(manifest);
            upgrade.getMetadata().setGeneration(1L);
            Path work = workDir();
            var runner = new dev.pgupgrade.runner.ProcessStepRunner(work, dev.pgupgrade.steps.StepScripts.extractTo(work.resolve("scripts")),
                    new dev.pgupgrade.runner.FileSecretResolver(secrets),
                    java.util.Map.of("TARGET_SERVER_BINDIR", PostgresServer.binDir(targetMajor).toString()), java.time.Clock.systemUTC());
            var driver = new dev.pgupgrade.local.LocalUpgradeDriver(new dev.pgupgrade.engine.UpgradeEngine(new dev.pgupgrade.platform.DirectPlatform()),
                    runner, store, listener, java.time.Clock.systemUTC(), java.time.Duration.ofMillis(100));
            return new Driven(upgrade, driver);
        } catch (dev.pgupgrade.local.InvalidInputException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    public dev.pgupgrade.local.StateFile state() {
        return dev.pgupgrade.local.StateFile.besideManifest(manifest);
    }

    public record Driven(dev.pgupgrade.api.PostgresUpgrade upgrade, dev.pgupgrade.local.LocalUpgradeDriver driver) {
        public dev.pgupgrade.api.PostgresUpgrade run() throws InterruptedException {
            return driver.run(upgrade);
        }
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
