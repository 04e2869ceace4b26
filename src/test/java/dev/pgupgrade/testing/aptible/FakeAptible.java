package dev.pgupgrade.testing.aptible;

import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.aptible.FakeAptibleState.Fault;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * A fake Aptible account for a test: the state directory, a `bin/aptible` launcher for the fake CLI
 * ({@link FakeAptibleCli}) to put first on a step's PATH, and direct access to what the CLI manages
 * (databases with real servers, backups, apps, injected faults). Close it to stop every server.
 */
public final class FakeAptible implements AutoCloseable {
    private final Path home;

    private FakeAptible(Path home) {
        this.home = home;
    }

    /**
     * Creates the state in {@code home} (created if missing; it and its parents must be traversable by
     * the unprivileged server user when running as root) with PostgreSQL binaries from {@code pgHome}/MAJOR/bin.
     */
    public static FakeAptible create(Path home, Path pgHome) {
        try {
            Files.createDirectories(home.resolve("bin"));
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
            FakeAptibleState state = new FakeAptibleState();
            state.pgHome = pgHome.toAbsolutePath().toString();
            state.projectRoot = Project.root().toString();
            FakeAptibleState.write(FakeAptibleState.stateFile(home), state);
            FakeAptibleState.write(FakeAptibleState.faultsFile(home), List.of());
            Files.writeString(home.resolve("calls.log"), "");
            Path launcher = home.resolve("bin/aptible");
            Files.writeString(launcher, "#!/usr/bin/env bash\n"
                    + "# The fake Aptible CLI (dev.pgupgrade.testing.aptible.FakeAptibleCli); C1 only and SerialGC: it must start fast.\n"
                    + "# Its account is this directory's, as the real CLI's is its API's, whatever environment it runs in.\n"
                    + "export FAKE_APTIBLE_HOME=\"${FAKE_APTIBLE_HOME:-" + home.toAbsolutePath() + "}\"\n"
                    + "exec " + quote(Path.of(System.getProperty("java.home"), "bin", "java").toString())
                    + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -cp " + quote(launcherClassPath())
                    + " dev.pgupgrade.testing.aptible.FakeAptibleCli \"$@\"\n");
            Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
            return new FakeAptible(home);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The test JVM's class path narrowed to what the fake loads (class directories and jackson), so the
     * JVM does not open a hundred jars per call. Under surefire java.class.path may be a manifest-only jar,
     * so surefire's own record of the test class path is preferred.
     */
    private static String launcherClassPath() {
        String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> kept = new ArrayList<>();
        for (String entry : full.split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName() == null ? "" : Path.of(entry).getFileName().toString();
            if (Files.isDirectory(Path.of(entry)) || name.startsWith("jackson-")) {
                kept.add(entry);
            }
        }
        return kept.stream().anyMatch(e -> e.contains("jackson-databind")) ? String.join(File.pathSeparator, kept) : full;
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    public Path home() {
        return home;
    }

    /** Put this first on a step's PATH. */
    public Path binDir() {
        return home.resolve("bin");
    }

    /** What a step process needs besides PATH (and APTIBLE_ACCESS_TOKEN, which the step's secrets carry). */
    public Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("FAKE_APTIBLE_HOME", home.toString());
        return env;
    }

    /** PATH with the fake first, for a child process. */
    public String path() {
        return binDir() + File.pathSeparator + System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    }

    /** A new valid token, shaped like Aptible's (a JWT: the real CLI decodes it before any call). */
    public String issueToken() {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String email = FakeAptibleState.read(home).userEmail;
        String header = b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String payload = b64.encodeToString(("{\"sub\":\"https://auth.aptible.com/users/" + UUID.randomUUID()
                + "\",\"email\":\"" + email + "\",\"scope\":\"manage\",\"exp\":" + (System.currentTimeMillis() / 1000 + 86400)
                + "}").getBytes(StandardCharsets.UTF_8));
        String token = header + "." + payload + "." + b64.encodeToString(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
        FakeAptibleState.update(home, s -> s.tokens.add(token));
        return token;
    }

    public void revokeToken(String token) {
        FakeAptibleState.update(home, s -> s.tokens.remove(token));
    }

    /** How a {@link #pgupgradeRun} ended: its exit code and everything it printed. */
    public record Run(int exitCode, String output) {
    }

    /**
     * {@code pgupgrade run -f MANIFEST --secrets-dir SECRETS EXTRA...} as a user types it, in its own JVM,
     * with this account's aptible first on PATH; fails the test if it runs longer than {@code timeout}.
     */
    public Run pgupgradeRun(Path manifest, Path secrets, int tunnelTimeoutSeconds, java.time.Duration timeout, String... extra)
            throws IOException, InterruptedException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classpath, "dev.pgupgrade.cli.Main", "run", "-f", manifest.toString(), "--secrets-dir", secrets.toString()));
        command.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(environment());
        pb.environment().put("PATH", path());
        pb.environment().put("APTIBLE_TUNNEL_TIMEOUT_SECONDS", Integer.toString(tunnelTimeoutSeconds));
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("pgupgrade run took longer than " + timeout + ":\n" + output);
        }
        return new Run(p.exitValue(), output);
    }

    /**
     * What db:replicate --logical sets up from now on: "native" (the default) or "pglogical" (needs every
     * server to load pglogical: a pg home whose majors are Debian's with postgresql-NN-pglogical).
     */
    public void useLogicalReplication(String kind) {
        FakeAptibleState.update(home, s -> {
            s.logicalReplication = kind;
            return null;
        });
    }

    public void addEnvironment(String handle) {
        FakeAptibleState.update(home, s -> {
            FakeAptibleState.Environment e = new FakeAptibleState.Environment();
            e.id = s.newId();
            e.handle = handle;
            e.createdAt = FakeAptibleState.now();
            s.environments.add(e);
            return null;
        });
    }

    /** Provisions like `aptible db:create HANDLE --type postgresql --version MAJOR --environment ENV`. */
    public Database createDatabase(String handle, String environment, String major) {
        FakeAptibleState.Database db = FakeAptibleCli.create(home, handle, environment, major, 10, 1024);
        try {
            FakeAptibleCli.provision(home, db, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Database(db);
    }

    /** The live (not deprovisioned) database with this handle, in any environment. */
    public Optional<Database> database(String handle) {
        return FakeAptibleState.read(home).liveDatabases().stream().filter(d -> d.handle.equals(handle)).findFirst()
                .map(Database::new);
    }

    /** A manual backup (pg_dumpall) of the database, as `aptible db:backup` would take; returns its id. */
    public String createBackup(String dbHandle) {
        FakeAptibleState s = FakeAptibleState.read(home);
        FakeAptibleState.Database db = s.liveDatabases().stream().filter(d -> d.handle.equals(dbHandle)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no database " + dbHandle));
        long op = FakeAptibleState.update(home, FakeAptibleState::newId);
        return Long.toString(FakeAptibleCli.backup(home, db, true, op, s.userEmail).id);
    }

    public void addApp(String handle, String environment, Map<String, Integer> serviceContainerCounts,
            Map<String, String> config) {
        FakeAptibleState.update(home, s -> {
            FakeAptibleState.App a = new FakeAptibleState.App();
            a.id = s.newId();
            a.handle = handle;
            a.environment = environment;
            a.createdAt = FakeAptibleState.now();
            serviceContainerCounts.forEach((type, count) -> {
                FakeAptibleState.Service svc = new FakeAptibleState.Service();
                svc.id = s.newId();
                svc.processType = type;
                svc.containerCount = count;
                svc.createdAt = a.createdAt;
                a.services.add(svc);
            });
            a.config.putAll(config);
            s.apps.add(a);
            return null;
        });
    }

    public Map<String, Integer> containerCounts(String app) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        FakeAptibleState.read(home).app(app, null).orElseThrow().services.forEach(s -> counts.put(s.processType, s.containerCount));
        return counts;
    }

    public Map<String, String> config(String app) {
        return new LinkedHashMap<>(FakeAptibleState.read(home).app(app, null).orElseThrow().config);
    }

    /** The calls so far, one per invocation, KEY=VALUE arguments shown as KEY=&lt;redacted&gt;. */
    public List<String> calls() {
        try {
            return Files.readAllLines(home.resolve("calls.log"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The next {@code times} calls of {@code command} (-1: every call) print {@code stderr} and exit with {@code exitCode}. */
    public void failNext(String command, int times, int exitCode, String stderr) {
        Fault f = new Fault();
        f.command = command;
        f.times = times;
        f.exitCode = exitCode;
        f.stderr = stderr;
        addFault(f);
    }

    /** Every db:tunnel to this database announces itself and then hangs without ever listening. */
    public void hangTunnel(String dbHandle) {
        Fault f = new Fault();
        f.command = "db:tunnel";
        f.handle = dbHandle;
        f.times = -1;
        f.mode = "hang";
        addFault(f);
    }

    public void clearFaults() {
        FakeAptibleState.locked(home, () -> {
            FakeAptibleState.write(FakeAptibleState.faultsFile(home), List.of());
            return null;
        });
    }

    private void addFault(Fault f) {
        FakeAptibleState.locked(home, () -> {
            List<Fault> faults = FakeAptibleState.readFaultsUnlocked(home);
            faults.add(f);
            FakeAptibleState.write(FakeAptibleState.faultsFile(home), faults);
            return null;
        });
    }

    /** Ids of backups whose database was deprovisioned, as `aptible backup:orphaned` lists them. */
    public List<String> orphanedBackups() {
        FakeAptibleState s = FakeAptibleState.read(home);
        return s.backups.stream().filter(b -> FakeAptibleCli.orphaned(s, b)).map(b -> Long.toString(b.id)).toList();
    }

    /** Stops every server the fixture or the CLI started, then deletes the home. */
    @Override
    public void close() {
        FakeAptibleState s = FakeAptibleState.read(home);
        for (FakeAptibleState.Database db : s.databases) {
            if (!"deprovisioned".equals(db.status)) {
                try {
                    AptiblePostgres.stop(s, db);
                } catch (RuntimeException e) {
                    // keep stopping the others
                }
            }
        }
        FakeAptibleCli.deleteTree(home);
    }

    /** A database of the fake account with its real server. */
    public static final class Database {
        private final FakeAptibleState.Database db;

        Database(FakeAptibleState.Database db) {
            this.db = db;
        }

        public String handle() {
            return db.handle;
        }

        public String environment() {
            return db.environment;
        }

        public String major() {
            return db.version;
        }

        public int port() {
            return db.port;
        }

        public String status() {
            return db.status;
        }

        /** The aptible role's password. */
        public String password() {
            return db.password;
        }

        /** What `aptible db:url` prints: postgresql://aptible:PASSWORD@127.0.0.1:PORT/db. */
        public String url() {
            return FakeAptibleCli.connectionUrl(db);
        }

        /** A superuser (postgres) connection, for the test's own setup and checks. */
        public Connection connect(String dbname) throws SQLException {
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + db.port + "/" + dbname, "postgres",
                    db.superuserPassword);
        }

        /** Runs statements as postgres in {@code dbname}. */
        public void execute(String dbname, String... statements) throws SQLException {
            try (Connection c = connect(dbname); var st = c.createStatement()) {
                for (String s : statements) {
                    st.execute(s);
                }
            }
        }

        @Override
        public String toString() {
            return db.handle + " (PostgreSQL " + db.version + ", port " + db.port + ")";
        }
    }
}
