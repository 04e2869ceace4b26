package dev.pgupgrade.steps.database;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.RestoreErrors;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.UncarriedObjects;
import dev.pgupgrade.steps.Verdict;
import java.util.List;

/**
 * SchemaCheck (schema-check.sh): the source's schema restored into a throwaway server of the target
 * major, each error named by its object; and what a dump cannot carry at all. Writes to neither server.
 */
public final class SchemaCheck implements StepKind<SchemaCheck.Result> {
    public static final SchemaCheck KIND = new SchemaCheck();
    /** The major of the throwaway server (its binaries: TARGET_SERVER_BINDIR, which the runner knows). */
    public static final String TARGET_MAJOR = "TARGET_MAJOR";

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer errorCount, List<String> errorLines, List<String> preexistingRoles,
                         List<String> preexistingDatabases, Long bytes, List<UncarriedObjects.UncarriedObject> uncarried,
                         Integer uncarriedCount) implements StepResult, RestoreErrors {
    }

    private SchemaCheck() {
    }

    /** Needs the source's connection. */
    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.SchemaCheck, KIND, new Env().put(TARGET_MAJOR, upgrade.getSpec().getTarget().getVersion()).build(), true);
    }

    @Override
    public String script() {
        return "schema-check.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        String major = spec.getTarget().getVersion();
        Verdict schema = RestoreErrors.judge(result, "schema restored into a throwaway PostgreSQL " + major,
                "the schema does not restore on PostgreSQL " + major);
        return UncarriedObjects.judge(spec, result.uncarried(), result.uncarriedCount(), schema);
    }
}
