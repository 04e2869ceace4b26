package dev.pgupgrade.engine;

import dev.pgupgrade.api.AptibleAppSpec;
import dev.pgupgrade.api.AptibleSpec;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.SourceSpec;
import dev.pgupgrade.api.TargetSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import dev.pgupgrade.api.VerificationSpec;

/**
 * The spec rules of platform aptible, for {@link SpecValidator}. Handles and variable names end up as
 * arguments of the aptible CLI in a shell script, so they are held to the characters Aptible allows,
 * none of which a shell reads as syntax.
 */
final class AptibleChecks {
    private static final int MAX_HANDLE = 64;
    private static final int MAX_APPS = 50;

    private AptibleChecks() {
    }

    static void check(PostgresUpgradeSpec spec, List<String> problems) {
        AptibleSpec aptible = spec.getAptible();
        if (aptible == null) {
            problems.add("spec.aptible: required for platform aptible (tokenSecretRef, apps)");
        } else {
            SpecValidator.secretRef(aptible.getTokenSecretRef(), "spec.aptible.tokenSecretRef", problems);
            apps(aptible.getApps(), problems);
        }
        SourceSpec source = spec.getSource();
        if (source != null) {
            handle(source.getHandle(), "spec.source.handle", true, problems);
            handle(source.getEnvironment(), "spec.source.environment", true, problems);
            if (source.getUrlSecretRef() != null) {
                problems.add("spec.source.urlSecretRef: not used on platform aptible (the tunnel provides the connection); remove it");
            }
        }
        TargetSpec target = spec.getTarget();
        if (target != null) {
            handle(target.getHandle(), "spec.target.handle", true, problems);
            handle(target.getEnvironment(), "spec.target.environment", false, problems);
            if (target.getUrlSecretRef() != null) {
                problems.add("spec.target.urlSecretRef: not used on platform aptible (the tunnel provides the connection); remove it");
            }
            if (target.getDiskSizeGB() == null) {
                problems.add("spec.target.diskSizeGB: required for platform aptible (db:create --disk-size)");
            } else if (target.getDiskSizeGB() < 1 || target.getDiskSizeGB() > TargetSpec.MAX_DISK_GB) {
                problems.add("spec.target.diskSizeGB: must be between 1 and " + TargetSpec.MAX_DISK_GB + ", got " + target.getDiskSizeGB());
            }
            Integer size = target.getContainerSizeMB();
            if (size != null && (size < TargetSpec.MIN_CONTAINER_MB || size > TargetSpec.MAX_CONTAINER_MB)) {
                problems.add("spec.target.containerSizeMB: must be between " + TargetSpec.MIN_CONTAINER_MB + " and "
                        + TargetSpec.MAX_CONTAINER_MB + ", got " + size);
            }
            if (source != null && target.getHandle() != null && target.getHandle().equals(source.getHandle())
                    && Objects.equals(target.getEnvironment() == null ? source.getEnvironment() : target.getEnvironment(), source.getEnvironment())) {
                problems.add("spec.target.handle: must differ from spec.source.handle (the target is a new database)");
            }
        }
        if (aptible != null && AptibleSpec.deprovisionsSource(aptible)
                && (VerificationSpec.mode(spec.getVerification()) == VerificationSpec.Mode.OFF
                    || VerificationSpec.warnOnly(spec.getVerification()))) {
            problems.add("spec.aptible.deprovisionSource: needs spec.verification on, with onMismatch fail: the source is only"
                    + " deprovisioned after the target was proven equal to it");
        }
        if (!spec.getServices().isEmpty()) {
            problems.add("spec.services: Kubernetes workloads are for platform direct; list Aptible apps in spec.aptible.apps");
        }
        if (spec.getRehearsal() != null && spec.getRehearsal().getBackupId() != null
                && !spec.getRehearsal().getBackupId().matches("^[0-9]{1,18}$")) {
            problems.add("spec.rehearsal.backupId: must be a backup id (digits), got " + SpecValidator.printable(spec.getRehearsal().getBackupId()));
        }
    }

    private static void apps(List<AptibleAppSpec> apps, List<String> problems) {
        if (apps.size() > MAX_APPS) {
            problems.add("spec.aptible.apps: at most " + MAX_APPS + " apps");
            return;
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < apps.size(); i++) {
            AptibleAppSpec app = apps.get(i);
            String at = "spec.aptible.apps[" + i + "]";
            if (app == null) {
                problems.add(at + ": must not be empty");
                continue;
            }
            if (handle(app.getHandle(), at + ".handle", true, problems) && !seen.add(app.getHandle())) {
                problems.add(at + ": app " + app.getHandle() + " is listed twice");
            }
            handle(app.getEnvironment(), at + ".environment", false, problems);
            String variable = app.getConfigVariable();
            if (variable == null || variable.isEmpty()) {
                problems.add(at + ".configVariable: required (the variable holding the database URL, e.g. DATABASE_URL)");
            } else if (!variable.matches(AptibleAppSpec.VARIABLE_PATTERN) || variable.length() > 128) {
                problems.add(at + ".configVariable: must be a variable name (letters, digits and '_'), got " + SpecValidator.printable(variable));
            }
        }
    }

    /** Whether the handle is well-formed (absent counts as fine when optional). */
    private static boolean handle(String value, String field, boolean required, List<String> problems) {
        if (value == null || value.isEmpty()) {
            if (required) {
                problems.add(field + ": required for platform aptible");
            }
            return false;
        }
        if (!value.matches(AptibleAppSpec.HANDLE_PATTERN) || value.length() > MAX_HANDLE) {
            problems.add(field + ": must be an Aptible handle (lower-case letters, digits, '.', '_' and '-', at most "
                    + MAX_HANDLE + " characters), got " + SpecValidator.printable(value));
            return false;
        }
        return true;
    }
}
