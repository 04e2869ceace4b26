package dev.pgupgrade.engine;

import dev.pgupgrade.api.EstimateStatus;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.api.TargetStatus;
import dev.pgupgrade.steps.ScriptResult;
import java.util.ArrayList;
import java.util.List;

/** The facts a step reports that later phases (or a rollback) depend on, copied into status. Pure. */
final class ResultFacts {
    private ResultFacts() {
    }

    static void record(PostgresUpgradeStatus status, Phase phase, PostgresUpgradeSpec spec, ScriptResult result, boolean ok, String now) {
        switch (phase) {
            case Validating -> {
                if (ok && result.targetExists() != null) {
                    // The intent of ProvisioningTarget, stored before it runs db:create. Once this upgrade
                    // created the target, it stays "ours" across retries.
                    TargetStatus previous = status.getTarget();
                    boolean sameHandle = previous != null && spec.getTarget().getHandle().equals(previous.getHandle());
                    // Absent: ProvisioningTarget will create it. Present: ours only if an earlier attempt
                    // created it under this handle and it was not deprovisioned since (a database
                    // re-created by hand under the same name is someone else's).
                    boolean ours = !result.targetExists() || (sameHandle && Boolean.TRUE.equals(previous.getCreatedByUpgrade())
                            && !Boolean.TRUE.equals(previous.getDeprovisioned()));
                    TargetStatus target = new TargetStatus();
                    target.setHandle(spec.getTarget().getHandle());
                    target.setCreatedByUpgrade(ours);
                    status.setTarget(target);
                }
            }
            case Rehearsal -> {
                if (ok && result.dumpMillis() != null && result.restoreMillis() != null) {
                    EstimateStatus estimate = new EstimateStatus();
                    estimate.setBackupId(result.backupId());
                    estimate.setDumpSeconds(result.dumpMillis() / 1000.0);
                    estimate.setRestoreSeconds(result.restoreMillis() / 1000.0);
                    estimate.setDowntimeSeconds((result.dumpMillis() + result.restoreMillis()) / 1000.0);
                    estimate.setBytes(result.bytes());
                    estimate.setMeasuredAt(now);
                    status.setEstimate(estimate);
                }
            }
            case RollingBack -> {
                if (Boolean.TRUE.equals(result.targetDeprovisioned()) && status.getTarget() != null) {
                    status.getTarget().setDeprovisioned(true);
                }
            }
            default -> {
            }
        }
    }

    /** What an inventory step saw, as service records (ScalingDown's intent). */
    static List<ServiceStatus> services(ScriptResult result) {
        List<ServiceStatus> services = new ArrayList<>();
        if (result == null || result.services() == null) {
            return services;
        }
        for (ScriptResult.ObservedService seen : result.services()) {
            ServiceStatus service = new ServiceStatus(ServiceStatus.APTIBLE_SERVICE, seen.service(), seen.containerCount());
            service.setApp(seen.app());
            services.add(service);
        }
        return services;
    }
}
