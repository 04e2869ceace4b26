package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.steps.database.Validate;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The one emptiness rule for targets: every kind of user object counts, the platform's own roles do not. */
class TargetContentsTest {
    private static Validate.Result facts(String objects, String cluster) throws Exception {
        return Results.parse("{\"ok\":true,\"targetObjects\":[" + objects + "],\"targetCluster\":[" + cluster + "]}", Validate.Result.class);
    }

    private static Optional<String> problem(Validate.Result facts, Set<String> platformRoles) {
        return TargetContents.problem(facts.targetObjects(), facts.targetCluster(), platformRoles);
    }

    @Test
    void anEmptyServerIsFine() throws Exception {
        assertEquals(Optional.empty(), problem(
                facts("", "{\"kind\":\"role\",\"name\":\"postgres\",\"bootstrap\":true},{\"kind\":\"roles\",\"count\":1}"), Set.of()));
    }

    @Test
    void everyKindOfObjectCountsNamedByDatabase() throws Exception {
        String problem = problem(facts(
                "{\"database\":\"postgres\",\"kind\":\"function\",\"count\":1},{\"database\":\"postgres\",\"kind\":\"large object\",\"count\":2},"
                        + "{\"database\":\"odd\\nname\",\"kind\":\"type\",\"count\":1}", ""), Set.of()).orElseThrow();
        assertTrue(problem.startsWith("the target already holds objects of its own (database \"postgres\": 1 function, 2 large objects; "
                + "database \"odd\\nname\": 1 type)"), problem);
    }

    @Test
    void rolesOtherThanTheBootstrapAndThePlatformsCount() throws Exception {
        String cluster = "{\"kind\":\"role\",\"name\":\"postgres\",\"bootstrap\":true},{\"kind\":\"role\",\"name\":\"aptible\",\"bootstrap\":false},"
                + "{\"kind\":\"role\",\"name\":\"app\\\"owner\",\"bootstrap\":false},{\"kind\":\"roles\",\"count\":3}";
        assertEquals("the target already holds objects of its own (roles \"app\\\"owner\")",
                problem(facts("", cluster), Set.of("aptible", "postgres")).orElseThrow().split(";")[0]);
        assertTrue(problem(facts("", cluster), Set.of()).orElseThrow().contains("roles \"aptible\", \"app\\\"owner\""));
    }

    @Test
    void rolesTheStepDidNotListCannotBeShownToBeThePlatforms() throws Exception {
        String cluster = "{\"kind\":\"role\",\"name\":\"aptible\",\"bootstrap\":false},{\"kind\":\"roles\",\"count\":40}";
        assertTrue(problem(facts("", cluster), Set.of("aptible")).orElseThrow().contains("roles and 39 more"));
    }

    @Test
    void tablespacesAndSubscriptionsCount() throws Exception {
        String problem = problem(facts("", "{\"kind\":\"tablespace\",\"count\":1},{\"kind\":\"subscription\",\"count\":2}"), Set.of())
                .orElseThrow();
        assertTrue(problem.contains("1 tablespace; 2 subscriptions"), problem);
    }
}
