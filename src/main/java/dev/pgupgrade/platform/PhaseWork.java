package dev.pgupgrade.platform;

import dev.pgupgrade.steps.StepSpec;

/** What a platform has to do for one phase of one upgrade. */
public sealed interface PhaseWork {
    record RunStep(StepSpec step) implements PhaseWork {
    }

    /**
     * Work on the apps, done by the driver itself through the platform's API (the operator: Kubernetes
     * Deployments and StatefulSets), not in a step.
     */
    record ServiceWork(ServiceAction action) implements PhaseWork {
    }

    enum ServiceAction {
        /** Record each service's replicas, then scale it to zero and wait until its pods are gone. */
        SCALE_DOWN,
        /** Point each service at the target (keeping a copy of what it pointed at). */
        REPOINT,
        /** Scale each service back to its recorded replicas and wait until they are ready. */
        SCALE_UP,
        /** Undo: restore the services' previous URLs and recorded replicas. */
        ROLL_BACK
    }

    /**
     * The gate before the downtime: the driver ends the phase once a human approved (the operator: the
     * annotation {@link dev.pgupgrade.api.ApprovalSpec#ANNOTATION}; pgupgrade run: --approve).
     *
     * @param watch a step that runs for as long as the wait lasts, stopped at the approval (strategy
     *              logical: the replication is watched), or null
     */
    record AwaitApproval(StepSpec watch) implements PhaseWork {
        public AwaitApproval() {
            this(null);
        }
    }

    /** Nothing to do here, said why (e.g. no services declared). */
    record NothingToDo(String reason) implements PhaseWork {
    }

    /** This platform cannot do the phase for this spec; the upgrade must fail with the reason. */
    record Unsupported(String reason) implements PhaseWork {
    }
}
