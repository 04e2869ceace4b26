package dev.pgupgrade.metrics;

import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ProgressStatus;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.api.TransferSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The figures one upgrade's status holds, as Prometheus gauges: the operator serves them for every
 * upgrade at each scrape (read from its cache, so a restarted operator reports the same), and
 * {@code pgupgrade run --metrics-file} writes them at the end. Status is the only source: nothing here
 * is remembered between scrapes, and nothing in it is a credential or a URL (labels are the resource's
 * namespace and name, phases, step names, units and database names).
 */
public final class UpgradeFigures {
    /** One sample: a metric name (its help text alongside), labels in order, a value. */
    public record Figure(String name, String help, Map<String, String> labels, double value) {
        public Figure {
            Map<String, String> copy = new LinkedHashMap<>();
            labels.forEach((k, v) -> copy.put(k, v == null ? "" : v));  // a label is never null in the format
            labels = java.util.Collections.unmodifiableMap(copy);
        }
    }

    static final String PHASE = "pgupgrade_upgrade_phase";
    static final String ATTEMPT = "pgupgrade_upgrade_attempt";
    static final String STARTED = "pgupgrade_upgrade_start_timestamp_seconds";
    static final String COMPLETED = "pgupgrade_upgrade_end_timestamp_seconds";
    static final String FAILURE = "pgupgrade_upgrade_failure";
    static final String PHASE_DURATION = "pgupgrade_phase_duration_seconds";
    static final String STEP_DURATION = "pgupgrade_step_duration_seconds";
    static final String DOWNTIME = "pgupgrade_downtime_seconds";
    static final String DOWNTIME_ONGOING = "pgupgrade_downtime_ongoing";
    static final String DOWNTIME_ESTIMATE = "pgupgrade_downtime_estimate_seconds";
    static final String MOVED = "pgupgrade_moved_bytes";
    static final String MISMATCHES = "pgupgrade_verification_mismatches";
    static final String PROGRESS_DONE = "pgupgrade_progress_done";
    static final String PROGRESS_TOTAL = "pgupgrade_progress_expected";
    static final String PROGRESS_ETA = "pgupgrade_progress_eta_seconds";
    static final String LAG_BYTES = "pgupgrade_replication_lag_bytes";
    static final String LAG_SECONDS = "pgupgrade_replication_lag_seconds";
    static final String RETAINED = "pgupgrade_replication_retained_wal_bytes";
    static final String STREAMING = "pgupgrade_replication_streaming_databases";
    static final String REPLICATED = "pgupgrade_replication_databases";
    static final String DB_LAG_BYTES = "pgupgrade_replication_database_lag_bytes";
    static final String DB_LAG_SECONDS = "pgupgrade_replication_database_lag_seconds";
    static final String DB_RETAINED = "pgupgrade_replication_database_retained_wal_bytes";
    static final String TABLES_COPYING = "pgupgrade_replication_tables_copying";

    /** Help text per metric name, in the order they are listed. */
    static final Map<String, String> HELP = help();

    private UpgradeFigures() {
    }

    /** The names of every metric this class may produce (the chart's alerts are checked against them). */
    public static java.util.Set<String> names() {
        return HELP.keySet();
    }

    private static Map<String, String> help() {
        Map<String, String> help = new LinkedHashMap<>();
        help.put(PHASE, "1 for the phase each upgrade is in (one series per upgrade), with its platform and transfer strategy");
        help.put(ATTEMPT, "The upgrade's attempt number (a retry after Failed or RolledBack adds one)");
        help.put(STARTED, "When the current attempt started (unix seconds)");
        help.put(COMPLETED, "When the upgrade ended: Succeeded, Failed or RolledBack (unix seconds)");
        help.put(FAILURE, "1 when the current attempt failed: the phase that failed and where the upgrade is now (RollingBack, RolledBack, Failed)");
        help.put(PHASE_DURATION, "Seconds each phase of the current attempt took (running: so far); downtime=true marks the parts of the downtime");
        help.put(STEP_DURATION, "Seconds each step of the current attempt took (running: so far)");
        help.put(DOWNTIME, "Seconds from the services' scale-down to their scale-up (or the rollback's end); so far while ongoing");
        help.put(DOWNTIME_ONGOING, "1 while the services are down, 0 once they are back");
        help.put(DOWNTIME_ESTIMATE, "The downtime the rehearsal estimated, in seconds");
        help.put(MOVED, "Bytes each phase moved: dumped, restored, copied");
        help.put(MISMATCHES, "Differences the verification found between source and target (0: identical)");
        help.put(PROGRESS_DONE, "Progress of the running step, in its unit (bytes, items)");
        help.put(PROGRESS_TOTAL, "What the running step expects to reach, in its unit (its total)");
        help.put(PROGRESS_ETA, "Seconds the running step still needs at its rate so far");
        help.put(LAG_BYTES, "Online upgrades: bytes of the source's WAL the target has yet to apply, all databases");
        help.put(LAG_SECONDS, "Online upgrades: seconds the target is behind the source, the most lagging database");
        help.put(RETAINED, "Online upgrades: WAL the source keeps for our replication slots, all databases");
        help.put(STREAMING, "Online upgrades: databases whose subscription is applying");
        help.put(REPLICATED, "Online upgrades: databases replicated");
        help.put(DB_LAG_BYTES, "Online upgrades: replication lag in bytes per database (the 50 most lagging)");
        help.put(DB_LAG_SECONDS, "Online upgrades: replication lag in seconds per database (the 50 most lagging)");
        help.put(DB_RETAINED, "Online upgrades: WAL retained for our slot per database (the 50 most lagging)");
        help.put(TABLES_COPYING, "Online upgrades: tables of the database being copied that are not copied yet (Replicating)");
        return java.util.Collections.unmodifiableMap(help);
    }

