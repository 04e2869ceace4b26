package dev.pgupgrade.steps.database;

import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import java.util.Map;

/**
 * The knobs every dump, restore and analyze step shares (spec.transfer), with their defaults.
 *
 * @param jobs               sessions at a time; 0: as many as the step has CPUs (only the step can count them)
 * @param maintenanceWorkMem the restore sessions' maintenance_work_mem
 */
public record Transfer(int jobs, String maintenanceWorkMem) {
    public static final String JOBS = "TRANSFER_JOBS";
    public static final String MAINTENANCE_WORK_MEM = "RESTORE_MAINTENANCE_WORK_MEM";
    /** spec.transfer.jobs unset: the CPUs the step has. */
    public static final int AS_MANY_AS_CPUS = 0;

    public static Transfer of(TransferSpec spec) {
        return new Transfer(spec == null || spec.getJobs() == null ? AS_MANY_AS_CPUS : spec.getJobs(),
                spec == null || spec.getMaintenanceWorkMem() == null ? TransferSpec.DEFAULT_MAINTENANCE_WORK_MEM : spec.getMaintenanceWorkMem());
    }

    public Map<String, EnvValue> env() {
        return new Env().put(JOBS, jobs).put(MAINTENANCE_WORK_MEM, maintenanceWorkMem).build();
    }
}
