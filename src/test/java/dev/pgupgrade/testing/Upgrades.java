package dev.pgupgrade.testing;

import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.AptibleSpec;
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

    /**
     * An Aptible upgrade "shop-db" of database shop-db (environment shop-prod) into a new shop-db-16,
     * for app shop-web (DATABASE_URL), token in Secret aptible/token.
     */
    public static PostgresUpgrade aptible(String targetVersion, Long generation) {
        PostgresUpgrade u = new PostgresUpgrade();
        u.setMetadata(new ObjectMetaBuilder().withName("shop-db").withGeneration(generation).build());
        PostgresUpgradeSpec spec = new PostgresUpgradeSpec();
        spec.setPlatform(Platform.APTIBLE);
        AptibleSpec aptible = new AptibleSpec();
        aptible.setTokenSecretRef(new SecretKeyRef("aptible", "token"));
        aptible.setApps(new java.util.ArrayList<>(java.util.List.of(new AptibleAppSpec("shop-web", "DATABASE_URL"))));
        spec.setAptible(aptible);
        SourceSpec source = new SourceSpec();
        source.setHandle("shop-db");
        source.setEnvironment("shop-prod");
        spec.setSource(source);
        TargetSpec target = new TargetSpec();
        target.setHandle("shop-db-" + targetVersion);
        target.setVersion(targetVersion);
        target.setDiskSizeGB(10);
        spec.setTarget(target);
        u.setSpec(spec);
        return u;
    }
}
