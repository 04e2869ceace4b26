package dev.pgupgrade.runner;

import dev.pgupgrade.api.SecretKeyRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.pgupgrade.engine.SpecValidator;

/**
 * Secrets as files, in the layout Kubernetes mounts them: the key {@code key} of Secret {@code name}
 * is the file {@code DIR/name/key}. A trailing newline (as editors and {@code echo} leave) is dropped.
 */
public final class FileSecretResolver implements SecretResolver {
    private final Path dir;

    public FileSecretResolver(Path dir) {
        this.dir = dir;
    }

    @Override
    public String resolve(SecretKeyRef ref, String field) throws SecretUnavailableException {
        if (ref == null || ref.getName() == null || ref.getKey() == null) {
            throw new SecretUnavailableException(field + ": name and key are required");
        }
        if (!ref.getName().matches(SecretKeyRef.NAME_PATTERN) || !ref.getKey().matches(SecretKeyRef.KEY_PATTERN)
                || ref.getKey().equals(".") || ref.getKey().equals("..")) {
            throw new SecretUnavailableException(field + ": " + SpecValidator.printable(ref.getName()) + "/"
                    + SpecValidator.printable(ref.getKey()) + " is not a valid Secret name and key");
        }
        Path file = dir.resolve(ref.getName()).resolve(ref.getKey());
        if (!Files.isRegularFile(file)) {
            throw new SecretUnavailableException(field + ": Secret key " + ref + " not found (expected the file " + file + ")");
        }
        try {
            String value = Files.readString(file, StandardCharsets.UTF_8);
            if (value.endsWith("\n")) {
                value = value.substring(0, value.length() - 1);
            }
            if (value.endsWith("\r")) {
                value = value.substring(0, value.length() - 1);
            }
            if (value.isBlank()) {
                throw new SecretUnavailableException(field + ": Secret key " + ref + " is empty (" + file + ")");
            }
            return value;
        } catch (IOException e) {
            throw new SecretUnavailableException(field + ": cannot read Secret key " + ref + " from " + file + " ("
                    + e.getClass().getSimpleName() + ")");
        }
    }
}
