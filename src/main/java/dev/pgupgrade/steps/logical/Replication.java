package dev.pgupgrade.steps.logical;

import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import java.util.Map;

/** What every step of the logical strategy is given: the base name of our replication objects. */
final class Replication {
    static final String NAME = "LOGICAL_NAME";

    private Replication() {
    }

    static Map<String, EnvValue> env(PostgresUpgrade upgrade) {
        return new Env().put(NAME, Names.replication(upgrade)).build();
    }

    static LogicalSpec spec(PostgresUpgrade upgrade) {
        return upgrade.getSpec().getLogical();
    }
}
