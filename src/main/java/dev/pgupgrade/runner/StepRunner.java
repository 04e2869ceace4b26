package dev.pgupgrade.runner;

import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.ProgressReport;

/** Runs steps somewhere (local processes, Kubernetes Jobs). Both methods are safe to call again after a crash. */
public interface StepRunner {
    /** Starts the step unless a step of that name was already started: idempotent by name. */
    void start(StepSpec step) throws SecretUnavailableException;

    /** Where the step is now. */
    StepProgress poll(StepSpec step);

    /** Forgets a step that vanished without a result, so that {@link #start} runs it afresh. */
    void discard(StepSpec step);

    /**
     * Ends the step of that name if it still runs (a watch, or a step the upgrade moved on from, say
     * because the resource was deleted), and forgets it. Idempotent.
     */
    void stop(String stepName);

    sealed interface StepProgress {
        /** @param report what the step last said about its progress, or null */
        record Running(ProgressReport report) implements StepProgress {
            public Running() {
                this(null);
            }
        }

        record Finished(PhaseOutcome.Ran outcome) implements StepProgress {
        }

        /** Started once, but gone without leaving a result (its process or pod was killed). */
        record Lost(String what) implements StepProgress {
        }
    }
}
