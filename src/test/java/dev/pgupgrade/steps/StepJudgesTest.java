package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.PostgresUpgradeStatus;
import dev.pgupgrade.api.TargetSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.steps.aptible.Aptible;
import dev.pgupgrade.steps.aptible.Services;
import dev.pgupgrade.steps.database.Analyze;
import dev.pgupgrade.steps.database.Dump;
import dev.pgupgrade.steps.database.Restore;
import dev.pgupgrade.steps.database.SchemaCheck;
import dev.pgupgrade.steps.database.Validate;
import dev.pgupgrade.steps.database.Verify;
import dev.pgupgrade.testing.StepResults;
import dev.pgupgrade.testing.Upgrades;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What every step's result means: the generic rules (no result, ok false, exit code) and each kind's own judge. */
class StepJudgesTest {
    private static final PostgresUpgradeSpec SPEC_17 = spec("17");

    static PostgresUpgradeSpec spec(String version) {
        PostgresUpgradeSpec spec = new PostgresUpgradeSpec();
        TargetSpec target = new TargetSpec();
        target.setVersion(version);
        spec.setTarget(target);
        return spec;
    }

    static Verdict judge(StepKind<?> kind, StepResults r) {
        return judge(kind, SPEC_17, r.ran());
    }

    static Verdict judge(StepKind<?> kind, PostgresUpgradeSpec spec, PhaseOutcome outcome) {
        return StepVerdicts.judge(kind, outcome, spec, new StatusFacts(new PostgresUpgradeStatus(), spec, "2026-01-01T00:00:00Z"));
    }

    // ---- outcomes without a result ----

    @Test
    void skippedIsOkWithItsReason() {
        Verdict v = judge(null, SPEC_17, new PhaseOutcome.Skipped("no services declared"));
        assertTrue(v.ok());
        assertEquals("no services declared", v.message());
    }

    @Test
    void refusedFailsWithItsReason() {
        Verdict v = judge(null, SPEC_17, new PhaseOutcome.Refused("needs the operator"));
        assertFalse(v.ok());
        assertEquals("needs the operator", v.message());
    }

    @Test
    void noResultFailsWithTheProblem() {
        Verdict v = judge(Dump.RUNBOOK, SPEC_17, new PhaseOutcome.Ran(-1, null, "the step vanished"));
        assertFalse(v.ok());
        assertEquals("the step vanished", v.message());
    }

    @Test
    void noResultAndNoProblemNamesTheExitCode() {
        Verdict v = judge(Dump.RUNBOOK, SPEC_17, new PhaseOutcome.Ran(137, null, null));
        assertFalse(v.ok());
        assertEquals("the step ended with exit code 137 without reporting a result; see the step log", v.message());
    }

    @Test
    void aResultThatIsNotJsonFails() {
        Verdict v = judge(Dump.RUNBOOK, SPEC_17, new PhaseOutcome.Ran(0, "{\"ok\":tru", null));
        assertFalse(v.ok());
        assertEquals("the step's result is not a JSON object; see the step log", v.message());
    }

    @Test
    void aResultWhoseFieldsDoNotFitFails() {
        Verdict v = judge(Dump.RUNBOOK, StepResults.ok().with("bytes", "many"));
        assertFalse(v.ok());
        assertEquals("the step's result does not have the fields dump.sh reports; see the step log", v.message());
    }

    // ---- ok flag and exit code ----

    @Test
    void okFalseFailsWithTheScriptsMessage() {
        Verdict v = judge(Restore.RUNBOOK, StepResults.failed("there is no dump to restore"));
        assertFalse(v.ok());
        assertEquals("there is no dump to restore", v.message());
    }

    @Test
    void okFalseWithoutMessageNamesTheExitCode() {
        Verdict v = judge(Dump.RUNBOOK, StepResults.failed(null));
        assertFalse(v.ok());
        assertEquals("the step failed with exit code 0", v.message());
    }

    @Test
    void nonZeroExitCodeFailsEvenWhenTheResultSaysOk() {
        StepResults r = StepResults.ok().with("sourceVersionNum", 130023).with("targetVersionNum", 170006).with("bytes", 10).with("databases", 1);
        for (StepKind<?> kind : List.of(Validate.KIND, SchemaCheck.KIND, Dump.RUNBOOK, Restore.RUNBOOK, Analyze.KIND)) {
            Verdict v = judge(kind, SPEC_17, r.ran(2));
            assertFalse(v.ok(), kind.script());
            assertEquals("the step reported success but exited with code 2; see the step log", v.message());
        }
    }

