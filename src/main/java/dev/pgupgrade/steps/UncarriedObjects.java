package dev.pgupgrade.steps;

import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.api.SchemaCheckSpec;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.ArrayList;
import java.util.List;

/**
 * What a dump and restore cannot carry: objects pg_dump skips without a word (made in pg_catalog,
 * members added to a built-in operator family), found by SchemaCheck on the source. Silently leaving
 * them behind would be a loss nobody sees, so by default the upgrade stops before any downtime and
 * names them; {@code spec.schemaCheck.onUncarried: warn} names them and goes on. Pure.
 */
public final class UncarriedObjects {
    /** Something in a source database that a dump and restore cannot carry (source-uncarried.sql). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record UncarriedObject(String database, String kind, String name) {
    }

    /** How many objects the message names; status lists what the step reported. */
    static final int NAMED = 5;

    private UncarriedObjects() {
    }

    /** The SchemaCheck verdict with the uncarried objects taken into account. */
    public static Verdict judge(PostgresUpgradeSpec spec, List<UncarriedObject> uncarried, Integer uncarriedCount, Verdict schema) {
        List<UncarriedObject> found = uncarried == null ? List.of() : uncarried;
        int total = Math.max(found.size(), uncarriedCount == null ? 0 : uncarriedCount);
        if (total == 0 || !schema.ok()) {
            return schema;
        }
        List<String> named = new ArrayList<>();
        for (UncarriedObject object : found) {
            named.add("database " + Shown.name(object.database()) + ": " + object.name() + " (" + object.kind() + ")");
        }
        String list = String.join("; ", named.subList(0, Math.min(NAMED, named.size())))
                + (total > NAMED ? "; and " + (total - NAMED) + " more" : "");
        String what = Figures.count(total, "object") + " a dump and restore cannot carry (pg_dump skips "
                + (total == 1 ? "it" : "them") + " without a word): " + list;
        if (SchemaCheckSpec.warnsOnUncarried(spec.getSchemaCheck())) {
            return schema.withOutcome(true, "WARNING: " + what + "; going on without " + (total == 1 ? "it" : "them")
                    + " because spec.schemaCheck.onUncarried is warn. " + schema.message()).withDetails(List.of(), named);
        }
        return schema.withOutcome(false, "the source holds " + what + ". Drop "
                + (total == 1 ? "it" : "them") + " from the source (and re-create on the target after the upgrade), or set "
                + "spec.schemaCheck.onUncarried: warn to upgrade without " + (total == 1 ? "it" : "them")).withDetails(List.of(), named);
    }
}
