package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.SchemaCheckSpec;
import dev.pgupgrade.steps.database.SchemaCheck;
import dev.pgupgrade.testing.Upgrades;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a dump cannot carry stops the upgrade before any downtime, named, unless the spec says warn. */
class UncarriedObjectsTest {
    private static final String ONE = "{\"database\":\"shop\",\"kind\":\"in a system schema\",\"name\":\"function shout(text) in schema pg_catalog\"}";

    private static SchemaCheck.Result result(String uncarried, int count) throws Exception {
        return Results.parse("{\"ok\":true,\"errorCount\":0,\"uncarried\":[" + uncarried + "],\"uncarriedCount\":" + count + "}", SchemaCheck.Result.class);
    }

    private static Verdict judge(dev.pgupgrade.api.PostgresUpgradeSpec spec, SchemaCheck.Result r, Verdict schema) {
        return UncarriedObjects.judge(spec, r.uncarried(), r.uncarriedCount(), schema);
    }

    @Test
    void nothingUncarriedLeavesTheSchemaVerdictAlone() throws Exception {
        Verdict schema = Verdict.ok("schema restored");
        assertEquals(schema, judge(Upgrades.direct("17", 1L).getSpec(), result("", 0), schema));
    }

    @Test
    void anUncarriedObjectFailsNamingItsDatabaseAndWhatToDo() throws Exception {
        Verdict v = judge(Upgrades.direct("17", 1L).getSpec(), result(ONE, 1), Verdict.ok("schema restored"));
        assertFalse(v.ok());
        assertTrue(v.message().startsWith("the source holds 1 object a dump and restore cannot carry (pg_dump skips it without a word): "
                + "database \"shop\": function shout(text) in schema pg_catalog (in a system schema). Drop it"), v.message());
        assertTrue(v.message().contains("spec.schemaCheck.onUncarried: warn"), v.message());
        assertEquals(List.of("database \"shop\": function shout(text) in schema pg_catalog (in a system schema)"), v.errors());
    }

    @Test
    void warnGoesOnAndSaysSo() throws Exception {
        var spec = Upgrades.direct("17", 1L).getSpec();
        SchemaCheckSpec check = new SchemaCheckSpec();
        check.setOnUncarried(SchemaCheckSpec.OnUncarried.WARN);
        spec.setSchemaCheck(check);
        Verdict v = judge(spec, result(ONE + "," + ONE, 30), Verdict.ok("schema restored"));
        assertTrue(v.ok());
        assertTrue(v.message().startsWith("WARNING: 30 objects a dump and restore cannot carry"), v.message());
        assertTrue(v.message().contains("and 25 more"), v.message());
    }

    @Test
    void aSchemaThatDoesNotRestoreIsTheFirstThingToSay() throws Exception {
        Verdict failed = Verdict.failed("the schema does not restore");
        assertEquals(failed, judge(Upgrades.direct("17", 1L).getSpec(), result(ONE, 1), failed));
    }
}
