package dev.pgupgrade.testing.aptible;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.core.type.TypeReference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Everything the fake Aptible "API" knows, kept as one JSON file in FAKE_APTIBLE_HOME so that the
 * separate CLI processes of a test (and the fixture in the test JVM) share it. Public fields only:
 * jackson binds them without reflection-heavy configuration, which keeps the CLI's startup short.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public final class FakeAptibleState {
    public String pgHome;
    public String projectRoot;
    /** The user the issued tokens belong to; Aptible shows it as the author of manual backups. */
    public String userEmail = "fake-user@example.com";
    /** The stack's internal domain: the real CLI prints tunnel URLs as localhost.DOMAIN. */
    public String internalDomain = "aptible.in";
    public String region = "us-east-1";
    public List<String> postgresVersions = new ArrayList<>(List.of("11", "12", "13", "14", "15", "16", "17", "18"));
    public String defaultPostgresVersion = "16";
    /**
     * What db:replicate --logical sets up between the servers: "native" (publications and subscriptions:
     * the zonky servers cannot load pglogical) or "pglogical" (what Aptible runs; needs servers with the
     * pglogical library, such as Debian's postgresql-15 with postgresql-15-pglogical).
     */
    public String logicalReplication = "native";
    public long nextId = 1000;
    public List<String> tokens = new ArrayList<>();
    public List<Environment> environments = new ArrayList<>();
    public List<Database> databases = new ArrayList<>();
    public List<App> apps = new ArrayList<>();
    public List<Backup> backups = new ArrayList<>();

    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Environment {
        public long id;
        public String handle;
        public String createdAt;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Database {
        public long id;
        public String handle;
        public String type = "postgresql";
        public String version;
        public String environment;
        public int diskSize;
        public int containerSize;
        /** provisioning, provisioned, provision_failed or deprovisioned (then it is gone from every list). */
        public String status;
        public int port;
        /** The server's directory (password file, cluster); removed on deprovision. */
        public String dir;
        public String password;
        public String superuserPassword;
        public String createdAt;
        public String deletedAt;
        /** A logical replica (db:replicate --logical): the id of the database it replicates. */
        public Long replicaOf;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Service {
        public long id;
        public String processType;
        public String command;
        public int containerCount;
        public int containerSize = 1024;
        public String createdAt;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class App {
        public long id;
        public String handle;
        public String environment;
        public String createdAt;
        public List<Service> services = new ArrayList<>();
        public Map<String, String> config = new LinkedHashMap<>();
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Backup {
        public long id;
        public long databaseId;
        public String databaseHandle;
        public String databaseType = "postgresql";
        public String version;
        public String environment;
        public String createdAt;
        public boolean manual;
        public int size;
        public String dumpFile;
        public long operationId;
        public String userEmail;
    }

    /** One injected failure: the next {@code times} calls of {@code command} (-1: all) fail, or hang a tunnel. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Fault {
        public String command;
        /** Only calls whose first argument is this handle, when set. */
        public String handle;
        public int times = 1;
        public int exitCode = 1;
        public String stderr = "";
        /** "fail" (print stderr, exit) or "hang" (db:tunnel: announce, then never come up). */
        public String mode = "fail";
    }

    // ---------------------------------------------------------------- queries

    long newId() {
        return nextId++;
    }

    Optional<Environment> environment(String handle) {
        return environments.stream().filter(e -> e.handle.equals(handle)).findFirst();
    }

    List<Database> liveDatabases() {
        return databases.stream().filter(d -> !"deprovisioned".equals(d.status)).toList();
    }

    Optional<Database> databaseById(long id) {
        return databases.stream().filter(d -> d.id == id).findFirst();
    }

    Optional<App> app(String handle, String environment) {
        return apps.stream().filter(a -> a.handle.equals(handle) && (environment == null || a.environment.equals(environment)))
                .findFirst();
    }

    static String now() {
        return Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    }

    /** How aptible-resource's Time fields print in Ruby (Time#to_s of a UTC time). */
    static String rubyTime(String iso) {
        return iso == null ? null
                : DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC).format(Instant.parse(iso));
    }

    // ---------------------------------------------------------------- storage

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** FileLock is per JVM: threads of one JVM (the fixture's) must take turns before locking the file. */
    private static final Object JVM_LOCK = new Object();

    static Path stateFile(Path home) {
        return home.resolve("state.json");
    }

    static Path faultsFile(Path home) {
        return home.resolve("faults.json");
    }

    /**
     * Runs a read-modify-write of the state under the home's lock. The lock is only ever held for
     * this short step, never while a server starts or a tunnel blocks, so concurrent calls progress.
     */
    static <T> T update(Path home, Function<FakeAptibleState, T> change) {
        return locked(home, () -> {
            FakeAptibleState state = readUnlocked(home);
            T result = change.apply(state);
            write(stateFile(home), state);
            return result;
        });
    }

    static FakeAptibleState read(Path home) {
        return locked(home, () -> readUnlocked(home));
    }

    static List<Fault> readFaultsUnlocked(Path home) throws IOException {
        Path file = faultsFile(home);
        if (!Files.exists(file) || Files.size(file) == 0) {
            return new ArrayList<>();
        }
        return JSON.readValue(file.toFile(), new TypeReference<List<Fault>>() {
        });
    }

    static <T> T locked(Path home, IoSupplier<T> body) {
        synchronized (JVM_LOCK) {
            try (FileChannel channel = FileChannel.open(home.resolve("state.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = channel.lock()) {
                return body.get();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static FakeAptibleState readUnlocked(Path home) throws IOException {
        Path file = stateFile(home);
        if (!Files.exists(file)) {
            return new FakeAptibleState();
        }
        return JSON.readValue(file.toFile(), FakeAptibleState.class);
    }

    /** Replaces the file atomically, so an unlocked reader (a test peeking) never sees half a file. */
    static void write(Path file, Object value) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), value);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @FunctionalInterface
    interface IoSupplier<T> {
        T get() throws IOException;
    }
}
