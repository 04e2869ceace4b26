package dev.pgupgrade.platform;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.steps.database.Analyze;
import dev.pgupgrade.steps.database.SchemaCheck;
import dev.pgupgrade.steps.database.Transfer;
import dev.pgupgrade.steps.database.Verify;

/** The phases that work on the databases themselves, the same on every platform but for how they are reached. */
final class DatabasePhases {
    private DatabasePhases() {
    }

    static PhaseWork schemaCheck(PostgresUpgrade upgrade, Connections connections) {
        return new PhaseWork.RunStep(connections.connect(SchemaCheck.step(upgrade), true, false));
    }

    /** @param targetUser the target's connection role when the platform knows it, else null (the dump asks the target) */
    static PhaseWork dumping(PostgresUpgrade upgrade, Connections connections, String targetUser) {
        TransferStrategy strategy = TransferStrategy.of(upgrade.getSpec());
        if (strategy.dump() == null) {
            return new PhaseWork.NothingToDo(strategy.withoutDump());
        }
        return new PhaseWork.RunStep(connections.connect(strategy.dump().step(upgrade, Transfer.of(upgrade.getSpec().getTransfer()), targetUser),
                true, targetUser == null));
    }

    static PhaseWork restoring(PostgresUpgrade upgrade, Connections connections) {
        TransferStrategy strategy = TransferStrategy.of(upgrade.getSpec());
        if (strategy.restore() == null) {
            return new PhaseWork.NothingToDo(strategy.withoutDump());
        }
        return new PhaseWork.RunStep(connections.connect(strategy.restore().step(upgrade, Transfer.of(upgrade.getSpec().getTransfer())),
                strategy.restoreReadsSource(), true));
    }

    static PhaseWork verifying(PostgresUpgrade upgrade, Connections connections) {
        return new PhaseWork.RunStep(connections.connect(Verify.step(upgrade), true, true));
    }

    static PhaseWork analyzing(PostgresUpgrade upgrade, Connections connections) {
        return new PhaseWork.RunStep(connections.connect(Analyze.step(upgrade), false, true));
    }
}
