package dev.pgupgrade.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.ApprovalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.RehearsalSpec;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.api.StepState;
import dev.pgupgrade.engine.PhaseMachine;
import dev.pgupgrade.steps.PhaseOutcome;
import dev.pgupgrade.engine.SpecValidator;
import dev.pgupgrade.engine.UpgradeEngine;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.aptible.AptibleValidate;
import dev.pgupgrade.steps.aptible.Rehearsal;
import dev.pgupgrade.steps.aptible.Rollback;
import dev.pgupgrade.steps.database.Analyze;
import dev.pgupgrade.steps.database.Dump;
import dev.pgupgrade.testing.StepResults;
import dev.pgupgrade.steps.StepScripts;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.testing.Upgrades;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The Aptible runbook as phases and steps, decided from spec and status alone. */
class AptiblePlatformTest {
    private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
    private final UpgradeEngine engine = new UpgradeEngine(new Platforms());

    private PostgresUpgrade at(Phase phase) {
        PostgresUpgrade upgrade = Upgrades.aptible("16", 1L);
        upgrade.setStatus(engine.initialize(upgrade, NOW));
        upgrade.getStatus().setPhase(phase);
        return upgrade;
    }

    private StepSpec step(PostgresUpgrade upgrade) {
        return assertInstanceOf(PhaseWork.RunStep.class, engine.work(upgrade)).step();
    }

    private static String env(StepSpec step, String name) {
        EnvValue value = step.env().get(name);
        return value instanceof EnvValue.Literal literal ? literal.value() : null;
    }

    private static String json(String json) {
        return json;
    }

    @Test
    void theRunbookInOrderWithEveryOptionalPhaseOn() {
        PostgresUpgrade upgrade = Upgrades.aptible("16", 1L);
        RehearsalSpec rehearsal = new RehearsalSpec();
        rehearsal.setEnabled(true);
        upgrade.getSpec().setRehearsal(rehearsal);
        ApprovalSpec approval = new ApprovalSpec();
        approval.setRequired(true);
        upgrade.getSpec().setApproval(approval);
        upgrade.getSpec().getAptible().setDeprovisionSource(true);
        List<Phase> order = new ArrayList<>();
        for (Phase p = PhaseMachine.first(); !p.isTerminal(); p = PhaseMachine.next(p, upgrade.getSpec())) {
            order.add(p);
        }
        assertEquals(List.of(Phase.Validating, Phase.SchemaCheck, Phase.Rehearsal, Phase.ProvisioningTarget, Phase.AwaitingApproval,
                Phase.ScalingDown, Phase.Dumping, Phase.Restoring, Phase.Verifying, Phase.Repointing, Phase.ScalingUp, Phase.Analyzing,
                Phase.DeprovisioningSource), order);
    }

    @Test
    void theDefaultsSkipRehearsalApprovalAndDeprovisioningButNeverProvisioning() {
        PostgresUpgrade upgrade = Upgrades.aptible("16", 1L);
        assertEquals(Phase.ProvisioningTarget, PhaseMachine.next(Phase.SchemaCheck, upgrade.getSpec()));
        assertEquals(Phase.ScalingDown, PhaseMachine.next(Phase.ProvisioningTarget, upgrade.getSpec()));
        assertEquals(Phase.Succeeded, PhaseMachine.next(Phase.Analyzing, upgrade.getSpec()));
        // on direct there is nothing to provision
        assertEquals(Phase.ScalingDown, PhaseMachine.next(Phase.SchemaCheck, Upgrades.direct("16", 1L).getSpec()));
    }

    @Test
    void databaseWorkRunsTheDirectScriptsBehindTunnels() {
        StepSpec dump = step(at(Phase.Dumping));
        assertEquals("aptible-tunnels.sh", dump.script());
        assertEquals(Dump.PARALLEL.script(), env(dump, "INNER_SCRIPT"));
        assertEquals("source", env(dump, "TUNNELS"));
        assertEquals("aptible", env(dump, "TARGET_USER"), "the runbook's filter keeps the target's aptible password");
        assertInstanceOf(EnvValue.FromSecret.class, dump.env().get("APTIBLE_ACCESS_TOKEN"));

        StepSpec restore = step(at(Phase.Restoring));
        assertEquals("target", env(restore, "TUNNELS"));
        assertFalse(restore.rerunnable(), "a restore is never started twice by itself");
        assertEquals("source target", env(step(at(Phase.Verifying)), "TUNNELS"));
        assertEquals(Analyze.KIND.script(), env(step(at(Phase.Analyzing)), "INNER_SCRIPT"));
    }

