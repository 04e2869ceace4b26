package dev.pgupgrade.metrics;

import dev.pgupgrade.api.PostgresUpgrade;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Renders {@link UpgradeFigures} of every upgrade at scrape time, one gauge family per metric name.
 * Reading the upgrades when Prometheus asks (not keeping gauges up to date) means a deleted upgrade
 * leaves no stale series and a restarted operator reports what status says at once.
 */
public final class UpgradeCollector implements MultiCollector {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UpgradeCollector.class);
    private final Supplier<? extends Collection<PostgresUpgrade>> upgrades;
    private final Clock clock;

    public UpgradeCollector(Supplier<? extends Collection<PostgresUpgrade>> upgrades, Clock clock) {
        this.upgrades = upgrades;
        this.clock = clock;
    }

    @Override
    public MetricSnapshots collect() {
        // name -> labels -> value: a label set seen twice keeps its last value (the format allows one sample per set)
        Map<String, Map<Map<String, String>, Double>> families = new LinkedHashMap<>();
        Map<String, String> help = new LinkedHashMap<>();
        for (PostgresUpgrade upgrade : upgrades.get()) {
            List<UpgradeFigures.Figure> figures;
            try {
                figures = UpgradeFigures.of(upgrade, clock.instant());
            } catch (RuntimeException e) {
                // one status we cannot read must not take /metrics (and the operator's up series) down with it
                LOG.warn("no metrics for {}/{}: {}", upgrade.getMetadata().getNamespace(), upgrade.getMetadata().getName(), e.toString());
                continue;
            }
            for (UpgradeFigures.Figure figure : figures) {
                families.computeIfAbsent(figure.name(), name -> new LinkedHashMap<>()).put(figure.labels(), figure.value());
                help.putIfAbsent(figure.name(), figure.help());
            }
        }
        List<MetricSnapshot> snapshots = new ArrayList<>();
        families.forEach((name, samples) -> {
            GaugeSnapshot.Builder family = GaugeSnapshot.builder().name(name).help(help.get(name));
            samples.forEach((labels, value) -> family.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                    .labels(Labels.of(new ArrayList<>(labels.keySet()), new ArrayList<>(labels.values()))).value(value).build()));
            snapshots.add(family.build());
        });
        return new MetricSnapshots(snapshots);
    }
}
