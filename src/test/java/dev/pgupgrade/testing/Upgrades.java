package dev.pgupgrade.testing;

import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.api.SourceSpec;
import dev.pgupgrade.api.TargetSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/** PostgresUpgrade resources for tests, built in code. */
public final class Upgrades {
    private Upgrades() {
    }

    /** A direct-platform upgrade "orders-db" from Secret source-db/url to target-db/url. */
    public static PostgresUpgrade direct(String targetVersion, Long generation) {
        PostgresUpgrade u = new PostgresUpgrade();
        u.setMetadata(new ObjectMetaBuilder().withName("orders-db").withGeneration(generation).build());
        PostgresUpgradeSpec spec = new PostgresUpgradeSpec();
        spec.setPlatform(Platform.DIRECT);
        SourceSpec source = new SourceSpec();
        source.setUrlSecretRef(new SecretKeyRef("source-db", "url"));
        spec.setSource(source);
        TargetSpec target = new TargetSpec();
        target.setUrlSecretRef(new SecretKeyRef("target-db", "url"));
        target.setVersion(targetVersion);
        spec.setTarget(target);
        u.setSpec(spec);
        return u;
    }
}
