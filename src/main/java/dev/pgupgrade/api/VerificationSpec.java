package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import java.util.Locale;

/** How the Verifying phase compares the target with the source before the apps are pointed at it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VerificationSpec {
    public enum Mode {
        /** Row counts per table, sequences, large object count, and the inventory of objects. */
        @JsonProperty("counts") COUNTS,
        /** As counts, plus a content checksum of every table up to maxChecksumTableMegabytes, and of large objects. */
        @JsonProperty("checksums") CHECKSUMS,
        /** No verification (not recommended). */
        @JsonProperty("off") OFF;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum OnMismatch {
        /** A mismatch fails the upgrade (and rolls back the services). */
        @JsonProperty("fail") FAIL,
        /** A mismatch is reported in status and events, and the upgrade goes on. */
        @JsonProperty("warn") WARN
    }

    public static final int DEFAULT_MAX_CHECKSUM_MB = 1024;
    public static final int DEFAULT_PARALLELISM = 2;
    public static final int DEFAULT_STATEMENT_TIMEOUT_SECONDS = 1800;

    @JsonPropertyDescription("counts, checksums (default) or off.")
    private Mode mode;

    @JsonPropertyDescription("fail (default): a mismatch fails the upgrade before the apps use the target; warn: report and go on.")
    private OnMismatch onMismatch;

    @JsonPropertyDescription("Tables larger than this (on the source) get a row count only, no content checksum (default 1024).")
    @Min(0)
    @Max(10485760)
    private Integer maxChecksumTableMegabytes;

    @JsonPropertyDescription("Sessions per server that run the data queries at once (default 2).")
    @Min(1)
    @Max(32)
    private Integer parallelism;

    @JsonPropertyDescription("statement_timeout of each verification query, in seconds (default 1800).")
    @Min(1)
    @Max(86400)
    private Integer statementTimeoutSeconds;

    public Mode getMode() { return mode; }
    public void setMode(Mode mode) { this.mode = mode; }
    public OnMismatch getOnMismatch() { return onMismatch; }
    public void setOnMismatch(OnMismatch onMismatch) { this.onMismatch = onMismatch; }
    public Integer getMaxChecksumTableMegabytes() { return maxChecksumTableMegabytes; }
    public void setMaxChecksumTableMegabytes(Integer maxChecksumTableMegabytes) { this.maxChecksumTableMegabytes = maxChecksumTableMegabytes; }
    public Integer getParallelism() { return parallelism; }
    public void setParallelism(Integer parallelism) { this.parallelism = parallelism; }
    public Integer getStatementTimeoutSeconds() { return statementTimeoutSeconds; }
    public void setStatementTimeoutSeconds(Integer statementTimeoutSeconds) { this.statementTimeoutSeconds = statementTimeoutSeconds; }

    public static Mode mode(VerificationSpec spec) {
        return spec == null || spec.mode == null ? Mode.CHECKSUMS : spec.mode;
    }

    public static boolean warnOnly(VerificationSpec spec) {
        return spec != null && spec.onMismatch == OnMismatch.WARN;
    }
}
