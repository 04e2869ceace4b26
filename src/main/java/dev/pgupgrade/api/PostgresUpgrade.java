package dev.pgupgrade.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One upgrade of a PostgreSQL database to a new major version: {@code kubectl get pgu}.
 *
 * <p>The CEL rule makes the spec immutable once downtime may have begun: changing source, target or
 * services under a running upgrade would scale, repoint or restore the wrong things. Before that
 * (and after a failure) the spec may change; a change is a new generation, i.e. a retry.
 */
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Progress", jsonPath = ".status.progress.summary", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Source", jsonPath = ".status.sourceVersion", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Target", jsonPath = ".spec.target.version", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Message", jsonPath = ".status.message", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@ValidationRule(value = "self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
        message = "metadata.name must be lower-case letters, digits and '-', at most 40 characters (step Job names derive from it)")
@ValidationRule(value = PostgresUpgrade.SPEC_IMMUTABLE_RULE,
        message = "spec cannot change once the upgrade has reached ScalingDown (strategy logical: Replicating); delete and re-create the PostgresUpgrade to start another one")
@Group(PostgresUpgrade.GROUP)
@Version(PostgresUpgrade.VERSION)
@Kind("PostgresUpgrade")
@ShortNames("pgu")
public class PostgresUpgrade extends CustomResource<PostgresUpgradeSpec, PostgresUpgradeStatus> implements Namespaced {
    public static final String GROUP = "pgupgrade.dev";
    public static final String VERSION = "v1alpha1";
    public static final String API_VERSION = GROUP + "/" + VERSION;
    /** Phases in which the spec may still change (nothing was scaled, repointed or restored, or it ended in failure). */
    public static final String SPEC_IMMUTABLE_RULE = "!has(oldSelf.status) || !has(oldSelf.status.phase)"
            + " || oldSelf.status.phase in ['Validating', 'SchemaCheck', 'Rehearsal', 'ProvisioningTarget', 'Failed', 'RolledBack']"
            // strategy logical: AwaitingApproval comes after Replicating, whose objects the spec names
            + " || (oldSelf.status.phase == 'AwaitingApproval' && !(has(oldSelf.spec.transfer) && has(oldSelf.spec.transfer.strategy)"
            + " && oldSelf.spec.transfer.strategy == 'logical'))"
            + " || self.spec == oldSelf.spec";
}
