package dev.pgupgrade.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.steps.ScriptResult;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The one emptiness rule for targets: every kind of user object counts, the platform's own roles do not. */
class TargetContentsTest {
    private static ScriptResult facts(String objects, String cluster) throws Exception {
        return ScriptResult.parse("{\"ok\":true,\"targetObjects\":[" + objects + "],\"targetCluster\":[" + cluster + "]}");
    }

    @Test
    void anEmptyServerIsFine() throws Exception {
        assertEquals(Optional.empty(), TargetContents.problem(
                facts("", "{\"kind\":\"role\",\"name\":\"postgres\",\"bootstrap\":true},{\"kind\":\"roles\",\"count\":1}"), Set.of()));
    }

    @Test
    void everyKindOfObjectCountsNamedByDatabase() throws Exception {
        String problem = TargetContents.problem(facts(
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
                TargetContents.problem(facts("", cluster), Set.of("aptible", "postgres")).orElseThrow().split(";")[0]);
        assertTrue(TargetContents.problem(facts("", cluster), Set.of()).orElseThrow().contains("roles \"aptible\", \"app\\\"owner\""));
    }

    @Test
    void rolesTheStepDidNotListCannotBeShownToBeThePlatforms() throws Exception {
        String cluster = "{\"kind\":\"role\",\"name\":\"aptible\",\"bootstrap\":false},{\"kind\":\"roles\",\"count\":40}";
        assertTrue(TargetContents.problem(facts("", cluster), Set.of("aptible")).orElseThrow().contains("roles and 39 more"));
    }

    @Test
    void tablespacesAndSubscriptionsCount() throws Exception {
        String problem = TargetContents.problem(facts("", "{\"kind\":\"tablespace\",\"count\":1},{\"kind\":\"subscription\",\"count\":2}"), Set.of())
                .orElseThrow();
        assertTrue(problem.contains("1 tablespace; 2 subscriptions"), problem);
    }
}
