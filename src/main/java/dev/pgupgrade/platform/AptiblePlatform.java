package dev.pgupgrade.platform;

import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.aptible.Aptible;
import dev.pgupgrade.steps.aptible.AptibleValidate;
import dev.pgupgrade.steps.aptible.Provision;
import dev.pgupgrade.engine.PhaseMachine;
import dev.pgupgrade.steps.aptible.Rehearsal;
import dev.pgupgrade.steps.aptible.Replicate;
import dev.pgupgrade.steps.logical.CatchUp;
import dev.pgupgrade.steps.logical.Cleanup;
import dev.pgupgrade.steps.logical.Cutover;
import dev.pgupgrade.steps.logical.LogicalCheck;
import dev.pgupgrade.steps.logical.ReplicaSync;
import dev.pgupgrade.steps.logical.ReplicationWatch;
import dev.pgupgrade.steps.aptible.Rollback;
import dev.pgupgrade.steps.aptible.Services;
import dev.pgupgrade.steps.aptible.Tunnels;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.StepKind;
import java.util.Map;

/**
 * Aptible databases and apps, through the aptible CLI inside the step (a Job pod with the toolbox
 * image, or a local process). Every phase is a step script; the database phases are the direct
 * platform's scripts behind `aptible db:tunnel`.
 */
public final class AptiblePlatform implements UpgradePlatform {
    @Override
    public PhaseWork work(Phase phase, PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        Connections tunnels = (step, source, target) -> Tunnels.around(step, spec, source && target ? "source target" : source ? "source" : "target");
        boolean apps = !spec.getAptible().getApps().isEmpty();
        boolean logical = LogicalSpec.isLogical(spec);
        return switch (phase) {
            case Validating -> logical && !StepRecords.succeeded(upgrade, Names.replicationCheckStep(upgrade.getStatus()))
                    ? new PhaseWork.RunStep(Tunnels.around(LogicalCheck.step(upgrade), spec, "source"))
                    : run(upgrade, phase, AptibleValidate.KIND, Aptible.apps(spec));
            case SchemaCheck -> DatabasePhases.schemaCheck(upgrade, tunnels);
            case Rehearsal -> new PhaseWork.RunStep(Rehearsal.step(upgrade));
            case ProvisioningTarget -> new PhaseWork.RunStep(logical ? Replicate.step(upgrade) : Provision.step(upgrade));
            // strategy logical: Aptible's replica and its replication (logical-replica.sh), watched and cut over through tunnels
            case Replicating -> new PhaseWork.RunStep(Tunnels.around(ReplicaSync.step(upgrade), spec, "source target"));
            case CatchingUp -> new PhaseWork.RunStep(Tunnels.around(CatchUp.step(upgrade), spec, "source target"));
            case Cutover -> new PhaseWork.RunStep(Tunnels.around(Cutover.step(upgrade), spec, "source target"));
            case AwaitingApproval -> logical
                    ? new PhaseWork.AwaitApproval(Tunnels.around(ReplicationWatch.step(upgrade), spec, "source target"))
                    : new PhaseWork.AwaitApproval();
            case ScalingDown -> apps ? scalingDown(upgrade) : noApps();
            case Dumping -> DatabasePhases.dumping(upgrade, tunnels, Aptible.ROLE);
            case Restoring -> DatabasePhases.restoring(upgrade, tunnels);
            case Verifying -> DatabasePhases.verifying(upgrade, tunnels);
            case Repointing -> apps ? run(upgrade, phase, Aptible.REPOINT, Aptible.apps(spec)) : noApps();
            case ScalingUp -> apps ? new PhaseWork.RunStep(Services.scale(upgrade, phase, "up")) : noApps();
            case Analyzing -> DatabasePhases.analyzing(upgrade, tunnels);
            case DeprovisioningSource -> run(upgrade, phase, Aptible.DEPROVISION_SOURCE, Map.of());
            // the replication's objects and the source's freeze first, while the replica still exists; then Aptible's side
            case RollingBack -> new PhaseWork.RunStep(PhaseMachine.cleanupNeeded(upgrade.getStatus())
                    ? Tunnels.around(Cleanup.step(upgrade), spec, "source target?") : Rollback.step(upgrade));
            case Succeeded, Failed, RolledBack -> throw new IllegalArgumentException(phase + " is terminal");
        };
    }

    /**
     * ScalingDown in two steps, so that the counts are in status before anything changes: an
     * inventory step reads every service's container count, the engine records them, then the phase's
     * own step scales them to zero. A restarted driver never reads counts again once recorded.
     */
    private static PhaseWork scalingDown(PostgresUpgrade upgrade) {
        boolean recorded = StepRecords.succeeded(upgrade, Names.inventoryStep(upgrade.getStatus()));
        return new PhaseWork.RunStep(recorded ? Services.scale(upgrade, Phase.ScalingDown, "down") : Services.inventory(upgrade));
    }


    private static PhaseWork noApps() {
        return new PhaseWork.NothingToDo("no apps declared");
    }

    private static PhaseWork run(PostgresUpgrade upgrade, Phase phase, StepKind<?> kind,
                                 Map<String, EnvValue> env) {
        return new PhaseWork.RunStep(Steps.of(upgrade, phase, kind, new Env().putAll(Aptible.common(upgrade.getSpec())).putAll(env).build(), true));
    }
}
