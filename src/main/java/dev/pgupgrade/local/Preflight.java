package dev.pgupgrade.local;

import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.engine.PostgresUrl;
import dev.pgupgrade.engine.SpecValidator;
import dev.pgupgrade.runner.SecretResolver;
import dev.pgupgrade.runner.SecretUnavailableException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a local run can check before it touches anything: the spec, what this runner supports,
 * the Secrets and the URLs in them, the server binaries SchemaCheck needs. All problems are reported
 * at once, each naming its field.
 */
public final class Preflight {
    private Preflight() {
    }

    /** @return the machine-specific environment the steps need (e.g. TARGET_SERVER_BINDIR) */
    public static Map<String, String> check(PostgresUpgrade upgrade, SecretResolver secrets, Map<String, Path> pgBins,
                                            Map<String, String> env) throws InvalidInputException {
        List<String> problems = new ArrayList<>(SpecValidator.problems(upgrade));
        if (!problems.isEmpty()) {
            throw new InvalidInputException(problems);
        }
        var spec = upgrade.getSpec();
        boolean aptible = spec.getPlatform() == Platform.APTIBLE;
        if (!spec.getServices().isEmpty()) {
            problems.add("spec.services: pgupgrade run cannot scale or repoint Kubernetes services; stop the apps yourself and "
                    + "remove spec.services, or apply the resource to a cluster running the operator");
        }
        if (aptible) {
            token(secrets, spec.getAptible().getTokenSecretRef(), problems);
            if (ServerBinaries.onPath("aptible", env).isEmpty()) {
                problems.add("spec.platform: aptible needs the aptible CLI on PATH (https://www.aptible.com/docs/reference/aptible-cli)");
            }
        } else {
            url(secrets, spec.getSource().getUrlSecretRef(), "spec.source.urlSecretRef", problems);
            url(secrets, spec.getTarget().getUrlSecretRef(), "spec.target.urlSecretRef", problems);
        }
        Map<String, String> local = new HashMap<>();
        if (PhaseToggle.isEnabled(spec.getSchemaCheck())) {
            String major = spec.getTarget().getVersion();
            Optional<Path> bin = ServerBinaries.locate(major, pgBins, env);
            if (bin.isPresent()) {
                local.put("TARGET_SERVER_BINDIR", bin.get().toAbsolutePath().toString());
            } else {
                problems.add("spec.schemaCheck: needs PostgreSQL " + major + " server binaries (initdb, pg_ctl, postgres) on this machine: "
                        + "pass --pg-bin " + major + "=DIR, set PGUPGRADE_PG_BIN_" + major.replace('.', '_')
                        + ", or turn the check off with spec.schemaCheck.enabled: false");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidInputException(problems);
        }
        return local;
    }

    private static void token(SecretResolver secrets, SecretKeyRef ref, List<String> problems) {
        try {
            if (secrets.resolve(ref, "spec.aptible.tokenSecretRef").isBlank()) {
                problems.add("spec.aptible.tokenSecretRef: Secret key " + ref + " is empty");
            }
        } catch (SecretUnavailableException e) {
            problems.add(e.getMessage());
        }
    }

    private static void url(SecretResolver secrets, SecretKeyRef ref, String field, List<String> problems) {
        try {
            String url = secrets.resolve(ref, field);
            PostgresUrl.problem(url).ifPresent(p -> problems.add(field + ": the URL in Secret key " + ref + " " + p));
        } catch (SecretUnavailableException e) {
            problems.add(e.getMessage());
        }
    }
}
