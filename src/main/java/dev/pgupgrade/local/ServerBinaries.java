package dev.pgupgrade.local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.io.File;
import java.net.URISyntaxException;

/**
 * Finds PostgreSQL server binaries of a major on this machine, for SchemaCheck's throwaway server, in
 * this order: {@code --pg-bin MAJOR=DIR}; {@code $PGUPGRADE_PG_BIN_<MAJOR>}; {@code $PGUPGRADE_PG_HOME/MAJOR/bin};
 * the binaries this project's {@code make} installs ({@code pg/MAJOR/bin} beside the jar, or
 * {@code /var/tmp/pgupgrade-pg/MAJOR/bin} when the checkout is private to root, see scripts/pg-home.sh);
 * Debian's and the official image's {@code /usr/lib/postgresql/MAJOR/bin}.
 */
public final class ServerBinaries {
    private ServerBinaries() {
    }

    public static Optional<Path> locate(String major, Map<String, Path> fromCommandLine, Map<String, String> env) {
        if (fromCommandLine.containsKey(major)) {
            return Optional.of(fromCommandLine.get(major)).filter(ServerBinaries::hasServer);
        }
        String fromEnv = env.get("PGUPGRADE_PG_BIN_" + major.replace('.', '_'));
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Optional.of(Path.of(fromEnv)).filter(ServerBinaries::hasServer);
        }
        List<Path> candidates = new ArrayList<>();
        String home = env.get("PGUPGRADE_PG_HOME");
        if (home != null && !home.isBlank()) {
            candidates.add(Path.of(home, major, "bin"));
        }
        jarDirectory().ifPresent(dir -> candidates.add(dir.resolve("pg").resolve(major).resolve("bin")));
        candidates.add(Path.of("/var/tmp/pgupgrade-pg", major, "bin"));
        candidates.add(Path.of("/usr/lib/postgresql", major, "bin"));
        return candidates.stream().filter(ServerBinaries::hasServer).findFirst();
    }

    /** The directory of the running jar (target/ in a checkout), if running from one. */
    private static Optional<Path> jarDirectory() {
        try {
            var source = ServerBinaries.class.getProtectionDomain().getCodeSource();
            if (source == null) {
                return Optional.empty();
            }
            Path location = Path.of(source.getLocation().toURI());
            // target/pgupgrade.jar or, in tests, target/classes: either way target/ holds pg/.
            return Optional.ofNullable(location.getParent());
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** An executable named {@code name} in one of PATH's directories. */
    public static Optional<Path> onPath(String name, Map<String, String> env) {
        String path = env.getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Optional.of(Path.of(dir, name));
            }
        }
        return Optional.empty();
    }

    static boolean hasServer(Path dir) {
        return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("pg_ctl"))
                && Files.isExecutable(dir.resolve("postgres"));
    }
}
