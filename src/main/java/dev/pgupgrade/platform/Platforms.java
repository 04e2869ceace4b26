package dev.pgupgrade.platform;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;

/** The platform each upgrade names in spec.platform. */
public final class Platforms implements UpgradePlatform {
    private final UpgradePlatform direct = new DirectPlatform();
    private final UpgradePlatform aptible = new AptiblePlatform();

    @Override
    public PhaseWork work(Phase phase, PostgresUpgrade upgrade) {
        Platform platform = upgrade.getSpec().getPlatform();
        return platform == Platform.APTIBLE ? aptible.work(phase, upgrade) : direct.work(phase, upgrade);
    }
}
