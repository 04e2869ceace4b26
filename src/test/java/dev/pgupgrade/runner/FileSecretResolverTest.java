package dev.pgupgrade.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.pgupgrade.api.SecretKeyRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FileSecretResolverTest {
    private static final String FIELD = "spec.source.urlSecretRef";
    private static final String URL = "postgresql://app:TopSecret42@db.example.com:5432/orders";

    @TempDir
    Path dir;

    private FileSecretResolver resolver() {
        return new FileSecretResolver(dir);
    }

    private Path secret(String name, String key, String value) throws IOException {
        Path file = dir.resolve(name).resolve(key);
        Files.createDirectories(file.getParent());
        Files.writeString(file, value);
        return file;
    }

    private SecretUnavailableException fails(SecretKeyRef ref) {
        return assertThrows(SecretUnavailableException.class, () -> resolver().resolve(ref, FIELD));
    }

    @Test
    void resolvesDirNameKey() throws Exception {
        secret("source-db", "url", URL);
        secret("source-db", "other", "postgresql://nope");
        secret("target-db", "url", "postgresql://target");
        assertEquals(URL, resolver().resolve(new SecretKeyRef("source-db", "url"), FIELD));
        assertEquals("postgresql://target", resolver().resolve(new SecretKeyRef("target-db", "url"), FIELD));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        "one LF | 'secret\n' | secret",
        "CRLF | 'secret\r\n' | secret",
        "two LFs: only one stripped | 'secret\n\n' | 'secret\n'",
        "no newline | secret | secret",
        "inner newline kept | 'line1\nline2\n' | 'line1\nline2'",
        "leading and trailing spaces kept | '  secret  ' | '  secret  '",
    })
    void stripsOneTrailingNewline(String description, String content, String expected) throws Exception {
        secret("db", "url", content);
        assertEquals(expected, resolver().resolve(new SecretKeyRef("db", "url"), FIELD));
    }

    @Test
    void followsSymlinksAsKubernetesMountsThem() throws Exception {
        Path data = secret("db", "..data/url", URL);
        Files.createSymbolicLink(dir.resolve("db").resolve("url"), data);
        assertEquals(URL, resolver().resolve(new SecretKeyRef("db", "url"), FIELD));
    }

    @Test
    void missingFileNamesFieldAndReference() {
        SecretUnavailableException e = fails(new SecretKeyRef("source-db", "url"));
        assertTrue(e.getMessage().startsWith(FIELD + ": Secret key source-db/url not found"), e.getMessage());
        assertTrue(e.getMessage().contains(dir.resolve("source-db").resolve("url").toString()), e.getMessage());
    }

    @Test
    void missingKeyOfAnExistingSecret() throws Exception {
        secret("source-db", "password", "TopSecret42");
        SecretUnavailableException e = fails(new SecretKeyRef("source-db", "url"));
        assertTrue(e.getMessage().contains("source-db/url not found"), e.getMessage());
        assertFalse(e.getMessage().contains("TopSecret42"), e.getMessage());
    }

    @Test
    void aDirectoryIsNotASecretKey() throws Exception {
        Files.createDirectories(dir.resolve("source-db").resolve("url"));
        SecretUnavailableException e = fails(new SecretKeyRef("source-db", "url"));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\n", "\r\n", "   \n", "\t"})
    void emptyFileIsUnavailable(String content) throws Exception {
        secret("source-db", "url", content);
        SecretUnavailableException e = fails(new SecretKeyRef("source-db", "url"));
        assertTrue(e.getMessage().startsWith(FIELD + ": Secret key source-db/url is empty"), e.getMessage());
    }

    @Test
    void unreadableFileNamesTheFieldButNotTheValue() throws Exception {
        Path file = secret("source-db", "url", URL);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        try {
            assumeFalse(Files.isReadable(file), "running as a user who can read any file (root)");
            SecretUnavailableException e = fails(new SecretKeyRef("source-db", "url"));
            assertTrue(e.getMessage().startsWith(FIELD + ": cannot read Secret key source-db/url"), e.getMessage());
            assertFalse(e.getMessage().contains("TopSecret42"), e.getMessage());
        } finally {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "../x | url",
        ".. | url",
        "Source-DB | url",
        "a/b | url",
        "source-db | ..",
        "source-db | .",
        "source-db | ../../etc/passwd",
        "source-db | a/b",
    })
    void invalidNamesAreRefusedBeforeTouchingTheFileSystem(String name, String key) throws Exception {
        // a readable file where a traversal would land must not be read
        Files.writeString(dir.resolve("x"), URL);
        secret("source-db", "url", URL);
        SecretUnavailableException e = fails(new SecretKeyRef(name, key));
        assertEquals(FIELD + ": " + dev.pgupgrade.engine.SpecValidator.printable(name) + "/" + dev.pgupgrade.engine.SpecValidator.printable(key)
                + " is not a valid Secret name and key", e.getMessage());
        assertFalse(e.getMessage().contains("TopSecret42"), e.getMessage());
    }

    @Test
    void missingNameOrKey() {
        assertEquals(FIELD + ": name and key are required", fails(new SecretKeyRef(null, "url")).getMessage());
        assertEquals(FIELD + ": name and key are required", fails(new SecretKeyRef("db", null)).getMessage());
        assertEquals(FIELD + ": name and key are required", fails(null).getMessage());
    }
}
