package dev.pgupgrade.steps;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sorts the errors psql printed during a restore. The runbook expects "already exists" for the roles
 * and databases the target already had (its own connection role, the database the platform created);
 * every other error means the copy is not faithful.
 */
public final class RestoreErrorClassifier {
    private static final Pattern ROLE_EXISTS = Pattern.compile("ERROR:\\s+role \"(.*)\" already exists\\s*$");
    private static final Pattern DATABASE_EXISTS = Pattern.compile("ERROR:\\s+database \"(.*)\" already exists\\s*$");
    /** How many unexpected errors status lists; the count covers all of them. */
    public static final int MAX_LISTED = 10;

    public record Classification(int expected, int unexpected, List<String> firstUnexpected) {
        public boolean clean() {
            return unexpected == 0;
        }
    }

    private RestoreErrorClassifier() {
    }

    /**
     * @param errorCount  how many error lines psql printed in all
     * @param errorLines  the first of them (the step reports a bounded number)
     * @param rolesBefore roles the target had before the restore
     * @param databasesBefore databases the target had before the restore
     */
    public static Classification classify(int errorCount, List<String> errorLines,
                                          Collection<String> rolesBefore, Collection<String> databasesBefore) {
        Set<String> roles = Set.copyOf(rolesBefore);
        Set<String> databases = Set.copyOf(databasesBefore);
        int expected = 0;
        List<String> unexpected = new ArrayList<>();
        for (String line : errorLines) {
            if (names(ROLE_EXISTS, line, roles) || names(DATABASE_EXISTS, line, databases)) {
                expected++;
            } else {
                unexpected.add(line);
            }
        }
        // Lines the step did not report cannot be shown to be harmless.
        int unseen = Math.max(0, errorCount - errorLines.size());
        int unexpectedCount = unexpected.size() + unseen;
        List<String> listed = new ArrayList<>(unexpected.subList(0, Math.min(MAX_LISTED, unexpected.size())));
        if (unseen > 0 && listed.size() < MAX_LISTED) {
            listed.add("(" + unseen + " more error lines not shown: see the step log)");
        }
        return new Classification(expected, unexpectedCount, List.copyOf(listed));
    }

    private static boolean names(Pattern pattern, String line, Set<String> existing) {
        Matcher m = pattern.matcher(line);
        return m.find() && existing.contains(m.group(1));
    }
}
