package dev.pgupgrade.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.pgupgrade.api.CrdYaml;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.engine.PostgresUrl;
import dev.pgupgrade.engine.SpecValidator;
import dev.pgupgrade.testing.Project;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every manifest under examples/ is something a user will {@code kubectl apply -f}: each PostgresUpgrade
 * in them must pass the generated CRD's schema and CEL rules (checked by {@link CrdValidator} as the API
 * server would) and the engine's own {@link SpecValidator}; the other documents must be well-formed
 * Kubernetes objects; and a file that brings its own Secrets and apps must bring everything its
 * PostgresUpgrades name. The negative tests prove the validator can say no.
 */
class ExamplesTest {
    private static final Path EXAMPLES = Project.root().resolve("examples");
    /** Files that must be self-contained (the brief's full examples); checked to exist so the rule cannot go vacuous. */
    private static final List<String> SELF_CONTAINED = List.of("direct/upgrade.yaml", "direct/statefulset.yaml");
    private static final String DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    private static final Set<String> KNOWN_KINDS = Set.of("PostgresUpgrade", "Secret", "Deployment", "StatefulSet", "Service");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** As {@code pgupgrade run} reads a manifest: an unknown field is an error. */
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final KubernetesSerialization KUBE = new KubernetesSerialization();

    private static CrdValidator validator;

    @BeforeAll
    static void loadCrd() throws IOException {
        JsonNode crd = YAML.readTree(CrdYaml.generate());
        validator = new CrdValidator(CrdValidator.openApiSchema(crd, PostgresUpgrade.VERSION));
    }

    // ---- the CRD itself ----

    @Test
    void everyCelRuleCompilesAgainstTheSchema() {
        assertEquals(List.of(), validator.compileProblems(), "CEL rules the API server would refuse with the CRD");
        Map<String, String> byPlace = new LinkedHashMap<>();
        validator.rules().forEach(r -> byPlace.put(r.schemaPath() + (r.transition() ? " (transition)" : ""), r.rule()));
        // the rules the tests below exercise, where they sit (a rule added later is still compiled and run on every example)
        assertEquals(PostgresUpgrade.SPEC_IMMUTABLE_RULE, byPlace.get("self (transition)"), byPlace.toString());
        assertEquals("self.kind == 'Deployment' || self.kind == 'StatefulSet'", byPlace.get("self.spec.services[*]"), byPlace.toString());
    }

    @Test
    void crdUsesOnlyExtensionsTheValidatorHandles() {
        JsonNode schema = CrdValidator.openApiSchema(readTree(CrdYaml.generate()), PostgresUpgrade.VERSION);
        Set<String> used = CrdValidator.kubernetesExtensions(schema);
        used.removeAll(CrdValidator.HANDLED_EXTENSIONS);
        assertEquals(Set.of(), used, "x-kubernetes-* keys CrdValidator would silently ignore");
    }

    @Test
    void crdPatternsAreRe2AsTheApiServerRequires() {
        JsonNode schema = CrdValidator.openApiSchema(readTree(CrdYaml.generate()), PostgresUpgrade.VERSION);
        Map<String, String> patterns = CrdValidator.patterns(schema);
        assertFalse(patterns.isEmpty());
        patterns.forEach((where, pattern) -> {
            try {
                com.google.re2j.Pattern.compile(pattern);
            } catch (RuntimeException e) {
                fail(where + ": pattern " + pattern + " is not RE2 (Go regexp) syntax: " + e.getMessage());
            }
        });
    }

    // ---- every example ----

    @Test
    void theDocumentedExamplesExist() {
        for (String file : List.of("direct/upgrade.yaml", "direct/minimal.yaml", "direct/statefulset.yaml", "direct-upgrade.yaml", "aptible/upgrade.yaml")) {
            assertTrue(Files.isRegularFile(EXAMPLES.resolve(file)), "examples/" + file);
        }
        for (String file : SELF_CONTAINED) {
            assertTrue(definesOwnObjects(documents(EXAMPLES.resolve(file))), "examples/" + file + " should bring its Secrets and apps");
        }
    }

