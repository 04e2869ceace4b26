package dev.pgupgrade.runner;

import dev.pgupgrade.api.Names;
import dev.pgupgrade.api.Phase;
import dev.pgupgrade.api.Platform;
import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.WorkVolumeSpec;
import dev.pgupgrade.steps.EnvValue;
import dev.pgupgrade.steps.SharesWorkFiles;
import dev.pgupgrade.steps.StepScripts;
import dev.pgupgrade.steps.StepSpec;
import dev.pgupgrade.steps.database.Verify;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Pure builders for the Kubernetes objects a step runs with: its Job, the ConfigMap holding the step
 * scripts, and the claim the dump lives on. Jobs run once (backoffLimit 0), are bounded in time,
 * cleaned up after a day, owned by the PostgresUpgrade, and restricted: non-root, read-only root
 * filesystem, no privilege escalation, no capabilities, no service account token. Passwords reach
 * them only as secretKeyRef environment variables.
 */
public final class StepJobBuilder {
    /** The official postgres images run as uid/gid 999 ("postgres"), which initdb accepts. */
    public static final long POSTGRES_UID = 999;
    public static final int TTL_SECONDS_AFTER_FINISHED = 24 * 3600;
    /** Lines of errors a step lists in its result: its termination message holds 4 KiB. */
    static final int RESULT_MAX_LINES = 8;

    private StepJobBuilder() {
    }

    /**
     * The toolbox image for platform aptible (operator/toolbox/Dockerfile): the official postgres image
     * of a major plus the aptible CLI, tagged with the major. Where it is mirrored, the operator's
     * environment says so (PGUPGRADE_TOOLBOX_IMAGE, the chart's toolboxImage.repository).
     */
    public static final String TOOLBOX_IMAGE = "ghcr.io/pgupgrade/toolbox";

    public static String image(PostgresUpgrade upgrade) {
        return image(upgrade, System.getenv().getOrDefault("PGUPGRADE_TOOLBOX_IMAGE", TOOLBOX_IMAGE));
    }

    static String image(PostgresUpgrade upgrade, String toolboxRepository) {
        String image = upgrade.getSpec().getImage();
        String major = upgrade.getSpec().getTarget().getVersion();
        if (image != null && !image.isBlank()) {
            return image;
        }
        return upgrade.getSpec().getPlatform() == Platform.APTIBLE ? toolboxRepository + ":" + major : "postgres:" + major;
    }

    /**
     * Steps that share the dump (or, in a rehearsal, hold one) use the claim, and so do the steps that
     * share other files (see {@link SharesWorkFiles}), Verifying comparing with stored source facts or
     * with the copy's proofs included; the others get an emptyDir.
     */
    public static boolean usesWorkClaim(StepSpec step) {
        return step.phase() == Phase.Dumping || step.phase() == Phase.Restoring || step.phase() == Phase.Rehearsal
                || step.kind() instanceof SharesWorkFiles || step.env().containsKey(Verify.FACTS_DIR)
                || step.env().containsKey(Verify.PROVEN_DIR);
    }

