package dev.pgupgrade.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.TargetSpec;
import dev.pgupgrade.steps.ScriptResult;
import dev.pgupgrade.testing.Upgrades;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class StepJudgeTest {
    private static final PostgresUpgradeSpec SPEC_17 = spec("17");

    static PostgresUpgradeSpec spec(String version) {
        PostgresUpgradeSpec spec = new PostgresUpgradeSpec();
        TargetSpec target = new TargetSpec();
        target.setVersion(version);
        spec.setTarget(target);
        return spec;
    }

    /** A result with only the fields the tests set; everything else null. */
    static final class R {
        boolean ok = true;
        String message;
        Integer sourceVersionNum;
        String sourceVersion;
        Integer targetVersionNum;
        String targetVersion;
        Integer errorCount;
        List<String> errorLines;
        List<String> roles;
        List<String> databasesBefore;
        Long bytes;
        Long durationMillis;
        Integer databases;
        String mode;
        Integer tables;
        Integer mismatchCount;
        List<String> mismatches;
        List<String> summaries;
        Boolean targetExists;
        String backupId;
        Long dumpMillis;
        Long restoreMillis;

        ScriptResult build() {
            return new ScriptResult(ok, message, sourceVersionNum, sourceVersion, targetVersionNum, targetVersion, null, null,
                    null, null, errorCount, errorLines, roles, databasesBefore, bytes, durationMillis, databases, null,
                    mode, tables, mismatchCount, mismatches, summaries, targetExists, null, null, null, backupId, dumpMillis, restoreMillis, null, null, null, null, null);
        }
    }

    static Verdict judge(Phase phase, R r) {
        return StepJudge.judge(phase, SPEC_17, new PhaseOutcome.Ran(0, r.build(), null));
    }

    // ---- outcomes without a result ----

    @Test
    void skippedIsOkWithItsReason() {
        Verdict v = StepJudge.judge(Phase.ScalingDown, SPEC_17, new PhaseOutcome.Skipped("no services declared"));
        assertTrue(v.ok());
        assertEquals("no services declared", v.message());
    }

    @Test
    void refusedFailsWithItsReason() {
        Verdict v = StepJudge.judge(Phase.ScalingDown, SPEC_17, new PhaseOutcome.Refused("needs the operator"));
        assertFalse(v.ok());
        assertEquals("needs the operator", v.message());
    }

    @Test
    void noResultFailsWithTheProblem() {
        Verdict v = StepJudge.judge(Phase.Dumping, SPEC_17, new PhaseOutcome.Ran(-1, null, "the step vanished"));
        assertFalse(v.ok());
        assertEquals("the step vanished", v.message());
    }

    @Test
    void noResultAndNoProblemNamesTheExitCode() {
        Verdict v = StepJudge.judge(Phase.Dumping, SPEC_17, new PhaseOutcome.Ran(137, null, null));
        assertFalse(v.ok());
        assertEquals("the step ended with exit code 137 without reporting a result; see the step log", v.message());
    }

    // ---- ok flag and exit code ----

    @Test
    void okFalseFailsWithTheScriptsMessage() {
        R r = new R();
        r.ok = false;
        r.message = "there is no dump to restore";
        Verdict v = judge(Phase.Restoring, r);
        assertFalse(v.ok());
        assertEquals("there is no dump to restore", v.message());
    }

    @Test
    void okFalseWithoutMessageNamesTheExitCode() {
        R r = new R();
        r.ok = false;
        Verdict v = StepJudge.judge(Phase.Dumping, SPEC_17, new PhaseOutcome.Ran(0, r.build(), null));
        assertFalse(v.ok());
        assertEquals("the step failed with exit code 0", v.message());
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"Validating", "SchemaCheck", "Dumping", "Restoring", "Analyzing"})
    void nonZeroExitCodeFailsEvenWhenTheResultSaysOk(Phase phase) {
        R r = new R();
        r.sourceVersionNum = 130023;
        r.targetVersionNum = 170006;
        r.bytes = 10L;
        r.databases = 1;
        Verdict v = StepJudge.judge(phase, SPEC_17, new PhaseOutcome.Ran(2, r.build(), null));
        assertFalse(v.ok());
        assertEquals("the step reported success but exited with code 2; see the step log", v.message());
    }

    // ---- Verifying ----

    private static R verified(int mismatches) {
        R r = new R();
        r.mode = "checksums";
        r.databases = 2;
        r.tables = 7;
        r.mismatchCount = mismatches;
        r.mismatches = mismatches == 0 ? List.of() : List.of("shop: rows store.orders: source 3000 sum=1, target 2999 sum=2");
        r.summaries = List.of("shop: 7 tables (7 with content checksums), 1 sequences, 0 large objects: " + mismatches + " mismatches");
        return r;
    }

    @Test
    void verifyingWithoutMismatchesPassesAndListsWhatItChecked() {
        Verdict v = StepJudge.judge(Phase.Verifying, SPEC_17, new PhaseOutcome.Ran(0, verified(0).build(), null));
        assertTrue(v.ok());
        assertEquals("target matches the source: 2 databases, 7 tables (checksums)", v.message());
        assertEquals(1, v.details().size());
        assertEquals(List.of(), v.errors());
    }

    @Test
    void aMismatchFailsVerifyingWithTheFirstDifference() {
        Verdict v = StepJudge.judge(Phase.Verifying, SPEC_17, new PhaseOutcome.Ran(0, verified(1).build(), null));
        assertFalse(v.ok());
        assertTrue(v.message().startsWith("the target does not match the source: 1 mismatch between source and target"), v.message());
        assertTrue(v.message().contains("rows store.orders: source 3000"), v.message());
        assertEquals(List.of("shop: rows store.orders: source 3000 sum=1, target 2999 sum=2"), v.errors());
    }

    @Test
    void onMismatchWarnGoesOnButKeepsTheMismatches() {
        PostgresUpgradeSpec spec = spec("17");
        dev.pgupgrade.api.VerificationSpec verification = new dev.pgupgrade.api.VerificationSpec();
        verification.setOnMismatch(dev.pgupgrade.api.VerificationSpec.OnMismatch.WARN);
        spec.setVerification(verification);
        Verdict v = StepJudge.judge(Phase.Verifying, spec, new PhaseOutcome.Ran(0, verified(1).build(), null));
        assertTrue(v.ok());
        assertTrue(v.message().startsWith("WARNING: 1 mismatch"), v.message());
        assertEquals(1, v.errors().size());
    }

    @Test
    void aVerificationResultWithoutFindingsFails() {
        R r = verified(0);
        r.mismatchCount = null;
        assertFalse(StepJudge.judge(Phase.Verifying, SPEC_17, new PhaseOutcome.Ran(0, r.build(), null)).ok());
    }

    // ---- Validating ----

    @Test
    void validatingOkRecordsBothVersions() {
        R r = new R();
        r.sourceVersionNum = 130023;
        r.sourceVersion = "13.23";
        r.targetVersionNum = 170006;
        r.targetVersion = "17.6";
        Verdict v = judge(Phase.Validating, r);
        assertTrue(v.ok());
        assertEquals("source PostgreSQL 13.23, target PostgreSQL 17.6", v.message());
        assertEquals("13.23", v.sourceVersion());
        assertEquals("17.6", v.targetVersion());
    }

    /** pg_dumpall and pg_dump refuse a database name with a line break in a \\connect: refused in Validating, named. */
    @Test
    void aSourceDatabaseWhoseNameHoldsALineBreakIsRefused() throws Exception {
        ScriptResult result = ScriptResult.parse("{\"ok\":true,\"sourceVersionNum\":140000,\"sourceVersion\":\"14.0\",\"targetVersionNum\":170000,"
                + "\"targetVersion\":\"17.0\",\"sourceDatabases\":[\"postgres\",\"two\\nlines\",\"cr\\rhere\"]}");
        Verdict v = StepJudge.judge(Phase.Validating, Upgrades.direct("17", 1L).getSpec(), new PhaseOutcome.Ran(0, result, null));
        assertFalse(v.ok());
        assertTrue(v.message().startsWith("the source has 2 databases whose name holds a line break (\"two\\nlines\", \"cr\\rhere\")"), v.message());
    }

    @Test
    void validatingWithoutSourceVersionFails() {
        R r = new R();
        r.targetVersionNum = 170006;
        r.targetVersion = "17.6";
        Verdict v = judge(Phase.Validating, r);
        assertFalse(v.ok());
        assertEquals("the validation step did not report the server versions", v.message());
        assertNull(v.sourceVersion());
    }

    @Test
    void validatingWithoutTargetVersionFails() {
        R r = new R();
        r.sourceVersionNum = 130023;
        r.sourceVersion = "13.23";
        Verdict v = judge(Phase.Validating, r);
        assertFalse(v.ok());
        assertEquals("the validation step did not report the server versions", v.message());
    }

    @Test
    void validatingWithTheWrongTargetMajorFails() {
        R r = new R();
        r.sourceVersionNum = 130023;
        r.sourceVersion = "13.23";
        r.targetVersionNum = 160004;
        r.targetVersion = "16.4";
        Verdict v = judge(Phase.Validating, r);
        assertFalse(v.ok());
        assertTrue(v.message().startsWith("spec.target.version is \"17\""), v.message());
        assertEquals("16.4", v.targetVersion());
    }

    // ---- Dumping ----

    @ParameterizedTest
    @CsvSource({
        "0, 0, dumped 0 B in 0.0 s",
        "1023, 999, dumped 1023 B in 1.0 s",
        "1024, 1000, dumped 1.0 KiB in 1.0 s",
        "1572864, 2345, dumped 1.5 MiB in 2.3 s",
        "5368709120, 3600000, dumped 5.0 GiB in 3600.0 s",
        "3298534883328, 1, dumped 3.0 TiB in 0.0 s",
        "3377699720527872, 1, dumped 3072.0 TiB in 0.0 s",
    })
    void dumpingReportsSizeAndDuration(long bytes, long millis, String expected) {
        R r = new R();
        r.bytes = bytes;
        r.durationMillis = millis;
        Verdict v = judge(Phase.Dumping, r);
        assertTrue(v.ok());
        assertEquals(expected, v.message());
        assertEquals(bytes, v.bytes());
    }

    @Test
    void dumpingWithoutFiguresStillSucceeds() {
        Verdict v = judge(Phase.Dumping, new R());
        assertTrue(v.ok());
        assertEquals("dumped ? bytes in ? s", v.message());
        assertNull(v.bytes());
    }

    // ---- Analyzing ----

    @ParameterizedTest
    @CsvSource({"1, VACUUM ANALYZE done in 1 database", "4, VACUUM ANALYZE done in 4 databases",
        "0, VACUUM ANALYZE done in 0 databases"})
    void analyzingCountsDatabases(int databases, String expected) {
        R r = new R();
        r.databases = databases;
        Verdict v = judge(Phase.Analyzing, r);
        assertTrue(v.ok());
        assertEquals(expected, v.message());
    }

    @Test
    void analyzingWithoutCountSaysZero() {
        assertEquals("VACUUM ANALYZE done in 0 databases", judge(Phase.Analyzing, new R()).message());
    }

    // ---- SchemaCheck and Restoring ----

    @Test
    void schemaCheckWithoutErrorsSucceeds() {
        R r = new R();
        r.errorCount = 0;
        r.errorLines = List.of();
        Verdict v = judge(Phase.SchemaCheck, r);
        assertTrue(v.ok());
        assertEquals("schema restored into a throwaway PostgreSQL 17", v.message());
        assertEquals(0, v.expectedErrors());
        assertEquals(0, v.unexpectedErrors());
    }

    @Test
    void schemaCheckCountsExpectedErrors() {
        R r = new R();
        r.errorCount = 1;
        r.errorLines = List.of("line 5: ERROR:  role \"postgres\" already exists");
        r.roles = List.of("postgres");
        Verdict v = judge(Phase.SchemaCheck, r);
        assertTrue(v.ok());
        assertEquals("schema restored into a throwaway PostgreSQL 17 (1 expected error: already exists)", v.message());
        assertEquals(1, v.expectedErrors());
    }

    @Test
    void schemaCheckWithAnUnexpectedErrorFailsNamingTheTargetVersion() {
        String bad = "line 12: ERROR:  type \"abstime\" does not exist";
        R r = new R();
        r.errorCount = 1;
        r.errorLines = List.of(bad);
        Verdict v = StepJudge.judge(Phase.SchemaCheck, spec("12"), new PhaseOutcome.Ran(0, r.build(), null));
        assertFalse(v.ok());
        assertEquals("the schema does not restore on PostgreSQL 12: 1 unexpected error, first: " + bad, v.message());
        assertEquals(List.of(bad), v.errors());
        assertEquals(1, v.unexpectedErrors());
    }

    @Test
    void restoreWithoutErrorCountUsesTheLinesGiven() {
        R r = new R();
        r.errorLines = List.of("line 1: ERROR:  database \"app\" already exists");
        r.databasesBefore = List.of("app");
        r.bytes = 2048L;
        r.durationMillis = 1500L;
        Verdict v = judge(Phase.Restoring, r);
        assertTrue(v.ok());
        assertEquals("restored 2.0 KiB in 1.5 s (1 expected error: already exists)", v.message());
        assertEquals(2048L, v.bytes());
    }

    @Test
    void restoreWithUnseenErrorLinesFails() {
        R r = new R();
        r.errorCount = 60;
        r.errorLines = List.of("line 1: ERROR:  role \"postgres\" already exists");
        r.roles = List.of("postgres");
        Verdict v = judge(Phase.Restoring, r);
        assertFalse(v.ok());
        assertEquals("the restore into the target reported errors: 59 unexpected errors, first: "
                + "(59 more error lines not shown: see the step log)", v.message());
        assertEquals(1, v.expectedErrors());
        assertEquals(59, v.unexpectedErrors());
    }

    // ---- phases without their own rule ----

    @Test
    void otherPhasesPassTheScriptsMessageOn() {
        R r = new R();
        r.message = "scaled 2 services to zero";
        assertEquals("scaled 2 services to zero", judge(Phase.ScalingDown, r).message());
        assertTrue(judge(Phase.ScalingDown, r).ok());
        assertEquals("done", judge(Phase.Repointing, new R()).message());
    }
}
