package dev.pgupgrade.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.testing.Project;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.lib.jse.JsePlatform;

/**
 * What GitOps tools conclude from a PostgresUpgrade, for every phase, read from status objects that real
 * operator test runs stored (src/test/resources/dev/pgupgrade/health/, captured with
 * -Dpgupgrade.statusSamples, see testing/StatusSamples): the chart's Argo CD health check run by a real Lua
 * interpreter (LuaJ) as Argo CD runs it (the resource as global {@code obj}), and kstatus' rules (Flux's
 * health checks, kubectl wait) applied to the conditions.
 */
class GitOpsHealthTest {
    private static final Path SAMPLES = Project.root().resolve("src/test/resources/dev/pgupgrade/health");
    private static final Path HEALTH_LUA = Project.root().resolve("helm/pgupgrade-operator/argocd/health.lua");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Argo CD's verdict per phase: Suspended while a human must approve, Degraded from the first failure on. */
    private static String argoHealth(Phase phase) {
        return switch (phase) {
            case Succeeded -> "Healthy";
            case Failed, RolledBack, RollingBack -> "Degraded";
            case AwaitingApproval -> "Suspended";
            default -> "Progressing";
        };
    }

    /** kstatus' verdict per phase: InProgress until the upgrade ends, Current when it succeeded, Failed otherwise. */
    private static String kstatus(Phase phase) {
        return switch (phase) {
            case Succeeded -> "Current";
            case Failed, RolledBack -> "Failed";
            default -> "InProgress";
        };
    }

