package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.testing.Project;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every shell script of the project passes shellcheck, and every step script ships. */
class ShellScriptsTest {
    static final Path STEP_SCRIPTS = Project.root().resolve("src/main/resources/dev/pgupgrade/steps/scripts");

    @Test
    void everyScriptPassesShellcheck() throws Exception {
        List<String> command = new ArrayList<>(List.of("shellcheck", "-x", "-f", "gcc"));
        try (Stream<Path> steps = Files.list(STEP_SCRIPTS); Stream<Path> tools = Files.list(Project.root().resolve("scripts"))) {
            Stream.concat(steps, tools).filter(p -> p.toString().endsWith(".sh")).sorted().forEach(p -> command.add(p.toString()));
        }
        Process shellcheck;
        try {
            shellcheck = new ProcessBuilder(command).directory(Project.root().toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("shellcheck is not installed: apt-get install shellcheck (.ci/run does)", e);
        }
        String findings = new String(shellcheck.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, shellcheck.waitFor(), "shellcheck findings:\n" + findings);
        assertTrue(command.size() > 20, "no scripts found: " + command);
    }

    /** A script or SQL file left out of StepScripts.ALL would be missing from every Job and local run. */
    @Test
    void everyStepScriptIsShipped() throws IOException {
        List<String> files;
        try (Stream<Path> list = Files.list(STEP_SCRIPTS)) {
            files = list.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(files, StepScripts.ALL.stream().sorted().toList());
    }
}
