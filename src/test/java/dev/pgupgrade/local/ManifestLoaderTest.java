package dev.pgupgrade.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgrade;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestLoaderTest {
    private static final String VALID = """
            apiVersion: pgupgrade.dev/v1alpha1
            kind: PostgresUpgrade
            metadata:
              name: orders-db
            spec:
              platform: direct
              source:
                urlSecretRef:
                  name: source-db
                  key: url
              target:
                urlSecretRef:
                  name: target-db
                  key: url
                version: "17"
              schemaCheck:
                enabled: false
              stepTimeoutSeconds: 3600
            """;

    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, content);
        return file;
    }

    private InvalidInputException loadFails(String content) throws IOException {
        Path file = write("upgrade.yaml", content);
        return assertThrows(InvalidInputException.class, () -> ManifestLoader.load(file));
    }

    private static String onlyProblem(InvalidInputException e) {
        assertEquals(1, e.problems().size(), e.problems()::toString);
        assertEquals(e.problems().get(0), e.getMessage());
        return e.problems().get(0);
    }

    /**
     * A URL pasted where a Secret reference belongs: Jackson's own message quotes the value, and the
     * error reaches the terminal and CI logs. It is never echoed, on any path a manifest can fail on.
     */
    @Test
    void aPastedUrlIsNeverEchoed() throws IOException {
        String secret = "postgresql://app:s3cret-pw@db.internal:5432/shop";
        List<String> manifests = List.of(
                VALID.replace("    urlSecretRef:\n      name: source-db\n      key: url", "    urlSecretRef: \"" + secret + "\""),
                VALID.replace("version: \"17\"", "version: [\"" + secret + "\"]"),
                VALID.replace("stepTimeoutSeconds: 3600", "stepTimeoutSeconds: \"" + secret + "\""),
                VALID.replace("  schemaCheck:\n    enabled: false", "  schemaCheck:\n    enabled: \"" + secret + "\""),
                VALID.replace("platform: direct", "platform: \"" + secret + "\""),
                VALID + "  \"" + secret + "\": 1\n",
                VALID.replace("version: \"17\"", "version: \"17\"\n    version: \"" + secret + "\""),
                VALID.replace("metadata:", "metadata: {name: \"" + secret + "\"\nbroken"));
        for (String manifest : manifests) {
            assertTrue(!manifest.equals(VALID), "the test's replacement did not apply");
            InvalidInputException e = loadFails(manifest);
            assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
        }
    }

    @Test
    void validDirectManifestLoads() throws Exception {
        PostgresUpgrade u = ManifestLoader.load(write("upgrade.yaml", VALID));
        assertEquals("orders-db", u.getMetadata().getName());
        assertEquals(Platform.DIRECT, u.getSpec().getPlatform());
        assertEquals("17", u.getSpec().getTarget().getVersion());
        assertEquals("source-db", u.getSpec().getSource().getUrlSecretRef().getName());
        assertEquals("url", u.getSpec().getSource().getUrlSecretRef().getKey());
        assertEquals("target-db/url", u.getSpec().getTarget().getUrlSecretRef().toString());
        assertFalse(PhaseToggle.isEnabled(u.getSpec().getSchemaCheck()));
        assertTrue(PhaseToggle.isEnabled(u.getSpec().getAnalyze()));
        assertEquals(3600L, u.getSpec().getStepTimeoutSeconds());
        assertEquals(List.of(), u.getSpec().getServices());
        assertEquals(null, u.getStatus());
    }

    @Test
    void anUnquotedVersionIsReadAsText() throws Exception {
        PostgresUpgrade u = ManifestLoader.load(write("upgrade.yaml", VALID.replace("version: \"17\"", "version: 17")));
        assertEquals("17", u.getSpec().getTarget().getVersion());
    }

    @Test
    void jsonManifestLoads() throws Exception {
        String json = """
                {"apiVersion": "pgupgrade.dev/v1alpha1", "kind": "PostgresUpgrade", "metadata": {"name": "x"},
                 "spec": {"platform": "aptible", "target": {"version": "9.6"},
                          "services": [{"kind": "Deployment", "name": "web"}]}}
                """;
        PostgresUpgrade u = ManifestLoader.load(write("upgrade.json", json));
        assertEquals(Platform.APTIBLE, u.getSpec().getPlatform());
        assertEquals("9.6", u.getSpec().getTarget().getVersion());
        assertEquals("web", u.getSpec().getServices().get(0).getName());
    }

    @Test
    void unknownFieldIsNamedWithItsPath() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("    version: \"17\"", "    versoin: \"17\""));
        String p = onlyProblem(e);
        assertTrue(p.startsWith("spec.target.versoin: unknown field"), p);
        assertTrue(p.contains("known here: ") && p.contains("urlSecretRef") && p.contains("version"), p);
    }

    @Test
    void unknownFieldInAListIsNamedWithItsIndex() throws Exception {
        InvalidInputException e = loadFails(VALID + """
                  services:
                    - kind: Deployment
                      name: web
                    - kind: Deployment
                      nmae: api
                """);
        assertTrue(onlyProblem(e).startsWith("spec.services[1].nmae: unknown field"), onlyProblem(e));
    }

    @Test
    void unknownPlatformListsTheAllowedOnes() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("platform: direct", "platform: mysql"));
        assertEquals("spec.platform: must be one of direct, aptible", onlyProblem(e));
    }

    @Test
    void wrongTypeIsNamed() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("stepTimeoutSeconds: 3600", "stepTimeoutSeconds: soon"));
        assertEquals("spec.stepTimeoutSeconds: has the wrong type", onlyProblem(e));
    }

    @Test
    void wrongApiVersion() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("pgupgrade.dev/v1alpha1", "pgupgrade.dev/v1"));
        assertEquals("apiVersion: must be pgupgrade.dev/v1alpha1", onlyProblem(e));
    }

    @Test
    void missingApiVersion() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("apiVersion: pgupgrade.dev/v1alpha1\n", ""));
        assertEquals("apiVersion: must be pgupgrade.dev/v1alpha1", onlyProblem(e));
    }

    @Test
    void wrongKind() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("kind: PostgresUpgrade", "kind: Deployment"));
        assertEquals("kind: must be PostgresUpgrade", onlyProblem(e));
    }

    @Test
    void notYaml() throws Exception {
        InvalidInputException e = loadFails("apiVersion: pgupgrade.dev/v1alpha1\nspec: [unclosed\n  - {\n");
        String p = onlyProblem(e);
        assertTrue(p.contains("upgrade.yaml: not valid YAML (line "), p);
    }

    @Test
    void aScalarIsNotAManifest() throws Exception {
        InvalidInputException e = loadFails("just some text\n");
        assertTrue(onlyProblem(e).endsWith("upgrade.yaml: not a YAML or JSON object"), onlyProblem(e));
    }

    @Test
    void anEmptyFileIsNotAManifest() throws Exception {
        InvalidInputException e = loadFails("");
        assertTrue(onlyProblem(e).endsWith("upgrade.yaml: not a YAML or JSON object"), onlyProblem(e));
    }

    @Test
    void missingFile() {
        Path missing = dir.resolve("nope.yaml");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ManifestLoader.load(missing));
        assertEquals(missing + ": no such file", onlyProblem(e));
    }

    @Test
    void aDirectoryIsNoManifest() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ManifestLoader.load(dir));
        assertEquals(dir + ": no such file", onlyProblem(e));
    }

    @Test
    void tooLargeFileIsRefused() throws Exception {
        InvalidInputException e = loadFails(VALID + "#" + "x".repeat(1024 * 1024) + "\n");
        assertTrue(onlyProblem(e).endsWith(": larger than 1 MiB, not a PostgresUpgrade manifest"), onlyProblem(e));
    }

    @Test
    void deeplyNestedYamlIsInvalidInputNotACrash() throws Exception {
        Path file = write("upgrade.yaml", VALID + "x: " + "[".repeat(1001) + "]".repeat(1001) + "\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ManifestLoader.load(file));
        assertTrue(onlyProblem(e).contains("upgrade.yaml"), onlyProblem(e));
    }

    @Test
    void aKeyGivenTwiceIsRefused() throws Exception {
        InvalidInputException e = loadFails(VALID.replace("    version: \"17\"\n", "    version: \"17\"\n    version: \"16\"\n"));
        assertTrue(onlyProblem(e).contains("version"), onlyProblem(e));
    }
}
