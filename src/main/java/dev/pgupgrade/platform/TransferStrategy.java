package dev.pgupgrade.platform;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.steps.database.Dump;
import dev.pgupgrade.steps.database.Restore;

/**
 * The steps of each spec.transfer.strategy: its dump (none for the streaming ones, which read the
 * source while restoring) and its restore.
 *
 * @param dump               Dumping's step, or null
 * @param withoutDump        why there is none (a message for status)
 * @param restore            Restoring's step, or null (strategy logical copies during Replicating)
 * @param restoreReadsSource whether the restore reads the source too
 */
record TransferStrategy(Dump dump, String withoutDump, Restore restore, boolean restoreReadsSource) {
    static TransferStrategy of(PostgresUpgradeSpec spec) {
        return switch (TransferSpec.strategy(spec)) {
            case DUMPALL -> new TransferStrategy(Dump.RUNBOOK, null, Restore.RUNBOOK, false);
            case PARALLEL -> new TransferStrategy(Dump.PARALLEL, null, Restore.PARALLEL, false);
            case STREAM -> new TransferStrategy(null, "strategy stream: the dump streams into the target during Restoring", Restore.STREAM, true);
            case PIPELINE -> new TransferStrategy(null, "strategy pipeline: the tables are copied straight into the target during Restoring",
                    Restore.PIPELINE, true);
            // never reached: the online strategy has no Dumping and Restoring (see PhaseMachine)
            case LOGICAL -> new TransferStrategy(null, "strategy logical: the data is copied during Replicating", null, false);
        };
    }
}