    @Test
    void everyValueReachesTheScriptsAsEnvironmentNeverAsScriptText() {
        StepSpec validate = step(at(Phase.Validating));
        assertEquals(AptibleValidate.KIND.script(), validate.script());
        assertEquals("shop-db", env(validate, "SOURCE_HANDLE"));
        assertEquals("shop-prod", env(validate, "TARGET_ENVIRONMENT"), "the target defaults to the source's environment");
        assertEquals("shop-web shop-prod DATABASE_URL", env(validate, "APPS"));
        assertEquals("10", env(step(at(Phase.ProvisioningTarget)), "TARGET_DISK_SIZE_GB"));
    }

    @Test
    void scalingDownRecordsTheCountsInStatusBeforeItScalesAnything() throws Exception {
        PostgresUpgrade upgrade = at(Phase.ScalingDown);
        StepSpec inventory = step(upgrade);
        assertFalse(inventory.endsPhase());
        assertEquals("inventory", env(inventory, "SERVICES_ACTION"));
        upgrade.setStatus(engine.stepStarted(upgrade, inventory, null, NOW));
        String seen = json("{\"ok\":true,\"services\":[{\"app\":\"shop-web\",\"service\":\"web\",\"containerCount\":3},"
                + "{\"app\":\"shop-web\",\"service\":\"worker\",\"containerCount\":0}]}");
        upgrade.setStatus(engine.stepEnded(upgrade, inventory, new PhaseOutcome.Ran(0, seen, null), NOW));

        PostgresUpgradeStatus status = upgrade.getStatus();
        assertEquals(Phase.ScalingDown, status.getPhase(), "the phase goes on with its own step");
        assertEquals(List.of("shop-web/web=3", "shop-web/worker=0"), status.getServices().stream()
                .map(s -> s.getApp() + "/" + s.getName() + "=" + s.getReplicas()).toList());
        assertTrue(status.getServices().stream().allMatch(s -> ServiceStatus.APTIBLE_SERVICE.equals(s.getKind())));

        StepSpec scale = step(upgrade);
        assertTrue(scale.endsPhase());
        assertEquals("down", env(scale, "SERVICES_ACTION"));
        assertEquals("shop-web web 3\nshop-web worker 0", env(scale, "SERVICE_COUNTS"));

        // an inventory read again after the scale-down (zeros) never replaces what was recorded
        String zeros = json("{\"ok\":true,\"services\":[{\"app\":\"shop-web\",\"service\":\"web\",\"containerCount\":0}]}");
        upgrade.setStatus(engine.stepEnded(upgrade, inventory, new PhaseOutcome.Ran(0, zeros, null), NOW));
        assertEquals(3, upgrade.getStatus().getServices().get(0).getReplicas());
    }

    @Test
    void aFailedInventoryFailsThePhaseAndNothingWasScaled() {
        PostgresUpgrade upgrade = at(Phase.ScalingDown);
        StepSpec inventory = step(upgrade);
        upgrade.setStatus(engine.stepStarted(upgrade, inventory, null, NOW));
        PostgresUpgradeStatus after = engine.stepEnded(upgrade, inventory,
                new PhaseOutcome.Ran(1, StepResults.failed("aptible apps failed: Unauthorized").json(), null), NOW);
        assertEquals(Phase.RollingBack, after.getPhase(), "ScalingDown ran: the rollback restores whatever was recorded (nothing)");
        assertTrue(after.getMessage().contains("Unauthorized"), after.getMessage());
    }

