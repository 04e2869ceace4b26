package dev.pgupgrade.steps;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;

/** Where a step's facts go: the status being built (a copy, never the stored one), with the spec and the time. */
public record StatusFacts(PostgresUpgradeStatus status, PostgresUpgradeSpec spec, String now) {
}
