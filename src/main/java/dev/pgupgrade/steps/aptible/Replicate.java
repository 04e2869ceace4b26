package dev.pgupgrade.steps.aptible;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.steps.logical.Replication;
import java.util.Optional;

/**
 * ProvisioningTarget on Aptible with strategy logical (aptible-replicate.sh): aptible db:replicate
 * --logical creates the replica and its replication, as Aptible's logical-replication guide does. A
 * replica found after a restart is adopted only if it follows this source. Whether the replica is this
 * upgrade's to deprovision was recorded by Validating before the call (see {@link AptibleValidate}).
 */
public final class Replicate implements StepKind<Replicate.Result> {
    public static final Replicate KIND = new Replicate();

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer targetVersionNum, String targetVersion, Boolean targetCreated,
                         Integer subscriptions, Integer followedSubscriptions, Long replicateMillis) implements StepResult {
    }

    private Replicate() {
    }

    public static StepSpec step(PostgresUpgrade upgrade) {
        return Steps.of(upgrade, Phase.ProvisioningTarget, KIND, new Env().putAll(Aptible.common(upgrade.getSpec()))
                .putAll(Provision.sizes(upgrade.getSpec())).putAll(Replication.env(upgrade)).build(), true);
    }

    @Override
    public String script() {
        return "aptible-replicate.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        Optional<String> version = Provision.wrongVersion(result.targetVersionNum(), spec, "replica");
        if (version.isPresent()) {
            return Verdict.failed(version.get());
        }
        int subscriptions = result.subscriptions() == null ? 0 : result.subscriptions();
        int followed = result.followedSubscriptions() == null ? 0 : result.followedSubscriptions();
        if (subscriptions == 0 || followed < subscriptions) {
            return Verdict.failed("the replica " + spec.getTarget().getHandle() + " does not follow " + spec.getSource().getHandle()
                    + " (" + followed + " of its " + subscriptions + " subscriptions read a slot of the source)");
        }
        return Verdict.ok(result.message() != null ? result.message() : "replica ready").withVersions(null, result.targetVersion());
    }
}