    public static Job job(PostgresUpgrade upgrade, StepSpec step) {
        String name = Names.job(upgrade, step.name());
        Map<String, String> labels = new TreeMap<>(StepResources.labels(upgrade));
        labels.put(StepResources.LABEL_STEP, step.name());
        List<EnvVar> env = new ArrayList<>();
        new TreeMap<>(step.env()).forEach((key, value) -> env.add(envVar(key, value)));
        env.add(new EnvVarBuilder().withName("WORK_DIR").withValue(StepResources.WORK_DIR).build());
        env.add(new EnvVarBuilder().withName("RESULT_FILE").withValue("/dev/termination-log").build());
        env.add(new EnvVarBuilder().withName("RESULT_MAX_LINES").withValue(Integer.toString(RESULT_MAX_LINES)).build());
        env.add(new EnvVarBuilder().withName("STEP_NAME").withValue(step.name()).build());
        env.add(new EnvVarBuilder().withName("TMPDIR").withValue("/tmp").build());
        env.add(new EnvVarBuilder().withName("HOME").withValue("/tmp").build());
        // the image's own server binaries, for SchemaCheck's throwaway server
        env.add(new EnvVarBuilder().withName("TARGET_SERVER_BINDIR")
                .withValue("/usr/lib/postgresql/" + upgrade.getSpec().getTarget().getVersion() + "/bin").build());
        new TreeMap<>(StepDefaults.from(System.getenv())).forEach((key, value) -> env.add(new EnvVarBuilder().withName(key).withValue(value).build()));

        Volume work = usesWorkClaim(step)
                ? new VolumeBuilder().withName("work").withNewPersistentVolumeClaim().withClaimName(Names.workClaim(upgrade)).endPersistentVolumeClaim().build()
                : new VolumeBuilder().withName("work").withNewEmptyDir().endEmptyDir().build();

        return new JobBuilder()
                .withNewMetadata()
                    .withName(name)
                    .withNamespace(upgrade.getMetadata().getNamespace())
                    .withLabels(labels)
                    .withAnnotations(Map.of(StepResources.ANNOTATION_SPEC_HASH, hash(step)))
                    .withOwnerReferences(owner(upgrade))
                .endMetadata()
                .withNewSpec()
                    .withBackoffLimit(0)
                    .withActiveDeadlineSeconds(step.timeout().toSeconds())
                    .withTtlSecondsAfterFinished(TTL_SECONDS_AFTER_FINISHED)
                    .withNewTemplate()
                        .withNewMetadata().withLabels(labels).endMetadata()
                        .withNewSpec()
                            .withRestartPolicy("Never")
                            .withAutomountServiceAccountToken(false)
                            .withEnableServiceLinks(false)
                            .withNewSecurityContext()
                                .withRunAsNonRoot(true)
                                .withRunAsUser(POSTGRES_UID)
                                .withRunAsGroup(POSTGRES_UID)
                                .withFsGroup(POSTGRES_UID)
                                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                            .endSecurityContext()
                            .addNewContainer()
                                .withName("step")
                                .withImage(image(upgrade))
                                .withCommand("bash", StepResources.SCRIPTS_DIR + "/" + step.script())
                                .withEnv(env)
                                .withTerminationMessagePath("/dev/termination-log")
                                .withTerminationMessagePolicy("File")
                                .withNewSecurityContext()
                                    .withAllowPrivilegeEscalation(false)
                                    .withReadOnlyRootFilesystem(true)
                                    .withRunAsNonRoot(true)
                                    .withNewCapabilities().withDrop("ALL").endCapabilities()
                                .endSecurityContext()
                                .addNewVolumeMount().withName("scripts").withMountPath(StepResources.SCRIPTS_DIR).withReadOnly(true).endVolumeMount()
                                .addNewVolumeMount().withName("work").withMountPath(StepResources.WORK_DIR).endVolumeMount()
                                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                                .addNewVolumeMount().withName("run").withMountPath("/var/run/postgresql").endVolumeMount()
                            .endContainer()
                            .addNewVolume().withName("scripts").withNewConfigMap()
                                .withName(Names.scriptsConfigMap(upgrade)).withDefaultMode(0555).endConfigMap().endVolume()
                            .addToVolumes(work)
                            .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                            .addNewVolume().withName("run").withNewEmptyDir().endEmptyDir().endVolume()
                        .endSpec()
                    .endTemplate()
                .endSpec()
                .build();
    }

    /** The step scripts, as the jar ships them. */
    public static ConfigMap scripts(PostgresUpgrade upgrade) {
        Map<String, String> data = new LinkedHashMap<>();
        for (String script : StepScripts.ALL) {
            try (InputStream in = StepScripts.class.getResourceAsStream("scripts/" + script)) {
                data.put(script, new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new ConfigMapBuilder()
                .withNewMetadata()
                    .withName(Names.scriptsConfigMap(upgrade))
                    .withNamespace(upgrade.getMetadata().getNamespace())
                    .withLabels(StepResources.labels(upgrade))
                    .withOwnerReferences(owner(upgrade))
                .endMetadata()
                .withData(data)
                .build();
    }

    public static PersistentVolumeClaim workClaim(PostgresUpgrade upgrade) {
        WorkVolumeSpec volume = upgrade.getSpec().getWorkVolume();
        String size = volume != null && volume.getSize() != null ? volume.getSize() : WorkVolumeSpec.DEFAULT_SIZE;
        return new PersistentVolumeClaimBuilder()
                .withNewMetadata()
                    .withName(Names.workClaim(upgrade))
                    .withNamespace(upgrade.getMetadata().getNamespace())
                    .withLabels(StepResources.labels(upgrade))
                    .withOwnerReferences(owner(upgrade))
                .endMetadata()
                .withNewSpec()
                    .withAccessModes("ReadWriteOnce")
                    .withStorageClassName(volume == null ? null : volume.getStorageClassName())
                    .withNewResources().addToRequests("storage", new Quantity(size)).endResources()
                .endSpec()
                .build();
    }

    public static OwnerReference owner(PostgresUpgrade upgrade) {
        return new OwnerReferenceBuilder()
                .withApiVersion(PostgresUpgrade.API_VERSION)
                .withKind("PostgresUpgrade")
                .withName(upgrade.getMetadata().getName())
                .withUid(upgrade.getMetadata().getUid())
                .withController(true)
                .withBlockOwnerDeletion(true)
                .build();
    }

    private static EnvVar envVar(String name, EnvValue value) {
        if (value instanceof EnvValue.FromSecret secret) {
            return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef()
                    .withName(secret.ref().getName()).withKey(secret.ref().getKey()).withOptional(false)
                    .endSecretKeyRef().endValueFrom().build();
        }
        return new EnvVarBuilder().withName(name).withValue(((EnvValue.Literal) value).value()).build();
    }

    /** Identifies what a Job was created for, so a stale Job (from an older operator or spec) can be told apart. */
    static String hash(StepSpec step) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update((step.name() + "|" + step.script() + "|" + new TreeMap<>(step.env()) + "|" + step.timeout()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
