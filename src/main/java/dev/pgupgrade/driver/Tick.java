package dev.pgupgrade.driver;

import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.steps.StepSpec;
import java.time.Duration;

/**
 * What one tick of the driver came to: a status to store before anything else happens (or none), when
 * to tick again, and what kind of progress it was, for whoever tells humans.
 *
 * @param status  the status to store, or null when nothing changed
 * @param again   when the next tick is due
 * @param kind    what happened
 * @param started the step whose intent this tick recorded ({@link Kind#INTENT}), else null
 */
public record Tick(PostgresUpgradeStatus status, Duration again, Kind kind, StepSpec started) {
    public enum Kind {
        /** Nothing to store: a step is still running, or a wait goes on unchanged. */
        NOTHING,
        /** An intent (a step about to start, replicas about to change) to store before the side effect. */
        INTENT,
        /** A running step's progress. */
        PROGRESS,
        /** A wait with a new reason (a Secret, another upgrade). */
        WAITING,
        /** Waiting for a human to approve the downtime. */
        AWAITING_APPROVAL,
        /** A step or a phase ended: the status records how. */
        ENDED
    }

    static Tick nothing(Duration again) {
        return new Tick(null, again, Kind.NOTHING, null);
    }

    static Tick store(PostgresUpgradeStatus status, Kind kind, Duration again) {
        return new Tick(status, again, kind, null);
    }

    static Tick intent(PostgresUpgradeStatus status, StepSpec started, Duration again) {
        return new Tick(status, again, Kind.INTENT, started);
    }

    public boolean stores() {
        return status != null;
    }
}
