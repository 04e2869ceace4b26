package dev.pgupgrade.steps;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;

/**
 * The one JSON document a step script writes to $RESULT_FILE (see lib.sh). Each script fills the
 * fields that concern it; the engine reads them.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ScriptResult(
        boolean ok,
        String message,
        Integer sourceVersionNum,
        String sourceVersion,
        Integer targetVersionNum,
        String targetVersion,
        String targetUser,
        String targetSuperuser,
        List<String> sourceDatabases,
        List<String> targetDatabases,
        Integer errorCount,
        List<String> errorLines,
        List<String> preexistingRoles,
        List<String> preexistingDatabases,
        Long bytes,
        Long durationMillis,
        Integer databases,
        Integer passwordStatementsDropped,
        String mode,
        Integer tables,
        Integer mismatchCount,
        List<String> mismatches,
        List<String> summaries,
        Boolean targetExists,
        Boolean targetCreated,
        Boolean targetDeprovisioned,
        List<ObservedService> services,
        String backupId,
        Long dumpMillis,
        Long restoreMillis,
        List<TargetObject> targetObjects,
        List<TargetFact> targetCluster,
        List<String> targetUnreadable,
        List<UncarriedObject> uncarried,
        Integer uncarriedCount) {

    /** Something in a source database that a dump and restore cannot carry (source-uncarried.sql). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record UncarriedObject(String database, String kind, String name) {
    }

    /** User objects of one kind in one database of the target (target-objects.sql). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record TargetObject(String database, String kind, Integer count) {
    }

    /** A cluster-wide fact about the target: a role (name, bootstrap), or how many roles, tablespaces, subscriptions. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record TargetFact(String kind, String name, Boolean bootstrap, Integer count) {
    }

    /** One service of an Aptible app as {@code aptible apps} showed it, before anything was scaled. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ObservedService(String app, String service, Integer containerCount) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ScriptResult parse(String json) throws IOException {
        return JSON.readValue(json, ScriptResult.class);
    }

    public List<String> errorLinesOrEmpty() {
        return errorLines == null ? List.of() : errorLines;
    }
}