    // ---- Verifying ----

    private static StepResults verified(int mismatches) {
        return StepResults.ok().with("mode", "checksums").with("databases", 2).with("tables", 7).with("mismatchCount", mismatches)
                .with("mismatches", mismatches == 0 ? List.of() : List.of("shop: rows store.orders: source 3000 sum=1, target 2999 sum=2"))
                .with("summaries", List.of("shop: 7 tables (7 with content checksums), 1 sequences, 0 large objects: " + mismatches + " mismatches"));
    }

    @Test
    void verifyingWithoutMismatchesPassesAndListsWhatItChecked() {
        Verdict v = judge(Verify.KIND, verified(0));
        assertTrue(v.ok());
        assertEquals("target matches the source: 2 databases, 7 tables (checksums)", v.message());
        assertEquals(1, v.details().size());
        assertEquals(List.of(), v.errors());
    }

    @Test
    void aMismatchFailsVerifyingWithTheFirstDifference() {
        Verdict v = judge(Verify.KIND, verified(1));
        assertFalse(v.ok());
        assertTrue(v.message().startsWith("the target does not match the source: 1 mismatch between source and target"), v.message());
        assertTrue(v.message().contains("rows store.orders: source 3000"), v.message());
        assertEquals(List.of("shop: rows store.orders: source 3000 sum=1, target 2999 sum=2"), v.errors());
    }

    @Test
    void mismatchesAreCountedInGoodEnglish() {
        assertTrue(judge(Verify.KIND, verified(2)).message().contains("2 mismatches between"));
    }

    @Test
    void onMismatchWarnGoesOnButKeepsTheMismatches() {
        PostgresUpgradeSpec spec = spec("17");
        VerificationSpec verification = new VerificationSpec();
        verification.setOnMismatch(VerificationSpec.OnMismatch.WARN);
        spec.setVerification(verification);
        Verdict v = judge(Verify.KIND, spec, verified(1).ran());
        assertTrue(v.ok());
        assertTrue(v.message().startsWith("WARNING: 1 mismatch"), v.message());
        assertEquals(1, v.errors().size());
    }

    @Test
    void aVerificationResultWithoutFindingsFails() {
        assertFalse(judge(Verify.KIND, verified(0).with("mismatchCount", null)).ok());
    }

    // ---- Validating ----

    private static StepResults versions(Integer source, String sourceVersion, Integer target, String targetVersion) {
        return StepResults.ok().with("sourceVersionNum", source).with("sourceVersion", sourceVersion)
                .with("targetVersionNum", target).with("targetVersion", targetVersion);
    }

    @Test
    void validatingOkRecordsBothVersions() {
        Verdict v = judge(Validate.KIND, versions(130023, "13.23", 170006, "17.6"));
        assertTrue(v.ok());
        assertEquals("source PostgreSQL 13.23, target PostgreSQL 17.6", v.message());
        assertEquals("13.23", v.sourceVersion());
        assertEquals("17.6", v.targetVersion());
    }

    /** pg_dumpall and pg_dump refuse a database name with a line break in a \\connect: refused in Validating, named. */
    @Test
    void aSourceDatabaseWhoseNameHoldsALineBreakIsRefused() {
        Verdict v = judge(Validate.KIND, Upgrades.direct("17", 1L).getSpec(), versions(140000, "14.0", 170000, "17.0")
                .with("sourceDatabases", List.of("postgres", "two\nlines", "cr\rhere")).ran());
        assertFalse(v.ok());
        assertTrue(v.message().startsWith("the source has 2 databases whose name holds a line break (\"two\\nlines\", \"cr\\rhere\")"), v.message());
    }

    @Test
    void validatingWithoutSourceVersionFails() {
        Verdict v = judge(Validate.KIND, versions(null, null, 170006, "17.6"));
        assertFalse(v.ok());
        assertEquals("the validation step did not report the server versions", v.message());
        assertNull(v.sourceVersion());
    }

    @Test
    void validatingWithoutTargetVersionFails() {
        Verdict v = judge(Validate.KIND, versions(130023, "13.23", null, null));
        assertFalse(v.ok());
        assertEquals("the validation step did not report the server versions", v.message());
    }

