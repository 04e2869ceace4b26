package dev.pgupgrade.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * PostgreSQL's own regression database -- what `make installcheck` leaves behind, the corpus
 * pg_upgrade's tests upgrade -- built once by scripts/regression-corpus.sh from Debian's
 * postgresql-15 sources and cached outside the repository (about 80 s cold, instant after).
 */
public final class RegressionCorpus {
    private static Path dump;

    private RegressionCorpus() {
    }

    /** The cached pg_dumpall of a PostgreSQL 15 cluster after its regression suite ran. */
    public static synchronized Path dump() {
        if (dump == null) {
            ProcessBuilder pb = new ProcessBuilder("bash", Project.root().resolve("scripts/regression-corpus.sh").toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("PG_HOME", System.getProperty("pgupgrade.pgHome", Project.root().resolve("target/pg").toString()));
            try {
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (!p.waitFor(20, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new IllegalStateException("scripts/regression-corpus.sh failed (see its output above)");
                }
                dump = Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return dump;
    }

    /** SQL that drops what cannot exist on 17 and 18 (the suite's C test modules, built for 15), as pg_upgrade's AdjustUpgrade.pm does. */
    public static Path adjustForUpgrade() {
        return Project.root().resolve("scripts/datasets/regression-adjust-for-upgrade.sql");
    }

    /** A PostgreSQL 15 server holding the corpus (loaded from the dump: only its own superuser "already exists"). */
    public static PostgresServer load() {
        PostgresServer server = PostgresServer.start("15");
        List<String> errors = server.loadDump(dump());
        if (!errors.stream().allMatch(l -> l.contains("role \"postgres\" already exists"))) {
            server.close();
            throw new IllegalStateException("the regression corpus did not load cleanly: " + errors);
        }
        return server;
    }
}
