package dev.pgupgrade.metrics;

import dev.pgupgrade.api.PostgresUpgrade;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.List;

/**
 * {@code pgupgrade run --metrics-file}: the upgrade's figures ({@link UpgradeFigures}, the same series the
 * operator serves) in Prometheus text format, written whole or not at all (a temporary file renamed), so
 * node_exporter's textfile collector or a CI job never reads half of it.
 */
public final class MetricsFile {
    private MetricsFile() {
    }

    public static String render(PostgresUpgrade upgrade, Clock clock) {
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new UpgradeCollector(() -> List.of(upgrade), clock));
        return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, registry, io.micrometer.core.instrument.Clock.SYSTEM).scrape();
    }

    public static void write(Path file, PostgresUpgrade upgrade, Clock clock) throws IOException {
        Path absolute = file.toAbsolutePath();
        Path temporary = Files.createTempFile(absolute.getParent(), "." + absolute.getFileName(), ".tmp");
        try {
            Files.writeString(temporary, render(upgrade, clock), StandardCharsets.UTF_8);
            // readable by a collector running as another user (node_exporter), as any report file; a temp file is 0600
            try {
                Files.setPosixFilePermissions(temporary, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException notPosix) {
                // the file system's defaults apply
            }
            Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
