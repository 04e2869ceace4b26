package dev.pgupgrade.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Keeps, per phase, the last PostgresUpgrade an operator test stored through the mock API server, when
 * {@code -Dpgupgrade.statusSamples=DIR} is set: the status objects of real runs that the Argo CD
 * health check and the kstatus tests read (src/test/resources/dev/pgupgrade/health/). Off otherwise.
 * Regenerate with: {@code mvn test -Dtest='Operator*Test,AptibleEndToEndTest' -Dpgupgrade.statusSamples=target/status-samples}.
 */
final class StatusSamples {
    private static final String DIR = System.getProperty("pgupgrade.statusSamples");
    private static final ObjectMapper JSON = new ObjectMapper();

    private StatusSamples() {
    }

    static void offer(RecordedRequest request, MockResponse response) {
        if (DIR == null || request.getPath() == null || !request.getPath().split("\\?")[0].endsWith("/status")
                || !request.getPath().contains("/postgresupgrades/") || response.getBody() == null) {
            return;
        }
        try {
            JsonNode stored = JSON.readTree(new String(response.getBody().getBytes(), StandardCharsets.UTF_8));
            JsonNode phase = stored.path("status").path("phase");
            if (!phase.isTextual()) {
                return;
            }
            ObjectNode sample = JSON.createObjectNode();
            sample.set("apiVersion", stored.path("apiVersion"));
            sample.set("kind", stored.path("kind"));
            ObjectNode metadata = sample.putObject("metadata");
            for (String field : new String[] {"name", "namespace", "generation"}) {
                metadata.set(field, stored.path("metadata").path(field));
            }
            sample.set("spec", stored.path("spec"));
            sample.set("status", stored.path("status"));
            Path dir = Path.of(DIR);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(phase.asText() + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(sample),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
