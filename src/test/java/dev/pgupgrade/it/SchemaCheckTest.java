package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.cli.ExitCodes;
import dev.pgupgrade.testing.HostileNames;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SchemaCheck before any downtime: what the new major refuses is named by object (not by a line of a
 * scratch file that is gone afterwards), what a dump cannot carry at all is found and named, and the
 * throwaway server it starts never sees the source's password.
 */
class SchemaCheckTest {
    @TempDir
    Path tmp;

    @Test
    void anObjectTheNewMajorRefusesIsNamedWithItsDatabase() throws Exception {
        try (PostgresServer source = PostgresServer.start("13"); PostgresServer target = PostgresServer.start("17")) {
            source.execute("postgres", "create database " + HostileNames.ident("shop|db"));
            // Postfix operators exist up to 13 and are gone since 14.
            source.execute("shop|db", "create schema " + HostileNames.ident("my|schema"),
                    "create function fact(bigint) returns numeric language sql immutable as 'select 1::numeric'",
                    "create operator " + HostileNames.ident("my|schema") + ".!!! (leftarg = bigint, procedure = fact)");
            UpgradeWorkspace.Result run = workspace(source, target, "").run("17");

            assertEquals(ExitCodes.FAILED, run.exitCode(), run::toString);
            JsonNode check = DirectUpgradeTest.step(run.resource().path("status"), "SchemaCheck");
            String first = check.path("errors").get(0).asText();
            assertTrue(first.startsWith("OPERATOR my|schema.!!! in database shop|db: ERROR:  "), first);
            assertFalse(first.startsWith("line "), first);
            assertTrue(check.path("message").asText().contains("first: OPERATOR my|schema.!!!"), check::toString);
        }
    }

    /**
     * pg_dump skips objects made in pg_catalog and members added to a built-in operator family: the
     * target would silently lack them. SchemaCheck names them and stops, or with onUncarried: warn,
     * names them and goes on.
     */
    @Test
    void whatADumpCannotCarryIsNamedBeforeAnyDowntime() throws Exception {
        try (PostgresServer source = PostgresServer.start("14"); PostgresServer target = PostgresServer.start("17")) {
            source.execute("postgres", "create database inventory");
            source.execute("inventory",
                    "create table items (id int primary key)",
                    "create function pg_catalog.shout(text) returns text language sql as 'select upper($1)'",
                    "create function public.lt_int4_numeric(int4, numeric) returns bool language sql immutable as 'select $1 < $2'",
                    "create operator public.<<< (leftarg = int4, rightarg = numeric, procedure = public.lt_int4_numeric)",
                    "alter operator family integer_ops using btree add operator 1 public.<<< (int4, numeric)");
            UpgradeWorkspace.Result refused = workspace(source, target, "").run("17");

            assertEquals(ExitCodes.FAILED, refused.exitCode(), refused::toString);
            JsonNode status = refused.resource().path("status");
            assertEquals("SchemaCheck", status.path("failedPhase").asText());
            String message = status.path("message").asText();
            assertTrue(message.contains("2 objects a dump and restore cannot carry"), message);
            assertTrue(message.contains("database \"inventory\": function shout(text) in schema pg_catalog (in a system schema)"), message);
            assertTrue(message.contains("operator 1 (integer, numeric) of operator family integer_ops for access method btree: public.<<<(integer,numeric)"
                    + " (added to a built-in operator family)"), message);
            assertTrue(message.contains("spec.schemaCheck.onUncarried: warn"), message);
            assertEquals(0, target.queryInt("postgres", "select count(*) from pg_database where datname = 'inventory'"), "nothing was restored");

            UpgradeWorkspace.Result warned = new UpgradeWorkspace(tmp.resolve("warned"))
                    .secret("source-db", "url", source.url("postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("uncarried", "17", "  schemaCheck: {onUncarried: warn}\n  analyze: {enabled: false}\n").run("17");
            assertEquals(0, warned.exitCode(), warned::toString);
            JsonNode check = DirectUpgradeTest.step(warned.resource().path("status"), "SchemaCheck");
            assertTrue(check.path("message").asText().startsWith("WARNING: 2 objects a dump and restore cannot carry"), check::toString);
            assertEquals(2, check.path("errors").size(), check::toString);
        }
    }

    /**
     * Any process of the server's user can read /proc/PID/environ of the others: the throwaway server
     * SchemaCheck starts must not inherit the step's environment, which holds the source's password.
     * Wrappers around initdb, pg_ctl and postgres record the environment each was started with.
     */
    @Test
    void theThrowawayServerNeverSeesTheSourcePassword() throws Exception {
        try (PostgresServer source = PostgresServer.start("14"); PostgresServer target = PostgresServer.start("17")) {
            Path real = PostgresServer.binDir("17");
            Path wrappers = Files.createDirectories(tmp.resolve("bin"));
            Path seen = Files.createDirectories(tmp.resolve("seen"));
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(wrappers, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(seen, PosixFilePermissions.fromString("rwxrwxrwx"));
            for (String tool : List.of("initdb", "pg_ctl", "postgres")) {
                Path wrapper = wrappers.resolve(tool);
                // pg_ctl and initdb find postgres beside themselves, so every tool is wrapped and execs the real one
                Files.writeString(wrapper, "#!/bin/bash\nenv > " + seen + "/" + tool + ".$$ 2>/dev/null\nexec " + real.resolve(tool) + " \"$@\"\n");
                Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            UpgradeWorkspace.Result run = workspace(source, target, "  analyze: {enabled: false}\n  verification: {mode: counts}\n")
                    .runWithArguments("--pg-bin", "17=" + wrappers);

            assertEquals(0, run.exitCode(), run::toString);
            List<Path> environments;
            try (var files = Files.list(seen)) {
                environments = files.toList();
            }
            for (String tool : List.of("initdb.", "pg_ctl.", "postgres.")) {
                assertTrue(environments.stream().anyMatch(p -> p.getFileName().toString().startsWith(tool)), tool + " not seen: " + environments);
            }
            for (Path environment : environments) {
                String text = Files.readString(environment);
                assertFalse(text.contains(source.password()), environment + " holds the source's password");
                assertFalse(text.contains("PGPASSWORD") || text.contains("SOURCE_URL") || text.contains("TARGET_URL"), environment + ":\n" + text);
            }
        }
    }

    private UpgradeWorkspace workspace(PostgresServer source, PostgresServer target, String extraSpec) {
        return new UpgradeWorkspace(tmp)
                .secret("source-db", "url", source.url("postgres"))
                .secret("target-db", "url", target.url("postgres"))
                .directManifest("schema-check", "17", extraSpec);
    }
}
