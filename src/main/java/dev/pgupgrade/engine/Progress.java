package dev.pgupgrade.engine;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.ProgressStatus;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.ProgressReport;

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
        return progress;
    }
}
