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
    public static final String VALIDATE = "validate.sh";
    public static final String SCHEMA_CHECK = "schema-check.sh";
    public static final String DUMP = "dump.sh";
    public static final String RESTORE = "restore.sh";
    public static final String ANALYZE = "analyze.sh";
    public static final String VERIFY = "verify.sh";
    public static final String STREAM = "stream.sh";
    public static final String DUMP_PARALLEL = "dump-parallel.sh";
    public static final String RESTORE_PARALLEL = "restore-parallel.sh";
    public static final String PIPELINE = "pipeline.sh";
    /** Sourced by every script. */
    public static final String LIB = "lib.sh";

    public static final List<String> ALL = List.of(LIB, VALIDATE, SCHEMA_CHECK, DUMP, RESTORE, STREAM, DUMP_PARALLEL, RESTORE_PARALLEL, PIPELINE, VERIFY, ANALYZE,
            "verify-cluster.sql", "verify-inventory.sql", "verify-queries.sql");

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
