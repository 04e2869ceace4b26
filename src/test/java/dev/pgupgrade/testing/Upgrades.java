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
     * The upgrade with spec.transfer.strategy set: a test that follows the dump flow's phases (Dumping, then
     * Restoring) names parallel, since direct's default, pipeline, has no Dumping step.
     */
    public static PostgresUpgrade withStrategy(PostgresUpgrade upgrade, dev.pgupgrade.api.TransferSpec.Strategy strategy) {
        dev.pgupgrade.api.TransferSpec transfer = new dev.pgupgrade.api.TransferSpec();
        transfer.setStrategy(strategy);
        upgrade.getSpec().setTransfer(transfer);
        return upgrade;
    }

    /**
     * A direct upgrade to 17 named {@code name} in {@code namespace} with Deployment shop-api, and only
     * the phases a fault test needs (no schema check, verification or analyze); strategy parallel, whose
     * Dumping and Restoring Jobs the fault tests break one at a time.
     */
    public static PostgresUpgrade leanDirect(String name, String namespace) {
        PostgresUpgrade upgrade = withStrategy(direct("17", null), dev.pgupgrade.api.TransferSpec.Strategy.PARALLEL);
        upgrade.getMetadata().setName(name);
        upgrade.getMetadata().setNamespace(namespace);
        dev.pgupgrade.api.ServiceSpec api = new dev.pgupgrade.api.ServiceSpec();
        api.setKind("Deployment");
        api.setName("shop-api");
        api.setUrlSecretRef(new SecretKeyRef("shop-app", "DATABASE_URL"));
        upgrade.getSpec().setServices(new java.util.ArrayList<>(java.util.List.of(api)));
        upgrade.getSpec().setSchemaCheck(new dev.pgupgrade.api.SchemaCheckSpec(false));
        upgrade.getSpec().setAnalyze(new dev.pgupgrade.api.PhaseToggle(false));
        dev.pgupgrade.api.VerificationSpec off = new dev.pgupgrade.api.VerificationSpec();
        off.setMode(dev.pgupgrade.api.VerificationSpec.Mode.OFF);
        upgrade.getSpec().setVerification(off);
        return upgrade;
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
