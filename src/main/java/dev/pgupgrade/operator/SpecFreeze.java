package dev.pgupgrade.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.Conditions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * Once the downtime began, an upgrade works with the spec it began with (status.acceptedSpec). The
 * CRD's CEL rule already refuses changes then; this is the reconciler's own check, for API servers
 * that do not enforce it: a change is reported, never applied to a half-done upgrade.
 */
final class SpecFreeze {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SpecFreeze() {
    }

    /** Puts the accepted spec in place of the live one, if there is one; true when they differ. */
    static boolean apply(PostgresUpgrade upgrade) {
        PostgresUpgradeStatus status = upgrade.getStatus();
        if (status == null || status.getAcceptedSpec() == null || status.getPhase() == null || status.getPhase().isTerminal()) {
            return false;
        }
        PostgresUpgradeSpec accepted = JSON.convertValue(status.getAcceptedSpec(), PostgresUpgradeSpec.class);
        // The strategy it began with: recorded since direct's default became pipeline; before, none was
        // recorded and the default, on every platform, was parallel. Leaving spec.transfer.strategy out of
        // the live spec is not a change.
        TransferSpec.withStrategyIfUnset(accepted, TransferSpec.Strategy.PARALLEL);
        TransferSpec.Strategy began = accepted.getTransfer().getStrategy();
        PostgresUpgradeSpec live = JSON.convertValue(upgrade.getSpec(), PostgresUpgradeSpec.class);
        TransferSpec.withStrategyIfUnset(live, began);
        boolean differs = !JSON.valueToTree(live).equals(JSON.valueToTree(accepted));
        upgrade.setSpec(accepted);
        return differs;
    }

    /** The status saying the change is refused, or null when it already says so for this generation. */
    static PostgresUpgradeStatus refused(PostgresUpgrade upgrade, Instant now) {
        PostgresUpgradeStatus status = upgrade.getStatus();
        Long generation = upgrade.getMetadata().getGeneration();
        var said = Conditions.find(status.getConditions(), Conditions.SPEC_CHANGE_REFUSED);
        if (said != null && "True".equals(said.getStatus()) && Objects.equals(said.getObservedGeneration(), generation)) {
            return null;
        }
        PostgresUpgradeStatus next = JSON.convertValue(status, PostgresUpgradeStatus.class);
        String message = "The spec changed (generation " + generation + ") during " + status.getPhase()
                + ", after the downtime began: the change is refused and the upgrade goes on with the spec it began with."
                + " Apply the change once it has ended.";
        next.setConditions(Conditions.set(next.getConditions(), Conditions.SPEC_CHANGE_REFUSED, true, "ChangedDuringDowntime", message,
                generation, now.truncatedTo(ChronoUnit.SECONDS).toString()));
        next.setMessage(status.getPhase() + ": " + message);
        return next;
    }
}
