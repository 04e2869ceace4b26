package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.cli.ExitCodes;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.aptible.FakeAptible;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The second driver of the same engine: {@code pgupgrade run} as a user types it, in its own JVM, with
 * the (fake) aptible CLI on PATH: the Aptible runbook without a cluster, stopping at the approval
 * gate until run again with --approve.
 */
class AptibleLocalRunTest {
    @TempDir
    Path tmp;

    private static final String MANIFEST = """
            apiVersion: pgupgrade.dev/v1alpha1
            kind: PostgresUpgrade
            metadata:
              name: shop-upgrade
            spec:
              platform: aptible
              aptible:
                tokenSecretRef: {name: aptible, key: token}
                apps:
                  - {handle: shop-web, configVariable: DATABASE_URL}
              source: {handle: shop-db, environment: shop-prod}
              target: {handle: shop-db-16, version: "16", diskSizeGB: 10}
              approval: {required: true}
              schemaCheck: {enabled: false}
              transfer: {strategy: stream}
            """;

    private FakeAptible.Run pgupgrade(FakeAptible aptible, String... extra) throws Exception {
        return aptible.pgupgradeRun(tmp.resolve("upgrade.yaml"), tmp.resolve("secrets"), 10, Duration.ofMinutes(3), extra);
    }

    @Test
    void theRunbookWithoutACluster() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (FakeAptible aptible = FakeAptible.create(tmp.resolve("aptible"), PostgresServer.binDir("16").getParent().getParent())) {
            aptible.addEnvironment("shop-prod");
            String token = aptible.issueToken();
            FakeAptible.Database source = aptible.createDatabase("shop-db", "shop-prod", "13");
            source.execute("db", "create table orders (id int primary key, item text)",
                    "insert into orders select g, 'item ' || g from generate_series(1, 300) g");
            aptible.addApp("shop-web", "shop-prod", Map.of("web", 2), Map.of("DATABASE_URL", source.url()));
            Files.writeString(tmp.resolve("upgrade.yaml"), MANIFEST);
            Files.createDirectories(tmp.resolve("secrets/aptible"));
            Files.writeString(tmp.resolve("secrets/aptible/token"), token);

            FakeAptible.Run gated = pgupgrade(aptible);
            assertEquals(ExitCodes.AWAITING_APPROVAL, gated.exitCode(), gated.output());
            assertTrue(gated.output().contains("waiting for approval; nothing is down yet"), gated.output());
            assertTrue(aptible.database("shop-db-16").isPresent(), "the target is provisioned before the gate");
            assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));

            FakeAptible.Run approved = pgupgrade(aptible, "--approve");
            assertEquals(ExitCodes.SUCCEEDED, approved.exitCode(), approved.output());
            FakeAptible.Database target = aptible.database("shop-db-16").orElseThrow();
            assertEquals(target.url(), aptible.config("shop-web").get("DATABASE_URL"));
            assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));
            try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + target.port() + "/db", "aptible", target.password());
                 var rs = c.createStatement().executeQuery("select count(*), sum(id) from orders")) {
                rs.next();
                assertEquals(300, rs.getInt(1));
                assertEquals(45150, rs.getInt(2));
            }
            for (String secret : List.of(token, source.password(), target.password())) {
                assertFalse(gated.output().contains(secret) || approved.output().contains(secret), "a secret in the CLI's output");
                assertFalse(Files.readString(tmp.resolve("upgrade.state.json")).contains(secret), "a secret in the state file");
            }
        }
    }
}
