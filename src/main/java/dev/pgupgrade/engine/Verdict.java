package dev.pgupgrade.engine;

import java.util.List;

/**
 * What a finished phase means for the upgrade: whether it may go on, one sentence for status, and
 * the figures worth keeping in the step history.
 */
public record Verdict(boolean ok, String message, Long bytes, Integer expectedErrors, Integer unexpectedErrors,
                      List<String> errors, String sourceVersion, String targetVersion) {

    public static Verdict ok(String message) {
        return new Verdict(true, message, null, null, null, List.of(), null, null);
    }

    public static Verdict failed(String message) {
        return new Verdict(false, message, null, null, null, List.of(), null, null);
    }

    public Verdict withBytes(Long bytes) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, errors, sourceVersion, targetVersion);
    }

    public Verdict withErrors(int expected, int unexpected, List<String> lines) {
        return new Verdict(ok, message, bytes, expected, unexpected, List.copyOf(lines), sourceVersion, targetVersion);
    }

    public Verdict withVersions(String source, String target) {
        return new Verdict(ok, message, bytes, expectedErrors, unexpectedErrors, errors, source, target);
    }
}
