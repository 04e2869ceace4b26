package dev.pgupgrade.engine;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.steps.ScriptResult;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Reads a finished step's result and decides whether the upgrade may go on. Pure. */
public final class StepJudge {
    private StepJudge() {
    }

    public static Verdict judge(Phase phase, PostgresUpgradeSpec spec, PhaseOutcome outcome) {
        if (outcome instanceof PhaseOutcome.Skipped skipped) {
            return Verdict.ok(skipped.reason());
        }
        if (outcome instanceof PhaseOutcome.Completed completed) {
            return Verdict.ok(completed.message());
        }
        if (outcome instanceof PhaseOutcome.Refused refused) {
            return Verdict.failed(refused.reason());
        }
        PhaseOutcome.Ran ran = (PhaseOutcome.Ran) outcome;
        ScriptResult result = ran.result();
        if (result == null) {
            return Verdict.failed(ran.problem() != null ? ran.problem()
                    : "the step ended with exit code " + ran.exitCode() + " without reporting a result; see the step log");
        }
        if (!result.ok()) {
            return Verdict.failed(result.message() != null ? result.message() : "the step failed with exit code " + ran.exitCode());
        }
        if (ran.exitCode() != 0) {
            return Verdict.failed("the step reported success but exited with code " + ran.exitCode() + "; see the step log");
        }
        return switch (phase) {
            case Validating -> validating(spec, result);
            case SchemaCheck -> restoreLike(result, "schema restored into a throwaway PostgreSQL " + spec.getTarget().getVersion(),
                    "the schema does not restore on PostgreSQL " + spec.getTarget().getVersion());
            case Dumping -> Verdict.ok("dumped " + bytes(result.bytes()) + " in " + seconds(result.durationMillis())).withBytes(result.bytes());
            case Restoring -> restoreLike(result, "restored " + (result.bytes() == null ? "" : bytes(result.bytes()) + " ") + "in " + seconds(result.durationMillis()),
                    "the restore into the target reported errors");
            case Verifying -> verifying(spec, result);
            case Analyzing -> Verdict.ok("VACUUM ANALYZE done in " + count(result.databases(), "database"));
            default -> Verdict.ok(result.message() != null ? result.message() : "done");
        };
    }

    private static Verdict validating(PostgresUpgradeSpec spec, ScriptResult result) {
        if (result.sourceVersionNum() == null || result.targetVersionNum() == null) {
            return Verdict.failed("the validation step did not report the server versions");
        }
        Optional<String> problem = VersionCheck.problem(spec.getTarget().getVersion(),
                MajorVersion.fromVersionNum(result.sourceVersionNum()), MajorVersion.fromVersionNum(result.targetVersionNum()));
        Verdict verdict = problem.map(Verdict::failed)
                .orElseGet(() -> Verdict.ok("source PostgreSQL " + result.sourceVersion() + ", target PostgreSQL " + result.targetVersion()));
        return verdict.withVersions(result.sourceVersion(), result.targetVersion());
    }

    private static Verdict verifying(PostgresUpgradeSpec spec, ScriptResult result) {
        List<String> summaries = orEmpty(result.summaries());
        List<String> mismatches = orEmpty(result.mismatches());
        if (result.mismatchCount() == null) {
            return Verdict.failed("the verification step did not report its findings");
        }
        int found = result.mismatchCount();
        String checked = count(result.databases(), "database") + ", " + count(result.tables(), "table") + " (" + result.mode() + ")";
        if (found == 0) {
            return Verdict.ok("target matches the source: " + checked).withDetails(summaries, List.of());
        }
        String what = count(found, "mismatch") + " between source and target (" + checked + ")"
                + (mismatches.isEmpty() ? "" : ", first: " + mismatches.get(0));
        if (VerificationSpec.warnOnly(spec.getVerification())) {
            return Verdict.ok("WARNING: " + what + "; going on because verification.onMismatch is warn").withDetails(summaries, mismatches);
        }
        return Verdict.failed("the target does not match the source: " + what).withDetails(summaries, mismatches);
    }

    private static Verdict restoreLike(ScriptResult result, String success, String failure) {
        List<String> lines = result.errorLinesOrEmpty();
        int errorCount = result.errorCount() == null ? lines.size() : result.errorCount();
        RestoreErrorClassifier.Classification c = RestoreErrorClassifier.classify(errorCount, lines,
                orEmpty(result.preexistingRoles()), orEmpty(result.preexistingDatabases()));
        Verdict verdict = c.clean()
                ? Verdict.ok(success + (c.expected() > 0 ? " (" + count(c.expected(), "expected error") + ": already exists)" : ""))
                : Verdict.failed(failure + ": " + count(c.unexpected(), "unexpected error") + ", first: " + c.firstUnexpected().get(0));
        return verdict.withBytes(result.bytes()).withErrors(c.expected(), c.unexpected(), c.firstUnexpected());
    }

    private static List<String> orEmpty(List<String> list) {
        return list == null ? List.of() : list;
    }

    static String count(Integer n, String noun) {
        int value = n == null ? 0 : n;
        return value + " " + noun + (value == 1 ? "" : "s");
    }

    static String bytes(Long bytes) {
        if (bytes == null) {
            return "? bytes";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    static String seconds(Long millis) {
        return millis == null ? "? s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
