package dev.pgupgrade.platform;

import dev.pgupgrade.api.LogicalSpec;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.engine.PhaseMachine;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.database.Validate;
import dev.pgupgrade.steps.logical.CatchUp;
import dev.pgupgrade.steps.logical.Cleanup;
import dev.pgupgrade.steps.logical.Cutover;
import dev.pgupgrade.steps.logical.LogicalCheck;
import dev.pgupgrade.steps.logical.LogicalCopy;
import dev.pgupgrade.steps.logical.ReplicationWatch;

/**
 * Any PostgreSQL server reachable by URL. The database phases are step scripts given the URLs as
 * Secret references; the service phases (Deployments and StatefulSets) need the Kubernetes API and are
 * done by the operator's driver.
 */
public final class DirectPlatform implements UpgradePlatform {
    public static final String SOURCE_URL = "SOURCE_URL";
    public static final String TARGET_URL = "TARGET_URL";

    @Override
    public PhaseWork work(Phase phase, PostgresUpgrade upgrade) {
        PostgresUpgradeSpec spec = upgrade.getSpec();
        Connections urls = (step, source, target) -> urls(step, spec, source, target);
        return switch (phase) {
            case Validating -> LogicalSpec.isLogical(spec) && !StepRecords.succeeded(upgrade, Names.replicationCheckStep(upgrade.getStatus()))
                    ? new PhaseWork.RunStep(urls(LogicalCheck.step(upgrade), spec, true, true))
                    : new PhaseWork.RunStep(urls(Validate.step(upgrade), spec, true, true));
            case Replicating -> new PhaseWork.RunStep(urls(LogicalCopy.step(upgrade), spec, true, true));
            case CatchingUp -> new PhaseWork.RunStep(urls(CatchUp.step(upgrade), spec, true, true));
            case Cutover -> new PhaseWork.RunStep(urls(Cutover.step(upgrade), spec, true, true));
            case SchemaCheck -> DatabasePhases.schemaCheck(upgrade, urls);
            case Dumping -> DatabasePhases.dumping(upgrade, urls, null);
            case Restoring -> DatabasePhases.restoring(upgrade, urls);
            case Verifying -> DatabasePhases.verifying(upgrade, urls);
            case Analyzing -> DatabasePhases.analyzing(upgrade, urls);
            case ScalingDown -> services(spec, PhaseWork.ServiceAction.SCALE_DOWN);
            case Repointing -> services(spec, PhaseWork.ServiceAction.REPOINT);
            case ScalingUp -> services(spec, PhaseWork.ServiceAction.SCALE_UP);
            case RollingBack -> PhaseMachine.cleanupNeeded(upgrade.getStatus())
                    ? new PhaseWork.RunStep(urls(Cleanup.step(upgrade), spec, true, true))
                    : services(spec, PhaseWork.ServiceAction.ROLL_BACK);
            case AwaitingApproval -> LogicalSpec.isLogical(spec)
                    ? new PhaseWork.AwaitApproval(urls(ReplicationWatch.step(upgrade), spec, true, true))
                    : new PhaseWork.AwaitApproval();
            case ProvisioningTarget -> new PhaseWork.NothingToDo("platform direct: the target server exists already");
            case Rehearsal -> new PhaseWork.Unsupported("spec.rehearsal: the rehearsal needs platform aptible (backup:restore)");
            case DeprovisioningSource -> new PhaseWork.Unsupported("spec.aptible.deprovisionSource: platform direct never deprovisions a server");
            case Succeeded, Failed, RolledBack -> throw new IllegalArgumentException(phase + " is terminal");
        };
    }


    private static PhaseWork services(PostgresUpgradeSpec spec, PhaseWork.ServiceAction action) {
        return spec.getServices().isEmpty() ? new PhaseWork.NothingToDo("no services declared") : new PhaseWork.ServiceWork(action);
    }

    /** The URLs only ever as Secret references, resolved by the runner (a secretKeyRef in a Job). */
    private static StepSpec urls(StepSpec step, PostgresUpgradeSpec spec, boolean source, boolean target) {
        Env env = new Env();
        if (source) {
            env.secret(SOURCE_URL, spec.getSource().getUrlSecretRef(), "spec.source.urlSecretRef");
        }
        if (target) {
            env.secret(TARGET_URL, spec.getTarget().getUrlSecretRef(), "spec.target.urlSecretRef");
        }
        return step.withEnv(env.build());
    }
}
