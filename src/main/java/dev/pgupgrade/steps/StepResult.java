package dev.pgupgrade.steps;

/**
 * What every step script reports in its one JSON document (lib.sh write_result): whether it did its
 * job and, in its own words, what happened. Each step has a record of its own that adds its facts.
 */
public interface StepResult {
    boolean ok();

    String message();
}
