package dev.pgupgrade.steps.database;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.PostgresUpgradeSpec;
import dev.pgupgrade.steps.Env;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.Figures;
import dev.pgupgrade.steps.RestoreErrors;
import dev.pgupgrade.steps.StepKind;
import dev.pgupgrade.steps.StepResult;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.Steps;
import dev.pgupgrade.steps.Verdict;
import java.util.List;
import java.util.Map;

/**
 * Restoring, by strategy: the runbook's psql -f (restore.sh), pg_restore -j of the directory dumps
 * (restore-parallel.sh), pg_dumpall streamed into psql (stream.sh), or tables COPY'd straight from
 * the source (pipeline.sh). All report their errors for the classifier: "already exists" for what the
 * target already had is expected, anything else fails. Never started twice by itself: a second
 * restore over a half-finished one would fail on, or duplicate, what the first wrote.
 */
public final class Restore implements StepKind<Restore.Result> {
    public static final Restore RUNBOOK = new Restore("restore.sh");
    public static final Restore PARALLEL = new Restore("restore-parallel.sh");
    /** Also reads the source. */
    public static final Restore STREAM = new Restore("stream.sh");
    /** Also reads the source. */
    public static final Restore PIPELINE = new Restore("pipeline.sh");

    /** Where pipeline.sh leaves the proofs of the tables it copied, for Verifying (see {@link Verify#copyProves}). */
    public static final String PROOF_DIR = "PIPELINE_PROOF_DIR";
    /** The largest table it proves, as spec.verification.maxChecksumTableMegabytes. */
    public static final String PROOF_MAX_MB = "PIPELINE_PROOF_MAX_MB";
    /** The smallest table it proves. */
    public static final String PROOF_MIN_BYTES = "PIPELINE_PROOF_MIN_BYTES";
    /**
     * A proof costs the copy about a tenth of a second per table (a fifo, two hashers, a second session
     * reading the table back) besides its bytes, while Verifying checksums a table of a few pages in
     * milliseconds: the regression database's 473 small tables took 78 s proven against 18 s not.
     * From 1 MiB on, proving in flight is the cheaper of the two.
     */
    public static final long PROOF_MIN_BYTES_DEFAULT = 1024 * 1024;
    /** The smallest table pipeline.sh streams; the rows of smaller ones stay in its archive, restored by pg_restore -j. */
    public static final String STREAM_MIN_BYTES = "PIPELINE_STREAM_MIN_BYTES";
    /**
     * A streamed table costs two psql sessions and a pg_restore of its own, about 0.07 s whatever its size,
     * while pg_restore -j loads a table of a few pages in milliseconds: PostgreSQL's regression database
     * (536 tables, 7 of them of 1 MiB or more) took 19.0 s all streamed against 2.4 s with the small ones
     * restored from the archive. The same size as the smallest proof, so every table worth proving streams.
     */
    public static final long STREAM_MIN_BYTES_DEFAULT = PROOF_MIN_BYTES_DEFAULT;

    private final String script;

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Result(boolean ok, String message, Integer errorCount, List<String> errorLines, List<String> preexistingRoles,
                         List<String> preexistingDatabases, Long bytes, Long durationMillis, Integer databases,
                         Integer passwordStatementsDropped) implements StepResult, RestoreErrors {
    }

    private Restore(String script) {
        this.script = script;
    }

    public StepSpec step(PostgresUpgrade upgrade, Transfer transfer) {
        Map<String, EnvValue> env = this == PIPELINE ? pipelineEnv(transfer) : transfer.env();
        if (this == PIPELINE && Verify.copyProves(upgrade.getSpec())) {
            env = new Env().putAll(env).put(PROOF_DIR, Verify.COPY_PROOFS)
                    .put(PROOF_MAX_MB, Verify.Inputs.of(upgrade.getSpec().getVerification()).maxChecksumMb())
                    .put(PROOF_MIN_BYTES, PROOF_MIN_BYTES_DEFAULT).build();
        }
        return Steps.of(upgrade, Phase.Restoring, this, env, false);
    }

    /** What pipeline.sh needs besides the proofs, whichever step runs it (Restoring, or the logical strategy's copy). */
    public static Map<String, EnvValue> pipelineEnv(Transfer transfer) {
        return new Env().putAll(transfer.env()).put(STREAM_MIN_BYTES, STREAM_MIN_BYTES_DEFAULT).build();
    }

    @Override
    public String script() {
        return script;
    }

    @Override
    public Class<Result> resultType() {
        return Result.class;
    }

    @Override
    public Verdict judge(Result result, PostgresUpgradeSpec spec) {
        return RestoreErrors.judge(result, "restored " + (result.bytes() == null ? "" : Figures.bytes(result.bytes()) + " ") + "in "
                + Figures.seconds(result.durationMillis()), "the restore into the target reported errors");
    }
}
