package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.cli.ExitCodes;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.WriteLoad;
import dev.pgupgrade.testing.aptible.FakeAptible;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Aptible's second upgrade route, "Upgrade PostgreSQL with logical replication", driven by {@code pgupgrade run}
 * against the fake aptible CLI: db:replicate --logical makes the replica and its replication (native
 * logical replication on the zonky servers; real pglogical on Debian's PostgreSQL 15), the apps keep
 * writing to the source through the initial sync and the wait for approval, then the cutover freezes
 * the source, waits for the replica, sets the sequences, compares every row and repoints the apps.
 */
class AptibleLogicalTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path PGLOGICAL_LIBRARY = Path.of("/usr/lib/postgresql/15/lib/pglogical.so");

    @TempDir
    Path tmp;

    private static String manifest(String version, String extra) {
        return """
                apiVersion: pgupgrade.dev/v1alpha1
                kind: PostgresUpgrade
                metadata:
                  name: shop-online
                spec:
                  platform: aptible
                  aptible:
                    tokenSecretRef: {name: aptible, key: token}
                    apps:
                      - {handle: shop-web, configVariable: DATABASE_URL}
                  source: {handle: shop-db, environment: shop-prod}
                  target: {handle: shop-db-next, version: "%s", diskSizeGB: 10}
                  approval: {required: true}
                  schemaCheck: {enabled: false}
                  transfer: {strategy: logical}
                """.formatted(version) + extra;
    }

    private record Run(int exitCode, String output, JsonNode status) {
        JsonNode step(String phase) {
            JsonNode found = null;
            for (JsonNode s : status.path("steps")) {
                if (phase.equals(s.path("phase").asText()) && !s.path("name").asText().contains("-replication-")) {
                    found = s;
                }
            }
            return found;
        }
    }

    @BeforeEach
    void traversable() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Run pgupgrade(FakeAptible aptible, String... extra) throws Exception {
        FakeAptible.Run run = aptible.pgupgradeRun(tmp.resolve("upgrade.yaml"), tmp.resolve("secrets"), 20, Duration.ofMinutes(5), extra);
        Path state = tmp.resolve("upgrade.state.json");
        JsonNode status = Files.exists(state) ? JSON.readTree(state.toFile()).path("status") : JSON.createObjectNode();
        return new Run(run.exitCode(), run.output(), status);
    }

    /** A source with data in two databases (one named to need quoting), a sequence, and an app pointing at it. */
    private FakeAptible.Database source(FakeAptible aptible, String major, String version, String extra) throws Exception {
        aptible.addEnvironment("shop-prod");
        String token = aptible.issueToken();
        FakeAptible.Database source = aptible.createDatabase("shop-db", "shop-prod", major);
        source.execute("db", "create table orders (id bigserial primary key, item text, price numeric(10,2))",
                "insert into orders (item, price) select 'item ' || g, g * 1.5 from generate_series(1, 3000) g",
                "create sequence invoice_no start 1000", "select nextval('invoice_no') from generate_series(1, 5)");
        source.execute("postgres", "create database \"ledger | 'q'\"");
        source.execute("ledger | 'q'", "create table \"Entries\" (k text primary key, v jsonb)",
                "insert into \"Entries\" select 'k' || g, jsonb_build_object('g', g) from generate_series(1, 500) g");
        aptible.addApp("shop-web", "shop-prod", Map.of("web", 2), Map.of("DATABASE_URL", source.url()));
        Files.writeString(tmp.resolve("upgrade.yaml"), manifest(version, extra));
        Files.createDirectories(tmp.resolve("secrets/aptible"));
        Files.writeString(tmp.resolve("secrets/aptible/token"), token);
        return source;
    }

    @Test
    void nativeReplicationWithWritesFlowing13To17() throws Exception {
        onlineUpgrade(PostgresServer.binDir("17").getParent().getParent(), "native", "13", "17");
    }

    /** What Aptible's replica really runs: pglogical, from Debian's postgresql-15-pglogical (15 to 15 proves the path). */
    @Test
    void pglogicalReplicationWithWritesFlowing15To15() throws Exception {
        assertTrue(Files.exists(PGLOGICAL_LIBRARY), "pglogical is not installed (.ci/run installs postgresql-15-pglogical): " + PGLOGICAL_LIBRARY);
        Path pgHome = tmp.resolve("debian-pg");
        Files.createDirectories(pgHome);
        Files.createSymbolicLink(pgHome.resolve("15"), Path.of("/usr/lib/postgresql/15"));
        onlineUpgrade(pgHome, "pglogical", "15", "15");
    }

    private void onlineUpgrade(Path pgHome, String replication, String from, String to) throws Exception {
        try (FakeAptible aptible = FakeAptible.create(tmp.resolve("aptible"), pgHome)) {
            aptible.useLogicalReplication(replication);
            FakeAptible.Database source = source(aptible, from, to, "");
            try (WriteLoad load = new WriteLoad(source::connect, "db", 50).start()) {
                Run gated = pgupgrade(aptible);
                assertEquals(ExitCodes.AWAITING_APPROVAL, gated.exitCode(), gated.output());
                FakeAptible.Database replica = aptible.database("shop-db-next").orElseThrow();
                assertEquals(to, replica.major());
                assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"), "nothing is down before the approval");
                assertEquals(source.url(), aptible.config("shop-web").get("DATABASE_URL"));
                assertTrue(gated.status().path("target").path("replicationSlots").size() == 3, gated.status().toString());
                Thread.sleep(1500);   // the apps keep writing while the upgrade waits

                Run approved = pgupgrade(aptible, "--approve");
                long ended = System.nanoTime();
                assertEquals(ExitCodes.SUCCEEDED, approved.exitCode(), approved.output());
                double blocked = (ended - load.lastAcknowledgedAt()) / 1e9;   // the source's last write to the apps' return
                load.close();
                List<Long> acknowledged = load.acknowledged();
                assertTrue(acknowledged.size() > 20, "the load wrote " + acknowledged.size());

                assertEquals(replica.url(), aptible.config("shop-web").get("DATABASE_URL"), "the app points at the replica");
                assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));
                Set<Long> onReplica = new HashSet<>(longs(replica, "db", "select id from load_events"));
                assertEquals(List.of(), acknowledged.stream().filter(id -> !onReplica.contains(id)).toList(), "acknowledged writes missing");
                assertTrue(longs(replica, "db", "select nextval('load_events_id_seq')").get(0) > acknowledged.get(acknowledged.size() - 1));
                assertEquals(1004, longs(replica, "db", "select last_value from invoice_no").get(0));
                assertEquals(500, longs(replica, "ledger | 'q'", "select count(*) from \"Entries\"").get(0));
                // the replica's rows were compared with the frozen source's inside the cutover
                String cutoverMessage = approved.step("Cutover").path("message").asText();
                assertTrue(cutoverMessage.contains("target matches the source: 3 databases") && !cutoverMessage.contains(" 0 tables"), cutoverMessage);

                assertNothingLeft(source, replica);
                double cutover = approved.step("Cutover").path("durationSeconds").asDouble();
                System.out.printf("aptible logical (%s, %s -> %s): cutover %.1f s (freeze, catch-up, sequences, every row compared);"
                        + " writes blocked %.1f s from the source's last acknowledged write to the apps scaled up on the replica;"
                        + " %d writes acknowledged, 0 lost%n", replication, from, to, cutover, blocked, acknowledged.size());
                for (String secret : List.of(source.password(), replica.password())) {
                    assertFalse(gated.output().contains(secret) || approved.output().contains(secret), "a password in the CLI's output");
                    assertFalse(Files.readString(tmp.resolve("upgrade.state.json")).contains(secret), "a password in the state file");
                }
            }
        }
    }

    /**
     * The cutover cannot finish (the replica stopped applying, so it never confirms the frozen position):
     * the upgrade rolls back to the source, the replica this upgrade created is deprovisioned, and no slot,
     * publication or pglogical node of the replication is left on the source, which takes writes again.
     */
    @Test
    void aRollbackFromTheCutoverLeavesNothingBehind() throws Exception {
        try (FakeAptible aptible = zonkyAptible()) {
            FakeAptible.Database source = source(aptible, "13", "17", "  logical: {catchUpTimeoutSeconds: 5}\n");
            Run gated = pgupgrade(aptible);
            assertEquals(ExitCodes.AWAITING_APPROVAL, gated.exitCode(), gated.output());
            FakeAptible.Database replica = aptible.database("shop-db-next").orElseThrow();
            // the replica stops following: its apply worker ends, its slot on the source goes idle
            for (String db : List.of("db", "ledger | 'q'", "postgres")) {
                replica.execute(db, "do $$ declare s text; begin for s in select subname from pg_subscription"
                        + " where subdbid = (select oid from pg_database where datname = current_database()) loop"
                        + " execute format('alter subscription %I disable', s); end loop; end $$");
            }
            Run approved = pgupgrade(aptible, "--approve");
            assertEquals(ExitCodes.ROLLED_BACK, approved.exitCode(), approved.output());
            assertEquals("Cutover", approved.status().path("failedPhase").asText(), approved.status().toString());
            assertTrue(aptible.database("shop-db-next").isEmpty(), "the replica this upgrade created is deprovisioned");
            assertEquals(source.url(), aptible.config("shop-web").get("DATABASE_URL"));
            assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));
            assertSourceHoldsNothingOfTheReplication(source);
        }
    }

    /**
     * A row the replica holds differently from the source (changed there by hand while the upgrade waited,
     * on a row the source never touches again) is found by the comparison inside the freeze: the cutover
     * names the table, nobody is pointed at the replica, and the upgrade rolls back to the unfrozen source.
     */
    @Test
    void aReplicaThatDiffersFromTheFrozenSourceIsCaughtAndRolledBack() throws Exception {
        try (FakeAptible aptible = zonkyAptible()) {
            FakeAptible.Database source = source(aptible, "13", "17", "");
            Run gated = pgupgrade(aptible);
            assertEquals(ExitCodes.AWAITING_APPROVAL, gated.exitCode(), gated.output());
            FakeAptible.Database replica = aptible.database("shop-db-next").orElseThrow();
            replica.execute("ledger | 'q'", "update \"Entries\" set v = '{\"g\": -7}' where k = 'k7'");

            Run approved = pgupgrade(aptible, "--approve");
            assertEquals(ExitCodes.ROLLED_BACK, approved.exitCode(), approved.output());
            assertEquals("Cutover", approved.status().path("failedPhase").asText());
            String message = approved.step("Cutover").path("message").asText();
            assertTrue(message.contains("differs from the frozen source") && message.contains("Entries"), message);
            assertEquals(source.url(), aptible.config("shop-web").get("DATABASE_URL"), "nobody is pointed at the replica");
            assertTrue(aptible.database("shop-db-next").isEmpty(), "the replica this upgrade created is deprovisioned");
            assertSourceHoldsNothingOfTheReplication(source);
        }
    }

    /**
     * db:replicate made the replica and its replication, but the replica cannot be reached to be checked
     * (its tunnel never comes up): ProvisioningTarget fails, and what the call made goes again, the
     * replica deprovisioned and the slots it left on the source dropped, so the source keeps no WAL for it.
     */
    @Test
    void aReplicaThatCannotBeCheckedIsDeprovisionedWithItsSlots() throws Exception {
        try (FakeAptible aptible = zonkyAptible()) {
            FakeAptible.Database source = source(aptible, "13", "17", "");
            aptible.hangTunnel("shop-db-next");
            Run run = pgupgrade(aptible);
            assertEquals(ExitCodes.FAILED, run.exitCode(), run.output());
            assertEquals("ProvisioningTarget", run.status().path("failedPhase").asText(), run.output());
            assertTrue(aptible.calls().stream().anyMatch(c -> c.startsWith("db:replicate")), "the replica was made");
            assertTrue(aptible.database("shop-db-next").isEmpty(), "and deprovisioned again");
            assertEquals(0, longs(source, "template1", "select count(*) from pg_replication_slots").get(0), "slots left on the source");
            assertEquals(source.url(), aptible.config("shop-web").get("DATABASE_URL"));
        }
    }

    /**
     * The replica deprovisioned by hand while the upgrade waited for approval: the cutover cannot reach
     * it and the upgrade rolls back; the rollback cannot reach it either, and still drops the slots status
     * recorded and leaves the source open and the apps running on it.
     */
    @Test
    void aReplicaGoneBeforeTheCutoverStillRollsBackCleanly() throws Exception {
        try (FakeAptible aptible = zonkyAptible()) {
            FakeAptible.Database source = source(aptible, "13", "17", "");
            Run gated = pgupgrade(aptible);
            assertEquals(ExitCodes.AWAITING_APPROVAL, gated.exitCode(), gated.output());
            ProcessBuilder deprovision = new ProcessBuilder(aptible.binDir().resolve("aptible").toString(), "db:deprovision", "shop-db-next")
                    .redirectErrorStream(true);
            deprovision.environment().putAll(aptible.environment());
            deprovision.environment().put("APTIBLE_ACCESS_TOKEN", Files.readString(tmp.resolve("secrets/aptible/token")).trim());
            Process p = deprovision.start();
            p.getInputStream().readAllBytes();
            assertEquals(0, p.waitFor());
            assertTrue(longs(source, "template1", "select count(*) from pg_replication_slots").get(0) > 0, "the gone replica's slots stay");

            Run approved = pgupgrade(aptible, "--approve");
            assertEquals(ExitCodes.ROLLED_BACK, approved.exitCode(), approved.output());
            assertEquals(source.url(), aptible.config("shop-web").get("DATABASE_URL"));
            assertEquals(Map.of("web", 2), aptible.containerCounts("shop-web"));
            assertSourceHoldsNothingOfTheReplication(source);
        }
    }

    /** A fake Aptible whose servers are the zonky builds (every major; native logical replication). */
    private FakeAptible zonkyAptible() {
        return FakeAptible.create(tmp.resolve("aptible"), PostgresServer.binDir("17").getParent().getParent());
    }

    /** After a rollback: no slot on the source, no publication in any of its databases, all of them open. */
    private static void assertSourceHoldsNothingOfTheReplication(FakeAptible.Database source) throws SQLException {
        assertEquals(0, longs(source, "template1", "select count(*) from pg_replication_slots").get(0), "slots left on the source");
        assertEquals(0, longs(source, "template1", "select count(*) from pg_database where not datallowconn and datname <> 'template0'").get(0),
                "a source database left frozen");
        for (String db : List.of("db", "ledger | 'q'", "postgres")) {
            assertEquals(0, longs(source, db, "select count(*) from pg_publication").get(0), "publications left in " + db);
        }
        source.execute("db", "insert into orders (item) values ('after the rollback')");
    }

    private static void assertNothingLeft(FakeAptible.Database source, FakeAptible.Database replica) throws SQLException {
        assertEquals(0, longs(replica, "postgres", "select count(*) from pg_subscription").get(0), "subscriptions left on the replica");
        assertEquals(0, longs(replica, "db", "select count(*) from pg_extension where extname = 'pglogical'").get(0), "pglogical left on the replica");
        assertEquals(0, longs(source, "template1", "select count(*) from pg_replication_slots").get(0), "slots left on the source");
        // the source stays frozen after a cutover (nothing writes to it by mistake); opened, it holds nothing of the replication
        List<String> frozen = new ArrayList<>();
        try (Connection c = source.connect("template1"); ResultSet rs = c.createStatement()
                .executeQuery("select datname from pg_database where not datallowconn and datname <> 'template0'")) {
            while (rs.next()) {
                frozen.add(rs.getString(1));
            }
        }
        assertTrue(frozen.contains("db"), "the source stays frozen: " + frozen);
        for (String db : frozen) {
            source.execute("template1", "alter database \"" + db.replace("\"", "\"\"") + "\" allow_connections true");
        }
        for (String db : List.of("db", "ledger | 'q'")) {
            assertEquals(0, longs(source, db, "select count(*) from pg_publication").get(0), "publications left in " + db);
            if (longs(source, db, "select count(*) from pg_extension where extname = 'pglogical'").get(0) > 0) {
                assertEquals(0, longs(source, db, "select count(*) from pglogical.local_node").get(0), "a pglogical node left in " + db);
            }
        }
    }

    private static List<Long> longs(FakeAptible.Database server, String db, String sql) throws SQLException {
        List<Long> values = new ArrayList<>();
        try (Connection c = server.connect(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getLong(1));
            }
        }
        return values;
    }
}
