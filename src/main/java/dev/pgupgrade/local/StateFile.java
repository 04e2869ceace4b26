package dev.pgupgrade.local;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pgupgrade.api.PostgresUpgrade;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The local stand-in for the API server: the resource (spec and status) as JSON beside the manifest,
 * replaced atomically on every status change so that a killed run finds the last status it stored.
 */
public final class StateFile {
    static final ObjectMapper JSON = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private final Path file;

    public StateFile(Path file) {
        this.file = file;
    }

    /** {@code upgrade.yaml} keeps its state in {@code upgrade.state.json} and its files in {@code upgrade.work/}. */
    public static StateFile besideManifest(Path manifest) {
        return new StateFile(manifest.resolveSibling(stem(manifest) + ".state.json"));
    }

    public static Path workDirBeside(Path manifest) {
        return manifest.resolveSibling(stem(manifest) + ".work");
    }

    private static String stem(Path manifest) {
        String name = manifest.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    public Path path() {
        return file;
    }

    public Optional<PostgresUpgrade> load() throws InvalidInputException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), PostgresUpgrade.class));
        } catch (IOException e) {
            throw new InvalidInputException(file + ": the saved state cannot be read (" + e.getClass().getSimpleName()
                    + "); move it away or run with --reset to start over");
        }
    }

    public void save(PostgresUpgrade upgrade) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            JSON.writeValue(tmp.toFile(), upgrade);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the upgrade's state to " + file, e);
        }
    }

    public void delete() throws IOException {
        Files.deleteIfExists(file);
    }

    /** Whether two specs are the same, field by field. */
    public static boolean sameSpec(PostgresUpgrade a, PostgresUpgrade b) {
        return JSON.valueToTree(a.getSpec()).equals(JSON.valueToTree(b.getSpec()));
    }
}
