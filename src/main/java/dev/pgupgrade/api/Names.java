package dev.pgupgrade.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Every name derived from a PostgresUpgrade, in one place: steps, Jobs, the scripts ConfigMap, the
 * work volume, the backup of the apps' URLs, Aptible's temporary databases. Deterministic, so that a
 * restarted driver finds what an earlier one created, and creating twice is harmless.
 */
public final class Names {
    private Names() {
    }

    /** "dumping-2": a phase's own step in an attempt. */
    public static String step(Phase phase, PostgresUpgradeStatus status) {
        return phase.stepName() + "-" + attempt(status);
    }

    /** ScalingDown's inventory step on Aptible, run before the phase's own step. */
    public static String inventoryStep(PostgresUpgradeStatus status) {
        return step(Phase.ScalingDown, status) + "-inventory";
    }

    /** A step's Job: "orders-db-dumping-2". */
    public static String job(PostgresUpgrade upgrade, String step) {
        return upgrade.getMetadata().getName() + "-" + step;
    }

    /** The ConfigMap the step scripts are mounted from. */
    public static String scriptsConfigMap(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getName() + "-steps";
    }

    /** The claim shared by Dumping (writes the dump) and Restoring (reads it). */
    public static String workClaim(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getName() + "-work";
    }

    /** The Secret holding the apps' previous URLs, keyed "SECRET.KEY". */
    public static String urlBackupSecret(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getName() + "-url-backup";
    }

    /** What every rehearsal temporary of this upgrade starts with, so a rerun finds earlier attempts' leftovers. */
    public static String rehearsalPrefix(PostgresUpgrade upgrade) {
        return upgrade.getMetadata().getName() + "-rh";
    }

    /** The rehearsal's restored copy of the source in this attempt. */
    public static String rehearsalSource(PostgresUpgrade upgrade) {
        return rehearsalPrefix(upgrade) + attempt(upgrade.getStatus()) + "-src";
    }

    /** The rehearsal's temporary target in this attempt. */
    public static String rehearsalTarget(PostgresUpgrade upgrade) {
        return rehearsalPrefix(upgrade) + attempt(upgrade.getStatus()) + "-dst";
    }

    /**
     * The base name of the logical strategy's replication objects on both servers ("pgupgrade_" and 8 hex
     * digits of the resource's namespace and name): the same in every attempt, so a retry or a cleanup
     * finds what an interrupted one created. Only [a-z0-9_], so the scripts may splice it into SQL.
     */
    public static String replication(PostgresUpgrade upgrade) {
        String id = upgrade.getMetadata().getNamespace() + "/" + upgrade.getMetadata().getName();
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return "pgupgrade_" + HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cleanup step of the logical strategy in this attempt, run before RollingBack's own work. */
    public static String replicationCleanupStep(PostgresUpgradeStatus status) {
        return step(Phase.RollingBack, status) + "-replication-cleanup";
    }

    /** The logical strategy's watch of the replication in this attempt, run while AwaitingApproval waits. */
    public static String replicationWatchStep(PostgresUpgradeStatus status) {
        return step(Phase.AwaitingApproval, status) + "-replication-watch";
    }

    /** The logical strategy's checks in this attempt, run before Validating's own step. */
    public static String replicationCheckStep(PostgresUpgradeStatus status) {
        return step(Phase.Validating, status) + "-replication-check";
    }

    private static int attempt(PostgresUpgradeStatus status) {
        return status == null || status.getAttempt() == null ? 1 : status.getAttempt();
    }
}
