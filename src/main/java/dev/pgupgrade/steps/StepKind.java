package dev.pgupgrade.steps;

import dev.pgupgrade.api.PostgresUpgradeSpec;

/**
 * A step script as a type: which script runs, the record its JSON result is read into, and what that
 * result means. Scripts report facts; the judge decides, here in Java where it is typed and tested.
 * Each step class also holds its inputs (a record turned into environment variables whose names are
 * its constants): see the README's "adding a step".
 *
 * @param <R> the step's result record
 */
public interface StepKind<R extends StepResult> {
    /** The script's file name under src/main/resources/dev/pgupgrade/steps/scripts. */
    String script();

    /** The record the script's JSON result is read into. */
    Class<R> resultType();

    /** What the result of a step that ran to its end (ok, exit code 0) means for the upgrade. */
    Verdict judge(R result, PostgresUpgradeSpec spec);

    /**
     * Facts in the result that later phases, or a rollback, depend on, copied into status. Called for
     * every readable result, also a failed one ({@code ok} says which).
     */
    default void record(R result, boolean ok, StatusFacts facts) {
    }
}
