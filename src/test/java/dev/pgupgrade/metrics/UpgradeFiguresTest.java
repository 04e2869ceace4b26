package dev.pgupgrade.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.ProgressStatus;
import dev.pgupgrade.api.ReplicationStatus;
import dev.pgupgrade.api.StepStatus;
import dev.pgupgrade.testing.Project;
import dev.pgupgrade.testing.Scrape;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The figures of status objects real operator runs stored (src/test/resources/dev/pgupgrade/health/), rendered
 * as Prometheus renders them: each equals what status says, at a fixed clock for what is still running.
 */
class UpgradeFiguresTest {
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    static PostgresUpgrade sample(Phase phase) throws IOException {
        return SERIALIZATION.unmarshal(Files.readString(Project.root().resolve("src/test/resources/dev/pgupgrade/health/" + phase + ".json")),
                PostgresUpgrade.class);
    }

    private static Scrape render(PostgresUpgrade upgrade, Instant now) {
        return Scrape.of(MetricsFile.render(upgrade, Clock.fixed(now, ZoneOffset.UTC)));
    }

    private static String[] who(PostgresUpgrade upgrade, String... more) {
        String[] labels = new String[4 + more.length];
        labels[0] = "namespace";
        labels[1] = upgrade.getMetadata().getNamespace();
        labels[2] = "name";
        labels[3] = upgrade.getMetadata().getName();
        System.arraycopy(more, 0, labels, 4, more.length);
        return labels;
    }

    @Test
    void aRollbackEndsTheDowntimeAndNamesWhatFailed() throws IOException {
        PostgresUpgrade upgrade = sample(Phase.RolledBack);
        Scrape scrape = render(upgrade, Instant.parse(upgrade.getStatus().getCompletedAt()).plusSeconds(3600));
        List<StepStatus> steps = upgrade.getStatus().getSteps();
        Instant down = Instant.parse(steps.stream().filter(s -> s.getPhase() == Phase.ScalingDown).findFirst().orElseThrow().getStartedAt());
        Instant up = Instant.parse(steps.stream().filter(s -> s.getPhase() == Phase.RollingBack).findFirst().orElseThrow().getFinishedAt());

        assertEquals(1.0, scrape.value("pgupgrade_upgrade_failure", who(upgrade, "failed_phase", "Restoring", "phase", "RolledBack")).orElseThrow(),
                scrape::text);
        assertEquals(1.0, scrape.value("pgupgrade_upgrade_phase", who(upgrade, "phase", "RolledBack", "platform", "aptible")).orElseThrow());
        assertEquals((up.toEpochMilli() - down.toEpochMilli()) / 1000.0, scrape.value("pgupgrade_downtime_seconds", who(upgrade)).orElseThrow(), 0.001,
                "services down until the rollback ended, not until the scrape");
        assertEquals(0.0, scrape.value("pgupgrade_downtime_ongoing", who(upgrade)).orElseThrow());
        assertEquals(Instant.parse(upgrade.getStatus().getCompletedAt()).toEpochMilli() / 1000.0,
                scrape.value("pgupgrade_upgrade_end_timestamp_seconds", who(upgrade)).orElseThrow(), 0.001);
        assertTrue(scrape.text().contains("# HELP pgupgrade_downtime_seconds "), "help text for every family");
    }

    /** An upgrade that ended without ScalingUp or a rollback (a failure with nothing to bring back) is not down forever. */
    @Test
    void anUpgradeThatEndedIsNotDownAnyMore() throws IOException {
        PostgresUpgrade upgrade = sample(Phase.Dumping);
        Instant down = Instant.parse(upgrade.getStatus().getSteps().stream().filter(s -> s.getPhase() == Phase.ScalingDown)
                .map(StepStatus::getStartedAt).min(String::compareTo).orElseThrow());
        Instant ended = down.plusSeconds(42);
        upgrade.getStatus().getSteps().forEach(s -> {
            if (s.getState() == dev.pgupgrade.api.StepState.Running) {
                s.setState(dev.pgupgrade.api.StepState.Failed);
                s.setFinishedAt(ended.toString());
            }
        });
        upgrade.getStatus().setPhase(Phase.Failed);
        upgrade.getStatus().setFailedPhase(Phase.Dumping);
        upgrade.getStatus().setCompletedAt(ended.toString());
        Scrape scrape = render(upgrade, ended.plusSeconds(86_400));
        assertEquals(42.0, scrape.value("pgupgrade_downtime_seconds", who(upgrade)).orElseThrow(), 0.001, scrape::text);
        assertEquals(0.0, scrape.value("pgupgrade_downtime_ongoing", who(upgrade)).orElseThrow());
    }

