package dev.pgupgrade.steps.database;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.MajorVersion;
import dev.pgupgrade.steps.Shown;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.TargetContents;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.steps.VersionCheck;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Validating on the direct platform (validate.sh): both servers answer, their majors fit the spec, the
 * target holds nothing of anyone's, and every source database can be dumped. Read-only on both sides.
 */
public final class Validate implements StepKind<Validate.Result> {
    public static final Validate KIND = new Validate();

    /** What Validating learns of both servers (also aptible-validate.sh's result, where the target may not exist yet). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer sourceVersionNum, String sourceVersion, Integer targetVersionNum,
                         String targetVersion, String targetUser, String targetSuperuser, List<String> sourceDatabases,
                         List<String> targetDatabases, List<TargetContents.TargetObject> targetObjects,
                         List<TargetContents.TargetFact> targetCluster, List<String> targetUnreadable, Boolean targetExists)
            implements StepResult {
    }

    private Validate() {
    }

    /** Needs both servers' connections. */
    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.Validating, KIND, Map.of(), true);
    }

    @Override
    public String script() {
        return "validate.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return judge(result, spec, false, Set.of());
    }

    /**
     * @param targetMayBeAbsent Aptible: ProvisioningTarget creates the target, and checks it again
     * @param platformRoles     roles the platform puts on every new server (not the user's)
     */
    public static Verdict judge(Result result, PostgresUpgradeSpec spec, boolean targetMayBeAbsent, Set<String> platformRoles) {
        if (result.sourceVersionNum() == null || (result.targetVersionNum() == null && !targetMayBeAbsent)) {
            return Verdict.failed("the validation step did not report the server versions");
        }
        String wanted = spec.getTarget().getVersion();
        String sourceMajor = MajorVersion.fromVersionNum(result.sourceVersionNum());
        String targetMajor = result.targetVersionNum() == null ? wanted : MajorVersion.fromVersionNum(result.targetVersionNum());
        Optional<String> problem = VersionCheck.problem(wanted, sourceMajor, targetMajor);
        if (problem.isEmpty()) {
            problem = unnameable(result.sourceDatabases());
        }
        if (problem.isEmpty()) {
            problem = TargetContents.problem(result.targetObjects(), result.targetCluster(), platformRoles);
        }
        String target = result.targetVersion() != null ? "target PostgreSQL " + result.targetVersion()
                : "target PostgreSQL " + wanted + " to be created";
        Verdict verdict = problem.map(Verdict::failed)
                .orElseGet(() -> Verdict.ok("source PostgreSQL " + result.sourceVersion() + ", " + target
                        + (result.message() == null ? "" : "; " + result.message())));
        return verdict.withVersions(result.sourceVersion(), result.targetVersion());
    }

    /**
     * A database whose name holds a line break cannot be dumped: pg_dumpall (and pg_dump's scripts)
     * refuse to write it into a \connect, PostgreSQL's guard against names that would end the line.
     */
    static Optional<String> unnameable(List<String> sourceDatabases) {
        List<String> broken = (sourceDatabases == null ? List.<String>of() : sourceDatabases).stream()
                .filter(n -> n.indexOf('\n') >= 0 || n.indexOf('\r') >= 0).map(Shown::name).toList();
        if (broken.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("the source has " + Figures.count(broken.size(), "database") + " whose name holds a line break ("
                + String.join(", ", broken) + "), which pg_dumpall and pg_dump cannot dump (PostgreSQL refuses such a name in a"
                + " \\connect); nothing was touched: rename " + (broken.size() == 1 ? "it" : "them")
                + " (ALTER DATABASE ... RENAME TO ...) and run the upgrade again");
    }
}
