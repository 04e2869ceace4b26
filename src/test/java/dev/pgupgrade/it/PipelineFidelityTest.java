package dev.pgupgrade.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgupgrade.testing.PostgresServer;
import dev.pgupgrade.testing.UpgradeWorkspace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline strategy moves rows with its own COPY sessions instead of pg_dump's, so it must pin
 * what pg_dump pins: a text row printed under the source session's defaults must mean the same row
 * when the target session parses it, and binary rows must be bit-for-bit the source's values.
 *
 * The source is PostgreSQL 11 (floats print 15 digits unless asked for more) and its connection role
 * has its own DateStyle, IntervalStyle, client_encoding and statement_timeout, none of which the
 * target's connection role shares: each of these, left to the session defaults, loses or changes
 * data silently or fails the copy.
 */
class PipelineFidelityTest {
    @TempDir
    Path tmp;

    @Test
    void pipelineCopiesValuesExactlyWhateverTheSessionDefaults() throws Exception {
        try (PostgresServer source = PostgresServer.start("11"); PostgresServer target = PostgresServer.start("17")) {
            source.execute("postgres",
                    "create role app login superuser password 'app-secret'",
                    "alter role app set DateStyle = 'SQL, DMY'",
                    "alter role app set IntervalStyle = 'sql_standard'",
                    "alter role app set client_encoding = 'LATIN1'",
                    "alter role app set extra_float_digits = 0",
                    // what managed servers often set: a copy of a big table takes longer than this
                    "alter role app set statement_timeout = '300ms'",
                    "create database shop owner app encoding 'UTF8' template template0");
            source.execute("shop",
                    // every column of a type with a stable binary form: copied in binary (over a MiB: streamed)
                    """
                    create table readings(id int primary key, v float8, r real, d date, i interval, ts timestamp,
                      tz timestamptz, n numeric(20, 10), t text, b bytea, j jsonb, a float8[], u uuid)""",
                    """
                    insert into readings select g, g / 3.0, g / 7.0, date '2024-03-04' + g % 9, interval '1 year 2 mons 3 days 04:05:06.5' * g,
                      timestamp '2024-01-02 03:04:05.123456' + g * interval '1 day', timestamptz '2024-05-06 07:08:09+02' + g * interval '1 hour',
                      g / 13.0, 'Ωmega ' || g, decode(md5(g::text), 'hex'), jsonb_build_object('x', g / 3.0), array[g / 3.0, 1e-300 * g],
                      md5(g::text)::uuid
                    from generate_series(1, 6000) g""",
                    // a point column: not on the binary list, so this table is copied as text (over a MiB: streamed)
                    "create table bulk as select g as id, md5(g::text) as tag from generate_series(1, 1500000) g",
                    "create table places(id int primary key, p point, v float8, d date, i interval, t text)",
                    """
                    insert into places select g, point(g / 3.0, g), g / 11.0, date '2024-02-01' + g % 11, interval '5 days 01:02:03' * g, 'Ωmega ' || g
                    from generate_series(1, 15000) g""",
                    // under a MiB: its rows go through pg_dump's archive, which pins its own session settings
                    "create table tiny as select g as id, g / 3.0::float8 as v, date '2024-03-04' + g as d from generate_series(1, 10) g");
            String readings = "select id, encode(float8send(v), 'hex'), encode(float4send(r), 'hex'), d::text, i::text, ts::text, tz::text, n::text, t,"
                    + " encode(b, 'hex'), j::text, (select string_agg(encode(float8send(x), 'hex'), ',') from unnest(a) x), u::text from readings order by id";
            String places = "select id, encode(float8send(p[0]), 'hex'), encode(float8send(p[1]), 'hex'), encode(float8send(v), 'hex'), d::text, i::text, t"
                    + " from places order by id";
            List<String> sourceReadings = rows(source, readings);
            List<String> sourcePlaces = rows(source, places);

            UpgradeWorkspace ws = new UpgradeWorkspace(tmp)
                    .secret("source-db", "url", source.url("app", "app-secret", "postgres"))
                    .secret("target-db", "url", target.url("postgres"))
                    .directManifest("fidelity", "17", "  transfer: {strategy: pipeline}\n");
            UpgradeWorkspace.Result run = ws.run("17");

            assertEquals(0, run.exitCode(), run::toString);
            JsonNode status = run.resource().path("status");
            assertEquals("Succeeded", status.path("phase").asText(), run::toString);
            assertEquals(6000, sourceReadings.size());
            assertEquals(sourceReadings, rows(target, readings), "readings (binary COPY) differ");
            assertEquals(sourcePlaces, rows(target, places), "places (text COPY) differ");
            assertTrue(sourceReadings.get(0).contains("Ωmega"), sourceReadings.get(0));
            // each table took the path its column types allow
            String log = Files.readString(ws.workDir().resolve("steps/restoring-1.log"));
            assertTrue(log.contains("copying \"public\".\"readings\" (binary)"), log);
            assertTrue(log.contains("copying \"public\".\"places\" (text)"), log);
            assertFalse(log.contains("\"tiny\""), log);
            String tiny = "select id, encode(float8send(v), 'hex'), d::text from tiny order by id";
            assertEquals(rows(source, tiny), rows(target, tiny), "tiny (restored from the archive) differs");
            assertEquals(rows(source, "select count(*), sum(id), md5(string_agg(tag, ',' order by id)) from bulk"),
                    rows(target, "select count(*), sum(id), md5(string_agg(tag, ',' order by id)) from bulk"), "bulk differs");
        }
    }

    /** Every row as one line, in forms that do not depend on either server's defaults. */
    private static List<String> rows(PostgresServer server, String sql) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Connection c = server.connect("shop"); var s = c.createStatement()) {
            s.execute("set DateStyle = 'ISO, YMD'");
            s.execute("set IntervalStyle = 'postgres'");
            s.execute("set TimeZone = 'UTC'");
            try (ResultSet rs = s.executeQuery(sql)) {
                int columns = rs.getMetaData().getColumnCount();
                while (rs.next()) {
                    StringBuilder row = new StringBuilder();
                    for (int i = 1; i <= columns; i++) {
                        row.append(rs.getString(i)).append('|');
                    }
                    rows.add(row.toString());
                }
            }
        }
        return rows;
    }
}
