package dev.pgupgrade.steps;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** The step scripts shipped in the jar (src/main/resources/dev/pgupgrade/steps/scripts). */
public final class StepScripts {
    /**
     * Every file a step may run or read (each step kind names its script; lib.sh and aptible.sh are
     * sourced, the SQL files read by psql). ShellScriptsTest checks that nothing in the directory is missing.
     */
    public static final List<String> ALL = List.of("lib.sh", "validate.sh", "schema-check.sh", "dump.sh", "restore.sh", "stream.sh",
            "dump-parallel.sh", "restore-parallel.sh", "pipeline.sh", "verify.sh", "analyze.sh",
            "verify-cluster.sql", "verify-inventory.sql", "verify-queries.sql", "target-objects.sql", "source-uncarried.sql",
            "user-relations.sql", "dump-size.sql", "pipeline-tables.sql", "table-columns.sql",
            "aptible.sh", "aptible-tunnels.sh", "aptible-validate.sh", "aptible-rehearsal.sh", "aptible-provision.sh", "aptible-services.sh",
            "aptible-repoint.sh", "aptible-rollback.sh", "aptible-deprovision-source.sh",
            "logical-lib.sh", "logical-check.sh", "logical-check.sql", "logical-copy.sh", "logical-catch-up.sh", "logical-cutover.sh",
            "logical-cutover.sql", "logical-freeze.sh", "logical-cleanup.sh", "logical-keyless.sql", "logical-identity.sql",
            "aptible-replicate.sh", "logical-replica.sh", "logical-replica-sync.sh", "logical-replica-provider.sql", "held-sessions.sh");

    private StepScripts() {
    }

    /** Writes every script into {@code dir} (replacing older copies) and returns {@code dir}. */
    public static Path extractTo(Path dir) {
        try {
            Files.createDirectories(dir);
            for (String script : ALL) {
                try (InputStream in = StepScripts.class.getResourceAsStream("scripts/" + script)) {
                    if (in == null) {
                        throw new IllegalStateException("step script " + script + " is missing from the jar");
                    }
                    Files.copy(in, dir.resolve(script), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the step scripts to " + dir, e);
        }
    }
}
