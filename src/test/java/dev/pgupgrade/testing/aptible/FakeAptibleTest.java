package dev.pgupgrade.testing.aptible;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the fake `aptible` through its launcher as a real process, the way step scripts do, and checks it
 * against what aptible-cli's source prints (each expectation names the file it comes from).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FakeAptibleTest {
    private FakeAptible fake;
    private String token;

    record Result(int exit, String out, String err) {
    }

    @BeforeAll
    void setUp() throws Exception {
        Path pgHome = Path.of(System.getProperty("pgupgrade.pgHome", "target/pg")).toAbsolutePath();
        fake = FakeAptible.create(Files.createTempDirectory("fake-aptible-"), pgHome);
        fake.addEnvironment("prod");
        fake.addEnvironment("staging");
        token = fake.issueToken();
        Map<String, Integer> services = new LinkedHashMap<>();
        services.put("web", 2);
        services.put("worker", 1);
        fake.addApp("shop", "prod", services, new LinkedHashMap<>(Map.of("DATABASE_URL", "postgresql://x:y@h:1/db")));
        fake.addApp("admin", "staging", Map.of("web", 1), Map.of());
    }

    @AfterAll
    void tearDown() {
        if (fake != null) {
            fake.close();
        }
    }

    private ProcessBuilder builder(Map<String, String> extraEnv, String... args) {
        List<String> command = new ArrayList<>();
        command.add("aptible");
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("APTIBLE_OUTPUT_FORMAT");
        pb.environment().put("PATH", fake.path());
        pb.environment().putAll(fake.environment());
        pb.environment().put("APTIBLE_ACCESS_TOKEN", token);
        extraEnv.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        // The launcher is found on PATH, as a step script finds it.
        pb.command().set(0, fake.binDir().resolve("aptible").toString());
        return pb;
    }

    private Result run(Map<String, String> extraEnv, String... args) throws Exception {
        Process p = builder(extraEnv, args).start();
        p.getOutputStream().close();
        var err = new java.util.concurrent.CompletableFuture<String>();
        Thread t = new Thread(() -> {
            try {
                err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (Exception e) {
                err.completeExceptionally(e);
            }
        });
        t.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "aptible " + String.join(" ", args) + " did not finish");
        return new Result(p.exitValue(), out, err.get());
    }

    private Result aptible(String... args) throws Exception {
        return run(Map.of(), args);
    }

    private Result aptibleJson(String... args) throws Exception {
        return run(Map.of("APTIBLE_OUTPUT_FORMAT", "json"), args);
    }

    private static JsonNode json(String s) throws Exception {
        return FakeAptibleState.JSON.readTree(s);
    }

    @Test
    void dbVersionsListsPostgresImages() throws Exception {
        // subcommands/db.rb db:versions: grouped_keyed_list('type', 'version'); renderer/text.rb prints
        // "=== TYPE" then one version per line.
        Result text = aptible("db:versions");
        assertEquals(0, text.exit(), text.err());
        assertEquals("=== postgresql\n11\n12\n13\n14\n15\n16\n17\n18\n", text.out());
        // JSON: one object per image with type, version, default, description, docker_repo (db.rb).
        Result json = aptibleJson("db:versions");
        JsonNode first = json(json.out()).get(0);
        assertEquals(List.of("type", "version", "default", "description", "docker_repo"), fieldNames(first));
        assertEquals("postgresql", first.get("type").asText());
        assertTrue(json.out().startsWith("[\n  {\n    \"type\": \"postgresql\",\n    \"version\": \"11\",\n"), json.out());
    }

    @Test
    void appsTextAndJson() throws Exception {
        // subcommands/apps.rb apps: grouped_keyed_list({'environment' => 'handle'}, 'handle'); groups sorted.
        Result text = aptible("apps");
        assertEquals(0, text.exit(), text.err());
        assertEquals("=== prod\nshop\n\n=== staging\nadmin\n", text.out());
        assertEquals("=== staging\nadmin\n", aptible("apps", "--environment", "staging").out());
        // resource_formatter.rb inject_app / inject_service / attach_account.
        JsonNode apps = json(aptibleJson("apps", "--env", "prod").out());
        JsonNode shop = apps.get(0);
        assertEquals(List.of("id", "handle", "created_at", "status", "git_remote", "services", "environment"), fieldNames(shop));
        assertEquals(List.of("id", "service", "created_at", "command", "container_count", "container_size", "container_profile"),
                fieldNames(shop.get("services").get(0)));
        assertEquals("web", shop.get("services").get(0).get("service").asText());
        assertEquals(2, shop.get("services").get(0).get("container_count").asInt());
        assertEquals(List.of("id", "handle", "created_at"), fieldNames(shop.get("environment")));
        assertTrue(shop.get("created_at").asText().matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC"));
        // helpers/environment.rb scoped_environments
        Result missing = aptible("apps", "--environment", "nope");
        assertEquals(1, missing.exit());
        assertEquals("Specified account does not exist\n", missing.err());
    }

    @Test
    void scaleAndConfigChangeState() throws Exception {
        Result scale = aptible("apps:scale", "--app", "shop", "web", "--container-count", "0");
        assertEquals(0, scale.exit(), scale.err());
        assertEquals(0, fake.containerCounts("shop").get("web"));
        assertEquals(1, fake.containerCounts("shop").get("worker"));
        // helpers/app.rb ensure_service
        Result noService = aptible("apps:scale", "--app", "shop", "cron", "--container-count", "1");
        assertEquals(1, noService.exit());
        assertEquals("Service with type cron does not exist for app shop. Valid types: web, worker.\n", noService.err());
        // subcommands/apps.rb apps:scale
        Result nothing = aptible("apps:scale", "--app", "shop", "web");
        assertEquals("Provide at least --container-count, --container-size, or --container-profile\n", nothing.err());
        // Thor numeric option parsing
        Result notNumber = aptible("apps:scale", "--app", "shop", "web", "--container-count", "lots");
        assertEquals("Expected numeric value for '--container-count'; got \"lots\"\n", notNumber.err());
        // helpers/app.rb ensure_app
        assertEquals("Could not find app nope in any environment (options provided via CLI arguments)\n",
                aptible("config", "--app", "nope").err());

        Result set = aptible("config:set", "--app", "shop", "DATABASE_URL=postgresql://aptible:aptpwSECRET@h:5/db", "MODE=a b");
        assertEquals(0, set.exit(), set.err());
        // subcommands/config.rb config:add logs this on stderr
        assertTrue(set.err().contains("Updating configuration and restarting app..."), set.err());
        assertEquals("postgresql://aptible:aptpwSECRET@h:5/db", fake.config("shop").get("DATABASE_URL"));
        // subcommands/config.rb config: keyed_list('shell_export'), values Shellwords-escaped
        assertEquals("DATABASE_URL=postgresql://aptible:aptpwSECRET@h:5/db\nMODE=a\\ b\n",
                aptible("config", "--app", "shop").out());
        JsonNode conf = json(aptibleJson("config", "--app", "shop").out());
        assertEquals(List.of("key", "value", "shell_export"), fieldNames(conf.get(1)));
        assertEquals("a b", conf.get(1).get("value").asText());
        assertEquals(0, aptible("config:unset", "--app", "shop", "MODE").exit());
        assertFalse(fake.config("shop").containsKey("MODE"));
        // calls.log: the secret value never appears
        assertTrue(fake.calls().contains("config:set --app shop DATABASE_URL=<redacted> MODE=<redacted>"), fake.calls().toString());
        assertTrue(fake.calls().stream().noneMatch(c -> c.contains("SECRET")));
        // helpers/app.rb extract_env
        assertEquals("Invalid argument: NOVALUE\n", aptible("config:set", "--app", "shop", "NOVALUE").err());
    }

    @Test
    void authFailuresLikeTheRealCli() throws Exception {
        // helpers/token.rb fetch_token
        Result none = run(Map.of("APTIBLE_ACCESS_TOKEN", ""), "apps");
        assertEquals(1, none.exit());
        Map<String, String> unset = new LinkedHashMap<>();
        unset.put("APTIBLE_ACCESS_TOKEN", null);
        Result missing = run(unset, "db:list");
        assertEquals(1, missing.exit());
        assertEquals("Could not read token: please run aptible login or set APTIBLE_ACCESS_TOKEN\n", missing.err());
        // bin/aptible: a 401 invalid_token from the API
        String revoked = fake.issueToken();
        fake.revokeToken(revoked);
        Result bad = run(Map.of("APTIBLE_ACCESS_TOKEN", revoked), "db:list");
        assertEquals(1, bad.exit());
        assertEquals("API authentication error: please run aptible login\n", bad.err());
        // helpers/telemetry.rb decodes the token as a JWT first: a non-JWT crashes with JWT::DecodeError
        Result garbage = run(Map.of("APTIBLE_ACCESS_TOKEN", "not-a-jwt"), "db:list");
        assertEquals(1, garbage.exit());
        assertTrue(garbage.err().contains("(JWT::DecodeError)"), garbage.err());
    }

    @Test
    void unknownThingsFailLikeTheRealCli() throws Exception {
        // Thor: UndefinedCommandError
        Result unknown = aptible("db:frobnicate");
        assertEquals(1, unknown.exit());
        assertEquals("Could not find command \"db:frobnicate\".\n", unknown.err());
        // Thor: handle_argument_error
        Result noArgs = aptible("db:url");
        assertEquals(1, noArgs.exit());
        assertEquals("ERROR: \"aptible db:url\" was called with no arguments\nUsage: \"aptible db:url HANDLE\"\n", noArgs.err());
        // helpers/database.rb ensure_database
        Result db = aptible("db:url", "nope");
        assertEquals(1, db.exit());
        assertEquals("Could not find database nope\n", db.err());
        assertEquals("Could not find environment nope\n", aptible("db:url", "x", "--environment", "nope").err());
        // helpers/database.rb find_database_image
        Result version = aptible("db:create", "new", "--type", "postgresql", "--version", "9.6", "--environment", "prod");
        assertEquals(1, version.exit());
        assertEquals("No Database Image of type postgresql with version 9.6, valid versions: 11 12 13 14 15 16 17 18\n",
                version.err());
        // subcommands/db.rb db:create
        assertEquals("--type is required when passing --version\n",
                aptible("db:create", "new", "--version", "16", "--environment", "prod").err());
        // helpers/environment.rb ensure_default_environment
        assertEquals("Multiple environments available, please specify with --environment or --env\n",
                aptible("db:create", "new", "--type", "postgresql", "--version", "16").err());
        // subcommands/backup.rb
        assertEquals("Backup #424242 not found\n", aptible("backup:purge", "424242").err());
        assertEquals("Invalid age: soon\n", aptible("backup:orphaned", "--max-age", "soon").err());
    }

    @Test
    void injectedFaults() throws Exception {
        fake.failNext("db:list", 2, 3, "Aptible is having a bad day");
        for (int i = 0; i < 2; i++) {
            Result r = aptible("db:list");
            assertEquals(3, r.exit());
            assertEquals("Aptible is having a bad day\n", r.err());
            assertEquals("", r.out());
        }
        assertEquals(0, aptible("db:list").exit());
    }

    @Test
    void createUrlTunnelDeprovisionAndBackups() throws Exception {
        // db:create starts a real server; text output is render_database's keyed object: the URL.
        Result created = aptible("db:create", "orders", "--type", "postgresql", "--version", "14", "--environment", "prod",
                "--disk-size", "20", "--container-size", "2048");
        assertEquals(0, created.exit(), created.err());
        String[] lines = created.out().split("\n");
        String url = lines[lines.length - 1];
        assertTrue(url.matches("postgresql://aptible:aptpw[A-Za-z0-9]{20}@127\\.0\\.0\\.1:\\d+/db"), created.out());
        // subcommands/db.rb db:url: keyed_object('connection_url') -> the URL alone; JSON {"connection_url": ...}
        assertEquals(url + "\n", aptible("db:url", "orders").out());
        assertEquals("{\n  \"connection_url\": \"" + url + "\"\n}\n", aptibleJson("db:url", "orders").out());
        try (Connection c = connectUrl(url); ResultSet rs = c.createStatement().executeQuery("select current_user, current_database()")) {
            rs.next();
            assertEquals("aptible", rs.getString(1));
            assertEquals("db", rs.getString(2));
        }
        assertEquals("Handle has already been taken",
                aptible("db:create", "orders", "--type", "postgresql", "--version", "14", "--environment", "prod").err()
                        .replace("An error occurred: ", "").strip());

        // db:list: text grouped by environment (inject_database_minimal); JSON inject_database.
        assertTrue(aptible("db:list").out().contains("=== prod\n"));
        JsonNode dbs = json(aptibleJson("db:list", "--environment", "prod").out());
        JsonNode orders = dbs.get(0);
        assertEquals(List.of("id", "handle", "created_at", "type", "version", "status", "connection_url", "credentials",
                "environment", "disk_type", "disk_size", "disk_modification_progress", "disk_modification_status",
                "disk_provisioned_iops", "container_size", "container_profile"), fieldNames(orders));
        assertEquals("14", orders.get("version").asText());
        assertEquals(20, orders.get("disk_size").asInt());
        assertEquals(2048, orders.get("container_size").asInt());
        assertEquals(List.of("type", "connection_url", "default"), fieldNames(orders.get("credentials").get(0)));

        fake.database("orders").orElseThrow().execute("db", "create table t(x int)", "insert into t values (1), (2)");
        tunnel(url);

        // A manual backup, then more data: the restore holds the data of the moment of the backup.
        String backupId = fake.createBackup("orders");
        fake.database("orders").orElseThrow().execute("db", "insert into t values (3)");
        // subcommands/backup.rb backup:list: keyed_list('description'); inject_backup's description
        Result list = aptible("backup:list", "orders");
        assertTrue(list.out().matches(backupId + ": \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC, us-east-1, manual, "
                + "fake-user@example.com\n"), list.out());
        JsonNode backups = json(aptibleJson("backup:list", "orders").out());
        assertEquals(List.of("id", "description", "created_at", "region", "size", "manual", "created_from_operation"),
                fieldNames(backups.get(0)));

        Result restored = aptible("backup:restore", backupId, "--handle", "orders-restored", "--environment", "prod");
        assertEquals(0, restored.exit(), restored.out() + restored.err());
        assertTrue(restored.err().contains("Restoring backup into orders-restored"), restored.err());
        String restoredUrl = aptible("db:url", "orders-restored").out().strip();
        assertFalse(restoredUrl.equals(url));
        try (Connection c = connectUrl(restoredUrl); ResultSet rs = c.createStatement().executeQuery("select count(*) from t")) {
            rs.next();
            assertEquals(2, rs.getInt(1));
        }

        // db:deprovision keeps a final backup that backup:orphaned lists (with the database, include_db: true)
        Result gone = aptible("db:deprovision", "orders");
        assertEquals(0, gone.exit(), gone.err());
        assertEquals("Deprovisioning orders...\n", gone.err());
        assertEquals("Could not find database orders\n", aptible("db:url", "orders").err());
        List<String> orphaned = fake.orphanedBackups();
        assertEquals(2, orphaned.size());
        Result orphanText = aptible("backup:orphaned");
        assertTrue(orphanText.out().contains(", orders deleted at "), orphanText.out());
        JsonNode orphanJson = json(aptibleJson("backup:orphaned", "--environment", "prod").out());
        assertEquals(List.of("database", "id", "description", "created_at", "region", "size", "manual", "created_from_operation"),
                fieldNames(orphanJson.get(0)));
        assertEquals(List.of("id", "handle", "type", "deleted_at", "environment"), fieldNames(orphanJson.get(0).get("database")));
        for (String id : orphaned) {
            Result purge = aptible("backup:purge", id);
            assertEquals(0, purge.exit(), purge.err());
            assertEquals("Purging backup " + id + "\n", purge.err());
        }
        assertTrue(fake.orphanedBackups().isEmpty());
        assertEquals("\n", aptible("backup:orphaned").out());
        assertEquals("[\n\n]\n", aptibleJson("backup:orphaned").out());
    }

    /** db:tunnel: the lines of subcommands/db.rb, on stderr; forwards; stops on SIGTERM and on SIGINT. */
    private void tunnel(String url) throws Exception {
        Process p = builder(Map.of(), "db:tunnel", "orders").start();
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        String line;
        while ((line = err.readLine()) != null) {
            lines.add(line);
            if (line.startsWith("Connected.")) {
                break;
            }
        }
        Matcher m = Pattern.compile("Connect at postgresql://aptible:(aptpw\\w+)@localhost\\.aptible\\.in:(\\d+)/db").matcher(lines.get(3));
        assertTrue(m.matches(), lines.toString());
        String password = m.group(1);
        int port = Integer.parseInt(m.group(2));
        assertEquals(List.of("Creating postgresql tunnel to orders...", "Use --type TYPE to specify a tunnel type",
                "Valid types for orders: postgresql", lines.get(3), "Or, use the following arguments:",
                "* Host: localhost.aptible.in", "* Port: " + port, "* Username: aptible", "* Password: " + password,
                "* Database: db", "Connected. Ctrl-C to close connection."), lines);
        assertTrue(url.contains(password));
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/db", "aptible", password);
                ResultSet rs = c.createStatement().executeQuery("select version()")) {
            rs.next();
            assertTrue(rs.getString(1).startsWith("PostgreSQL 14"), rs.getString(1));
        }
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(143, p.exitValue());

        // Ctrl-C: helpers/database.rb rescues Interrupt, logs "Closing tunnel" and the command ends normally.
        Process q = builder(Map.of(), "db:tunnel", "orders").start();
        BufferedReader qErr = new BufferedReader(new InputStreamReader(q.getErrorStream(), StandardCharsets.UTF_8));
        while ((line = qErr.readLine()) != null && !line.startsWith("Connected.")) {
            // wait until it is up
        }
        new ProcessBuilder("kill", "-INT", Long.toString(q.pid())).start().waitFor();
        assertTrue(q.waitFor(10, TimeUnit.SECONDS));
        assertEquals("Closing tunnel", qErr.readLine());
        assertEquals(0, q.exitValue());

        // A hung tunnel announces itself and never listens.
        fake.hangTunnel("orders");
        Process hung = builder(Map.of(), "db:tunnel", "orders", "--port", "1").start();
        BufferedReader hungErr = new BufferedReader(new InputStreamReader(hung.getErrorStream(), StandardCharsets.UTF_8));
        assertEquals("Creating postgresql tunnel to orders...", hungErr.readLine());
        assertFalse(hung.waitFor(1, TimeUnit.SECONDS));
        hung.destroyForcibly().waitFor();
        fake.clearFaults();
    }

    private static Connection connectUrl(String url) throws Exception {
        Matcher m = Pattern.compile("postgresql://(\\w+):(\\w+)@([\\d.]+):(\\d+)/(\\w+)").matcher(url);
        assertTrue(m.matches(), url);
        return DriverManager.getConnection("jdbc:postgresql://" + m.group(3) + ":" + m.group(4) + "/" + m.group(5), m.group(1),
                m.group(2));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
