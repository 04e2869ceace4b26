package dev.pgupgrade.local;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Finds PostgreSQL server binaries of a major on this machine, for SchemaCheck's throwaway server:
 * {@code --pg-bin MAJOR=DIR}, then {@code $PGUPGRADE_PG_BIN_<MAJOR>}, then Debian's and the official
 * image's {@code /usr/lib/postgresql/MAJOR/bin}.
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
        return Optional.of(Path.of("/usr/lib/postgresql", major, "bin")).filter(ServerBinaries::hasServer);
    }

    static boolean hasServer(Path dir) {
        return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("pg_ctl"))
                && Files.isExecutable(dir.resolve("postgres"));
    }
}
