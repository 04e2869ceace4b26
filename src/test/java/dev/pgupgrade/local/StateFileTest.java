package dev.pgupgrade.local;

import dev.pgupgrade.testing.Upgrades;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PhaseToggle;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ServiceSpec;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.api.StepStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StateFileTest {
    @TempDir
    Path dir;

    static PostgresUpgrade upgrade(String version) {
        PostgresUpgrade u = Upgrades.direct(version, 2L);
        u.getSpec().setAnalyze(new PhaseToggle(false));
        return u;
    }

    static PostgresUpgradeStatus status() {
        PostgresUpgradeStatus s = new PostgresUpgradeStatus();
        s.setPhase(Phase.Restoring);
        s.setAttempt(1);
        s.setMessage("Restoring: loading the dump into the target");
        s.setObservedGeneration(2L);
        s.setStartedAt("2025-03-01T10:00:00.250Z");
        s.setSourceVersion("13.23");
        s.setTargetVersion("17.6");
        StepStatus dump = new StepStatus();
        dump.setName("dumping-1");
        dump.setPhase(Phase.Dumping);
        dump.setState(StepState.Succeeded);
        dump.setAttempt(1);
        dump.setBytes(5L * 1024 * 1024 * 1024);
        dump.setDurationSeconds(30.5);
        dump.setExpectedErrors(0);
        dump.setErrors(List.of("line 1: ERROR:  x"));
        StepStatus restore = new StepStatus();
        restore.setName("restoring-1");
        restore.setPhase(Phase.Restoring);
        restore.setState(StepState.Running);
        restore.setStartedAt("2025-03-01T10:01:00.000Z");
        s.setSteps(new ArrayList<>(List.of(dump, restore)));
        Condition progressing = new ConditionBuilder().withType("Progressing").withStatus("True").withReason("Restoring")
                .withMessage("m").withObservedGeneration(2L).withLastTransitionTime("2025-03-01T10:00:00Z").build();
        s.setConditions(new ArrayList<>(List.of(progressing)));
        return s;
    }

    @Test
    void saveThenLoadRoundTripsSpecAndStatus() throws Exception {
        PostgresUpgrade u = upgrade("17");
        u.setStatus(status());
        StateFile state = new StateFile(dir.resolve("upgrade.state.json"));
        state.save(u);

        PostgresUpgrade loaded = state.load().orElseThrow();
        assertEquals("orders-db", loaded.getMetadata().getName());
        assertEquals(2L, loaded.getMetadata().getGeneration());
        assertEquals("pgupgrade.dev/v1alpha1", loaded.getApiVersion());
        assertEquals("PostgresUpgrade", loaded.getKind());
        assertTrue(StateFile.sameSpec(u, loaded));
        assertFalse(PhaseToggle.isEnabled(loaded.getSpec().getAnalyze()));

        PostgresUpgradeStatus s = loaded.getStatus();
        assertEquals(Phase.Restoring, s.getPhase());
        assertEquals(1, s.getAttempt());
        assertEquals("Restoring: loading the dump into the target", s.getMessage());
        assertEquals("2025-03-01T10:00:00.250Z", s.getStartedAt());
        assertEquals("13.23", s.getSourceVersion());
        assertEquals("17.6", s.getTargetVersion());
        assertEquals(2, s.getSteps().size());
        StepStatus dump = s.getSteps().get(0);
        assertEquals("dumping-1", dump.getName());
        assertEquals(StepState.Succeeded, dump.getState());
        assertEquals(5L * 1024 * 1024 * 1024, dump.getBytes());
        assertEquals(30.5, dump.getDurationSeconds());
        assertEquals(0, dump.getExpectedErrors());
        assertEquals(List.of("line 1: ERROR:  x"), dump.getErrors());
        assertEquals(StepState.Running, s.getSteps().get(1).getState());
        assertEquals("2025-03-01T10:01:00.000Z", s.getSteps().get(1).getStartedAt());
        Condition c = s.getConditions().get(0);
        assertEquals("Progressing", c.getType());
        assertEquals("True", c.getStatus());
        assertEquals("2025-03-01T10:00:00Z", c.getLastTransitionTime());
        assertEquals(2L, c.getObservedGeneration());

        assertFalse(Files.exists(dir.resolve("upgrade.state.json.tmp")), "the temporary file is moved into place");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("upgrade.state.json")), files.toList());
        }
    }

    @Test
    void aLaterSaveReplacesTheEarlierOne() throws Exception {
        StateFile state = new StateFile(dir.resolve("s.json"));
        PostgresUpgrade u = upgrade("17");
        u.setStatus(status());
        state.save(u);
        u.getStatus().setPhase(Phase.Failed);
        u.getStatus().setFailedPhase(Phase.Restoring);
        state.save(u);
        PostgresUpgradeStatus loaded = state.load().orElseThrow().getStatus();
        assertEquals(Phase.Failed, loaded.getPhase());
        assertEquals(Phase.Restoring, loaded.getFailedPhase());
    }

    @Test
    void anUpgradeWithoutStatusRoundTrips() throws Exception {
        StateFile state = new StateFile(dir.resolve("s.json"));
        state.save(upgrade("16"));
        PostgresUpgrade loaded = state.load().orElseThrow();
        assertEquals("16", loaded.getSpec().getTarget().getVersion());
        assertTrue(loaded.getStatus() == null || loaded.getStatus().getPhase() == null);
    }

    @Test
    void loadWithoutFileIsEmpty() throws Exception {
        assertEquals(Optional.empty(), new StateFile(dir.resolve("none.state.json")).load());
    }

    @Test
    void corruptStateIsReportedWithTheWayOut() throws Exception {
        Path file = dir.resolve("upgrade.state.json");
        Files.writeString(file, "{\"spec\": {\"platform\": ");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> new StateFile(file).load());
        assertTrue(e.getMessage().startsWith(file + ": the saved state cannot be read"), e.getMessage());
        assertTrue(e.getMessage().contains("--reset"), e.getMessage());
    }

    @Test
    void sameSpecComparesFieldByField() {
        assertTrue(StateFile.sameSpec(upgrade("17"), upgrade("17")));
        assertFalse(StateFile.sameSpec(upgrade("17"), upgrade("16")));

        PostgresUpgrade timeout = upgrade("17");
        timeout.getSpec().setStepTimeoutSeconds(600L);
        assertFalse(StateFile.sameSpec(upgrade("17"), timeout));

        PostgresUpgrade otherSecret = upgrade("17");
        otherSecret.getSpec().getSource().getUrlSecretRef().setKey("url2");
        assertFalse(StateFile.sameSpec(upgrade("17"), otherSecret));

        PostgresUpgrade withService = upgrade("17");
        ServiceSpec web = new ServiceSpec();
        web.setKind("Deployment");
        web.setName("web");
        withService.getSpec().setServices(new ArrayList<>(List.of(web)));
        assertFalse(StateFile.sameSpec(upgrade("17"), withService));
    }

    @Test
    void sameSpecIgnoresStatusAndMetadata() {
        PostgresUpgrade running = upgrade("17");
        running.setStatus(status());
        running.getMetadata().setGeneration(9L);
        assertTrue(StateFile.sameSpec(upgrade("17"), running));
    }

    @Test
    void sameSpecTreatsNullAndEmptyServicesAlike() {
        PostgresUpgrade a = upgrade("17");
        a.getSpec().setServices(null);
        assertTrue(StateFile.sameSpec(a, upgrade("17")));
    }

    @ParameterizedTest
    @CsvSource({
        "upgrade.yaml, upgrade.state.json, upgrade.work",
        "upgrade.json, upgrade.state.json, upgrade.work",
        "my.upgrade.yml, my.upgrade.state.json, my.upgrade.work",
        "upgrade, upgrade.state.json, upgrade.work",
        ".hidden, .hidden.state.json, .hidden.work",
    })
    void filesBesideTheManifest(String manifest, String stateName, String workName) {
        Path m = dir.resolve("conf").resolve(manifest);
        assertEquals(dir.resolve("conf").resolve(stateName), StateFile.besideManifest(m).path());
        assertEquals(dir.resolve("conf").resolve(workName), StateFile.workDirBeside(m));
    }

    @Test
    void relativeManifestStaysRelative() {
        assertEquals(Path.of("upgrade.state.json"), StateFile.besideManifest(Path.of("upgrade.yaml")).path());
        assertEquals(Path.of("upgrade.work"), StateFile.workDirBeside(Path.of("upgrade.yaml")));
    }

    @Test
    void deleteRemovesTheFileAndToleratesItsAbsence() throws Exception {
        StateFile state = new StateFile(dir.resolve("s.json"));
        state.save(upgrade("17"));
        assertTrue(Files.exists(state.path()));
        state.delete();
        assertFalse(Files.exists(state.path()));
        state.delete();
        assertEquals(Optional.empty(), state.load());
    }
}
