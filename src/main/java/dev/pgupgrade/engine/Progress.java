package dev.pgupgrade.engine;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.ProgressStatus;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.ProgressReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * status.progress from what a running step last said: a percentage and an ETA from the rate since the
 * step started. A total that is only an estimate never shows 100% before the step ends.
 */
final class Progress {
    private Progress() {
    }

    static ProgressStatus of(Phase phase, ProgressReport report, Double elapsedSeconds, String now) {
        ProgressStatus progress = new ProgressStatus();
        progress.setPhase(phase);
        progress.setUnit(report.unit());
        progress.setDone(report.done());
        progress.setTotal(report.total());
        progress.setEstimated(report.estimated() ? Boolean.TRUE : null);
        Integer percent = null;
        Long eta = null;
        if (report.total() > 0) {
            percent = (int) Math.min(report.estimated() ? 99 : 100, report.done() * 100 / report.total());
            if (elapsedSeconds != null && elapsedSeconds > 0 && report.done() > 0) {
                double rate = report.done() / elapsedSeconds;
                eta = Math.max(0, Math.round((report.total() - report.done()) / rate));
            }
        }
        progress.setPercent(percent);
        progress.setEtaSeconds(eta);
        String of = "bytes".equals(report.unit()) ? Figures.bytes(report.total()) : report.total() + " " + report.unit();
        progress.setSummary(percent == null ? Figures.bytes(report.done()) + " so far"
                : percent + "% of " + (report.estimated() ? "~" : "") + of + (eta == null ? "" : ", ETA " + eta + "s"));
        progress.setUpdatedAt(now);
        if (report.replication() != null) {
            ReplicationStatus replication = mostLaggingFirst(report.replication());
            progress.setReplication(replication);
            progress.setSummary((percent == null ? "" : percent + "% caught up, ") + replicationSummary(replication));
        }
        return progress;
    }

    /** "lag 1.2 MiB / 0.8 s, WAL kept 40 MiB, 3/3 streaming": the PROGRESS column while the target applies the source's writes. */
    static String replicationSummary(ReplicationStatus replication) {
        long streaming = replication.getDatabases().stream().filter(d -> "streaming".equals(d.getState())).count();
        return "lag " + Figures.bytes(replication.getLagBytes()) + " / " + String.format(Locale.ROOT, "%.1f s", orZero(replication.getLagSeconds()))
                + ", WAL kept " + Figures.bytes(replication.getRetainedBytes())
                + (replication.getDatabases().isEmpty() ? "" : ", " + streaming + "/" + replication.getDatabases().size() + " streaming");
    }

    private static ReplicationStatus mostLaggingFirst(ReplicationStatus replication) {
        List<ReplicationStatus.DatabaseReplication> databases = new ArrayList<>(replication.getDatabases());
        databases.sort(Comparator.comparing((ReplicationStatus.DatabaseReplication d) -> d.getLagBytes() == null ? 0L : d.getLagBytes()).reversed());
        replication.setDatabases(new ArrayList<>(databases.subList(0, Math.min(databases.size(), ReplicationStatus.MAX_DATABASES))));
        return replication;
    }

    private static double orZero(Double value) {
        return value == null ? 0 : value;
    }
}