    @Test
    void everyPhaseHasAStatusFromARealRun() throws IOException {
        Set<String> phases;
        try (Stream<Path> files = Files.list(SAMPLES)) {
            phases = files.map(f -> f.getFileName().toString().replace(".json", "")).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(Arrays.stream(Phase.values()).map(Enum::name).collect(Collectors.toCollection(TreeSet::new)), phases);
    }

    @ParameterizedTest
    @EnumSource(Phase.class)
    void argoCdHealthOfEachPhase(Phase phase) throws IOException {
        JsonNode upgrade = sample(phase);
        Map<String, String> health = argo(upgrade);
        assertEquals(argoHealth(phase), health.get("status"), () -> phase + ": " + health);
        assertEquals(phase.name() + ": " + upgrade.at("/status/message").asText(), health.get("message"), "the status message, as kubectl describe shows it");
    }

    @ParameterizedTest
    @EnumSource(Phase.class)
    void kstatusOfEachPhase(Phase phase) throws IOException {
        JsonNode upgrade = sample(phase);
        assertEquals(kstatus(phase), kstatusOf(upgrade), () -> phase + ": " + upgrade.at("/status/conditions"));
        long generation = upgrade.at("/metadata/generation").asLong();
        assertEquals(generation, upgrade.at("/status/observedGeneration").asLong());
        for (JsonNode condition : upgrade.at("/status/conditions")) {
            assertEquals(generation, condition.at("/observedGeneration").asLong(), condition.toString());
        }
        // kubectl wait --for=condition=Ready ends exactly when the upgrade succeeded
        assertEquals(phase == Phase.Succeeded, condition(upgrade, "Ready").equals("True"));
    }

    @Test
    void aSpecTheOperatorHasNotSeenYetIsProgressingEvenAfterSuccess() throws IOException {
        ObjectNode upgrade = (ObjectNode) sample(Phase.Succeeded);
        ((ObjectNode) upgrade.get("metadata")).put("generation", upgrade.at("/status/observedGeneration").asLong() + 1);
        Map<String, String> health = argo(upgrade);
        assertEquals("Progressing", health.get("status"));
        assertTrue(health.get("message").startsWith("Waiting for the operator to see generation"), health.get("message"));
        assertEquals("InProgress", kstatusOf(upgrade));
    }

    @Test
    void aFailureShowsEvenWhileANewerSpecWaits() throws IOException {
        for (Phase phase : List.of(Phase.RollingBack, Phase.RolledBack, Phase.Failed)) {
            ObjectNode upgrade = (ObjectNode) sample(phase);
            ((ObjectNode) upgrade.get("metadata")).put("generation", upgrade.at("/status/observedGeneration").asLong() + 1);
            assertEquals("Degraded", argo(upgrade).get("status"), phase.name());
        }
    }

    @Test
    void aRefusedSpecChangeIsSaidInTheMessage() throws IOException {
        ObjectNode upgrade = (ObjectNode) sample(Phase.Succeeded);
        ObjectNode refused = ((com.fasterxml.jackson.databind.node.ArrayNode) upgrade.at("/status/conditions")).addObject();
        refused.put("type", "SpecChangeRefused").put("status", "True").put("reason", "AlreadySucceeded")
                .put("message", "the spec changed (generation 2) after the upgrade succeeded: nothing was redone");
        Map<String, String> health = argo(upgrade);
        assertEquals("Healthy", health.get("status"));
        assertTrue(health.get("message").endsWith("(spec change refused: the spec changed (generation 2) after the upgrade succeeded: nothing was redone)"),
                health.get("message"));
    }

    @Test
    void aNewUpgradeWithoutStatusIsProgressing() throws IOException {
        ObjectNode upgrade = (ObjectNode) sample(Phase.Validating);
        upgrade.remove("status");
        assertEquals(Map.of("status", "Progressing", "message", "Waiting for the pgupgrade operator to start the upgrade"), argo(upgrade));
    }

    private static JsonNode sample(Phase phase) throws IOException {
        return JSON.readTree(SAMPLES.resolve(phase.name() + ".json").toFile());
    }

    /** Runs the chart's health.lua as Argo CD does: a fresh interpreter, the resource as {@code obj}, a table back. */
    private static Map<String, String> argo(JsonNode upgrade) throws IOException {
        Globals globals = JsePlatform.standardGlobals();
        globals.set("obj", lua(upgrade));
        LuaValue result = globals.load(Files.readString(HEALTH_LUA), "health.lua").call();
        Map<String, String> health = new TreeMap<>();
        for (String key : new String[] {"status", "message"}) {
            if (!result.get(key).isnil()) {
                health.put(key, result.get(key).tojstring());
            }
        }
        return health;
    }

    private static LuaValue lua(JsonNode node) {
        if (node.isObject()) {
            LuaTable table = new LuaTable();
            node.fields().forEachRemaining(field -> table.set(field.getKey(), lua(field.getValue())));
            return table;
        }
        if (node.isArray()) {
            LuaTable table = new LuaTable();
            for (int i = 0; i < node.size(); i++) {
                table.set(i + 1, lua(node.get(i)));
            }
            return table;
        }
        if (node.isIntegralNumber()) {
            return LuaValue.valueOf(node.asLong());
        }
        if (node.isNumber()) {
            return LuaValue.valueOf(node.asDouble());
        }
        if (node.isBoolean()) {
            return LuaValue.valueOf(node.asBoolean());
        }
        return node.isNull() ? LuaValue.NIL : LuaValue.valueOf(node.asText());
    }

    /**
     * kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) for a custom resource: being deleted is Terminating; an
     * observedGeneration behind the generation is InProgress; then Reconciling=True is InProgress,
     * Stalled=True is Failed; then Ready=False is InProgress; otherwise Current.
     */
    private static String kstatusOf(JsonNode upgrade) {
        if (upgrade.at("/metadata/deletionTimestamp").isTextual()) {
            return "Terminating";
        }
        JsonNode observed = upgrade.at("/status/observedGeneration");
        if (observed.isNumber() && observed.asLong() != upgrade.at("/metadata/generation").asLong()) {
            return "InProgress";
        }
        if (condition(upgrade, "Reconciling").equals("True")) {
            return "InProgress";
        }
        if (condition(upgrade, "Stalled").equals("True")) {
            return "Failed";
        }
        if (condition(upgrade, "Ready").equals("False")) {
            return "InProgress";
        }
        return "Current";
    }

    private static String condition(JsonNode upgrade, String type) {
        for (JsonNode condition : upgrade.at("/status/conditions")) {
            if (type.equals(condition.at("/type").asText())) {
                return condition.at("/status").asText();
            }
        }
        return "";
    }
}
