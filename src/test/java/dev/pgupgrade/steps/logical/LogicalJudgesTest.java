package dev.pgupgrade.steps.logical;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Verdict;
import dev.pgupgrade.testing.Upgrades;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the online strategy's facts mean: the refusals of Validating and the cutover's verdict. */
class LogicalJudgesTest {
    private final PostgresUpgradeSpec spec = Upgrades.direct("17", 1L).getSpec();

    private static LogicalCheck.Result check(String walLevel, int usedSlots, List<String> keyless, List<String> unlogged) {
        return new LogicalCheck.Result(true, null, 130000, walLevel, 10, usedSlots, 10, 0, "t", 170000, 4, 8, "t", 3,
                keyless.size(), keyless, 0, List.of(), unlogged.size(), unlogged, 0, List.of(), 0, List.of(), 0, List.of());
    }

    @Test
    void aClusterReplicationCanCarryPasses() {
        Verdict v = LogicalCheck.KIND.judge(check("logical", 0, List.of(), List.of()), spec);
        assertTrue(v.ok(), v.message());
        assertTrue(v.message().contains("3 databases"), v.message());
    }

    @Test
    void everyReasonToRefuseIsListedAtOnceWithWhatToDo() {
        Verdict v = LogicalCheck.KIND.judge(check("replica", 9, List.of("shop: public.\"no key\""), List.of("shop: public.scratch")), spec);
        assertFalse(v.ok());
        assertTrue(v.message().contains("wal_level is replica, not logical") && v.message().contains("restart the source"), v.message());
        assertTrue(v.message().contains("1 free replication slots") && v.message().contains("max_replication_slots"), v.message());
        assertTrue(v.message().contains("shop: public.\"no key\"") && v.message().contains("REPLICA IDENTITY FULL"), v.message());
        assertTrue(v.message().contains("shop: public.scratch") && v.message().contains("SET LOGGED"), v.message());
    }

    /**
     * On Aptible the replica does not exist at Validating (no target facts, its settings are Aptible's), and a
     * pglogical node left on the source would make db:replicate --logical fail: refused up front, named.
     */
    @Test
    void onAptibleALeftoverPglogicalNodeIsRefusedAndTheTargetIsNotAsked() {
        PostgresUpgradeSpec aptible = Upgrades.aptible("17", 1L).getSpec();
        LogicalCheck.Result sourceOnly = new LogicalCheck.Result(true, null, 130000, "logical", 10, 0, 10, 0, "t", null, null, null, null, 2,
                0, List.of(), 0, List.of(), 0, List.of(), 0, List.of(), 0, List.of(), 0, List.of());
        assertTrue(LogicalCheck.KIND.judge(sourceOnly, aptible).ok());
        LogicalCheck.Result leftover = new LogicalCheck.Result(true, null, 130000, "logical", 10, 0, 10, 0, "t", null, null, null, null, 2,
                0, List.of(), 0, List.of(), 0, List.of(), 0, List.of(), 0, List.of(), 1, List.of("db: aptible_provider_1"));
        Verdict v = LogicalCheck.KIND.judge(leftover, aptible);
        assertFalse(v.ok());
        assertTrue(v.message().contains("db: aptible_provider_1") && v.message().contains("pglogical.drop_node"), v.message());
        assertTrue(LogicalCheck.KIND.judge(leftover, spec).ok(), "platform direct does not use pglogical");
    }

    @Test
    void aSourceOlderThanTenIsRefusedBeforeAnythingElse() {
        LogicalCheck.Result old = new LogicalCheck.Result(true, null, 90624, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, null);
        Verdict v = LogicalCheck.KIND.judge(old, spec);
        assertFalse(v.ok());
        assertTrue(v.message().contains("PostgreSQL 10 or newer") && v.message().contains("dump strategy"), v.message());
    }

    private static Cutover.Result cutover(List<String> findings, int mismatches, List<String> lines) {
        return new Cutover.Result(true, null, findings.size(), 4, 0, findings, mismatches, lines, 900L, null);
    }

    @Test
    void aCutoverWithEveryDatabaseFrozenAloneAndCaughtUpPasses() {
        Verdict v = Cutover.KIND.judge(cutover(List.of("postgres 0 f t 6 0/16EA4F8", "second | db 0 f t 8 0/16EA890"), 0, List.of()), spec);
        assertTrue(v.ok(), v.message());
        assertTrue(v.message().contains("2 databases") && v.message().contains("4 sequences") && v.message().contains("stays frozen"),
                v.message());
    }

    @Test
    void aSessionLeftAfterTheFreezeOrALaggingTargetRefusesTheCutover() {
        Verdict v = Cutover.KIND.judge(cutover(List.of("shop db 1 f t 6 0/1", "other 0 t f 20000 0/2"), 0, List.of()), spec);
        assertFalse(v.ok());
        assertTrue(v.message().contains("database shop db: 1 other sessions"), v.message());
        assertTrue(v.message().contains("database other: still accepts connections"), v.message());
        assertTrue(v.message().contains("database other: the target did not apply the source's last writes (up to 0/2)"), v.message());
    }

    @Test
    void anApplyErrorOnTheTargetIsNamedWithTheTimeout() {
        Verdict v = Cutover.KIND.judge(new Cutover.Result(true, null, 1, 0, 3, List.of("shop 0 f f 5000 0/9"), 0, List.of(), 1L, null), spec);
        assertFalse(v.ok());
        assertTrue(v.message().contains("did not apply the source's last writes") && v.message().contains("reported 3 errors"),
                v.message());
        // caught up in the end (a source restart, a retried connection): errors alone refuse nothing
        assertTrue(Cutover.KIND.judge(new Cutover.Result(true, null, 1, 0, 2, List.of("shop 0 f t 6 0/9"), 0, List.of(), 1L, null), spec).ok());
    }

    @Test
    void ddlOnTheSourceRefusesTheCutoverNamingIt() {
        Verdict v = Cutover.KIND.judge(cutover(List.of("shop 0 f t 6 0/1"), 1, List.of("shop: only the source has: table\tpublic.added_later\t")),
                spec);
        assertFalse(v.ok());
        assertTrue(v.message().contains("DDL on the source") && v.message().contains("added_later"), v.message());
    }

    @Test
    void aCutoverThatReportedFewerDatabasesThanItCountedFails() {
        Verdict v = Cutover.KIND.judge(new Cutover.Result(true, null, 3, 0, 0, List.of("shop 0 f t 6 0/1"), 0, List.of(), 1L, null), spec);
        assertFalse(v.ok());
        assertTrue(v.message().contains("reported 1 of 3 databases"), v.message());
    }
}