    @Test
    void validatingRecordsWhetherTheTargetIsOursBeforeProvisioningCreatesIt() throws Exception {
        PostgresUpgrade upgrade = at(Phase.Validating);
        String fresh = json("{\"ok\":true,\"sourceVersionNum\":120022,\"sourceVersion\":\"12.22\",\"targetExists\":false}");
        PostgresUpgradeStatus status = engine.phaseEnded(upgrade, AptibleValidate.KIND, new PhaseOutcome.Ran(0, fresh, null), NOW);
        assertEquals(Phase.SchemaCheck, status.getPhase(), status.getMessage());
        assertTrue(status.getTarget().getCreatedByUpgrade());
        assertEquals("shop-db-16", status.getTarget().getHandle());

        PostgresUpgrade adopted = at(Phase.Validating);
        String existing = json("{\"ok\":true,\"sourceVersionNum\":120022,\"sourceVersion\":\"12.22\",\"targetExists\":true,"
                + "\"targetVersionNum\":160010,\"targetVersion\":\"16.10\"}");
        assertFalse(engine.phaseEnded(adopted, AptibleValidate.KIND, new PhaseOutcome.Ran(0, existing, null), NOW).getTarget().getCreatedByUpgrade());

        // created by attempt 1, deprovisioned by its rollback, then re-created by hand: not ours in attempt 2
        PostgresUpgrade retry = at(Phase.Validating);
        dev.pgupgrade.api.TargetStatus before = new dev.pgupgrade.api.TargetStatus();
        before.setHandle("shop-db-16");
        before.setCreatedByUpgrade(true);
        before.setDeprovisioned(true);
        retry.getStatus().setTarget(before);
        assertFalse(engine.phaseEnded(retry, AptibleValidate.KIND, new PhaseOutcome.Ran(0, existing, null), NOW).getTarget().getCreatedByUpgrade());

        String older = json("{\"ok\":true,\"sourceVersionNum\":170002,\"sourceVersion\":\"17.2\",\"targetExists\":false}");
        PostgresUpgradeStatus refused = engine.phaseEnded(at(Phase.Validating), AptibleValidate.KIND, new PhaseOutcome.Ran(0, older, null), NOW);
        assertEquals(Phase.Failed, refused.getPhase());
        assertTrue(refused.getMessage().contains("older than the source"), refused.getMessage());
    }

    @Test
    void theRollbackUndoesOnlyWhatThisAttemptDid() {
        PostgresUpgrade upgrade = at(Phase.RollingBack);
        StepSpec early = step(upgrade);
        assertEquals(Rollback.KIND.script(), early.script());
        assertEquals("0", env(early, "RESTORE_CONFIG"), "Repointing never started: the config is untouched");
        assertEquals("0", env(early, "DEPROVISION_TARGET"), "no record that this upgrade created the target");

        PostgresUpgradeStatus status = upgrade.getStatus();
        dev.pgupgrade.api.TargetStatus target = new dev.pgupgrade.api.TargetStatus();
        target.setCreatedByUpgrade(true);
        target.setHandle("shop-db-other");
        status.setTarget(target);
        for (Phase ran : List.of(Phase.ProvisioningTarget, Phase.Repointing)) {
            dev.pgupgrade.api.StepStatus s = new dev.pgupgrade.api.StepStatus();
            s.setName(ran.stepName() + "-1");
            s.setPhase(ran);
            s.setAttempt(1);
            s.setState(ran == Phase.Repointing ? StepState.Failed : StepState.Succeeded);
            status.getSteps().add(s);
        }
        ServiceStatus web = new ServiceStatus(ServiceStatus.APTIBLE_SERVICE, "web", 3);
        web.setApp("shop-web");
        status.getServices().add(web);
        assertEquals("0", env(step(upgrade), "DEPROVISION_TARGET"), "what was created under another handle is not this target");
        target.setHandle("shop-db-16");
        StepSpec late = step(upgrade);
        assertEquals("1", env(late, "RESTORE_CONFIG"));
        assertEquals("1", env(late, "DEPROVISION_TARGET"));
        assertEquals("shop-web web 3", env(late, "SERVICE_COUNTS"));
        assertEquals("0", env(late, "PURGE_ORPHANED_BACKUPS"));
    }

