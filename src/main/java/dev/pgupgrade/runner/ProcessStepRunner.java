package dev.pgupgrade.runner;

import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.ProgressReport;
import dev.pgupgrade.steps.StepSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.File;
import java.io.RandomAccessFile;
import java.nio.file.StandardCopyOption;

/**
 * Runs each step as a local bash process. Everything about a step lives in files named after it in
 * {@code WORK_DIR/steps}, so a runner that restarts (after its JVM was killed) finds out about the
 * steps an earlier one started:
 * <ul>
 *   <li>{@code NAME.pid}: the step was started (pid and start time);</li>
 *   <li>{@code NAME.exit}: it ended, with this exit code (written by the wrapper shell);</li>
 *   <li>{@code NAME.result.json}: what the script reported; {@code NAME.log}: its output.</li>
 * </ul>
 * Secrets reach the script only through its environment, never its command line.
 */
public final class ProcessStepRunner implements StepRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessStepRunner.class);
    /** Runs the script and records its exit code atomically; the arguments are paths only. */
    private static final String WRAPPER =
            "bash \"$1\"; rc=$?; printf '%s\\n' \"$rc\" > \"$2.tmp\" && mv -f \"$2.tmp\" \"$2\"; exit \"$rc\"";
    private static final String TIMED_OUT = "timeout";
    /** Lines of errors a step lists in its result file (a Job's termination message holds far fewer). */
    static final int RESULT_MAX_LINES = 200;
    /** Variables of the runner's own environment that steps may see; everything else is withheld. */
    private static final List<String> INHERITED = List.of("PATH", "HOME", "TMPDIR", "LANG",
            // the aptible CLI's network settings
            "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy", "SSL_CERT_FILE");
    /**
     * Also inherited: the aptible CLI's own settings (APTIBLE_API_ROOT_URL...) and the Aptible steps'
     * knobs (APTIBLE_RETRIES...). Never the token: steps get it from spec.aptible.tokenSecretRef only.
     */
    private static final String INHERITED_PREFIX = "APTIBLE_";
    private static final List<String> NEVER_INHERITED = List.of("APTIBLE_ACCESS_TOKEN");

    private final Path workDir;
    private final Path stepsDir;
    private final Path scriptsDir;
    private final SecretResolver secrets;
    private final Map<String, String> localEnv;
    private final Clock clock;
    private final Map<String, Process> children = new ConcurrentHashMap<>();

    /**
     * @param localEnv extra variables for every step on this machine (e.g. TARGET_SERVER_BINDIR)
     */
    public ProcessStepRunner(Path workDir, Path scriptsDir, SecretResolver secrets, Map<String, String> localEnv, Clock clock) {
        this.workDir = workDir;
        this.stepsDir = workDir.resolve("steps");
        this.scriptsDir = scriptsDir;
        this.secrets = secrets;
        this.localEnv = Map.copyOf(localEnv);
        this.clock = clock;
        try {
            Files.createDirectories(stepsDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + stepsDir, e);
        }
    }

    @Override
    public void start(StepSpec step) throws SecretUnavailableException {
        if (Files.exists(file(step, "exit")) || Files.exists(file(step, "pid"))) {
            LOG.debug("step {} was already started", step.name());
            return;
        }
        Map<String, String> env = environment(step);
        try {
            // An empty result file, as kubelet provides /dev/termination-log: the step fills it.
            Files.deleteIfExists(file(step, "result.json"));
            Files.createFile(file(step, "result.json"));
            ProcessBuilder builder = new ProcessBuilder("bash", "-c", WRAPPER, "pgupgrade-step",
                    scriptsDir.resolve(step.script()).toString(), file(step, "exit").toString());
            builder.environment().clear();
            builder.environment().putAll(env);
            builder.directory(workDir.toFile());
            builder.redirectErrorStream(true);
            builder.redirectOutput(ProcessBuilder.Redirect.appendTo(file(step, "log").toFile()));
            builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Process process = builder.start();
            children.put(step.name(), process);
            writeAtomically(file(step, "pid"), process.pid() + " " + clock.millis() + "\n");
            LOG.info("started step {} ({}) as pid {}", step.name(), step.script(), process.pid());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start step " + step.name(), e);
        }
    }

    @Override
    public StepProgress poll(StepSpec step) {
        Optional<StepProgress> finished = finished(step);
        if (finished.isPresent()) {
            return finished.get();
        }
        Optional<ProcessHandle> process = liveProcess(step);
        if (process.isEmpty()) {
            // The wrapper writes the exit file just before it ends: look once more before calling it lost.
            return finished(step).orElseGet(() -> new StepProgress.Lost(
                    "step " + step.name() + " stopped without recording how it ended (its process was killed)"));
        }
        Duration running = Duration.ofMillis(clock.millis() - startedMillis(step));
        if (running.compareTo(step.timeout()) > 0) {
            LOG.warn("step {} ran longer than {} s: stopping it", step.name(), step.timeout().toSeconds());
            kill(process.get());
            writeAtomically(file(step, "exit"), TIMED_OUT + "\n");
            return finished(step).orElseThrow();
        }
        return new StepProgress.Running(ProgressReport.lastIn(tail(file(step, "log"))).orElse(null));
    }

    /** The end of a log: progress lines come once a second, so the last KiBs hold the newest (one of the replication's, 50 databases, ~8 KiB). */
    private static String tail(Path log) {
        try (var file = new RandomAccessFile(log.toFile(), "r")) {
            long length = file.length();
            long from = Math.max(0, length - 32768);
            byte[] bytes = new byte[(int) (length - from)];
            file.seek(from);
            file.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void discard(StepSpec step) {
        forget(step.name());
    }

    private void forget(String stepName) {
        for (String suffix : List.of("pid", "exit", "result.json")) {
            try {
                Files.deleteIfExists(file(stepName, suffix));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        children.remove(stepName);
    }

    @Override
    public void stop(String stepName) {
        liveProcess(stepName).ifPresent(ProcessStepRunner::kill);
        forget(stepName);
    }

    /** Stops every step this runner started (on Ctrl-C), so nothing keeps writing behind the user's back. */
    public void stopAll() {
        children.values().forEach(p -> kill(p.toHandle()));
    }

    /** The JSON result a step wrote, once it has ended. */
    public Path resultFile(StepSpec step) {
        return file(step, "result.json");
    }

    /** The log a step wrote, for humans. */
    public Path logFile(StepSpec step) {
        return file(step, "log");
    }

    private Optional<StepProgress> finished(StepSpec step) {
        Path exit = file(step, "exit");
        if (!Files.exists(exit)) {
            return Optional.empty();
        }
        String code = read(exit).trim();
        Process child = children.remove(step.name());
        if (child != null) {
            child.toHandle().onExit().join();
        }
        if (TIMED_OUT.equals(code)) {
            return Optional.of(new StepProgress.Finished(new PhaseOutcome.Ran(124, null,
                    "the step ran longer than its limit of " + step.timeout().toSeconds() + " s and was stopped")));
        }
        int exitCode = Integer.parseInt(code);
        Path resultFile = file(step, "result.json");
        if (!Files.exists(resultFile) || read(resultFile).isBlank()) {
            return Optional.of(new StepProgress.Finished(new PhaseOutcome.Ran(exitCode, null, null)));
        }
        return Optional.of(new StepProgress.Finished(new PhaseOutcome.Ran(exitCode, read(resultFile), null)));
    }

    private Optional<ProcessHandle> liveProcess(StepSpec step) {
        return liveProcess(step.name());
    }

    private Optional<ProcessHandle> liveProcess(String stepName) {
        Process child = children.get(stepName);
        if (child != null) {
            return child.isAlive() ? Optional.of(child.toHandle()) : Optional.empty();
        }
        Path pidFile = file(stepName, "pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        long pid = Long.parseLong(read(pidFile).trim().split(" ")[0]);
        long startedMillis = startedMillis(stepName);
        // A pid can be reused by an unrelated process after a reboot: trust it only if it started with the step.
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> h.info().startInstant()
                .map(s -> Math.abs(s.toEpochMilli() - startedMillis) < 5_000).orElse(true));
    }

    private long startedMillis(StepSpec step) {
        return startedMillis(step.name());
    }

    private long startedMillis(String stepName) {
        String[] parts = read(file(stepName, "pid")).trim().split(" ");
        return parts.length > 1 ? Long.parseLong(parts[1]) : Instant.EPOCH.toEpochMilli();
    }

    private Map<String, String> environment(StepSpec step) throws SecretUnavailableException {
        Map<String, String> env = new HashMap<>();
        for (String name : INHERITED) {
            String value = System.getenv(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        System.getenv().forEach((name, value) -> {
            if (name.startsWith(INHERITED_PREFIX) && !NEVER_INHERITED.contains(name)) {
                env.put(name, value);
            }
        });
        env.putAll(StepDefaults.from(System.getenv()));
        env.putAll(localEnv);
        for (Map.Entry<String, EnvValue> e : step.env().entrySet()) {
            if (e.getValue() instanceof EnvValue.FromSecret secret) {
                env.put(e.getKey(), secrets.resolve(secret.ref(), secret.field()));
            } else {
                env.put(e.getKey(), ((EnvValue.Literal) e.getValue()).value());
            }
        }
        env.put("WORK_DIR", workDir.toString());
        env.put("RESULT_FILE", file(step, "result.json").toString());
        env.put("STEP_NAME", step.name());
        env.put("RESULT_MAX_LINES", Integer.toString(RESULT_MAX_LINES));
        return env;
    }

    private static void kill(ProcessHandle process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private Path file(StepSpec step, String suffix) {
        return file(step.name(), suffix);
    }

    private Path file(String stepName, String suffix) {
        return stepsDir.resolve(stepName + "." + suffix);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeAtomically(Path file, String content) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
