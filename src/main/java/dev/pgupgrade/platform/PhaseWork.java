package dev.pgupgrade.platform;

import dev.pgupgrade.steps.StepSpec;

/** What a platform has to do for one phase of one upgrade. */
public sealed interface PhaseWork {
    record RunStep(StepSpec step) implements PhaseWork {
    }

    /** Nothing to do here, said why (e.g. no services declared). */
    record NothingToDo(String reason) implements PhaseWork {
    }

    /** This platform cannot do the phase for this spec; the upgrade must fail with the reason. */
    record Unsupported(String reason) implements PhaseWork {
    }
}
