package dev.pgupgrade.steps;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.api.ReplicationStatus;
import java.util.Optional;
import java.io.IOException;

/**
 * What a running step says about its progress, in lines "PGUPGRADE_PROGRESS {json}" of its output
 * (lib.sh's progress and count_bytes; logical-lib.sh's progress_replication adds the replication's lag). {@code estimated}: the total is an estimate (a dump's size is
 * known only once it is written).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ProgressReport(String unit, long done, long total, boolean estimated, ReplicationStatus replication) {
    static final String MARKER = "PGUPGRADE_PROGRESS ";

    public ProgressReport(String unit, long done, long total, boolean estimated) {
        this(unit, done, total, estimated, null);
    }
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The last well-formed progress line in a step's output, if any. */
    public static Optional<ProgressReport> lastIn(String output) {
        if (output == null) {
            return Optional.empty();
        }
        String[] lines = output.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            int at = lines[i].indexOf(MARKER);
            if (at >= 0) {
                try {
                    ProgressReport report = JSON.readValue(lines[i].substring(at + MARKER.length()).trim(), ProgressReport.class);
                    if (report.unit() != null && report.done() >= 0 && report.total() >= 0) {
                        return Optional.of(report);
                    }
                } catch (IOException e) {
                    // a line cut by the tail: look further up
                }
            }
        }
        return Optional.empty();
    }
}
