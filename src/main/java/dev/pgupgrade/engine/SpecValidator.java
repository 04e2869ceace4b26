package dev.pgupgrade.engine;

import dev.pgupgrade.api.LogicalSpec;

import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.api.TargetSpec;
import dev.pgupgrade.steps.Shown;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import dev.pgupgrade.api.VerificationSpec;

/**
 * Checks a resource before anything is touched. The CRD schema says the same for the API server;
 * this is the copy every driver runs, because the local runner has no API server and a cluster's
 * schema may be older than the operator. Each problem names its field.
 */
public final class SpecValidator {
    /** Step names append "-schema-check-NN" to the resource name, and a Job name must fit in 63 characters. */
    public static final int MAX_NAME_LENGTH = 40;
    private static final String DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
    private static final int MAX_SERVICES = 50;

    private SpecValidator() {
    }

    public static List<String> problems(PostgresUpgrade upgrade) {
        List<String> problems = new ArrayList<>();
        String name = upgrade.getMetadata() == null ? null : upgrade.getMetadata().getName();
        if (name == null || name.isEmpty()) {
            problems.add("metadata.name: required");
        } else if (!name.matches(DNS_LABEL) || name.length() > MAX_NAME_LENGTH) {
            problems.add("metadata.name: must be lower-case letters, digits and '-', at most " + MAX_NAME_LENGTH + " characters");
        }
        PostgresUpgradeSpec spec = upgrade.getSpec();
        if (spec == null) {
            problems.add("spec: required");
            return problems;
        }
        if (spec.getPlatform() == null) {
            problems.add("spec.platform: required (direct or aptible)");
        }
        boolean aptible = spec.getPlatform() == Platform.APTIBLE;
        if (spec.getSource() == null) {
            problems.add("spec.source: required");
        } else if (!aptible) {
            secretRef(spec.getSource().getUrlSecretRef(), "spec.source.urlSecretRef", problems);
        }
        TargetSpec target = spec.getTarget();
        if (target == null) {
            problems.add("spec.target: required");
        } else {
            if (!aptible) {
                secretRef(target.getUrlSecretRef(), "spec.target.urlSecretRef", problems);
            }
            if (target.getVersion() == null || target.getVersion().isEmpty()) {
                problems.add("spec.target.version: required (a major version such as \"17\")");
            } else if (!target.getVersion().matches(TargetSpec.VERSION_PATTERN)) {
                problems.add("spec.target.version: must be a major version such as \"17\" (not a minor version, range or tag), got "
                        + printable(target.getVersion()));
            }
        }
        if (aptible) {
            AptibleChecks.check(spec, problems);
        } else {
            if (spec.getAptible() != null) {
                problems.add("spec.aptible: only for platform aptible");
            }
            if (RehearsalSpec.isEnabled(spec.getRehearsal())) {
                problems.add("spec.rehearsal: the rehearsal needs platform aptible (it restores an Aptible backup)");
            }
        }
        services(spec.getServices(), problems);
        verification(spec.getVerification(), problems);
        if (spec.getTransfer() != null) {
            range(spec.getTransfer().getJobs(), 1, 64, "spec.transfer.jobs", problems);
            String mwm = spec.getTransfer().getMaintenanceWorkMem();
            if (mwm != null && !mwm.matches("^[1-9][0-9]{0,6}(kB|MB|GB)$")) {
                problems.add("spec.transfer.maintenanceWorkMem: must be a size such as \"256MB\" (kB, MB or GB), got " + printable(mwm));
            }
        }
        logical(spec, aptible, problems);
        Long timeout = spec.getStepTimeoutSeconds();
        if (timeout != null && (timeout < 60 || timeout > 604800)) {
            problems.add("spec.stepTimeoutSeconds: must be between 60 and 604800 (a week), got " + timeout);
        }
        return problems;
    }

