package dev.pgupgrade.steps.database;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;

/**
 * Dumping: the runbook's pg_dumpall into one file (dump.sh), or globals plus a directory dump per
 * database (dump-parallel.sh). Both drop the statement that would change the target connection
 * role's password. Reads the source only.
 */
public final class Dump implements StepKind<Dump.Result> {
    public static final Dump RUNBOOK = new Dump("dump.sh");
    public static final Dump PARALLEL = new Dump("dump-parallel.sh");
    /** The role whose password the restore must keep; when absent, the script asks the target (TARGET_URL). */
    public static final String TARGET_USER = "TARGET_USER";

    private final String script;

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Long bytes, Long durationMillis, Integer databases, Integer passwordStatementsDropped)
            implements StepResult {
    }

    private Dump(String script) {
        this.script = script;
    }

    /**
     * @param targetUser the target connection role when the platform knows it (Aptible: aptible), else
     *                   null and the step needs the target's connection too
     */
    public StepSpec step(PostgresUpgrade upgrade, Transfer transfer, String targetUser) {
        return Steps.of(upgrade, Phase.Dumping, this, new Env().putAll(transfer.env()).putIfPresent(TARGET_USER, targetUser).build(), true);
    }

    @Override
    public String script() {
        return script;
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return Verdict.ok("dumped " + Figures.bytes(result.bytes()) + " in " + Figures.seconds(result.durationMillis())).withBytes(result.bytes());
    }
}
