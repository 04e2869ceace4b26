package dev.pgupgrade.steps.aptible;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.ServiceStatus;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.StatusFacts;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.List;
import java.util.Objects;

/**
 * The apps' services on Aptible (aptible-services.sh): the inventory of every service's container
 * count, recorded in status before anything is scaled; then scaling to zero (ScalingDown) or back to
 * the recorded counts (ScalingUp).
 */
public final class Services implements StepKind<Services.Result> {
    /** Reads every service's container count; the counts are recorded, never read again once they are. */
    public static final Services INVENTORY = new Services(true);
    /** Scales to zero or back to the recorded counts. */
    public static final Services SCALE = new Services(false);
    public static final String ACTION = "SERVICES_ACTION";

    private final boolean inventory;

    /** One service of an app as `aptible apps` showed it, before anything was scaled. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ObservedService(String app, String service, Integer containerCount) {
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, List<ObservedService> services) implements StepResult {
    }

    private Services(boolean inventory) {
        this.inventory = inventory;
    }

    /** ScalingDown's first step: its findings are stored before the phase's own step scales anything. */
    public static StepSpec inventory(PostgresUpgrade upgrade) {
        return Steps.before(upgrade, Names.inventoryStep(upgrade.getStatus()), Phase.ScalingDown, INVENTORY,
                new Env().putAll(Aptible.common(upgrade.getSpec())).putAll(Aptible.apps(upgrade.getSpec())).put(ACTION, "inventory").build());
    }

    /** @param action "down" (to zero) or "up" (to the recorded counts) */
    public static StepSpec scale(PostgresUpgrade upgrade, Phase phase, String action) {
        return Steps.of(upgrade, phase, SCALE, new Env().putAll(Aptible.common(upgrade.getSpec())).putAll(Aptible.apps(upgrade.getSpec()))
                .putAll(Aptible.recordedCounts(upgrade.getStatus())).put(ACTION, action).build(), true);
    }

    @Override
    public String script() {
        return "aptible-services.sh";
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        if (inventory) {
            return Verdict.ok("recorded the container counts of " + Figures.count(result.services() == null ? 0 : result.services().size(), "service"));
        }
        return Verdict.ok(result.message() != null ? result.message() : "done");
    }

    /**
     * The inventory's counts, as service records. A service already recorded keeps its record: after a
     * restart the app may show the zero this upgrade set itself, which must never replace what it had.
     */
    @Override
    public void record(Result result, boolean ok, StatusFacts facts) {
        if (!inventory || !ok || result.services() == null) {
            return;
        }
        for (ObservedService seen : result.services()) {
            boolean known = facts.status().getServices().stream().anyMatch(s -> ServiceStatus.APTIBLE_SERVICE.equals(s.getKind())
                    && s.getName().equals(seen.service()) && Objects.equals(s.getApp(), seen.app()));
            if (!known) {
                ServiceStatus service = new ServiceStatus(ServiceStatus.APTIBLE_SERVICE, seen.service(), seen.containerCount());
                service.setApp(seen.app());
                facts.status().getServices().add(service);
            }
        }
    }
}
