package dev.pgupgrade.steps;

import java.util.List;

/**
 * The errors a restore (or SchemaCheck's trial restore) reported, as lib.sh's report_restore_errors
 * writes them: how many, the first lines, and which of the names they mention already existed on the
 * target. What they mean is {@link RestoreErrorClassifier}'s to say.
 */
public interface RestoreErrors {
    Integer errorCount();

    List<String> errorLines();

    List<String> preexistingRoles();

    List<String> preexistingDatabases();

    Long bytes();

    /** "success (N expected errors: already exists)" when only expected errors came, else the failure with the first unexpected one. */
    static Verdict judge(RestoreErrors result, String success, String failure) {
        List<String> lines = orEmpty(result.errorLines());
        int errorCount = result.errorCount() == null ? lines.size() : result.errorCount();
        RestoreErrorClassifier.Classification c = RestoreErrorClassifier.classify(errorCount, lines,
                orEmpty(result.preexistingRoles()), orEmpty(result.preexistingDatabases()));
        Verdict verdict = c.clean()
                ? Verdict.ok(success + (c.expected() > 0 ? " (" + Figures.count(c.expected(), "expected error") + ": already exists)" : ""))
                : Verdict.failed(failure + ": " + Figures.count(c.unexpected(), "unexpected error") + ", first: " + c.firstUnexpected().get(0));
        return verdict.withBytes(result.bytes()).withErrors(c.expected(), c.unexpected(), c.firstUnexpected());
    }

    private static List<String> orEmpty(List<String> list) {
        return list == null ? List.of() : list;
    }
}
