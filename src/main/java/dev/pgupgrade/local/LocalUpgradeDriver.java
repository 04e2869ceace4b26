package dev.pgupgrade.local;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.driver.Tick;
import dev.pgupgrade.driver.UpgradeDriver;
import dev.pgupgrade.steps.StepSpec;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Drives one upgrade to a terminal phase on this machine: tick, save the state, sleep. Every status a
 * tick returns is stored (through {@code store}) before the next tick, so a run killed at any point
 * resumes from the stored status.
 */
public final class LocalUpgradeDriver {
    /** Told about progress, for humans. */
    public interface Listener {
        default void stepStarting(StepSpec step) {
        }

        default void phaseEnded(PostgresUpgradeStatus before, PostgresUpgradeStatus after) {
        }

        default void progressed(PostgresUpgradeStatus status) {
        }
    }

    private final UpgradeDriver driver;
    private final LocalWorld world;
    private final Consumer<PostgresUpgrade> store;
    private final Listener listener;
    private final Duration pollInterval;

    public LocalUpgradeDriver(UpgradeDriver driver, LocalWorld world, Consumer<PostgresUpgrade> store, Listener listener, Duration pollInterval) {
        this.driver = driver;
        this.world = world;
        this.store = store;
        this.listener = listener;
        this.pollInterval = pollInterval;
    }

    /**
     * Runs until the upgrade is Succeeded, Failed or RolledBack, and returns it with its final status;
     * or, at AwaitingApproval without approval, returns it there (not terminal) with status saying so.
     */
    public PostgresUpgrade run(PostgresUpgrade upgrade) throws InterruptedException {
        save(upgrade, driver.engine().initialize(upgrade, world.clock().instant()));
        while (!upgrade.getStatus().getPhase().isTerminal()) {
            PostgresUpgradeStatus before = upgrade.getStatus();
            Tick tick = driver.tick(upgrade, world);
            if (tick.stores()) {
                save(upgrade, tick.status());
                tell(tick, before, upgrade.getStatus());
            }
            if (tick.kind() == Tick.Kind.AWAITING_APPROVAL) {
                return upgrade;  // not approved: the user runs again with --approve
            }
            if (!tick.stores()) {
                Thread.sleep(Math.min(pollInterval.toMillis(), tick.again().toMillis()));
            }
        }
        return upgrade;
    }

    private void tell(Tick tick, PostgresUpgradeStatus before, PostgresUpgradeStatus after) {
        switch (tick.kind()) {
            case INTENT -> {
                if (tick.started() != null) {
                    listener.stepStarting(tick.started());
                }
            }
            case PROGRESS -> listener.progressed(after);
            case ENDED -> listener.phaseEnded(before, after);
            default -> {
            }
        }
    }

    private void save(PostgresUpgrade upgrade, PostgresUpgradeStatus status) {
        upgrade.setStatus(status);
        store.accept(upgrade);
    }
}
