package dev.pgupgrade.driver;

import dev.pgupgrade.api.ServiceStatus;
import java.util.List;

/** Where work on the services stands after one reconcile. */
public sealed interface ServiceProgress {
    /** Intent to store before going on: the services' replicas as they are now. */
    record RecordReplicas(List<ServiceStatus> observed) implements ServiceProgress {
    }

    /** Intent to store before going on: where the apps' previous URLs will be kept. */
    record RecordBackup(String secretName) implements ServiceProgress {
    }

    record InProgress(String what) implements ServiceProgress {
    }

    record Done(String message) implements ServiceProgress {
    }

    record Failed(String reason) implements ServiceProgress {
    }
}