    @Test
    void whatRunsIsCountedToTheScrape() throws IOException {
        PostgresUpgrade upgrade = sample(Phase.AwaitingApproval);
        StepStatus waiting = upgrade.getStatus().getSteps().get(upgrade.getStatus().getSteps().size() - 1);
        Instant now = Instant.parse(waiting.getStartedAt()).plusSeconds(90);
        Scrape scrape = render(upgrade, now);

        assertEquals(90.0, scrape.value("pgupgrade_step_duration_seconds", who(upgrade, "step", waiting.getName())).orElseThrow(), 0.001);
        assertEquals(90.0, scrape.value("pgupgrade_phase_duration_seconds", who(upgrade, "phase", "AwaitingApproval", "downtime", "false")).orElseThrow(), 0.001);
        assertEquals(upgrade.getStatus().getEstimate().getDowntimeSeconds(), scrape.value("pgupgrade_downtime_estimate_seconds", who(upgrade)).orElseThrow());
        assertTrue(scrape.find("pgupgrade_downtime_seconds").isEmpty(), "nothing is down before ScalingDown");
        assertTrue(scrape.find("pgupgrade_upgrade_end_timestamp_seconds").isEmpty());
        assertTrue(scrape.find("pgupgrade_upgrade_failure").isEmpty());
    }

    @Test
    void replicationFiguresPerUpgradeAndPerDatabase() throws IOException {
        PostgresUpgrade upgrade = sample(Phase.CatchingUp);
        ReplicationStatus replication = new ReplicationStatus();
        replication.setLagBytes(3_000_000L);
        replication.setLagSeconds(2.5);
        replication.setRetainedBytes(40_000_000L);
        replication.setDatabases(List.of(database("shop", 2_999_000L, 2.5, "streaming"), database("odd \"name\"\nhere", 1_000L, 0.1, "stopped")));
        ProgressStatus progress = new ProgressStatus();
        progress.setPhase(Phase.CatchingUp);
        progress.setUnit("bytes");
        progress.setDone(7L);
        progress.setTotal(10L);
        progress.setReplication(replication);
        upgrade.getStatus().setProgress(progress);
        Scrape scrape = render(upgrade, Instant.now());

        assertEquals(3_000_000.0, scrape.value("pgupgrade_replication_lag_bytes", who(upgrade)).orElseThrow(), scrape::text);
        assertEquals(2.5, scrape.value("pgupgrade_replication_lag_seconds", who(upgrade)).orElseThrow());
        assertEquals(40_000_000.0, scrape.value("pgupgrade_replication_retained_wal_bytes", who(upgrade)).orElseThrow());
        assertEquals(2.0, scrape.value("pgupgrade_replication_databases", who(upgrade)).orElseThrow());
        assertEquals(1.0, scrape.value("pgupgrade_replication_streaming_databases", who(upgrade)).orElseThrow());
        assertEquals(1_000.0, scrape.value("pgupgrade_replication_database_lag_bytes", who(upgrade, "database", "odd \"name\"\nhere")).orElseThrow(),
                "a database name is data: escaped, never breaking the format");
        assertEquals(0.1, scrape.value("pgupgrade_replication_database_lag_seconds", who(upgrade, "database", "odd \"name\"\nhere")).orElseThrow());
        assertEquals(7.0, scrape.value("pgupgrade_progress_done", who(upgrade, "phase", "CatchingUp", "unit", "bytes")).orElseThrow());
        assertEquals(1.0, scrape.value("pgupgrade_upgrade_phase", who(upgrade, "phase", "CatchingUp", "strategy", "logical")).orElseThrow());
    }

    @Test
    void tablesStillCopyingWhileReplicating() throws IOException {
        PostgresUpgrade upgrade = sample(Phase.Replicating);
        upgrade.getStatus().getProgress().setDone(1L);
        upgrade.getStatus().getProgress().setTotal(3L);
        Scrape scrape = render(upgrade, Instant.now());
        assertEquals(2.0, scrape.value("pgupgrade_replication_tables_copying", who(upgrade)).orElseThrow(), scrape::text);
    }

    @Test
    void noStatusNoFigures() throws IOException {
        PostgresUpgrade upgrade = sample(Phase.Validating);
        upgrade.setStatus(null);
        assertTrue(UpgradeFigures.of(upgrade, Instant.now()).isEmpty());
    }

    @Test
    void everyNameIsDocumentedAndEveryFigureHasHelp() throws IOException {
        String doc = Files.readString(Project.root().resolve("docs/observability.md"));
        for (String name : UpgradeFigures.names()) {
            assertTrue(doc.contains("`" + name + "`"), name + " is not in docs/observability.md");
        }
        for (Phase phase : Phase.values()) {
            for (UpgradeFigures.Figure figure : UpgradeFigures.of(sample(phase), Instant.now())) {
                assertFalse(figure.help() == null || figure.help().isBlank(), figure.name());
            }
        }
        for (String name : OperatorMetrics.counterNames()) {
            assertTrue(doc.contains(name.replace("_total", "")), name);
        }
    }

    private static ReplicationStatus.DatabaseReplication database(String name, long lagBytes, double lagSeconds, String state) {
        ReplicationStatus.DatabaseReplication database = new ReplicationStatus.DatabaseReplication();
        database.setDatabase(name);
        database.setLagBytes(lagBytes);
        database.setLagSeconds(lagSeconds);
        database.setRetainedBytes(lagBytes);
        database.setState(state);
        return database;
    }
}
