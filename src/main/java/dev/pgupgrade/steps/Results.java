package dev.pgupgrade.steps;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Optional;

/** Reads a step's JSON result into its record. */
public final class Results {
    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private Results() {
    }

    /** The document as a tree, or empty when it is not JSON at all. */
    public static Optional<JsonNode> tree(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            return node != null && node.isObject() ? Optional.of(node) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The document as the step's record, or empty when its fields do not fit the record. */
    public static <R> Optional<R> as(JsonNode tree, Class<R> type) {
        try {
            return Optional.of(JSON.treeToValue(tree, type));
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** For tests and tools: a result record from its JSON text. */
    public static <R> R parse(String json, Class<R> type) throws IOException {
        return JSON.readValue(json, type);
    }
}