    @Test
    void validatingWithTheWrongTargetMajorFails() {
        Verdict v = judge(Validate.KIND, versions(130023, "13.23", 160004, "16.4"));
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
        Verdict v = judge(Dump.PARALLEL, StepResults.ok().with("bytes", bytes).with("durationMillis", millis));
        assertTrue(v.ok());
        assertEquals(expected, v.message());
        assertEquals(bytes, v.bytes());
    }

    @Test
    void dumpingWithoutFiguresStillSucceeds() {
        Verdict v = judge(Dump.RUNBOOK, StepResults.ok());
        assertTrue(v.ok());
        assertEquals("dumped ? bytes in ? s", v.message());
        assertNull(v.bytes());
    }

    // ---- Analyzing ----

    @ParameterizedTest
    @CsvSource({"1, VACUUM ANALYZE done in 1 database", "4, VACUUM ANALYZE done in 4 databases",
        "0, VACUUM ANALYZE done in 0 databases"})
    void analyzingCountsDatabases(int databases, String expected) {
        Verdict v = judge(Analyze.KIND, StepResults.ok().with("databases", databases));
        assertTrue(v.ok());
        assertEquals(expected, v.message());
    }

    @Test
    void analyzingWithoutCountSaysZero() {
        assertEquals("VACUUM ANALYZE done in 0 databases", judge(Analyze.KIND, StepResults.ok()).message());
    }

    // ---- SchemaCheck and Restoring ----

    @Test
    void schemaCheckWithoutErrorsSucceeds() {
        Verdict v = judge(SchemaCheck.KIND, StepResults.ok().with("errorCount", 0).with("errorLines", List.of()));
        assertTrue(v.ok());
        assertEquals("schema restored into a throwaway PostgreSQL 17", v.message());
        assertEquals(0, v.expectedErrors());
        assertEquals(0, v.unexpectedErrors());
    }

    @Test
    void schemaCheckCountsExpectedErrors() {
        Verdict v = judge(SchemaCheck.KIND, StepResults.ok().with("errorCount", 1)
                .with("errorLines", List.of("Roles: ERROR:  role \"postgres\" already exists")).with("preexistingRoles", List.of("postgres")));
        assertTrue(v.ok());
        assertEquals("schema restored into a throwaway PostgreSQL 17 (1 expected error: already exists)", v.message());
        assertEquals(1, v.expectedErrors());
    }

    @Test
    void schemaCheckWithAnUnexpectedErrorFailsNamingTheTargetVersion() {
        String bad = "TABLE public.t in database shop: ERROR:  type \"abstime\" does not exist";
        Verdict v = judge(SchemaCheck.KIND, spec("12"), StepResults.ok().with("errorCount", 1).with("errorLines", List.of(bad)).ran());
        assertFalse(v.ok());
        assertEquals("the schema does not restore on PostgreSQL 12: 1 unexpected error, first: " + bad, v.message());
        assertEquals(List.of(bad), v.errors());
        assertEquals(1, v.unexpectedErrors());
    }

    @Test
    void restoreWithoutErrorCountUsesTheLinesGiven() {
        Verdict v = judge(Restore.PIPELINE, StepResults.ok().with("errorLines", List.of("line 1: ERROR:  database \"app\" already exists"))
                .with("preexistingDatabases", List.of("app")).with("bytes", 2048).with("durationMillis", 1500));
        assertTrue(v.ok());
        assertEquals("restored 2.0 KiB in 1.5 s (1 expected error: already exists)", v.message());
        assertEquals(2048L, v.bytes());
    }

    @Test
    void restoreWithUnseenErrorLinesFails() {
        Verdict v = judge(Restore.PARALLEL, StepResults.ok().with("errorCount", 60)
                .with("errorLines", List.of("line 1: ERROR:  role \"postgres\" already exists")).with("preexistingRoles", List.of("postgres")));
        assertFalse(v.ok());
        assertEquals("the restore into the target reported errors: 59 unexpected errors, first: "
                + "(59 more error lines not shown: see the step log)", v.message());
        assertEquals(1, v.expectedErrors());
        assertEquals(59, v.unexpectedErrors());
    }

    // ---- steps without a rule of their own ----

    @Test
    void otherStepsPassTheScriptsMessageOn() {
        StepResults r = StepResults.ok().with("message", "scaled 2 services to zero");
        assertEquals("scaled 2 services to zero", judge(Services.SCALE, r).message());
        assertTrue(judge(Services.SCALE, r).ok());
        assertEquals("done", judge(Aptible.REPOINT, StepResults.ok()).message());
    }
}