    /** Every figure of {@code upgrade} at {@code now}; none before the operator wrote a first status. */
    public static List<Figure> of(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus status = upgrade.getStatus();
        List<Figure> figures = new ArrayList<>();
        if (status == null || status.getPhase() == null) {
            return figures;
        }
        Map<String, String> who = new LinkedHashMap<>();
        who.put("namespace", Objects.requireNonNullElse(upgrade.getMetadata().getNamespace(), ""));
        who.put("name", Objects.requireNonNullElse(upgrade.getMetadata().getName(), ""));
        PostgresUpgradeSpec spec = status.getAcceptedSpec() != null ? status.getAcceptedSpec() : upgrade.getSpec();

        figures.add(figure(PHASE, who, 1, "phase", status.getPhase().name(),
                "platform", spec == null || spec.getPlatform() == null ? "" : spec.getPlatform() == Platform.APTIBLE ? "aptible" : "direct",
                "strategy", spec == null ? "" : TransferSpec.strategy(spec).name().toLowerCase(Locale.ROOT)));
        int attempt = status.getAttempt() == null ? 1 : status.getAttempt();
        figures.add(figure(ATTEMPT, who, attempt));
        seconds(status.getStartedAt()).ifPresent(t -> figures.add(figure(STARTED, who, t)));
        if (status.getPhase().isTerminal()) {
            seconds(status.getCompletedAt()).ifPresent(t -> figures.add(figure(COMPLETED, who, t)));
        }
        if (status.getFailedPhase() != null) {
            figures.add(figure(FAILURE, who, 1, "failed_phase", status.getFailedPhase().name(), "phase", status.getPhase().name()));
        }

        List<StepStatus> steps = status.getSteps().stream()
                .filter(s -> s.getAttempt() == null || s.getAttempt() == attempt).toList();
        Map<Phase, Double> perPhase = new LinkedHashMap<>();
        Map<Phase, Long> moved = new LinkedHashMap<>();
        Map<Phase, Integer> mismatches = new LinkedHashMap<>();
        for (StepStatus step : steps) {
            if (step.getPhase() == null) {
                continue;
            }
            double took = took(step, now);
            perPhase.merge(step.getPhase(), took, Double::sum);
            figures.add(figure(STEP_DURATION, who, took, "phase", step.getPhase().name(), "step", step.getName()));
            if (step.getBytes() != null) {
                moved.merge(step.getPhase(), step.getBytes(), Long::sum);
            }
            if (step.getMismatches() != null) {
                mismatches.merge(step.getPhase(), step.getMismatches(), Integer::sum);
            }
        }
        perPhase.forEach((phase, took) -> figures.add(figure(PHASE_DURATION, who, took, "phase", phase.name(),
                "downtime", String.valueOf(isDowntime(phase)))));
        moved.forEach((phase, bytes) -> figures.add(figure(MOVED, who, bytes, "phase", phase.name())));
        mismatches.forEach((phase, count) -> figures.add(figure(MISMATCHES, who, count, "phase", phase.name())));
        downtime(status, steps, now).ifPresent(d -> {
            figures.add(figure(DOWNTIME, who, d.seconds()));
            figures.add(figure(DOWNTIME_ONGOING, who, d.ongoing() ? 1 : 0));
        });
        if (status.getEstimate() != null && status.getEstimate().getDowntimeSeconds() != null) {
            figures.add(figure(DOWNTIME_ESTIMATE, who, status.getEstimate().getDowntimeSeconds()));
        }
        progress(status, spec, who, figures);
        return figures;
    }

