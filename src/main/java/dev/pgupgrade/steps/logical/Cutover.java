package dev.pgupgrade.steps.logical;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.steps.database.Verify;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cutover (logical-cutover.sh): per source database, the write freeze, checked; the position every
 * write is behind; the wait for the target to apply it; the sequences; the inventory compared; then
 * our replication objects dropped. The judge lets the apps onto the target only if every database
 * was frozen with nobody else left in it, caught up, and shows no object on one side only.
 */
public final class Cutover implements StepKind<Cutover.Result>, SharesWorkFiles {
    public static final Cutover KIND = new Cutover();
    public static final String CATCH_UP_TIMEOUT_SECONDS = "LOGICAL_CATCH_UP_TIMEOUT_SECONDS";

    /** One line per database, as the script reports it: name, other sessions, allows connections, caught up, ms waited, position. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer databases, Integer sequences, Integer applyErrors, List<String> findings,
                         Integer mismatchCount, List<String> mismatches, Long durationMillis, Verify.Result verify) implements StepResult {
    }

    /** One database's cutover facts. */
    record Finding(String database, String others, String allowsConnections, String caughtUp, long waitedMillis, String position) {
        static Finding parse(String line) {
            String[] f = line.split(" ", -1);
            // the script's fields are TAB-separated; the result's lines carry them as spaces, the name (escaped) first and
            // possibly holding spaces itself: the five facts are the last five fields
            int n = f.length;
            if (n < 6) {
                return new Finding(line, "?", "?", "?", 0, "?");
            }
            String name = String.join(" ", Arrays.copyOfRange(f, 0, n - 5));
            long waited;
            try {
                waited = Long.parseLong(f[n - 2]);
            } catch (NumberFormatException e) {
                waited = 0;
            }
            return new Finding(name, f[n - 5], f[n - 4], f[n - 3], waited, f[n - 1]);
        }
    }

    private Cutover() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        Env env = new Env().putAll(Replication.env(upgrade))
                .put(CATCH_UP_TIMEOUT_SECONDS, LogicalSpec.catchUpTimeoutSeconds(Replication.spec(upgrade)));
        if (comparesInTheFreeze(upgrade.getSpec())) {
            env.putAll(Verify.Inputs.of(upgrade.getSpec().getVerification()).env());
        }
        return Steps.of(upgrade, Phase.Cutover, KIND, env.build(), false);
    }

    /**
     * Platform aptible: the replica's copy is Aptible's, made while the source took writes, so its rows are
     * compared here, inside the freeze (the phase machine gives this route no Verifying of its own).
     */
    static boolean comparesInTheFreeze(PostgresUpgradeSpec spec) {
        return spec.getPlatform() == Platform.APTIBLE && VerificationSpec.mode(spec.getVerification()) != VerificationSpec.Mode.OFF;
    }

    @Override
    public String script() {
        return "logical-cutover.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        List<String> problems = new ArrayList<>();
        long waited = 0;
        List<String> findings = result.findings() == null ? List.of() : result.findings();
        if (findings.size() != (result.databases() == null ? -1 : result.databases())) {
            problems.add("the cutover reported " + findings.size() + " of " + Figures.count(result.databases(), "database"));
        }
        for (String line : findings) {
            Finding f = Finding.parse(line);
            if (!"0".equals(f.others())) {
                problems.add("database " + f.database() + ": " + f.others() + " other sessions were still connected after the freeze");
            }
            if (!"f".equals(f.allowsConnections())) {
                problems.add("database " + f.database() + ": still accepts connections after the freeze");
            }
            if (!"t".equals(f.caughtUp())) {
                problems.add("database " + f.database() + ": the target did not apply the source's last writes (up to " + f.position()
                        + ") within spec.logical.catchUpTimeoutSeconds (" + LogicalSpec.catchUpTimeoutSeconds(spec.getLogical()) + " s)");
            }
            waited = Math.max(waited, f.waitedMillis());
        }
        // Errors only explain a wait that timed out: a lost connection (a source restart) counts too, and is retried.
        if (!problems.isEmpty() && result.applyErrors() != null && result.applyErrors() > 0) {
            problems.add("the subscriptions reported " + Figures.count(result.applyErrors(), "error") + " (the target's log says which: "
                    + "a row there conflicting with the source's, a lost connection)");
        }
        List<String> mismatches = result.mismatches() == null ? List.of() : result.mismatches();
        if (result.mismatchCount() == null || result.mismatchCount() > 0) {
            problems.add(Figures.count(result.mismatchCount(), "difference") + " between the source's and the target's objects (DDL on the "
                    + "source during replication is not replicated)" + (mismatches.isEmpty() ? "" : ", first: " + mismatches.get(0)));
        }
        Verdict verified = null;
        if (comparesInTheFreeze(spec)) {
            verified = result.verify() == null ? Verdict.failed("the comparison of the frozen source with the replica did not report")
                    : Verify.KIND.judge(result.verify(), spec);
            if (!verified.ok()) {
                problems.add("the replica differs from the frozen source: " + verified.message());
                if (problems.size() == 1) {
                    return verified.withOutcome(false, problems.get(0));  // with the comparison's lines and figures
                }
            }
        }
        if (!problems.isEmpty()) {
            return Verdict.failed(String.join("; ", problems)).withDetails(findings, mismatches).withMismatches(result.mismatchCount());
        }
        return Verdict.ok("froze writes in " + Figures.count(result.databases(), "database") + " of the source (nobody else connected), the target "
                + "applied the last of them in " + Figures.seconds(waited) + ", set " + Figures.count(result.sequences(), "sequence")
                + (verified == null ? "" : ", " + verified.message())
                + ", removed the replication; the source stays frozen (docs/online.md)").withDetails(findings, List.of()).withMismatches(0);
    }
}
