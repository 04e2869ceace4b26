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
    /** Platform aptible: every step talks to Aptible through the aptible CLI (see aptible.sh). */
    public static final String APTIBLE_LIB = "aptible.sh";
    public static final String APTIBLE_TUNNELS = "aptible-tunnels.sh";
    public static final String APTIBLE_VALIDATE = "aptible-validate.sh";
    public static final String APTIBLE_REHEARSAL = "aptible-rehearsal.sh";
    public static final String APTIBLE_PROVISION = "aptible-provision.sh";
    public static final String APTIBLE_SERVICES = "aptible-services.sh";
    public static final String APTIBLE_REPOINT = "aptible-repoint.sh";
    public static final String APTIBLE_ROLLBACK = "aptible-rollback.sh";
    public static final String APTIBLE_DEPROVISION_SOURCE = "aptible-deprovision-source.sh";
    /** Sourced by every script. */
    public static final String LIB = "lib.sh";

    public static final List<String> ALL = List.of(LIB, VALIDATE, SCHEMA_CHECK, DUMP, RESTORE, STREAM, DUMP_PARALLEL, RESTORE_PARALLEL, PIPELINE, VERIFY, ANALYZE,
            "verify-cluster.sql", "verify-inventory.sql", "verify-queries.sql", "target-objects.sql", "source-uncarried.sql",
            APTIBLE_LIB, APTIBLE_TUNNELS, APTIBLE_VALIDATE, APTIBLE_REHEARSAL, APTIBLE_PROVISION, APTIBLE_SERVICES, APTIBLE_REPOINT,
            APTIBLE_ROLLBACK, APTIBLE_DEPROVISION_SOURCE);

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
