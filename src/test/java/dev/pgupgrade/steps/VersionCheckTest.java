package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VersionCheckTest {

    @Nested
    class Major {
        @ParameterizedTest
        @CsvSource({
            "90624, 9.6",
            "90224, 9.2",
            "90000, 9.0",
            "80422, 8.4",
            "100000, 10",
            "100023, 10",
            "130023, 13",
            "170006, 17",
            "180000, 18",
        })
        void fromVersionNum(int versionNum, String major) {
            assertEquals(major, MajorVersion.fromVersionNum(versionNum));
        }

        @ParameterizedTest
        @CsvSource({"9.6, 906", "9.0, 900", "10, 1000", "17, 1700"})
        void rank(String major, int rank) {
            assertEquals(rank, MajorVersion.rank(major));
        }

        @Test
        void rankOrdersOldAndNewNumbering() {
            List<String> shuffled = List.of("17", "9.6", "10", "9.5", "13", "8.4");
            List<String> sorted = shuffled.stream().sorted(Comparator.comparingInt(MajorVersion::rank)).toList();
            assertEquals(List.of("8.4", "9.5", "9.6", "10", "13", "17"), sorted);
            assertTrue(MajorVersion.rank("9.6") < MajorVersion.rank("10"));
            assertTrue(MajorVersion.rank("10") < MajorVersion.rank("17"));
        }
    }

    @Test
    void newerTargetOfTheWantedMajorIsFine() {
        assertEquals(Optional.empty(), VersionCheck.problem("17", "13", "17"));
        assertEquals(Optional.empty(), VersionCheck.problem("10", "9.6", "10"));
        assertEquals(Optional.empty(), VersionCheck.problem("9.6", "9.2", "9.6"));
    }

    @Test
    void sameMajorOnBothSidesIsAllowed() {
        assertEquals(Optional.empty(), VersionCheck.problem("16", "16", "16"));
    }

    @Test
    void targetOfAnotherMajorThanWantedNamesTheSpecField() {
        Optional<String> p = VersionCheck.problem("17", "13", "16");
        assertEquals(Optional.of("spec.target.version is \"17\" but the target server runs PostgreSQL 16: "
                + "point the target URL at a PostgreSQL 17 server or correct the version"), p);
    }

    @Test
    void wantedVersionMismatchIsReportedBeforeAnyOrderingProblem() {
        Optional<String> p = VersionCheck.problem("17", "15", "13");
        assertTrue(p.orElseThrow().startsWith("spec.target.version is \"17\""), p.toString());
    }

    @Test
    void targetOlderThanSourceIsRefused() {
        Optional<String> p = VersionCheck.problem("13", "15", "13");
        assertEquals(Optional.of("the target runs PostgreSQL 13, older than the source's PostgreSQL 15: "
                + "a dump cannot be restored into an older major"), p);
    }

    @Test
    void oldNumberingTargetOlderThanNewNumberingSourceIsRefused() {
        Optional<String> p = VersionCheck.problem("9.6", "10", "9.6");
        assertTrue(p.orElseThrow().contains("older than the source's PostgreSQL 10"), p.toString());
    }

    @Test
    void minorOrderingWithinTheOldNumberingCounts() {
        Optional<String> p = VersionCheck.problem("9.5", "9.6", "9.5");
        assertTrue(p.orElseThrow().contains("older"), p.toString());
    }
}
