package dev.pgupgrade.testing.aptible;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real PostgreSQL servers behind the fake's databases, started with the repo's
 * scripts/pg-cluster.sh (as nobody when root) and administered as "postgres" over the cluster's
 * unix socket, where pg-cluster.sh configures trust: no password needs to travel for admin work.
 */
final class AptiblePostgres {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private AptiblePostgres() {
    }

    static String randomAlnum(int n) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(ALNUM.charAt(RANDOM.nextInt(ALNUM.length())));
        }
        return sb.toString();
    }

    /** Recognisable in logs and leak checks: every aptible role password the fake hands out starts with "aptpw". */
    static String newAptiblePassword() {
        return "aptpw" + randomAlnum(20);
    }

    static Path bin(FakeAptibleState state, String major) {
        return Path.of(state.pgHome).resolve(major).resolve("bin");
    }

    /** Initialises and starts the database's server: superuser postgres only, nothing Aptible-specific yet. */
    static void start(FakeAptibleState state, FakeAptibleState.Database db, Path home) throws IOException {
        Path bin = bin(state, db.version);
        if (!Files.isExecutable(bin.resolve("postgres"))) {
            throw new IOException("no PostgreSQL " + db.version + " server binaries in " + bin);
        }
        Path dir = Path.of(db.dir);
        Files.createDirectories(dir);
        // The server runs as nobody when we are root: every parent must be traversable by it.
        for (Path p = dir; p != null && p.startsWith(home); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path pwfile = dir.resolve("pwfile");
        Files.writeString(pwfile, db.superuserPassword + "\n");
        Files.setPosixFilePermissions(pwfile, PosixFilePermissions.fromString("rw-r--r--"));
        List<String> command = new ArrayList<>(List.of("bash", Path.of(state.projectRoot).resolve("scripts/pg-cluster.sh").toString(),
                "start", bin.toString(), dir.resolve("cluster").toString(), Integer.toString(db.port), pwfile.toString()));
        // Aptible's servers can be the source of a logical replica (db:replicate --logical)
        command.addAll(List.of("wal_level=logical", "max_replication_slots=20", "max_wal_senders=20", "max_worker_processes=24",
                "max_logical_replication_workers=12"));
        if ("pglogical".equals(state.logicalReplication)) {
            command.add("shared_preload_libraries=pglogical");
            // minor releases since early 2026 load only output plugins named here (pgoutput and test_decoding by default)
            if (outputPluginsRestricted(bin)) {
                command.add("output_plugin_libraries=pgoutput,test_decoding,pglogical_output");
            }
        }
        try {
            run(command, null);
        } finally {
            Files.deleteIfExists(pwfile);
        }
    }

    /** Whether the server knows output_plugin_libraries (it refuses a setting it does not know). */
    private static boolean outputPluginsRestricted(Path bin) {
        return run(List.of(bin.resolve("postgres").toString(), "--describe-config"), null).contains("output_plugin_libraries");
    }

    /** What a fresh Aptible PostgreSQL database holds besides postgres: role aptible and database db it owns. */
    static void createAptibleObjects(FakeAptibleState.Database db) {
        psql(db, "CREATE ROLE aptible LOGIN SUPERUSER PASSWORD '" + db.password + "'");
        psql(db, "CREATE DATABASE db OWNER aptible");
    }

    static void stop(FakeAptibleState state, FakeAptibleState.Database db) {
        if (db.dir == null || !Files.exists(Path.of(db.dir).resolve("cluster"))) {
            return;
        }
        run(List.of("bash", Path.of(state.projectRoot).resolve("scripts/pg-cluster.sh").toString(), "stop",
                bin(state, db.version).toString(), Path.of(db.dir).resolve("cluster").toString()), null);
    }

    static void psql(FakeAptibleState.Database db, String sql) {
        run(List.of(clientTool("psql", db.version), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDir(db), "-p",
                Integer.toString(db.port), "-U", "postgres", "-d", "postgres", "-c", sql), null);
    }

    /** Runs {@code sql} (given on stdin: it may hold passwords) as postgres in database {@code database}. */
    static String psqlIn(FakeAptibleState.Database db, String database, String sql, boolean stopOnError) {
        return run(List.of(clientTool("psql", db.version), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=" + (stopOnError ? 1 : 0),
                "-h", socketDir(db), "-p", Integer.toString(db.port), "-U", "postgres", "-f", "-"), null,
                Map.of("PGDATABASE", database), sql);
    }

    /** The server's connectable databases other than the templates, by name (names may hold any character). */
    static List<String> databases(FakeAptibleState.Database db) {
        String out = run(List.of(clientTool("psql", db.version), "-X", "-q", "-A", "-t", "-0", "-h", socketDir(db), "-p",
                Integer.toString(db.port), "-U", "postgres", "-d", "postgres", "-c",
                "select datname from pg_database where not datistemplate and datallowconn order by oid"), null);
        List<String> names = new ArrayList<>();
        for (String name : out.split("\0", -1)) {
            String trimmed = name.startsWith("\n") ? name.substring(1) : name;
            if (!trimmed.isEmpty()) {
                names.add(trimmed);
            }
        }
        return names;
    }

    /** A whole-cluster logical backup, as postgres; the dump tool must be at least the server's major. */
    static void dumpAll(FakeAptibleState.Database db, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        run(List.of(clientTool("pg_dumpall", db.version), "-h", socketDir(db), "-p", Integer.toString(db.port), "-U",
                "postgres", "-f", file.toString()), null);
    }

    /**
     * Loads a pg_dumpall file as postgres, errors tolerated (the dump recreates role postgres), then gives
     * both roles this server's own passwords again, because the dump carries the source's.
     */
    static void restore(FakeAptibleState.Database db, Path dump) throws IOException {
        Path load = dump;
        if (Integer.parseInt(db.version) < 15) {
            load = Path.of(db.dir).resolve("restore.sql");
            Files.writeString(load, forServer(Files.readString(dump), db.version));
        }
        run(List.of(clientTool("psql", db.version), "-X", "-q", "-h", socketDir(db), "-p", Integer.toString(db.port), "-U",
                "postgres", "-d", "postgres", "-f", load.toString()), null);
        if (!load.equals(dump)) {
            Files.delete(load);
        }
        psql(db, "ALTER ROLE postgres PASSWORD '" + db.superuserPassword + "'");
        psql(db, "ALTER ROLE aptible PASSWORD '" + db.password + "'");
    }

    /** A dump of the dump tool (15) made loadable into an older server. */
    static String forServer(String sql, String version) {
        if (Integer.parseInt(version) >= 15) {
            return sql;
        }
        // The dump tool (15) writes CREATE DATABASE ... LOCALE_PROVIDER, which servers before 15 reject.
        String loadable = sql.replaceAll("(?m)^(CREATE DATABASE .*) LOCALE_PROVIDER = libc", "$1");
        if (Integer.parseInt(version) < 13) {
            // ... and LOCALE = 'x', which servers before 13 only know as LC_COLLATE and LC_CTYPE.
            loadable = loadable.replaceAll("(?m)^(CREATE DATABASE .*) LOCALE = ('[^']*')", "$1 LC_COLLATE = $2 LC_CTYPE = $2");
        }
        return loadable;
    }

    private static String socketDir(FakeAptibleState.Database db) {
        try {
            return Path.of(db.dir).resolve("cluster").toRealPath().toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A client tool: the newest installed under /usr/lib/postgresql, else PATH's (the pg home's server-only
     * builds have none). pg_dumpall refuses servers newer than itself, so backups need major <= that client.
     */
    static String clientTool(String tool, String major) {
        List<Path> candidates = new ArrayList<>();
        Path libs = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(libs)) {
            try (var dirs = Files.list(libs)) {
                dirs.filter(d -> d.getFileName().toString().matches("\\d+"))
                        .sorted((a, b) -> Integer.parseInt(b.getFileName().toString()) - Integer.parseInt(a.getFileName().toString()))
                        .forEach(d -> candidates.add(d.resolve("bin").resolve(tool)));
            } catch (IOException e) {
                // fall through to PATH
            }
        }
        return candidates.stream().filter(Files::isExecutable).findFirst().map(Path::toString).orElse(tool);
    }

    static String run(List<String> command, Path workDir) {
        return run(command, workDir, Map.of(), "");
    }

    static String run(List<String> command, Path workDir, Map<String, String> env, String input) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        try {
            Process p = pb.start();
            try (var stdin = p.getOutputStream()) {
                stdin.write(input.getBytes(StandardCharsets.UTF_8));
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command.subList(0, Math.min(3, command.size())))
                        + " failed:\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
