package dev.pgupgrade.api;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One upgrade of a PostgreSQL database to a new major version: {@code kubectl get pgu}. */
@Group(PostgresUpgrade.GROUP)
@Version(PostgresUpgrade.VERSION)
@Kind("PostgresUpgrade")
@ShortNames("pgu")
public class PostgresUpgrade extends CustomResource<PostgresUpgradeSpec, PostgresUpgradeStatus> implements Namespaced {
    public static final String GROUP = "pgupgrade.dev";
    public static final String VERSION = "v1alpha1";
    public static final String API_VERSION = GROUP + "/" + VERSION;
}