    private static void progress(PostgresUpgradeStatus status, PostgresUpgradeSpec spec, Map<String, String> who, List<Figure> figures) {
        ProgressStatus progress = status.getProgress();
        if (progress == null || status.getPhase().isTerminal()) {
            return;
        }
        String phase = progress.getPhase() == null ? status.getPhase().name() : progress.getPhase().name();
        String unit = Objects.requireNonNullElse(progress.getUnit(), "");
        if (progress.getDone() != null) {
            figures.add(figure(PROGRESS_DONE, who, progress.getDone(), "phase", phase, "unit", unit));
        }
        if (progress.getTotal() != null) {
            figures.add(figure(PROGRESS_TOTAL, who, progress.getTotal(), "phase", phase, "unit", unit));
        }
        if (progress.getEtaSeconds() != null) {
            figures.add(figure(PROGRESS_ETA, who, progress.getEtaSeconds(), "phase", phase));
        }
        // The online copy (pipeline at the slots' snapshot) counts tables: what is not copied yet is still copying.
        if (progress.getPhase() == Phase.Replicating && "items".equals(unit) && progress.getDone() != null && progress.getTotal() != null
                && spec != null && LogicalSpec.isLogical(spec)) {
            figures.add(figure(TABLES_COPYING, who, Math.max(0, progress.getTotal() - progress.getDone())));
        }
        ReplicationStatus replication = progress.getReplication();
        if (replication == null) {
            return;
        }
        add(figures, LAG_BYTES, who, replication.getLagBytes());
        add(figures, LAG_SECONDS, who, replication.getLagSeconds());
        add(figures, RETAINED, who, replication.getRetainedBytes());
        if (!replication.getDatabases().isEmpty()) {
            figures.add(figure(REPLICATED, who, replication.getDatabases().size()));
            figures.add(figure(STREAMING, who, replication.getDatabases().stream().filter(d -> "streaming".equals(d.getState())).count()));
        }
        for (ReplicationStatus.DatabaseReplication database : replication.getDatabases()) {
            Map<String, String> labels = new LinkedHashMap<>(who);
            labels.put("database", Objects.requireNonNullElse(database.getDatabase(), ""));
            add(figures, DB_LAG_BYTES, labels, database.getLagBytes());
            add(figures, DB_LAG_SECONDS, labels, database.getLagSeconds());
            add(figures, DB_RETAINED, labels, database.getRetainedBytes());
        }
    }

    /**
     * Services down (ScalingDown began) to services up: ScalingUp finished, or the rollback's last step did;
     * an upgrade that ended otherwise (a failure after Repointing, a failed rollback) ends its downtime
     * figure at completedAt. Empty before ScalingDown. With no service declared, ScalingDown is skipped
     * but the window is the same: the source must not be written from then on.
     */
    record Downtime(double seconds, boolean ongoing) {
    }

    static java.util.Optional<Downtime> downtime(PostgresUpgradeStatus status, List<StepStatus> steps, Instant now) {
        Instant down = steps.stream().filter(s -> s.getPhase() == Phase.ScalingDown).map(s -> instant(s.getStartedAt()))
                .filter(Objects::nonNull).min(Instant::compareTo).orElse(null);
        if (down == null) {
            return java.util.Optional.empty();
        }
        Instant up = steps.stream().filter(s -> s.getPhase() == Phase.ScalingUp && s.getState() != StepState.Running
                        && s.getState() != StepState.Failed).map(s -> instant(s.getFinishedAt())).filter(Objects::nonNull).findFirst()
                .orElse(null);
        if (up == null && status.getPhase() != Phase.RollingBack) {
            // the rollback's steps (replication cleanup, services, configuration) all ended: the last one brought them back
            up = steps.stream().filter(s -> s.getPhase() == Phase.RollingBack && s.getState() != StepState.Running && s.getState() != StepState.Failed)
                    .map(s -> instant(s.getFinishedAt())).filter(Objects::nonNull).max(Instant::compareTo).orElse(null);
        }
        if (up == null && status.getPhase().isTerminal()) {
            up = instant(status.getCompletedAt());
        }
        Instant end = up == null ? now : up;
        return java.util.Optional.of(new Downtime(Math.max(0, Duration.between(down, end).toMillis()) / 1000.0, up == null));
    }

    /** The phases the services are down for: ScalingDown to ScalingUp, and a rollback that brings them back. */
    static boolean isDowntime(Phase phase) {
        return phase.isDowntime() || phase == Phase.ScalingUp || phase == Phase.RollingBack;
    }

    private static double took(StepStatus step, Instant now) {
        if (step.getState() != StepState.Running && step.getDurationSeconds() != null) {
            return step.getDurationSeconds();
        }
        Instant started = instant(step.getStartedAt());
        return started == null ? 0 : Math.max(0, Duration.between(started, now).toMillis()) / 1000.0;
    }

    private static void add(List<Figure> figures, String name, Map<String, String> labels, Number value) {
        if (value != null) {
            figures.add(figure(name, labels, value.doubleValue()));
        }
    }

    private static Figure figure(String name, Map<String, String> who, double value, String... labels) {
        Map<String, String> all = new LinkedHashMap<>(who);
        for (int i = 0; i + 1 < labels.length; i += 2) {
            all.put(labels[i], labels[i + 1]);
        }
        return new Figure(name, HELP.get(name), all, value);
    }

    private static java.util.Optional<Double> seconds(String timestamp) {
        Instant at = instant(timestamp);
        return at == null ? java.util.Optional.empty() : java.util.Optional.of(at.toEpochMilli() / 1000.0);
    }

    private static Instant instant(String timestamp) {
        if (timestamp == null) {
            return null;
        }
        try {
            return Instant.parse(timestamp);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
