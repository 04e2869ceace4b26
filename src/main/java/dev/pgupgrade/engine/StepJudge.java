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
            case ProvisioningTarget -> provisioning(spec, result);
            case Rehearsal -> rehearsal(result);
            case SchemaCheck -> UncarriedObjects.judge(spec, result, restoreLike(result, "schema restored into a throwaway PostgreSQL "
                    + spec.getTarget().getVersion(), "the schema does not restore on PostgreSQL " + spec.getTarget().getVersion()));
            case Dumping -> Verdict.ok("dumped " + bytes(result.bytes()) + " in " + seconds(result.durationMillis())).withBytes(result.bytes());
            case Restoring -> restoreLike(result, "restored " + (result.bytes() == null ? "" : bytes(result.bytes()) + " ") + "in " + seconds(result.durationMillis()),
                    "the restore into the target reported errors");
            case Verifying -> verifying(spec, result);
            case Analyzing -> Verdict.ok("VACUUM ANALYZE done in " + count(result.databases(), "database"));
            default -> Verdict.ok(result.message() != null ? result.message() : "done");
        };
    }

    private static Verdict validating(PostgresUpgradeSpec spec, ScriptResult result) {
        // On Aptible the target may not exist yet: ProvisioningTarget creates it and checks it again.
        boolean targetMayBeAbsent = spec.getPlatform() == dev.pgupgrade.api.Platform.APTIBLE && !Boolean.TRUE.equals(result.targetExists());
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
            problem = TargetContents.problem(result, platformRoles(spec));
        }
        String target = result.targetVersion() != null ? "target PostgreSQL " + result.targetVersion()
                : "target PostgreSQL " + wanted + " to be created";
        Verdict verdict = problem.map(Verdict::failed)
                .orElseGet(() -> Verdict.ok("source PostgreSQL " + result.sourceVersion() + ", " + target
                        + (result.message() == null ? "" : "; " + result.message())));
        return verdict.withVersions(result.sourceVersion(), result.targetVersion());
    }

    private static Verdict provisioning(PostgresUpgradeSpec spec, ScriptResult result) {
        if (result.targetVersionNum() == null) {
            return Verdict.failed("the provisioning step did not report the target's version");
        }
        String targetMajor = MajorVersion.fromVersionNum(result.targetVersionNum());
        if (!spec.getTarget().getVersion().equals(targetMajor)) {
            return Verdict.failed("the target " + spec.getTarget().getHandle() + " runs PostgreSQL " + targetMajor
                    + ", not the " + spec.getTarget().getVersion() + " spec.target.version asks for");
        }
        Optional<String> held = TargetContents.problem(result, platformRoles(spec));
        if (held.isPresent()) {
            return Verdict.failed("the target " + spec.getTarget().getHandle() + ": " + held.get());
        }
        return Verdict.ok(result.message() != null ? result.message() : "target ready").withVersions(null, result.targetVersion());
    }

    /**
     * A database whose name holds a line break cannot be dumped: pg_dumpall (and pg_dump's scripts)
     * refuse to write it into a \connect, PostgreSQL's guard against names that would end the line.
     */
    static Optional<String> unnameable(List<String> sourceDatabases) {
        List<String> broken = orEmpty(sourceDatabases).stream().filter(n -> n.indexOf('\n') >= 0 || n.indexOf('\r') >= 0)
                .map(SpecValidator::quoted).toList();
        if (broken.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("the source has " + count(broken.size(), "database") + " whose name holds a line break ("
                + String.join(", ", broken) + "), which pg_dumpall and pg_dump cannot dump (PostgreSQL refuses such a name in a"
                + " \\connect); nothing was touched: rename " + (broken.size() == 1 ? "it" : "them")
                + " (ALTER DATABASE ... RENAME TO ...) and run the upgrade again");
    }

    /** Roles a platform puts on every new server: not the user's, so not a reason to refuse the target. */
    static java.util.Set<String> platformRoles(PostgresUpgradeSpec spec) {
        return spec.getPlatform() == dev.pgupgrade.api.Platform.APTIBLE ? java.util.Set.of("aptible", "postgres") : java.util.Set.of();
    }

    private static Verdict rehearsal(ScriptResult result) {
        if (result.dumpMillis() == null || result.restoreMillis() == null) {
            return Verdict.failed("the rehearsal did not report its timings");
        }
        String timing = "rehearsal with backup " + result.backupId() + ": dump " + seconds(result.dumpMillis()) + ", restore "
                + seconds(result.restoreMillis()) + ", expected downtime " + seconds(result.dumpMillis() + result.restoreMillis());
        return restoreLike(result, timing, "the rehearsal's restore into a temporary PostgreSQL target reported errors");
    }

    /** An inventory step (see StepSpec#endsPhase): it either reported what it found or the phase fails. */
    public static Verdict judgeInventory(PhaseOutcome outcome) {
        if (outcome instanceof PhaseOutcome.Ran ran && ran.result() != null && ran.result().ok() && ran.exitCode() == 0) {
            int n = ran.result().services() == null ? 0 : ran.result().services().size();
            return Verdict.ok("recorded the container counts of " + count(n, "service"));
        }
        Verdict failed = judge(Phase.ScalingDown, null, outcome);
        return failed.ok() ? Verdict.failed("the inventory step ended without a result") : failed;
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
        String plural = noun.endsWith("ch") || noun.endsWith("s") || noun.endsWith("x") ? noun + "es" : noun + "s";
        return value + " " + (value == 1 ? noun : plural);
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
