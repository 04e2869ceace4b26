package dev.pgupgrade.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.testing.Scrape;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The operator's registry and endpoint: transitions counted once, upgrades read at each scrape, both formats served. */
class OperatorMetricsTest {
    @Test
    void transitionsAreCountedByOutcomeAndFailedPhase() {
        OperatorMetrics metrics = new OperatorMetrics(Clock.systemUTC());
        metrics.phaseStored(Phase.Restoring, Phase.RollingBack, Phase.Restoring);
        metrics.phaseStored(Phase.RollingBack, Phase.RollingBack, Phase.Restoring);  // a status write within the phase: not a transition
        metrics.phaseStored(Phase.RollingBack, Phase.RolledBack, Phase.Restoring);
        metrics.phaseStored(Phase.Analyzing, Phase.Succeeded, null);
        metrics.phaseStored(null, Phase.Failed, Phase.Validating);  // a spec refused on the first reconcile
        Scrape scrape = Scrape.of(metrics.scrape());

        assertEquals(1.0, scrape.value("pgupgrade_rollbacks_started_total", "failed_phase", "Restoring").orElseThrow(), scrape::text);
        assertEquals(1.0, scrape.value("pgupgrade_upgrades_ended_total", "outcome", "RolledBack", "failed_phase", "Restoring").orElseThrow());
        assertEquals(1.0, scrape.value("pgupgrade_upgrades_ended_total", "outcome", "Succeeded", "failed_phase", "none").orElseThrow());
        assertEquals(1.0, scrape.value("pgupgrade_upgrades_ended_total", "outcome", "Failed", "failed_phase", "Validating").orElseThrow());
        assertTrue(scrape.value("jvm_memory_used_bytes", "area", "heap", "id", "G1 Eden Space").isPresent()
                || !scrape.find("jvm_memory_used_bytes").isEmpty(), "the JVM's own");
    }

    @Test
    void upgradesAreReadAtEachScrapeSoADeletedOneLeavesNoSeries() throws Exception {
        OperatorMetrics metrics = new OperatorMetrics(Clock.systemUTC());
        List<PostgresUpgrade> cache = new ArrayList<>(List.of(UpgradeFiguresTest.sample(Phase.Dumping)));
        metrics.upgradesFrom(() -> List.copyOf(cache));
        try (MetricsServer server = new MetricsServer(0, metrics).start()) {
            String url = "http://127.0.0.1:" + server.port() + "/metrics";
            Scrape before = Scrape.curl(url);
            assertEquals(1.0, before.value("pgupgrade_upgrade_phase", "phase", "Dumping").orElseThrow(), before::text);
            cache.clear();
            Scrape after = Scrape.curl(url);
            assertTrue(after.find("pgupgrade_upgrade_phase").isEmpty(), after::text);

            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> open = http.send(HttpRequest.newBuilder(URI.create(url))
                    .header("Accept", "application/openmetrics-text; version=1.0.0").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, open.statusCode());
            assertTrue(open.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"));
            assertTrue(open.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
        }
    }
}
