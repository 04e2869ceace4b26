package dev.pgupgrade.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.platform.DirectPlatform;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.testing.Upgrades;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Once the downtime began, the strategy an upgrade began with stays its strategy, even when a newer
 * operator's default differs (direct's default went from parallel to pipeline): a Dumping Job of
 * parallel's must not find itself followed by pipeline's Restoring.
 */
class SpecFreezeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant T0 = Instant.parse("2026-12-02T20:00:00Z");

    /** A direct upgrade without spec.transfer, in {@code phase}, having accepted {@code accepted}. */
    private static PostgresUpgrade inDowntime(PostgresUpgradeSpec accepted, Phase phase) {
        PostgresUpgrade upgrade = Upgrades.direct("17", 1L);
        PostgresUpgradeStatus status = new PostgresUpgradeStatus();
        status.setPhase(phase);
        status.setAcceptedSpec(accepted);
        upgrade.setStatus(status);
        return upgrade;
    }

    @Test
    void theEngineRecordsTheStrategyItResolvedWhenTheDowntimeBegins() {
        UpgradeEngine engine = new UpgradeEngine(new DirectPlatform());
        PostgresUpgrade upgrade = Upgrades.direct("17", 1L);
        upgrade.setStatus(engine.initialize(upgrade, T0));
        upgrade.getStatus().setPhase(Phase.SchemaCheck);
        upgrade.setStatus(engine.phaseEnded(upgrade, null, new PhaseOutcome.Completed("schema restored"), T0));

        assertEquals(Phase.ScalingDown, upgrade.getStatus().getPhase());
        assertEquals(TransferSpec.Strategy.PIPELINE, upgrade.getStatus().getAcceptedSpec().getTransfer().getStrategy());
        assertFalse(SpecFreeze.apply(upgrade), "leaving the strategy out of the live spec is not a change");
        assertEquals(TransferSpec.Strategy.PIPELINE, TransferSpec.strategy(upgrade.getSpec()));
    }

    @Test
    void anUpgradeAcceptedBeforeTheDefaultChangedGoesOnWithParallel() {
        PostgresUpgradeSpec recordedByAnOlderOperator = JSON.convertValue(Upgrades.direct("17", 1L).getSpec(), PostgresUpgradeSpec.class);
        PostgresUpgrade upgrade = inDowntime(recordedByAnOlderOperator, Phase.Dumping);

        assertFalse(SpecFreeze.apply(upgrade), "nothing changed: neither spec names a strategy");
        assertEquals(TransferSpec.Strategy.PARALLEL, TransferSpec.strategy(upgrade.getSpec()));
    }

    @Test
    void namingAnotherStrategyDuringTheDowntimeIsStillAChangeAndIsNotApplied() {
        PostgresUpgradeSpec accepted = JSON.convertValue(Upgrades.direct("17", 1L).getSpec(), PostgresUpgradeSpec.class);
        TransferSpec.withStrategyIfUnset(accepted, TransferSpec.Strategy.PIPELINE);
        PostgresUpgrade upgrade = inDowntime(accepted, Phase.Restoring);
        Upgrades.withStrategy(upgrade, TransferSpec.Strategy.PARALLEL);

        assertTrue(SpecFreeze.apply(upgrade));
        assertEquals(TransferSpec.Strategy.PIPELINE, TransferSpec.strategy(upgrade.getSpec()));
    }
}
