package dev.pgupgrade.steps.aptible;

import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.SimpleStep;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What every Aptible step is given (aptible.sh's contract): the token from its Secret, the handles and
 * environments, the target major; and the lists some steps take. Handles, environments and variable
 * names are restricted by the CRD and the validator to characters no shell reads as syntax, and reach
 * the scripts as environment variables only.
 */
public final class Aptible {
    /** The role Aptible databases are reached with; the runbook's password filter keeps the target's. */
    public static final String ROLE = "aptible";
    /** Roles every new Aptible database has: not the user's, so no reason to refuse a target. */
    public static final Set<String> PLATFORM_ROLES = Set.of(ROLE, "postgres");

    public static final String TOKEN = "APTIBLE_ACCESS_TOKEN";
    public static final String SOURCE_HANDLE = "SOURCE_HANDLE";
    public static final String SOURCE_ENVIRONMENT = "SOURCE_ENVIRONMENT";
    public static final String TARGET_HANDLE = "TARGET_HANDLE";
    public static final String TARGET_ENVIRONMENT = "TARGET_ENVIRONMENT";
    public static final String TARGET_MAJOR = "TARGET_MAJOR";
    /** One "handle environment VARIABLE" line per app (possibly none). */
    public static final String APPS = "APPS";
    /** One "app service count" line per recorded service (possibly none). */
    public static final String SERVICE_COUNTS = "SERVICE_COUNTS";

    /** Repointing: each app's variable set to the target's URL (aptible-repoint.sh). */
    public static final SimpleStep REPOINT = new SimpleStep("aptible-repoint.sh");
    /** DeprovisioningSource: aptible db:deprovision of the source (aptible-deprovision-source.sh). */
    public static final SimpleStep DEPROVISION_SOURCE = new SimpleStep("aptible-deprovision-source.sh");

    private Aptible() {
    }

    public static Map<String, EnvValue> common(PostgresUpgradeSpec spec) {
        return new Env()
                .secret(TOKEN, spec.getAptible().getTokenSecretRef(), "spec.aptible.tokenSecretRef")
                .put(SOURCE_HANDLE, spec.getSource().getHandle())
                .put(SOURCE_ENVIRONMENT, spec.getSource().getEnvironment())
                .put(TARGET_HANDLE, spec.getTarget().getHandle())
                .put(TARGET_ENVIRONMENT, targetEnvironment(spec))
                .put(TARGET_MAJOR, spec.getTarget().getVersion())
                .build();
    }

    public static Map<String, EnvValue> apps(PostgresUpgradeSpec spec) {
        String lines = spec.getAptible().getApps().stream()
                .map(a -> a.getHandle() + " " + appEnvironment(spec, a) + " " + a.getConfigVariable())
                .collect(Collectors.joining("\n"));
        return new Env().put(APPS, lines).build();
    }

    /** The recorded counts: what ScalingDown set to zero, ScalingUp and a rollback restore. */
    public static Map<String, EnvValue> recordedCounts(PostgresUpgradeStatus status) {
        String lines = status.getServices().stream()
                .filter(s -> ServiceStatus.APTIBLE_SERVICE.equals(s.getKind()))
                .map(s -> s.getApp() + " " + s.getName() + " " + s.getReplicas())
                .collect(Collectors.joining("\n"));
        return new Env().put(SERVICE_COUNTS, lines).build();
    }

    public static String targetEnvironment(PostgresUpgradeSpec spec) {
        return spec.getTarget().getEnvironment() != null ? spec.getTarget().getEnvironment() : spec.getSource().getEnvironment();
    }

    private static String appEnvironment(PostgresUpgradeSpec spec, AptibleAppSpec app) {
        return app.getEnvironment() != null ? app.getEnvironment() : spec.getSource().getEnvironment();
    }
}
