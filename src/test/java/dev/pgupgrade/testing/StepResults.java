package dev.pgupgrade.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgupgrade.steps.PhaseOutcome;

/** A step's JSON result for tests, built field by field by name, as the scripts write it. */
public final class StepResults {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ObjectNode node = JSON.createObjectNode();

    private StepResults(boolean ok) {
        node.put("ok", ok);
    }

    public static StepResults ok() {
        return new StepResults(true);
    }

    public static StepResults failed(String message) {
        StepResults r = new StepResults(false);
        return message == null ? r : r.with("message", message);
    }

    /** Sets a field: a string, number, boolean, list or map, as Jackson writes it. */
    public StepResults with(String field, Object value) {
        node.set(field, JSON.valueToTree(value));
        return this;
    }

    public String json() {
        return node.toString();
    }

    /** The step ran, exited 0 and reported this. */
    public PhaseOutcome.Ran ran() {
        return ran(0);
    }

    public PhaseOutcome.Ran ran(int exitCode) {
        return new PhaseOutcome.Ran(exitCode, json(), null);
    }
}
