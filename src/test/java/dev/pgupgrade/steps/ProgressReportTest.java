package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProgressReportTest {
    @Test
    void theLastWellFormedLineWins() {
        String log = """
                pgupgrade: psql -f dump.sql into the target
                PGUPGRADE_PROGRESS {"unit":"bytes","done":100,"total":1000,"estimated":false}
                psql:<stdin>:12: ERROR:  role "postgres" already exists
                PGUPGRADE_PROGRESS {"unit":"bytes","done":400,"total":1000,"estimated":false}
                PGUPGRADE_PROGRESS {"unit":"bytes","done":50""";
        assertEquals(Optional.of(new ProgressReport("bytes", 400, 1000, false)), ProgressReport.lastIn(log));
    }

    @Test
    void noProgressLineMeansNoReport() {
        assertTrue(ProgressReport.lastIn("pgupgrade: VACUUM ANALYZE in database shop\n").isEmpty());
        assertTrue(ProgressReport.lastIn(null).isEmpty());
        assertTrue(ProgressReport.lastIn("PGUPGRADE_PROGRESS {\"unit\":\"bytes\",\"done\":-1,\"total\":5}").isEmpty());
    }

    @Test
    void estimatedItemsParse() {
        assertEquals(Optional.of(new ProgressReport("items", 3, 120, true)),
                ProgressReport.lastIn("x PGUPGRADE_PROGRESS {\"unit\":\"items\",\"done\":3,\"total\":120,\"estimated\":true}"));
    }
}
