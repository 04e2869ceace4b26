package dev.pgupgrade.steps;

import java.util.List;

/**
 * What a finished phase means for the upgrade: whether it may go on, one sentence for status, and
 * the figures worth keeping in the step history.
 */
public record Verdict(boolean ok, String message, Long bytes, Integer expectedErrors, Integer unexpectedErrors,
                      List<String> errors, String sourceVersion, String targetVersion, List<String> details,
                      Integer mismatches) {

    public static Verdict ok(String message) {
        return new Verdict(true, message, null, null, null, List.of(), null, null, List.of(), null);
    }

    public static Verdict failed(String message) {
        return new Verdict(false, message, null, null, null, List.of(), null, null, List.of(), null);
    }

    /** The same figures with another outcome: a later check overruling (or qualifying) an earlier one. */
    public Verdict withOutcome(boolean ok, String message) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, errors, sourceVersion, targetVersion, details, mismatches);
    }

    public Verdict withBytes(Long bytes) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, errors, sourceVersion, targetVersion, details, mismatches);
    }

    public Verdict withErrors(int expected, int unexpected, List<String> lines) {
        return new Verdict(ok, message, bytes, expected, unexpected, List.copyOf(lines), sourceVersion, targetVersion, details, mismatches);
    }

    public Verdict withVersions(String source, String target) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, errors, source, target, details, mismatches);
    }

    /** Lines saying what was checked (and, with {@code problems}, what differs) without changing the verdict. */
    public Verdict withDetails(List<String> lines, List<String> problems) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, List.copyOf(problems), sourceVersion, targetVersion, List.copyOf(lines), mismatches);
    }

    /** How many differences a verification found (0: none), kept as a figure for status and metrics. */
    public Verdict withMismatches(Integer count) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, errors, sourceVersion, targetVersion, details, count);
    }
}