    private static void logical(PostgresUpgradeSpec spec, boolean aptible, List<String> problems) {
        boolean logical = LogicalSpec.isLogical(spec);
        if (logical && aptible) {
            // aptible db:replicate creates the replica in the source's environment
            String targetEnvironment = spec.getTarget() == null ? null : spec.getTarget().getEnvironment();
            String sourceEnvironment = spec.getSource() == null ? null : spec.getSource().getEnvironment();
            if (targetEnvironment != null && !targetEnvironment.equals(sourceEnvironment)) {
                problems.add("spec.target.environment: with strategy logical the replica is created in the source's environment ("
                        + sourceEnvironment + "; aptible db:replicate has no other): leave it out or set it to the source's");
            }
            if (spec.getLogical() != null && Boolean.TRUE.equals(spec.getLogical().getAllowReplicaIdentityFull())) {
                problems.add("spec.logical.allowReplicaIdentityFull: not on platform aptible, whose replication (pglogical) needs a"
                        + " primary key on every table");
            }
            if (RehearsalSpec.isEnabled(spec.getRehearsal())) {
                problems.add("spec.rehearsal: rehearses a dump and restore; with strategy logical the downtime is the cutover, so turn"
                        + " the rehearsal off");
            }
        }
        if (!logical && spec.getLogical() != null) {
            problems.add("spec.logical: only for spec.transfer.strategy logical");
        }
        if (spec.getLogical() != null) {
            range(spec.getLogical().getCatchUpTimeoutSeconds(), 5, 3600, "spec.logical.catchUpTimeoutSeconds", problems);
            range(spec.getLogical().getMaxRetainedWalMegabytes(), 16, 10485760, "spec.logical.maxRetainedWalMegabytes", problems);
            range(spec.getLogical().getWarnRetainedWalMegabytes(), 8, 10485759, "spec.logical.warnRetainedWalMegabytes", problems);
            if (spec.getLogical().getWarnRetainedWalMegabytes() != null
                    && LogicalSpec.warnRetainedWalMegabytes(spec.getLogical()) >= LogicalSpec.maxRetainedWalMegabytes(spec.getLogical())) {
                problems.add("spec.logical.warnRetainedWalMegabytes (" + spec.getLogical().getWarnRetainedWalMegabytes()
                        + ") must be below maxRetainedWalMegabytes (" + LogicalSpec.maxRetainedWalMegabytes(spec.getLogical()) + ")");
            }
        }
    }

    private static void verification(VerificationSpec v, List<String> problems) {
        if (v == null) {
            return;
        }
        range(v.getMaxChecksumTableMegabytes(), 0, 10485760, "spec.verification.maxChecksumTableMegabytes", problems);
        range(v.getParallelism(), 1, 32, "spec.verification.parallelism", problems);
        range(v.getStatementTimeoutSeconds(), 1, 86400, "spec.verification.statementTimeoutSeconds", problems);
    }

    private static void range(Integer value, int min, int max, String field, List<String> problems) {
        if (value != null && (value < min || value > max)) {
            problems.add(field + ": must be between " + min + " and " + max + ", got " + value);
        }
    }

    private static void services(List<ServiceSpec> services, List<String> problems) {
        if (services.size() > MAX_SERVICES) {
            problems.add("spec.services: at most " + MAX_SERVICES + " services");
            return;
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < services.size(); i++) {
            ServiceSpec s = services.get(i);
            String at = "spec.services[" + i + "]";
            if (s == null) {
                problems.add(at + ": must not be empty");
                continue;
            }
            boolean kindOk = "Deployment".equals(s.getKind()) || "StatefulSet".equals(s.getKind());
            if (!kindOk) {
                problems.add(at + ".kind: must be Deployment or StatefulSet");
            }
            if (s.getName() == null || !s.getName().matches(SecretKeyRef.NAME_PATTERN) || s.getName().length() > 253) {
                problems.add(at + ".name: must be a Kubernetes object name");
            } else if (kindOk && !seen.add(s.getKind() + "/" + s.getName())) {
                problems.add(at + ": " + s.getKind() + " " + s.getName() + " is listed twice");  // both checked above
            }
            if (s.getUrlSecretRef() != null) {
                secretRef(s.getUrlSecretRef(), at + ".urlSecretRef", problems);
            }
        }
    }

    static void secretRef(SecretKeyRef ref, String field, List<String> problems) {
        if (ref == null) {
            problems.add(field + ": required ({name, key} of a Secret)");
            return;
        }
        if (ref.getName() == null || ref.getName().isEmpty()) {
            problems.add(field + ".name: required");
        } else if (!ref.getName().matches(SecretKeyRef.NAME_PATTERN) || ref.getName().length() > 253) {
            problems.add(field + ".name: must be a Secret name (lower-case letters, digits, '-' and '.'), got "
                    + printable(ref.getName()));
        }
        if (ref.getKey() == null || ref.getKey().isEmpty()) {
            problems.add(field + ".key: required");
        } else if (!ref.getKey().matches(SecretKeyRef.KEY_PATTERN) || ref.getKey().length() > 253
                || ref.getKey().equals(".") || ref.getKey().equals("..")) {
            problems.add(field + ".key: must be a Secret key (letters, digits, '-', '_' and '.'), got " + printable(ref.getKey()));
        }
    }

    /** A manifest value fit to echo in an error (see {@link Shown#value}). */
    public static String printable(String value) {
        return Shown.value(value);
    }

    /** A name a server reported, fit for a message (see {@link Shown#name}). */
    public static String quoted(String name) {
        return Shown.name(name);
    }
}
