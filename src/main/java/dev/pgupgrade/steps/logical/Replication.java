package dev.pgupgrade.steps.logical;

import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.TargetStatus;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import java.util.List;
import java.util.Map;

/**
 * What every step of the logical strategy is given: the base name of our replication objects (and, on
 * platform aptible, whose replication it is). Public for Aptible's ProvisioningTarget, whose step
 * already works with the replica's replication.
 */
public final class Replication {
    static final String NAME = "LOGICAL_NAME";

    private Replication() {
    }

    /** Platform aptible: the replication is the replica's (logical-replica.sh), its slots those Replicating found. */
    static final String KIND = "LOGICAL_REPLICATION";
    static final String REPLICA_SLOTS = "REPLICA_SLOTS";

    public static Map<String, EnvValue> env(PostgresUpgrade upgrade) {
        Env env = new Env().put(NAME, Names.replication(upgrade));
        if (upgrade.getSpec().getPlatform() == Platform.APTIBLE) {
            TargetStatus target = upgrade.getStatus() == null ? null : upgrade.getStatus().getTarget();
            List<String> slots = target == null || target.getReplicationSlots() == null ? List.of() : target.getReplicationSlots();
            env.put(KIND, "replica").put(REPLICA_SLOTS, String.join(" ", slots));
        }
        return env.build();
    }

    static LogicalSpec spec(PostgresUpgrade upgrade) {
        return upgrade.getSpec().getLogical();
    }
}
