package dev.pgupgrade.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.testing.Project;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** crds/ is what users apply: it must be exactly what the build generates from the Java classes. */
class CrdUpToDateTest {
    @Test
    void committedCrdMatchesTheGeneratedOne() throws Exception {
        Path generated = Project.root().resolve("target/classes/META-INF/fabric8/postgresupgrades.pgupgrade.dev-v1.yml");
        Path committed = Project.root().resolve("crds/postgresupgrades.pgupgrade.dev.yaml");
        assertTrue(Files.exists(generated), "the build did not generate the CRD");
        assertEquals(Files.readString(generated), Files.readString(committed), "crds/ is stale: run `make crds` and commit the result");
    }

    @Test
    void crdCarriesTheContractFields() throws Exception {
        String crd = Files.readString(Project.root().resolve("crds/postgresupgrades.pgupgrade.dev.yaml"));
        for (String expected : new String[] {"group: \"pgupgrade.dev\"", "name: \"v1alpha1\"", "- \"pgu\"", "urlSecretRef:", "version:",
                "platform:", "- \"aptible\"", "- \"direct\"", "phase:", "subresources:"}) {
            assertTrue(crd.contains(expected), "the CRD lacks " + expected);
        }
    }
}
