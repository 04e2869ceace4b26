package dev.pgupgrade.cli;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.local.LocalUpgradeDriver;
import java.io.PrintWriter;
import java.util.Comparator;
import java.util.Locale;
import dev.pgupgrade.api.StepState;

/** One line per phase on stderr, with its duration and what it found. */
final class ProgressPrinter implements LocalUpgradeDriver.Listener {
    private final PrintWriter out;

    ProgressPrinter(PrintWriter out) {
        this.out = out;
    }

    @Override
    public void phaseEnded(PostgresUpgradeStatus before, PostgresUpgradeStatus after) {
        Phase phase = before.getPhase();
        // the step that just ended: the phase's latest record (a phase may run a step before its own,
        // such as the online strategy's check before Validating's; each ending prints its own line)
        Comparator<StepStatus> byAttempt = Comparator.comparing(StepStatus::getAttempt, Comparator.nullsFirst(Comparator.naturalOrder()));
        after.getSteps().stream()
                .filter(s -> s.getPhase() == phase && s.getState() != StepState.Running)
                .reduce((a, b) -> byAttempt.compare(b, a) >= 0 ? b : a)
                .ifPresent(this::line);
    }

    @Override
    public void progressed(PostgresUpgradeStatus status) {
        if (status.getProgress() != null) {
            out.printf(Locale.ROOT, "  %-12s %-8s %8s  %s%n", status.getPhase(), "...", "", status.getProgress().getSummary());
            out.flush();
        }
    }

    private void line(StepStatus step) {
        String state = switch (step.getState()) {
            case Succeeded -> "done";
            case Skipped -> "skipped";
            case Failed -> "FAILED";
            case Running -> "running";
        };
        String duration = step.getState() == StepState.Skipped || step.getDurationSeconds() == null
                ? "" : String.format(Locale.ROOT, "%.1f s", step.getDurationSeconds());
        out.printf(Locale.ROOT, "  %-12s %-8s %8s  %s%n", step.getPhase(), state, duration, nullToEmpty(step.getMessage()));
        step.getDetails().forEach(d -> out.println("      " + d));
        // failures, and mismatches let through by verification.onMismatch: warn
        step.getErrors().forEach(e -> out.println("      " + e));
        out.flush();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
