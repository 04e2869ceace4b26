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
        Path committed = Project.root().resolve("crds").resolve(CrdYaml.FILE_NAME);
        assertEquals(CrdYaml.generate(), Files.readString(committed), "crds/ is stale: run `make crds` and commit the result");
    }

    @Test
    void crdCarriesTheContractFields() throws Exception {
        String crd = Files.readString(Project.root().resolve("crds/postgresupgrades.pgupgrade.dev.yaml"));
        assertTrue(crd.indexOf("name: \"Phase\"") < crd.indexOf("name: \"Source\"")
                && crd.indexOf("name: \"Target\"") < crd.indexOf("name: \"Age\""), "printer columns in kubectl order");
        for (String expected : new String[] {"group: \"pgupgrade.dev\"", "name: \"v1alpha1\"", "- \"pgu\"", "urlSecretRef:", "version:",
                "platform:", "- \"aptible\"", "- \"direct\"", "phase:", "subresources:"}) {
            assertTrue(crd.contains(expected), "the CRD lacks " + expected);
        }
    }
}
