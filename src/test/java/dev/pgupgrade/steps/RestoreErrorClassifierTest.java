package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.steps.RestoreErrorClassifier.Classification;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RestoreErrorClassifierTest {
    private static final List<String> ROLES = List.of("postgres", "app");
    private static final List<String> DATABASES = List.of("postgres", "db");

    private static String roleExists(int line, String role) {
        return "line " + line + ": ERROR:  role \"" + role + "\" already exists";
    }

    private static String databaseExists(int line, String db) {
        return "line " + line + ": ERROR:  database \"" + db + "\" already exists";
    }

    private static Classification classify(List<String> lines) {
        return RestoreErrorClassifier.classify(lines.size(), lines, ROLES, DATABASES);
    }

    @Test
    void noErrorsIsClean() {
        Classification c = classify(List.of());
        assertTrue(c.clean());
        assertEquals(0, c.expected());
        assertEquals(0, c.unexpected());
        assertEquals(List.of(), c.firstUnexpected());
    }

    @Test
    void alreadyExistsForPreexistingRolesAndDatabasesIsExpected() {
        Classification c = classify(List.of(roleExists(18, "postgres"), databaseExists(30, "db"), roleExists(19, "app")));
        assertTrue(c.clean());
        assertEquals(3, c.expected());
        assertEquals(0, c.unexpected());
        assertTrue(c.firstUnexpected().isEmpty());
    }

    @Test
    void alreadyExistsForARoleTheTargetDidNotHaveIsUnexpected() {
        String line = roleExists(21, "reporting");
        Classification c = classify(List.of(roleExists(18, "postgres"), line));
        assertFalse(c.clean());
        assertEquals(1, c.expected());
        assertEquals(1, c.unexpected());
        assertEquals(List.of(line), c.firstUnexpected());
    }

    @Test
    void alreadyExistsForADatabaseTheTargetDidNotHaveIsUnexpected() {
        String line = databaseExists(30, "orders");
        Classification c = classify(List.of(line));
        assertEquals(0, c.expected());
        assertEquals(1, c.unexpected());
        assertEquals(List.of(line), c.firstUnexpected());
    }

    @Test
    void roleAndDatabaseListsAreNotInterchangeable() {
        // "db" is a database the target had, not a role; "app" is a role, not a database
        Classification c = classify(List.of(roleExists(1, "db"), databaseExists(2, "app")));
        assertEquals(0, c.expected());
        assertEquals(2, c.unexpected());
    }

    @Test
    void nameMatchIsExactAndCaseSensitive() {
        Classification c = classify(List.of(roleExists(1, "Postgres"), roleExists(2, "postgres2"), databaseExists(3, "d")));
        assertEquals(0, c.expected());
        assertEquals(3, c.unexpected());
    }

    @Test
    void otherErrorsAreUnexpected() {
        List<String> lines = List.of(
                "line 40: ERROR:  relation \"public.orders\" already exists",
                "line 41: ERROR:  schema \"app\" already exists",
                "line 52: ERROR:  extension \"postgis\" is not available",
                "line 60: FATAL:  terminating connection due to administrator command",
                "line 61: ERROR:  role \"postgres\" does not exist");
        Classification c = classify(lines);
        assertEquals(0, c.expected());
        assertEquals(5, c.unexpected());
        assertEquals(lines, c.firstUnexpected());
    }

    @Test
    void trailingWhitespaceAfterAnExpectedErrorIsTolerated() {
        Classification c = classify(List.of(roleExists(18, "postgres") + "  \t"));
        assertEquals(1, c.expected());
        assertTrue(c.clean());
    }

    @Test
    void anAlreadyExistsPhraseNotAtTheEndIsUnexpected() {
        Classification c = classify(List.of(roleExists(18, "postgres") + " (and something else failed)"));
        assertEquals(0, c.expected());
        assertEquals(1, c.unexpected());
    }

    @Test
    void unseenErrorLinesCountAsUnexpectedAndAreMentioned() {
        List<String> lines = List.of(roleExists(18, "postgres"), databaseExists(30, "db"));
        Classification c = RestoreErrorClassifier.classify(7, lines, ROLES, DATABASES);
        assertFalse(c.clean());
        assertEquals(2, c.expected());
        assertEquals(5, c.unexpected());
        assertEquals(List.of("(5 more error lines not shown: see the step log)"), c.firstUnexpected());
    }

    @Test
    void unseenLinesAreListedAfterTheUnexpectedOnes() {
        String bad = "line 40: ERROR:  relation \"t\" already exists";
        Classification c = RestoreErrorClassifier.classify(4, List.of(bad, roleExists(1, "app")), ROLES, DATABASES);
        assertEquals(1, c.expected());
        assertEquals(3, c.unexpected());
        assertEquals(List.of(bad, "(2 more error lines not shown: see the step log)"), c.firstUnexpected());
    }

    @Test
    void anErrorCountBelowTheLinesGivenAddsNothing() {
        Classification c = RestoreErrorClassifier.classify(0, List.of(roleExists(1, "app")), ROLES, DATABASES);
        assertEquals(1, c.expected());
        assertEquals(0, c.unexpected());
        assertEquals(List.of(), c.firstUnexpected());
    }

    @Test
    void namesWithSpacesAndQuotesAreMatchedWhole() {
        List<String> roles = List.of("app user", "we\"ird");
        List<String> databases = List.of("my db", "it's");
        List<String> lines = List.of(roleExists(1, "app user"), roleExists(2, "we\"ird"), databaseExists(3, "my db"),
                databaseExists(4, "it's"));
        Classification c = RestoreErrorClassifier.classify(lines.size(), lines, roles, databases);
        assertEquals(4, c.expected());
        assertTrue(c.clean());

        // a name that only shares a prefix with a quoted one is not expected
        Classification partial = RestoreErrorClassifier.classify(2, List.of(roleExists(5, "we"), roleExists(6, "app")),
                roles, databases);
        assertEquals(0, partial.expected());
        assertEquals(2, partial.unexpected());
    }

    @Test
    void listingIsCappedAtMaxListedButTheCountCoversAll() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < RestoreErrorClassifier.MAX_LISTED + 5; i++) {
            lines.add("line " + (100 + i) + ": ERROR:  relation \"t" + i + "\" already exists");
        }
        Classification c = RestoreErrorClassifier.classify(lines.size() + 20, lines, ROLES, DATABASES);
        assertEquals(RestoreErrorClassifier.MAX_LISTED + 5 + 20, c.unexpected());
        assertEquals(RestoreErrorClassifier.MAX_LISTED, c.firstUnexpected().size());
        assertEquals(lines.subList(0, RestoreErrorClassifier.MAX_LISTED), c.firstUnexpected());
    }

    @Test
    void theMoreEntryTakesTheLastFreeSlot() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < RestoreErrorClassifier.MAX_LISTED - 1; i++) {
            lines.add("line " + i + ": ERROR:  syntax error at or near \"x\"");
        }
        Classification c = RestoreErrorClassifier.classify(lines.size() + 3, lines, ROLES, DATABASES);
        assertEquals(RestoreErrorClassifier.MAX_LISTED, c.firstUnexpected().size());
        assertEquals("(3 more error lines not shown: see the step log)", c.firstUnexpected().get(RestoreErrorClassifier.MAX_LISTED - 1));
    }

    @Test
    void expectedErrorsDoNotUseUpListingSlots() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            lines.add(roleExists(i, "postgres"));
        }
        String bad = "line 99: ERROR:  permission denied for schema public";
        lines.add(bad);
        Classification c = RestoreErrorClassifier.classify(lines.size(), lines, ROLES, DATABASES);
        assertEquals(20, c.expected());
        assertEquals(1, c.unexpected());
        assertEquals(List.of(bad), c.firstUnexpected());
    }
}
