package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import java.util.Locale;

/** How the data moves: during the downtime window (Dumping + Restoring), or online (logical). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TransferSpec {
    public enum Strategy {
        /** The runbook: pg_dumpall to a file, then psql -f. The fidelity baseline. */
        @JsonProperty("dumpall") DUMPALL,
        /** pg_dumpall piped straight into psql: no intermediate file, dump and restore overlap. */
        @JsonProperty("stream") STREAM,
        /** pg_dumpall --globals-only, then each database with pg_dump -Fd -j N and pg_restore -j N. */
        @JsonProperty("parallel") PARALLEL,
        /** No dump: schema first, then every table's rows COPY'd from source to target N tables at a time, then indexes and constraints with -j N. */
        @JsonProperty("pipeline") PIPELINE,
        /**
         * Online: the target is copied and kept in sync by logical replication while the apps run; they
         * stop only for the cutover (docs/online.md). Platform direct.
         */
        @JsonProperty("logical") LOGICAL;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final String DEFAULT_MAINTENANCE_WORK_MEM = "256MB";

    @JsonPropertyDescription("dumpall (the runbook's file then psql), stream (no intermediate file), parallel (default on platform aptible: per-database directory dumps restored with -j jobs), pipeline (default on platform direct: tables of 1 MiB or more COPY'd straight from source to target, jobs at a time, each one's indexes built as soon as its rows are in, and with verification checksums those that can be are proven as they are copied; the smaller ones restored with -j jobs) or logical (online: copied and kept in sync by logical replication while the apps run, which stop only for the cutover; platform direct; see spec.logical).")
    private Strategy strategy;

    @JsonPropertyDescription("Parallel jobs of the parallel and pipeline strategies: tables or archive entries at a time (default: the CPUs the step has).")
    @Min(1)
    @Max(64)
    private Integer jobs;

    @JsonPropertyDescription("maintenance_work_mem of the restore sessions, for index builds (default 256MB); a session setting, so it works on managed targets.")
    @Pattern("^[1-9][0-9]{0,6}(kB|MB|GB)$")
    private String maintenanceWorkMem;

    public Strategy getStrategy() { return strategy; }
    public void setStrategy(Strategy strategy) { this.strategy = strategy; }
    public Integer getJobs() { return jobs; }
    public void setJobs(Integer jobs) { this.jobs = jobs; }
    public String getMaintenanceWorkMem() { return maintenanceWorkMem; }
    public void setMaintenanceWorkMem(String maintenanceWorkMem) { this.maintenanceWorkMem = maintenanceWorkMem; }

    /** Sets spec.transfer.strategy to {@code strategy} where the spec names none (creating spec.transfer if need be). */
    public static void withStrategyIfUnset(PostgresUpgradeSpec spec, Strategy strategy) {
        if (spec.getTransfer() == null) {
            spec.setTransfer(new TransferSpec());
        }
        if (spec.getTransfer().getStrategy() == null) {
            spec.getTransfer().setStrategy(strategy);
        }
    }

    /**
     * The strategy spec.transfer names, or the platform's default: pipeline on direct, whose verified downtime
     * is the shortest (it proves its large tables as it copies them, docs/performance.md); parallel on aptible,
     * whose rehearsal times that strategy's own dump and restore, and whose source is reached through a
     * db:tunnel that parallel no longer needs once its dump is done.
     */
    public static Strategy strategy(PostgresUpgradeSpec spec) {
        TransferSpec transfer = spec == null ? null : spec.getTransfer();
        if (transfer != null && transfer.strategy != null) {
            return transfer.strategy;
        }
        return spec != null && spec.getPlatform() == Platform.APTIBLE ? Strategy.PARALLEL : Strategy.PIPELINE;
    }
}
