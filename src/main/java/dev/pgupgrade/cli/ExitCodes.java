package dev.pgupgrade.cli;

import dev.pgupgrade.api.Phase;

/** What {@code pgupgrade run} exits with, so scripts can tell outcomes apart. */
public final class ExitCodes {
    public static final int SUCCEEDED = 0;
    /** The upgrade ended Failed: status says where and why. */
    public static final int FAILED = 1;
    /** Bad command-line usage (picocli's own code). */
    public static final int USAGE = 2;
    /** The manifest, a Secret or the machine cannot be used; nothing was touched. */
    public static final int INVALID_INPUT = 3;
    /** The upgrade failed after downtime began and was rolled back to the source. */
    public static final int ROLLED_BACK = 4;
    /** Something unforeseen in pgupgrade itself; the state file allows a resume. */
    public static final int INTERNAL_ERROR = 5;
    /** Waiting at AwaitingApproval: nothing is down; run again with --approve to go on. */
    public static final int AWAITING_APPROVAL = 6;
    /** Interrupted (Ctrl-C); run the same command again to resume. */
    public static final int INTERRUPTED = 130;

    private ExitCodes() {
    }

    public static int of(Phase phase) {
        return switch (phase) {
            case Succeeded -> SUCCEEDED;
            case RolledBack -> ROLLED_BACK;
            case AwaitingApproval -> AWAITING_APPROVAL;
            default -> FAILED;
        };
    }
}
