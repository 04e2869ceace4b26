package dev.pgupgrade.steps;

/**
 * A step kind that leaves files in WORK_DIR for later steps, or reads theirs (the online strategy's
 * stored source facts and its list of frozen databases): in a cluster it runs on the upgrade's work
 * volume rather than a scratch directory of its own.
 */
public interface SharesWorkFiles {
}
