package dev.pgupgrade.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A source cluster whose every name is hostile: databases, schemas, tables, columns, roles and
 * sequences named with quotes, '|', '/', '\', '&', tabs and newlines (where PostgreSQL's own tools
 * allow them), $(...) and backticks that would run a command if a shell ever read them, a sed
 * program that would run one through sed's e flag, connection strings and URIs that a client tool
 * would follow, 63-byte names, names differing only in case, non-ASCII. Plus the column orders a
 * restore legitimately changes (an inheritance child after its parent gained a column, a dropped
 * column) with values that would land in the wrong column if rows were copied by position.
 *
 * <p>Every command the names could run creates a file under {@link #marker()}'s directory: a test
 * asserts it stays empty.
 */
public final class HostileNames {
    /** Where a command run through a name would leave its trace. */
    private final Path markers;
    private final List<String> databases = new ArrayList<>();
    /** database -> tables (quoted, schema-qualified) that hold rows, each with an integer primary key "id" */
    private final java.util.Map<String, List<String>> tables = new java.util.LinkedHashMap<>();

    private HostileNames(Path markers) {
        this.markers = markers;
    }

    public static HostileNames create(PostgresServer server) throws Exception {
        Path markers = Files.createTempDirectory("pgupgrade-pwned-");
        HostileNames names = new HostileNames(markers);
        names.build(server);
        return names;
    }

    /** A path a command hidden in a name would create (tests check nothing was created). */
    private String marker(String what) {
        return markers.resolve(what).toString();
    }

    /** Files created by commands smuggled in names; empty when nothing ran. */
    public List<Path> executed() throws java.io.IOException {
        try (var files = Files.list(markers)) {
            return files.toList();
        }
    }

    /** Removes the markers' directory (and whatever a command smuggled in a name left there). */
    public void close() throws java.io.IOException {
        try (var files = Files.walk(markers)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    public List<String> databases() {
        return databases;
    }

    /** Each database's tables with rows, quoted and schema-qualified, every one with an integer primary key "id". */
    public java.util.Map<String, List<String>> tables() {
        return tables;
    }

    private void build(PostgresServer server) throws SQLException {
        String m = markers.toString();
        String sixtyThree = "d".repeat(20) + "|" + "x".repeat(42);  // 63 bytes
        databases.addAll(List.of(
                "we'ird\"db", "pipe|db", "slash/db", "back\\slash", "amp&db", "semi;colon per%cent",
                "$(touch " + marker("db-dollar") + ")", "`touch " + marker("db-backtick") + "`",
                // sed's e flag runs its pattern space: the reviewer's command through verify.sh's sed
                "touch " + m.replace("/", "\\/") + "\\/db-sed #/e;#",
                // a client tool reading these as connection strings would connect elsewhere
                "host=/nonexistent dbname=postgres", "postgresql://nobody@127.0.0.1:1/x",
                "-d", "  spaced  ", "Shop", "shop", "données ünïcödé", sixtyThree));
        server.execute("postgres",
                role("role'q\"uote"), role("role|pipe"), role("role\nnew\tline"), role("$(touch " + marker("role") + ")"),
                role("Owner"), role("owner"),
                "grant " + ident("role|pipe") + " to " + ident("role\nnew\tline"),
                "alter role " + ident("role'q\"uote") + " set search_path = 'x|y'",
                "alter role " + ident("role\nnew\tline") + " set work_mem = '7MB'");
        for (String db : databases) {
            server.execute("postgres", "create database " + ident(db) + " owner " + ident("role'q\"uote"));
            server.execute(db,
                    "create table plain (id int primary key, v text)",
                    // over a MiB: the pipeline streams it, so every hostile database name reaches its own sessions and files
                    "insert into plain select g, 'row ' || g || repeat('p', 100) from generate_series(1, 10000) g");
            tables.computeIfAbsent(db, d -> new ArrayList<>()).add("public.plain");
        }
        String nasty = databases.get(0);
        List<String> schemas = List.of("s|x", "new\nline", "tab\tbed", "quo'te\"d", "back\\slash", "$(touch " + marker("schema") + ")",
                "`touch " + marker("schema-bt") + "`", "Mixed", "mixed", "ünï");
        List<String> tableNames = List.of("t|y", "ta\nble", "ta\tb", "qu'o\"te", "ba\\ck", "$(touch " + marker("table") + ")",
                "`touch " + marker("table-bt") + "`", "amp&er", "sl/ash", "T", "t", "y".repeat(63), "tä");
        List<String> statements = new ArrayList<>();
        for (int i = 0; i < schemas.size(); i++) {
            String schema = ident(schemas.get(i));
            String table = ident(tableNames.get(i % tableNames.size()));
            String column = ident("co|l\nu\"mn" + i);
            String sequence = ident("se|q\n" + i);
            statements.add("create schema " + schema + " authorization " + ident("role|pipe"));
            statements.add("create sequence " + schema + "." + sequence);
            statements.add("create table " + schema + "." + table + " (id int primary key, " + column + " text, t int, "
                    + ident("row") + " int default nextval('" + (schema + "." + sequence).replace("'", "''") + "'))");
            // over a MiB: the pipeline streams it with its own COPY sessions (a smaller table goes through pg_dump's archive)
            statements.add("insert into " + schema + "." + table + " (id, " + column + ", t) select g, 'v' || g || E'|\\n\\t' || repeat('p', 120), g * 7"
                    + " from generate_series(1, 9000) g");
            tables.get(nasty).add(schema + "." + table);
        }
        // every hostile table name in one schema too
        for (String name : tableNames) {
            statements.add("create table public." + ident(name) + " (id int primary key, " + ident(name) + " text)");
            statements.add("insert into public." + ident(name) + " select g, md5(g::text) || repeat('m', 60) from generate_series(1, 14000) g");
            tables.get(nasty).add("public." + ident(name));
        }
        // column orders a restore changes: by position, c and z would be swapped (same type), b and w not loadable;
        // both tables over a MiB, so that the pipeline's own COPY sessions, which name the columns, carry them
        statements.add("create table public.parent (id int primary key, a int, b text)");
        statements.add("create table public.child (c int) inherits (public.parent)");
        statements.add("alter table public.parent add column z int");
        statements.add("insert into public.child (id, a, b, c, z) select g, g, 'b' || g || repeat('q', 60), g * 1000, -g from generate_series(1, 12000) g");
        statements.add("alter table public.child add primary key (id)");
        tables.get(nasty).add("public.child");
        statements.add("create table public.dropped (id int primary key, gone text, w int, x text)");
        statements.add("alter table public.dropped drop column gone");
        statements.add("insert into public.dropped select g, g * 3, 'x' || g || repeat('r', 80) from generate_series(1, 12000) g");
        tables.get(nasty).add("public.dropped");
        // foreign keys partitions inherit from their partitioned parent: the restore names its own clones
        statements.add("create table public.customers (id int primary key)");
        statements.add("insert into public.customers select generate_series(1, 10)");
        statements.add("create table public.orders (id int, customer int references public.customers, primary key (id, customer)) partition by hash (id)");
        statements.add("create table public.orders_0 partition of public.orders for values with (modulus 2, remainder 0)");
        statements.add("create table public.orders_1 partition of public.orders for values with (modulus 2, remainder 1)");
        statements.add("alter table public.orders_1 rename to " + ident("orders|1"));
        statements.add("insert into public.orders select g, 1 + g % 10 from generate_series(1, 100) g");
        server.execute(nasty, statements.toArray(String[]::new));
    }

    private static String role(String name) {
        return "create role " + ident(name) + " login password 'pw-" + UUID.randomUUID().toString().substring(0, 8) + "'";
    }

    /** A SQL identifier for any name: double-quoted, inner quotes doubled. */
    public static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** A SQL string literal for any text (standard conforming strings). */
    public static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
