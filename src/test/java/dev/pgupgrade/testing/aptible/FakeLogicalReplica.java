package dev.pgupgrade.testing.aptible;

import dev.pgupgrade.testing.aptible.FakeAptibleState.Database;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What Aptible's replicate_logical operation does to a source and its new replica, with the real
 * servers: the roles recreated on the replica, each database's schema loaded, then per database a
 * replication the replica keeps applying. With {@code logicalReplication: pglogical} it is pglogical,
 * as on Aptible (a provider node and the "default" replication set holding every table on the source,
 * a subscriber node and a subscription on the replica); otherwise native publications and
 * subscriptions, which every server here can run. The objects' names are the fake's own: Aptible does
 * not document its, and pgupgrade finds them rather than assuming them.
 */
final class FakeLogicalReplica {
    /** The native publication in every source database. */
    static final String PUBLICATION = "aptible_replicate_logical";

    private FakeLogicalReplica() {
    }

    static void setUp(FakeAptibleState state, Database source, Database replica) throws IOException {
        Path work = Path.of(replica.dir).resolve("replicate");
        Files.createDirectories(work);
        // the roles, then the replica's own passwords back (the dump carries the source's)
        Path roles = work.resolve("roles.sql");
        AptiblePostgres.run(List.of(AptiblePostgres.clientTool("pg_dumpall", source.version), "--roles-only", "-h", socket(source),
                "-p", Integer.toString(source.port), "-U", "postgres", "-f", roles.toString()), null);
        AptiblePostgres.psqlIn(replica, "postgres", Files.readString(roles), false);
        AptiblePostgres.psqlIn(replica, "postgres", "ALTER ROLE postgres PASSWORD " + literal(replica.superuserPassword) + ";\n"
                + "ALTER ROLE aptible PASSWORD " + literal(replica.password) + ";\n", true);
        boolean pglogical = "pglogical".equals(state.logicalReplication);
        for (String database : AptiblePostgres.databases(source)) {
            String oid = AptiblePostgres.psqlIn(source, database, "select oid from pg_database where datname = current_database();", true).strip();
            Path schema = work.resolve("schema-" + oid + ".sql");
            AptiblePostgres.run(List.of(AptiblePostgres.clientTool("pg_dump", source.version), "--schema-only", "--create", "-h",
                    socket(source), "-p", Integer.toString(source.port), "-U", "postgres", "-f", schema.toString()), null,
                    java.util.Map.of("PGDATABASE", database), "");
            // errors tolerated: the dump of database postgres creates what exists already
            AptiblePostgres.psqlIn(replica, "postgres", AptiblePostgres.forServer(Files.readString(schema), replica.version), false);
            String sourceDsn = dsn(source, database);
            if (pglogical) {
                AptiblePostgres.psqlIn(source, database, "CREATE EXTENSION IF NOT EXISTS pglogical;\n"
                        + "SELECT pglogical.create_node(node_name := " + literal("aptible_provider_" + oid) + ", dsn := " + literal(sourceDsn) + ");\n"
                        + "SELECT pglogical.replication_set_add_all_tables('default', coalesce(array_agg(nspname::text), '{}')) FROM pg_namespace"
                        + " WHERE nspname NOT IN ('information_schema', 'pglogical') AND nspname NOT LIKE 'pg\\_%';\n", true);
                AptiblePostgres.psqlIn(replica, database, "CREATE EXTENSION IF NOT EXISTS pglogical;\n"
                        + "SELECT pglogical.create_node(node_name := " + literal("aptible_subscriber_" + oid) + ", dsn := "
                        + literal(dsn(replica, database)) + ");\n"
                        + "SELECT pglogical.create_subscription(subscription_name := " + literal("aptible_" + oid) + ", provider_dsn := "
                        + literal(sourceDsn) + ", replication_sets := ARRAY['default', 'default_insert_only', 'ddl_sql'],"
                        + " synchronize_structure := false, synchronize_data := true);\n", true);
            } else {
                AptiblePostgres.psqlIn(source, database, "CREATE PUBLICATION " + PUBLICATION + " FOR ALL TABLES;\n", true);
                AptiblePostgres.psqlIn(replica, database, "CREATE SUBSCRIPTION aptible_logical_" + oid + " CONNECTION " + literal(sourceDsn)
                        + " PUBLICATION " + PUBLICATION + ";\n", true);
            }
        }
    }

    /** How the replica reaches a database of the source (as postgres: a replication connection). */
    private static String dsn(Database server, String database) {
        return "host=127.0.0.1 port=" + server.port + " user=postgres password=" + server.superuserPassword + " dbname="
                + conninfoValue(database);
    }

    private static String conninfoValue(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    private static String socket(Database db) throws IOException {
        return Path.of(db.dir).resolve("cluster").toRealPath().toString();
    }
}
