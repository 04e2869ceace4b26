package dev.pgupgrade.steps;

/** How the work of one phase ended, as the driver saw it. */
public sealed interface PhaseOutcome {
    /** The phase had nothing to do (no services declared, say). */
    record Skipped(String reason) implements PhaseOutcome {
    }

    /** The driver did the phase's work itself (e.g. scaled the services) and says what it did. */
    record Completed(String message) implements PhaseOutcome {
    }

    /** The platform or runner cannot do this phase for this spec; the upgrade fails with the reason. */
    record Refused(String reason) implements PhaseOutcome {
    }

    /**
     * The step ran. {@code result} is the JSON document it reported, or null when it left none;
     * {@code problem} then says what the runner saw (timed out, vanished), in words safe for status.
     */
    record Ran(int exitCode, String result, String problem) implements PhaseOutcome {
    }
}
