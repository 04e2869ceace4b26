package dev.pgupgrade.platform;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;

/** Turns a phase of an upgrade into concrete work for one kind of database host. Pure. */
public interface UpgradePlatform {
    PhaseWork work(Phase phase, PostgresUpgrade upgrade);
}
