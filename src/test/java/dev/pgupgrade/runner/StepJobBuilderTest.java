package dev.pgupgrade.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.testing.Upgrades;
import org.junit.jupiter.api.Test;

class StepJobBuilderTest {
    @Test
    void eachPlatformRunsItsOwnImageOfTheTargetMajorUnlessTheSpecNamesOne() {
        assertEquals("postgres:17", StepJobBuilder.image(Upgrades.direct("17", 1L), StepJobBuilder.TOOLBOX_IMAGE));
        PostgresUpgrade aptible = Upgrades.aptible("16", 1L);
        assertEquals("ghcr.io/pgupgrade/toolbox:16", StepJobBuilder.image(aptible, StepJobBuilder.TOOLBOX_IMAGE));
        assertEquals("registry.example.com/mirror/toolbox:16", StepJobBuilder.image(aptible, "registry.example.com/mirror/toolbox"));
        aptible.getSpec().setImage("registry.example.com/own:16-1");
        assertEquals("registry.example.com/own:16-1", StepJobBuilder.image(aptible, StepJobBuilder.TOOLBOX_IMAGE));
    }
}
