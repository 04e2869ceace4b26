package dev.pgupgrade.metrics;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * The operator's metrics, one Prometheus registry: JOSDK's own (reconciliations started, succeeded,
 * failed, retries, events; controller-wide, no per-resource series), the JVM's, the counters of what
 * happened to upgrades since the operator started (endings and rollbacks, by the phase that failed),
 * and every upgrade's status figures ({@link UpgradeFigures}) read at scrape time.
 */
public final class OperatorMetrics {
    static final String ENDED = "pgupgrade_upgrades_ended";
    static final String ROLLBACKS = "pgupgrade_rollbacks_started";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final MicrometerMetrics josdk = MicrometerMetrics.withoutPerResourceMetrics(registry);
    private volatile Supplier<? extends Collection<PostgresUpgrade>> upgrades = List::of;

    public OperatorMetrics(Clock clock) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        registry.getPrometheusRegistry().register(new UpgradeCollector(() -> upgrades.get(), clock));
    }

    /** The counters' names as Prometheus shows them. */
    public static java.util.Set<String> counterNames() {
        return java.util.Set.of(ENDED + "_total", ROLLBACKS + "_total");
    }

    /** For JOSDK's configuration ({@code withMetrics}). */
    public Metrics josdk() {
        return josdk;
    }

    /** Where the upgrades are read at each scrape: the controller's cache, once it exists. */
    public void upgradesFrom(Supplier<? extends Collection<PostgresUpgrade>> source) {
        this.upgrades = source;
    }

    /**
     * A phase change the operator stored: an upgrade that ended counts in {@code pgupgrade_upgrades_ended_total}
     * by outcome (and the phase that failed), a rollback that began in {@code pgupgrade_rollbacks_started_total}.
     */
    public void phaseStored(Phase from, Phase to, Phase failedPhase) {
        if (from == to || to == null) {
            return;
        }
        String failed = failedPhase == null ? "none" : failedPhase.name();
        if (to.isTerminal()) {
            Counter.builder(ENDED).description("Upgrades that ended since the operator started, by outcome and the phase that failed")
                    .tag("outcome", to.name()).tag("failed_phase", failed).register(registry).increment();
        }
        if (to == Phase.RollingBack) {
            Counter.builder(ROLLBACKS).description("Rollbacks begun since the operator started, by the phase that failed")
                    .tag("failed_phase", failed).register(registry).increment();
        }
    }

    /** The Prometheus text exposition of everything above. */
    public String scrape() {
        return registry.scrape();
    }

    /** The same, in the format a scraper asked for (its Accept header): Prometheus text or OpenMetrics. */
    public void scrape(java.io.OutputStream out, String accept) throws java.io.IOException {
        registry.scrape(out, contentType(accept));
    }

    /** The content type of {@link #scrape(java.io.OutputStream, String)}'s answer to {@code accept}. */
    public static String contentType(String accept) {
        return accept != null && accept.contains("application/openmetrics-text")
                ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8";
    }
}
