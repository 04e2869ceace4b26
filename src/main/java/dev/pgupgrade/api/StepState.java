package dev.pgupgrade.api;

public enum StepState {
    Running,
    Succeeded,
    Failed,
    /** The phase had nothing to do, e.g. no services to scale. */
    Skipped
}
