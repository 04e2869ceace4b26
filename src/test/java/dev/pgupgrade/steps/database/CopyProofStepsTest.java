package dev.pgupgrade.steps.database;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.TransferSpec;
import dev.pgupgrade.api.VerificationSpec;
import dev.pgupgrade.runner.StepJobBuilder;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.logical.LogicalCopy;
import dev.pgupgrade.testing.Upgrades;
import org.junit.jupiter.api.Test;

/** Which upgrades have the pipeline's copy prove tables for Verifying, and how the two steps are told. */
class CopyProofStepsTest {
    private static PostgresUpgrade upgrade(TransferSpec.Strategy strategy, VerificationSpec.Mode mode, Integer maxMb) {
        PostgresUpgrade upgrade = Upgrades.direct("17", 1L);
        TransferSpec transfer = new TransferSpec();
        transfer.setStrategy(strategy);
        upgrade.getSpec().setTransfer(transfer);
        VerificationSpec verification = new VerificationSpec();
        verification.setMode(mode);
        verification.setMaxChecksumTableMegabytes(maxMb);
        upgrade.getSpec().setVerification(verification);
        return upgrade;
    }

    private static StepSpec restore(PostgresUpgrade upgrade) {
        return Restore.PIPELINE.step(upgrade, Transfer.of(upgrade.getSpec().getTransfer()));
    }

    @Test
    void aPipelineVerifiedByChecksumsProvesAsItCopiesAndVerifyingReadsTheProofs() {
        PostgresUpgrade upgrade = upgrade(TransferSpec.Strategy.PIPELINE, VerificationSpec.Mode.CHECKSUMS, 300);
        StepSpec restore = restore(upgrade);
        assertEquals(new EnvValue.Literal(Verify.COPY_PROOFS), restore.env().get(Restore.PROOF_DIR));
        assertEquals(new EnvValue.Literal("300"), restore.env().get(Restore.PROOF_MAX_MB), "no table larger than checksums cover is proven");
        assertEquals(new EnvValue.Literal("1048576"), restore.env().get(Restore.PROOF_MIN_BYTES), "nor one too small to be worth it");
        StepSpec verify = Verify.step(upgrade);
        assertEquals(new EnvValue.Literal(Verify.COPY_PROOFS), verify.env().get(Verify.PROVEN_DIR));
        assertTrue(StepJobBuilder.usesWorkClaim(verify), "Verifying reads the proofs Restoring left on the work volume");
    }

    @Test
    void thePipelineStreamsTablesOfAMebibyteOrMoreWhereverItRunsAndRestoresTheOthersFromItsArchive() {
        EnvValue mebibyte = new EnvValue.Literal("1048576");
        PostgresUpgrade upgrade = upgrade(TransferSpec.Strategy.PIPELINE, VerificationSpec.Mode.COUNTS, null);
        assertEquals(mebibyte, restore(upgrade).env().get(Restore.STREAM_MIN_BYTES), "Restoring");
        PostgresUpgrade logical = upgrade(TransferSpec.Strategy.LOGICAL, VerificationSpec.Mode.CHECKSUMS, null);
        assertEquals(mebibyte, LogicalCopy.step(logical).env().get(Restore.STREAM_MIN_BYTES), "the logical strategy's copy runs pipeline.sh too");
        PostgresUpgrade parallel = upgrade(TransferSpec.Strategy.PARALLEL, VerificationSpec.Mode.CHECKSUMS, null);
        assertFalse(Restore.PARALLEL.step(parallel, Transfer.of(parallel.getSpec().getTransfer())).env().containsKey(Restore.STREAM_MIN_BYTES));
    }

    @Test
    void countsOrNoVerificationOrAnotherStrategyProveNothing() {
        for (VerificationSpec.Mode mode : new VerificationSpec.Mode[] {VerificationSpec.Mode.COUNTS, VerificationSpec.Mode.OFF}) {
            PostgresUpgrade upgrade = upgrade(TransferSpec.Strategy.PIPELINE, mode, null);
            assertFalse(restore(upgrade).env().containsKey(Restore.PROOF_DIR), mode.name());
            assertFalse(Verify.step(upgrade).env().containsKey(Verify.PROVEN_DIR), mode.name());
        }
        for (TransferSpec.Strategy strategy : new TransferSpec.Strategy[] {TransferSpec.Strategy.PARALLEL, TransferSpec.Strategy.DUMPALL,
                TransferSpec.Strategy.STREAM}) {
            PostgresUpgrade upgrade = upgrade(strategy, VerificationSpec.Mode.CHECKSUMS, null);
            assertFalse(Verify.step(upgrade).env().containsKey(Verify.PROVEN_DIR), strategy.name());
            assertFalse(StepJobBuilder.usesWorkClaim(Verify.step(upgrade)), strategy.name() + ": Verifying needs no shared files");
        }
    }
}
