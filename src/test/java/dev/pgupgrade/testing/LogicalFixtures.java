package dev.pgupgrade.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** What the online strategy's tests share: a source that can replicate, a dataset, and the checks that nothing is left. */
public final class LogicalFixtures {
    /** A source server logical replication can read. */
    public static final List<String> LOGICAL = List.of("wal_level=logical", "max_replication_slots=10", "max_wal_senders=10");

    private LogicalFixtures() {
    }

    /** Two databases (one with a name that needs quoting), keys of several kinds, a sequence, a materialized view. */
    public static void dataset(PostgresServer source) throws SQLException {
        source.execute("postgres", "create database shop", "create database \"second | db\"", "create role app_writer login password 'app-secret-1'");
        source.execute("shop",
                "create table items (id int primary key, name text, price numeric(10,2))",
                "insert into items select g, 'item ' || g, g * 1.25 from generate_series(1, 5000) g",
                "create table \"Odd \"\"name\" (k text not null, v jsonb, constraint odd_k unique (k))",
                "alter table \"Odd \"\"name\" alter column k set not null",
                "alter table \"Odd \"\"name\" replica identity using index odd_k",
                "insert into \"Odd \"\"name\" select 'k' || g, jsonb_build_object('g', g) from generate_series(1, 300) g",
                "create table logged_full (a int, b text)",
                "alter table logged_full replica identity full",
                "insert into logged_full select g, 'row ' || g from generate_series(1, 100) g",
                "create sequence standalone_seq",
                "select setval('standalone_seq', 4242)",
                "create materialized view item_stats as select count(*) as n, sum(price) as total from items",
                "grant select on items to app_writer");
        source.execute("second | db",
                "create table t (id bigint generated always as identity primary key, v text)",
                "insert into t (v) select 'v' || g from generate_series(1, 2000) g");
    }

    public static void unfreeze(PostgresServer source) throws SQLException {
        List<String> frozen = new ArrayList<>();
        try (Connection c = source.connect("template1"); ResultSet rs = c.createStatement()
                .executeQuery("select datname from pg_database where not datallowconn and datname <> 'template0'")) {
            while (rs.next()) {
                frozen.add(rs.getString(1));
            }
        }
        for (String db : frozen) {
            source.execute("template1", "alter database \"" + db.replace("\"", "\"\"") + "\" allow_connections true");
        }
    }

    /** Neither server holds a slot, publication, subscription or replication origin of ours. */
    public static void assertNoReplicationLeft(PostgresServer source, PostgresServer target) throws SQLException {
        assertEquals(0, source.queryInt("template1", "select count(*) from pg_replication_slots"), "slots left on the source");
        assertEquals(0, target.queryInt("template1", "select count(*) from pg_subscription"), "subscriptions left on the target");
        assertEquals(0, target.queryInt("template1", "select count(*) from pg_replication_origin"), "replication origins left on the target");
        List<String> databases = new ArrayList<>();
        try (Connection c = source.connect("template1"); ResultSet rs = c.createStatement()
                .executeQuery("select datname from pg_database where datallowconn and not datistemplate")) {
            while (rs.next()) {
                databases.add(rs.getString(1));
            }
        }
        for (String db : databases) {
            assertEquals(0, source.queryInt(db, "select count(*) from pg_publication"), "publications left in " + db);
        }
    }

    public static List<Long> longs(PostgresServer server, String db, String sql) throws SQLException {
        List<Long> values = new ArrayList<>();
        try (Connection c = server.connect(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getLong(1));
            }
        }
        return values;
    }
}
