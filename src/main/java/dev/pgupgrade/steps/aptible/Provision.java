package dev.pgupgrade.steps.aptible;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.MajorVersion;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.TargetContents;
import dev.pgupgrade.steps.Verdict;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * ProvisioningTarget (aptible-provision.sh): aptible db:create with the runbook's flags, or an existing
 * target adopted. A target the step created and could not finish checking is deprovisioned again.
 */
public final class Provision implements StepKind<Provision.Result> {
    public static final Provision KIND = new Provision();
    public static final String DISK_SIZE_GB = "TARGET_DISK_SIZE_GB";
    /** Optional: Aptible's default container size when absent. */
    public static final String CONTAINER_SIZE_MB = "TARGET_CONTAINER_SIZE_MB";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer targetVersionNum, String targetVersion, Boolean targetCreated,
                         List<TargetContents.TargetObject> targetObjects, List<TargetContents.TargetFact> targetCluster) implements StepResult {
    }

    private Provision() {
    }

    /** The new database's size (also the rehearsal's temporaries'). */
    static Map<String, EnvValue> sizes(PostgresUpgradeSpec spec) {
        Integer container = spec.getTarget().getContainerSizeMB();
        return new Env().put(DISK_SIZE_GB, spec.getTarget().getDiskSizeGB())
                .putIfPresent(CONTAINER_SIZE_MB, container == null ? null : container.toString()).build();
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.ProvisioningTarget, KIND, new Env().putAll(Aptible.common(upgrade.getSpec()))
                .putAll(sizes(upgrade.getSpec())).build(), true);
    }

    @Override
    public String script() {
        return "aptible-provision.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    /** Why the new database (target or replica) is not what spec.target asks for, if it is not. */
    static Optional<String> wrongVersion(Integer versionNum, PostgresUpgradeSpec spec, String what) {
        if (versionNum == null) {
            return Optional.of("the step did not report the " + what + "'s version");
        }
        String major = MajorVersion.fromVersionNum(versionNum);
        return spec.getTarget().getVersion().equals(major) ? Optional.empty()
                : Optional.of("the " + what + " " + spec.getTarget().getHandle() + " runs PostgreSQL " + major + ", not the "
                        + spec.getTarget().getVersion() + " spec.target.version asks for");
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        Optional<String> version = wrongVersion(result.targetVersionNum(), spec, "target");
        if (version.isPresent()) {
            return Verdict.failed(version.get());
        }
        Optional<String> held = TargetContents.problem(result.targetObjects(), result.targetCluster(), Aptible.PLATFORM_ROLES);
        if (held.isPresent()) {
            return Verdict.failed("the target " + spec.getTarget().getHandle() + ": " + held.get());
        }
        return Verdict.ok(result.message() != null ? result.message() : "target ready").withVersions(null, result.targetVersion());
    }
}
