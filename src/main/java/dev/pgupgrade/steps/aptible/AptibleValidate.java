package dev.pgupgrade.steps.aptible;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.TargetStatus;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.steps.database.Validate;

/**
 * Validating on Aptible (aptible-validate.sh): the token works, the source exists, the version is
 * offered, every app points at the source, and an existing target runs the version and holds nothing.
 * Records whether the target is this upgrade's to create: the intent of ProvisioningTarget, stored
 * before it runs db:create, so a rollback only ever deprovisions what this upgrade created.
 */
public final class AptibleValidate implements StepKind<Validate.Result> {
    public static final AptibleValidate KIND = new AptibleValidate();

    private AptibleValidate() {
    }

    @Override
    public String script() {
        return "aptible-validate.sh";
    }

    @Override
    public Class<Validate.Result> resultType() {
        return Validate.Result.class;
    }

    @Override
    public Verdict judge(Validate.Result result, PostgresUpgradeSpec spec) {
        // The target may not exist yet: ProvisioningTarget creates it and checks it again.
        return Validate.judge(result, spec, !Boolean.TRUE.equals(result.targetExists()), Aptible.PLATFORM_ROLES);
    }

    @Override
    public void record(Validate.Result result, boolean ok, StatusFacts facts) {
        if (!ok || result.targetExists() == null) {
            return;
        }
        TargetStatus previous = facts.status().getTarget();
        String handle = facts.spec().getTarget().getHandle();
        boolean sameHandle = previous != null && handle.equals(previous.getHandle());
        // Absent: ProvisioningTarget will create it. Present: ours only if an earlier attempt created it
        // under this handle and it was not deprovisioned since (a database re-created by hand under the
        // same name is someone else's). Once this upgrade created the target, it stays "ours" across retries.
        boolean ours = !result.targetExists() || (sameHandle && Boolean.TRUE.equals(previous.getCreatedByUpgrade())
                && !Boolean.TRUE.equals(previous.getDeprovisioned()));
        TargetStatus target = new TargetStatus();
        target.setHandle(handle);
        target.setCreatedByUpgrade(ours);
        facts.status().setTarget(target);
    }
}
