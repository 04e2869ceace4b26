package dev.pgupgrade.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server of one major, started for a test from the zonky binaries with the same
 * scripts/pg-cluster.sh the demo uses (as an unprivileged user when the tests run as root). Its
 * superuser "postgres" has a random password with characters that need percent-encoding in a URL.
 */
public final class PostgresServer implements AutoCloseable {
    private final String major;
    private final Path dir;
    private final int port;
    private final String password;

    private PostgresServer(String major, Path dir, int port, String password) {
        this.major = major;
        this.dir = dir;
        this.port = port;
        this.password = password;
    }

    public static PostgresServer start(String major) {
        return start(major, List.of());
    }

    /** A server with more settings ("wal_level=logical"), given to postgres -c at start. */
    public static PostgresServer start(String major, List<String> settings) {
        Path bin = binDir(major);
        try {
            Path dir = Files.createTempDirectory("pgupgrade-test-pg" + major + "-");
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            String password = "pw/" + UUID.randomUUID().toString().substring(0, 8) + "@:?%";
            Path pwfile = dir.resolve("pwfile");
            Files.writeString(pwfile, password + "\n");
            int port = freePort();
            Path data = dir.resolve("cluster");
            List<String> command = new java.util.ArrayList<>(List.of("bash", Project.root().resolve("scripts/pg-cluster.sh").toString(), "start",
                    bin.toString(), data.toString(), Integer.toString(port), pwfile.toString()));
            command.addAll(settings);
            run(command);
            Files.delete(pwfile);
            return new PostgresServer(major, dir, port, password);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The server binaries of a major, installed on first use (Makefile's test target does it up front). */
    public static Path binDir(String major) {
        Path home = Path.of(System.getProperty("pgupgrade.pgHome", Project.root().resolve("target/pg").toString()));
        Path bin = home.resolve(major).resolve("bin");
        if (!Files.isExecutable(bin.resolve("postgres"))) {
            run(List.of("bash", Project.root().resolve("scripts/pg-binaries.sh").toString(), home.toString(), major));
        }
        return bin;
    }

    public String major() {
        return major;
    }

    public int port() {
        return port;
    }

    public String password() {
        return password;
    }

    /** A libpq URL for the superuser, password percent-encoded, e.g. for a Secret. */
    public String url(String database) {
        return url("postgres", password, database);
    }

    public String url(String user, String userPassword, String database) {
        return "postgresql://" + encode(user) + ":" + encode(userPassword) + "@127.0.0.1:" + port + "/" + encode(database);
    }

    public Connection connect(String database) throws SQLException {
        return connect(database, "postgres", password);
    }

    public Connection connect(String database, String user, String userPassword) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + encode(database), user, userPassword);
    }

    /** Runs a SQL file with psql as the superuser, stopping at the first error. */
    public void psqlFile(Path sql) {
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                Integer.toString(port), "-U", "postgres", "-d", "postgres", "-f", sql.toString());
        pb.environment().put("PGPASSWORD", password);
        run(pb);
    }

    /**
     * Loads a pg_dumpall script with psql as the superuser, going on past errors as a restore does,
     * and returns the ERROR lines psql printed (a dump of a whole cluster always re-creates its own
     * superuser, so 'role "postgres" already exists' is one of them).
     */
    public List<String> loadDump(Path dump) {
        ProcessBuilder pb = new ProcessBuilder("psql", "-X", "-q", "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres",
                "-d", "postgres", "-f", dump.toString());
        pb.environment().put("PGPASSWORD", password);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        try {
            Process p = pb.start();
            List<String> errors = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> l.contains("ERROR:") || l.contains("FATAL:")).toList();
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("psql -f " + dump + " failed: " + errors);
            }
            return errors;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void execute(String database, String... statements) throws SQLException {
        try (Connection c = connect(database); var s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    /** The first column of the first row of a query, as an int. */
    public int queryInt(String database, String sql) throws SQLException {
        try (Connection c = connect(database); var s = c.createStatement(); var rs = s.executeQuery(sql)) {
            if (!rs.next()) {
                throw new SQLException("no row: " + sql);
            }
            return rs.getInt(1);
        }
    }

    /** Stops the server (fast: sessions are ended) and starts it again with the same settings, as a crash recovery or a failover would look to clients. */
    public void restart() {
        run(List.of("bash", Project.root().resolve("scripts/pg-cluster.sh").toString(), "restart", binDir(major).toString(),
                dir.resolve("cluster").toString()));
    }

    @Override
    public void close() {
        run(List.of("bash", Project.root().resolve("scripts/pg-cluster.sh").toString(), "stop", binDir(major).toString(),
                dir.resolve("cluster").toString()));
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover temp dir is harmless
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void run(List<String> command) {
        run(new ProcessBuilder(new ArrayList<>(command)));
    }

    private static void run(ProcessBuilder pb) {
        try {
            pb.redirectErrorStream(true);
            Process p = pb.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", pb.command().subList(0, 2)) + " failed:\n" + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