    @TestFactory
    Stream<DynamicNode> everyExample() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(EXAMPLES)) {
            files = walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted().toList();
        }
        assertFalse(files.isEmpty(), "no YAML under " + EXAMPLES);
        return files.stream().map(file -> {
            String name = EXAMPLES.relativize(file).toString();
            List<JsonNode> docs = documents(file);
            List<DynamicNode> tests = new ArrayList<>();
            tests.add(dynamicTest("has documents", () -> assertFalse(docs.isEmpty(), name + " holds no YAML document")));
            for (int i = 0; i < docs.size(); i++) {
                JsonNode doc = docs.get(i);
                String label = "#" + (i + 1) + " " + doc.path("kind").asText("?") + "/" + doc.path("metadata").path("name").asText("?");
                tests.add(dynamicTest(label, () -> checkDocument(doc)));
            }
            if (definesOwnObjects(docs)) {
                tests.add(dynamicTest("everything the PostgresUpgrades reference is in the file", () -> checkReferences(docs)));
            }
            return dynamicContainer(name, tests);
        });
    }

    private static void checkDocument(JsonNode doc) throws Exception {
        assertTrue(doc.isObject(), "a document must be a Kubernetes object, got " + doc.getNodeType());
        assertTrue(doc.path("apiVersion").isTextual() && !doc.path("apiVersion").asText().isEmpty(), "apiVersion");
        String kind = doc.path("kind").asText("");
        assertTrue(KNOWN_KINDS.contains(kind), "kind " + kind + " (this test knows " + KNOWN_KINDS + "; teach it a new kind)");
        String name = doc.path("metadata").path("name").asText("");
        assertTrue(name.matches(DNS_SUBDOMAIN) && name.length() <= 253, "metadata.name \"" + name + "\" must be a DNS subdomain");
        assertFalse(doc.path("metadata").has("namespace"), "examples are namespace-less: `kubectl apply -n NS` decides");
        if (kind.equals("PostgresUpgrade")) {
            checkUpgrade(doc);
        } else {
            checkBuiltIn(doc);
        }
    }

    private static void checkUpgrade(JsonNode doc) throws Exception {
        assertEquals(PostgresUpgrade.API_VERSION, doc.path("apiVersion").asText());
        assertFalse(doc.has("status"), "an example sets no status");
        assertEquals(List.of(), validator.validate(doc), "the API server would reject it");
        // a no-op update (kubectl apply of the same file) must pass the transition rule too
        assertEquals(List.of(), validator.validateUpdate(doc, doc));
        PostgresUpgrade upgrade = STRICT.treeToValue(doc, PostgresUpgrade.class);
        assertEquals(List.of(), SpecValidator.problems(upgrade), "the engine would reject it");
    }

    private static void checkBuiltIn(JsonNode doc) {
        KubernetesResource typed = KUBE.convertValue(doc, KubernetesResource.class);
        switch (doc.path("kind").asText()) {
            case "Secret" -> {
                Secret secret = assertType(Secret.class, typed);
                assertTrue(secret.getType() == null || secret.getType().equals("Opaque"), "type Opaque");
                assertFalse(keys(secret).isEmpty(), "a Secret with no keys");
                if (secret.getData() != null) {
                    secret.getData().forEach((k, v) -> Base64.getDecoder().decode(v));
                }
                keys(secret).forEach(k -> assertTrue(k.matches("^[-._a-zA-Z0-9]+$"), "Secret key " + k));
                assertTrue(secret.getAdditionalProperties().isEmpty(), "unknown fields " + secret.getAdditionalProperties().keySet());
            }
            case "Deployment" -> {
                Deployment d = assertType(Deployment.class, typed);
                assertTrue(d.getAdditionalProperties().isEmpty(), "unknown fields " + d.getAdditionalProperties().keySet());
                assertNotNull(d.getSpec().getReplicas(), "replicas: what ScalingDown records and ScalingUp restores");
                assertTrue(d.getSpec().getAdditionalProperties().isEmpty(), "unknown fields " + d.getSpec().getAdditionalProperties().keySet());
                checkPodTemplate(d.getSpec().getSelector().getMatchLabels(), d.getSpec().getTemplate());
            }
            case "StatefulSet" -> {
                StatefulSet s = assertType(StatefulSet.class, typed);
                assertTrue(s.getAdditionalProperties().isEmpty(), "unknown fields " + s.getAdditionalProperties().keySet());
                assertNotNull(s.getSpec().getReplicas(), "replicas: what ScalingDown records and ScalingUp restores");
                assertNotNull(s.getSpec().getServiceName(), "serviceName (the headless Service)");
                assertTrue(s.getSpec().getAdditionalProperties().isEmpty(), "unknown fields " + s.getSpec().getAdditionalProperties().keySet());
                checkPodTemplate(s.getSpec().getSelector().getMatchLabels(), s.getSpec().getTemplate());
            }
            case "Service" -> {
                Service s = assertType(Service.class, typed);
                assertTrue(s.getAdditionalProperties().isEmpty(), "unknown fields " + s.getAdditionalProperties().keySet());
                assertFalse(s.getSpec().getPorts().isEmpty(), "ports");
                assertTrue(s.getSpec().getAdditionalProperties().isEmpty(), "unknown fields " + s.getSpec().getAdditionalProperties().keySet());
            }
            default -> fail("no check for " + doc.path("kind").asText());
        }
    }

    /** The API server's selector rule, containers that can start, and the restricted Pod Security Standard. */
    private static void checkPodTemplate(Map<String, String> matchLabels, PodTemplateSpec template) {
        assertTrue(matchLabels != null && !matchLabels.isEmpty(), "spec.selector.matchLabels");
        Map<String, String> labels = template.getMetadata().getLabels();
        matchLabels.forEach((k, v) -> assertEquals(v, labels.get(k), "the selector must match the template's labels: " + k));
        List<Container> containers = template.getSpec().getContainers();
        assertFalse(containers.isEmpty(), "containers");
        assertTrue(template.getSpec().getAdditionalProperties().isEmpty(), "unknown pod spec fields " + template.getSpec().getAdditionalProperties().keySet());
        PodSecurityContext pod = template.getSpec().getSecurityContext();
        assertNotNull(pod, "pod securityContext (restricted)");
        assertEquals(Boolean.TRUE, pod.getRunAsNonRoot(), "runAsNonRoot");
        assertEquals("RuntimeDefault", pod.getSeccompProfile() == null ? null : pod.getSeccompProfile().getType(), "seccompProfile");
        for (Container c : containers) {
            assertTrue(c.getName() != null && !c.getName().isEmpty() && c.getImage() != null && !c.getImage().isEmpty(), "container name and image");
            assertTrue(c.getAdditionalProperties().isEmpty(), c.getName() + ": unknown fields " + c.getAdditionalProperties().keySet());
            SecurityContext sc = c.getSecurityContext();
            assertNotNull(sc, c.getName() + ": securityContext (restricted)");
            assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), c.getName() + ": allowPrivilegeEscalation");
            assertTrue(sc.getCapabilities() != null && sc.getCapabilities().getDrop().contains("ALL"), c.getName() + ": capabilities drop ALL");
        }
    }

    /** Each Secret, Deployment and StatefulSet a PostgresUpgrade names is defined in the file, and used as it says. */
    private static void checkReferences(List<JsonNode> docs) {
        Map<String, Secret> secrets = new LinkedHashMap<>();
        Map<String, PodTemplateSpec> workloads = new LinkedHashMap<>();
        Map<String, Service> services = new LinkedHashMap<>();
        List<PostgresUpgrade> upgrades = new ArrayList<>();
        for (JsonNode doc : docs) {
            switch (doc.path("kind").asText()) {
                case "PostgresUpgrade" -> upgrades.add(YAML.convertValue(doc, PostgresUpgrade.class));
                case "Secret" -> secrets.put(doc.path("metadata").path("name").asText(), KUBE.convertValue(doc, Secret.class));
                case "Deployment" -> workloads.put("Deployment/" + doc.path("metadata").path("name").asText(),
                        KUBE.convertValue(doc, Deployment.class).getSpec().getTemplate());
                case "StatefulSet" -> {
                    StatefulSet s = KUBE.convertValue(doc, StatefulSet.class);
                    workloads.put("StatefulSet/" + s.getMetadata().getName(), s.getSpec().getTemplate());
                    assertTrue(docs.stream().anyMatch(d -> d.path("kind").asText().equals("Service")
                                    && d.path("metadata").path("name").asText().equals(s.getSpec().getServiceName())),
                            "StatefulSet " + s.getMetadata().getName() + ": its serviceName " + s.getSpec().getServiceName() + " is not in the file");
                }
                case "Service" -> services.put(doc.path("metadata").path("name").asText(), KUBE.convertValue(doc, Service.class));
                default -> { }
            }
        }
        assertFalse(upgrades.isEmpty(), "a file with Secrets and apps but no PostgresUpgrade");
        for (PostgresUpgrade u : upgrades) {
            String who = "PostgresUpgrade " + u.getMetadata().getName();
            checkUrlSecret(secrets, u.getSpec().getSource().getUrlSecretRef(), who + " spec.source");
            checkUrlSecret(secrets, u.getSpec().getTarget().getUrlSecretRef(), who + " spec.target");
            for (var service : u.getSpec().getServices()) {
                String key = service.getKind() + "/" + service.getName();
                PodTemplateSpec template = workloads.get(key);
                assertNotNull(template, who + ": service " + key + " is not defined in the file");
                if (service.getUrlSecretRef() != null) {
                    checkUrlSecret(secrets, service.getUrlSecretRef(), who + " service " + key);
                    assertTrue(readsSecretKey(template, secrets.get(service.getUrlSecretRef().getName()), service.getUrlSecretRef().getKey()),
                            who + ": " + key + " does not read " + service.getUrlSecretRef() + ", so Repointing it would not repoint the app");
                }
            }
        }
    }

    private static void checkUrlSecret(Map<String, Secret> secrets, dev.pgupgrade.api.SecretKeyRef ref, String who) {
        Secret secret = secrets.get(ref.getName());
        assertNotNull(secret, who + ": Secret " + ref.getName() + " is not defined in the file");
        String value = value(secret, ref.getKey());
        assertNotNull(value, who + ": Secret " + ref.getName() + " has no key " + ref.getKey());
        assertEquals(java.util.Optional.empty(), PostgresUrl.problem(value.strip()), who + ": " + ref + " is not a usable libpq URL");
    }

    private static boolean readsSecretKey(PodTemplateSpec template, Secret secret, String key) {
        String name = secret.getMetadata().getName();
        for (Container c : template.getSpec().getContainers()) {
            for (EnvVar env : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()) {
                var ref = env.getValueFrom() == null ? null : env.getValueFrom().getSecretKeyRef();
                if (ref != null && name.equals(ref.getName()) && key.equals(ref.getKey())) {
                    return true;
                }
            }
            for (EnvFromSource from : c.getEnvFrom() == null ? List.<EnvFromSource>of() : c.getEnvFrom()) {
                if (from.getSecretRef() != null && name.equals(from.getSecretRef().getName()) && keys(secret).contains(key)) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---- the validator says no ----

    private static final String VALID = """
            apiVersion: pgupgrade.dev/v1alpha1
            kind: PostgresUpgrade
            metadata: {name: orders-db-upgrade}
            spec:
              platform: direct
              source: {urlSecretRef: {name: orders-source, key: url}}
              target: {urlSecretRef: {name: orders-target, key: url}, version: "17"}
              services:
                - {kind: Deployment, name: orders-api, urlSecretRef: {name: orders-app-env, key: DATABASE_URL}}
              workVolume: {size: 20Gi}
              stepTimeoutSeconds: 21600
            """;

    @Test
    void theBaseOfTheNegativeTestsIsValid() {
        assertEquals(List.of(), validator.validate(readTree(VALID)));
    }

    static Stream<Arguments> invalidUpgrades() {
        return Stream.of(
                invalid("a minor version", u -> target(u).put("version", "16.2"), "$.spec.target.version", "pattern"),
                invalid("an unquoted version (a YAML number)", u -> target(u).put("version", 17), "$.spec.target.version", "integer"),
                invalid("platform mysql", u -> spec(u).put("platform", "mysql"), "$.spec.platform", "enum"),
                invalid("no platform", u -> spec(u).remove("platform"), "$.spec", "platform"),
                invalid("a urlSecretRef without key", u -> ((ObjectNode) target(u).get("urlSecretRef")).remove("key"), "$.spec.target.urlSecretRef", "key"),
                invalid("an unknown field under spec", u -> spec(u).put("retries", 3), "$.spec", "retries"),
                invalid("an unknown field deeper down", u -> ((ObjectNode) target(u).get("urlSecretRef")).put("namespace", "db"),
                        "$.spec.target.urlSecretRef", "namespace"),
                invalid("an unknown top-level field", u -> u.put("specs", "x"), "$", "specs"),
                invalid("stepTimeoutSeconds under a minute", u -> spec(u).put("stepTimeoutSeconds", 30), "$.spec.stepTimeoutSeconds", "60"),
                invalid("workVolume size in GB", u -> ((ObjectNode) spec(u).get("workVolume")).put("size", "20GB"), "$.spec.workVolume.size", "pattern"),
                invalid("51 services", u -> {
                    ArrayNode list = spec(u).putArray("services");
                    for (int i = 0; i < 51; i++) {
                        list.addObject().put("kind", "Deployment").put("name", "app-" + i);
                    }
                }, "$.spec.services", "51"),
                invalid("a service name with capitals", u -> service(u).put("name", "Orders-API"), "$.spec.services[0].name", "pattern"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidUpgrades")
    void theSchemaRejects(String what, Consumer<ObjectNode> change, String at, String mentions) {
        ObjectNode upgrade = (ObjectNode) readTree(VALID);
        change.accept(upgrade);
        List<String> errors = validator.validate(upgrade);
        assertTrue(errors.stream().anyMatch(e -> e.startsWith(at + ": ") && e.contains(mentions)),
                what + ": expected an error at " + at + " mentioning " + mentions + ", got " + errors);
    }

    @Test
    void theCelRulesTellWhatEachPlatformNeeds() {
        ObjectNode upgrade = (ObjectNode) readTree(VALID);
        target(upgrade).remove("urlSecretRef");
        assertTrue(validator.validate(upgrade).stream().anyMatch(e -> e.startsWith("spec: platform direct needs source.urlSecretRef and target.urlSecretRef")),
                validator.validate(upgrade).toString());
        upgrade = (ObjectNode) readTree(VALID);
        spec(upgrade).put("platform", "aptible");
        List<String> errors = validator.validate(upgrade);
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("spec: platform aptible needs aptible.tokenSecretRef")), errors.toString());
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("spec: services are Kubernetes workloads")), errors.toString());
    }

    @Test
    void theCelRuleRejectsAServiceThatIsNeitherDeploymentNorStatefulSet() {
        ObjectNode upgrade = (ObjectNode) readTree(VALID);
        service(upgrade).put("kind", "DaemonSet");
        // the schema alone allows any kind: the rejection below is the CEL rule's
        assertEquals(List.of("spec.services[0]: kind must be Deployment or StatefulSet (rule: self.kind == 'Deployment' || self.kind == 'StatefulSet')"),
                validator.validate(upgrade));
        service(upgrade).put("kind", "StatefulSet");
        assertEquals(List.of(), validator.validate(upgrade));
        // per item: the second of two services is the one named
        ((ArrayNode) spec(upgrade).get("services")).addObject().put("kind", "deployment").put("name", "orders-worker");
        assertEquals(List.of("spec.services[1]: kind must be Deployment or StatefulSet (rule: self.kind == 'Deployment' || self.kind == 'StatefulSet')"),
                validator.validate(upgrade));
    }

    @Test
    void theCelRulesRejectADuplicateServiceAndANameTheJobsCannotCarry() {
        ObjectNode upgrade = (ObjectNode) readTree(VALID);
        ((ArrayNode) spec(upgrade).get("services")).addObject().put("kind", "Deployment").put("name", "orders-api");
        assertTrue(validator.validate(upgrade).stream().anyMatch(e -> e.contains("each service (kind and name) may be listed once")),
                () -> validator.validate(upgrade).toString());

        ObjectNode longName = (ObjectNode) readTree(VALID);
        ((ObjectNode) longName.get("metadata")).put("name", "a".repeat(41));
        assertTrue(validator.validate(longName).stream().anyMatch(e -> e.contains("at most 40 characters")),
                () -> validator.validate(longName).toString());
        ((ObjectNode) longName.get("metadata")).put("name", "orders.db");
        assertTrue(validator.validate(longName).stream().anyMatch(e -> e.contains("at most 40 characters")),
                () -> validator.validate(longName).toString());
    }

    // ---- the root transition rule: spec frozen once downtime may have begun ----

    /** Phases in which the spec may change: before ScalingDown (nothing touched yet) and after a failure. */
    private static boolean specMayChange(Phase phase) {
        // Replicating and CatchingUp are the online strategy's: replication objects exist from there on
        return (phase.ordinal() < Phase.ScalingDown.ordinal() && phase != Phase.Replicating && phase != Phase.CatchingUp)
                || phase == Phase.Failed || phase == Phase.RolledBack;
    }

    @ParameterizedTest(name = "old phase {0}")
    @EnumSource(Phase.class)
    void changingTheTargetVersionIsRefusedOnlyOnceDowntimeMayHaveBegun(Phase phase) {
        ObjectNode old = withStatus(readTree(VALID), phase);
        ObjectNode changed = old.deepCopy();
        target(changed).put("version", "16");
        List<String> errors = validator.validateUpdate(changed, old);
        if (specMayChange(phase)) {
            assertEquals(List.of(), errors);
        } else {
            assertEquals(1, errors.size(), errors.toString());
            assertTrue(errors.get(0).startsWith("<root>: spec cannot change once the upgrade has reached ScalingDown"), errors.get(0));
        }
        // the same object unchanged is always fine (a re-apply, a status update)
        assertEquals(List.of(), validator.validateUpdate(old.deepCopy(), old));
    }

    @Test
    void specImmutableRuleCases() {
        ObjectNode dumping = withStatus(readTree(VALID), Phase.Dumping);
        ObjectNode changed = dumping.deepCopy();
        target(changed).put("version", "16");
        assertFalse(ruleHolds(changed, dumping), "Dumping, target.version changed");
        assertTrue(ruleHolds(dumping.deepCopy(), dumping), "Dumping, spec unchanged");

        ObjectNode statusOnly = dumping.deepCopy();
        ((ObjectNode) statusOnly.get("status")).put("phase", "Restoring").put("message", "restoring");
        assertTrue(ruleHolds(statusOnly, dumping), "Dumping, only status changed");

        ObjectNode fewerServices = dumping.deepCopy();
        spec(fewerServices).putArray("services");
        assertFalse(ruleHolds(fewerServices, dumping), "Dumping, a service removed");

        assertTrue(ruleHolds(changed, withStatus(readTree(VALID), Phase.Failed)), "Failed, changed");
        assertTrue(ruleHolds(changed, (ObjectNode) readTree(VALID)), "no status, changed");
        ObjectNode noPhase = (ObjectNode) readTree(VALID);
        noPhase.putObject("status").put("message", "queued");
        assertTrue(ruleHolds(changed, noPhase), "status without phase, changed");
    }

    /** The root rule alone, evaluated with self and oldSelf bound as the API server binds them on an update. */
    private static boolean ruleHolds(JsonNode self, JsonNode oldSelf) {
        List<String> errors = validator.transitionErrors(self, oldSelf);
        errors.forEach(e -> assertTrue(e.contains("spec cannot change"), "not the immutability rule: " + e));
        return errors.isEmpty();
    }

    // ---- helpers ----

    private static Arguments invalid(String what, Consumer<ObjectNode> change, String at, String mentions) {
        return Arguments.of(what, change, at, mentions);
    }

    private static ObjectNode withStatus(JsonNode upgrade, Phase phase) {
        ObjectNode copy = (ObjectNode) upgrade.deepCopy();
        copy.putObject("status").put("phase", phase.name()).put("message", "in " + phase);
        return copy;
    }

    private static ObjectNode spec(ObjectNode upgrade) {
        return (ObjectNode) upgrade.get("spec");
    }

    private static ObjectNode target(ObjectNode upgrade) {
        return (ObjectNode) spec(upgrade).get("target");
    }

    private static ObjectNode service(ObjectNode upgrade) {
        return (ObjectNode) spec(upgrade).get("services").get(0);
    }

    private static <T> T assertType(Class<T> type, Object value) {
        assertTrue(type.isInstance(value), "expected a " + type.getSimpleName() + ", got " + (value == null ? null : value.getClass().getName()));
        return type.cast(value);
    }

    private static Set<String> keys(Secret secret) {
        Set<String> keys = new java.util.TreeSet<>();
        if (secret.getData() != null) {
            keys.addAll(secret.getData().keySet());
        }
        if (secret.getStringData() != null) {
            keys.addAll(secret.getStringData().keySet());
        }
        return keys;
    }

    private static String value(Secret secret, String key) {
        if (secret.getStringData() != null && secret.getStringData().containsKey(key)) {
            return secret.getStringData().get(key);
        }
        if (secret.getData() != null && secret.getData().containsKey(key)) {
            return new String(Base64.getDecoder().decode(secret.getData().get(key)), java.nio.charset.StandardCharsets.UTF_8);
        }
        return null;
    }

    private static boolean definesOwnObjects(List<JsonNode> docs) {
        return docs.stream().anyMatch(d -> !d.path("kind").asText().equals("PostgresUpgrade"));
    }

    private static List<JsonNode> documents(Path file) {
        try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
            List<JsonNode> docs = new ArrayList<>();
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc != null && !doc.isMissingNode() && !doc.isNull()) {
                    docs.add(doc);
                }
            }
            return docs;
        } catch (IOException e) {
            throw new AssertionError(file + ": not valid YAML: " + e.getMessage(), e);
        }
    }

    private static JsonNode readTree(String yaml) {
        try {
            return YAML.readTree(yaml);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