    @Test
    void theRehearsalEstimateLandsInStatus() throws Exception {
        PostgresUpgrade upgrade = at(Phase.Rehearsal);
        StepSpec rehearsal = step(upgrade);
        assertEquals("shop-db-rh1-src", env(rehearsal, "REHEARSAL_SOURCE_HANDLE"));
        assertEquals("shop-db-rh1-dst", env(rehearsal, "REHEARSAL_TARGET_HANDLE"));
        String timed = json("{\"ok\":true,\"backupId\":\"42\",\"dumpMillis\":1500,\"restoreMillis\":4500,\"bytes\":2048,"
                + "\"errorCount\":3,\"errorLines\":[\"line 1: ERROR:  role \\\"aptible\\\" already exists\","
                + "\"line 2: ERROR:  role \\\"postgres\\\" already exists\",\"line 9: ERROR:  database \\\"db\\\" already exists\"],"
                + "\"preexistingRoles\":[\"aptible\",\"postgres\"],\"preexistingDatabases\":[\"db\",\"postgres\"]}");
        PostgresUpgradeStatus status = engine.phaseEnded(upgrade, Rehearsal.KIND, new PhaseOutcome.Ran(0, timed, null), NOW);
        assertEquals(Phase.ProvisioningTarget, status.getPhase(), status.getMessage());
        assertEquals(6.0, status.getEstimate().getDowntimeSeconds());
        assertEquals("42", status.getEstimate().getBackupId());
        assertTrue(status.getSteps().get(status.getSteps().size() - 1).getMessage().contains("expected downtime 6.0 s"));
    }

    static Stream<Arguments> badAptibleSpecs() {
        return Stream.<Arguments>of(
                bad("a handle with shell syntax", u -> u.getSpec().getSource().setHandle("shop;rm -rf /"), "spec.source.handle: must be an Aptible handle"),
                bad("a handle with a newline", u -> u.getSpec().getTarget().setHandle("shop\nx"), "spec.target.handle: must be an Aptible handle"),
                bad("a variable with a $", u -> u.getSpec().getAptible().getApps().get(0).setConfigVariable("DB$URL"), "configVariable: must be a variable name"),
                bad("no token", u -> u.getSpec().getAptible().setTokenSecretRef(null), "spec.aptible.tokenSecretRef: required"),
                bad("the source as target", u -> u.getSpec().getTarget().setHandle("shop-db"), "must differ from spec.source.handle"),
                bad("a negative disk", u -> u.getSpec().getTarget().setDiskSizeGB(-5), "spec.target.diskSizeGB: must be between 1"),
                bad("an absurd container", u -> u.getSpec().getTarget().setContainerSizeMB(10_000_000), "spec.target.containerSizeMB"),
                bad("a 65-character handle", u -> u.getSpec().getTarget().setHandle("a".repeat(65)), "at most 64 characters"),
                bad("an app twice", u -> u.getSpec().getAptible().getApps().add(new dev.pgupgrade.api.AptibleAppSpec("shop-web", "X")), "listed twice"),
                bad("a latest version", u -> u.getSpec().getTarget().setVersion("latest"), "spec.target.version: must be a major version"),
                bad("deprovisioning an unverified source", u -> {
                    u.getSpec().getAptible().setDeprovisionSource(true);
                    dev.pgupgrade.api.VerificationSpec off = new dev.pgupgrade.api.VerificationSpec();
                    off.setMode(dev.pgupgrade.api.VerificationSpec.Mode.OFF);
                    u.getSpec().setVerification(off);
                }, "spec.aptible.deprovisionSource: needs spec.verification on"),
                bad("Kubernetes services", u -> u.getSpec().getServices().add(new dev.pgupgrade.api.ServiceSpec()), "spec.services: Kubernetes workloads"));
    }

    private static Arguments bad(String what, Consumer<PostgresUpgrade> change, String problem) {
        return Arguments.of(what, change, problem);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badAptibleSpecs")
    void theValidatorRefuses(String what, Consumer<PostgresUpgrade> change, String problem) {
        PostgresUpgrade upgrade = Upgrades.aptible("16", 1L);
        assertEquals(List.of(), SpecValidator.problems(upgrade));
        change.accept(upgrade);
        List<String> problems = SpecValidator.problems(upgrade);
        assertTrue(problems.stream().anyMatch(p -> p.contains(problem)), what + ": " + problems);
        assertTrue(problems.stream().noneMatch(p -> p.contains("\n")), "problems are one line each: " + problems);
    }

    @Test
    void directRefusesTheAptibleOnlyParts() {
        PostgresUpgrade upgrade = Upgrades.direct("16", 1L);
        RehearsalSpec rehearsal = new RehearsalSpec();
        rehearsal.setEnabled(true);
        upgrade.getSpec().setRehearsal(rehearsal);
        assertTrue(SpecValidator.problems(upgrade).stream().anyMatch(p -> p.startsWith("spec.rehearsal: the rehearsal needs platform aptible")));
    }
}
