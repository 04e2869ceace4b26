package dev.pgupgrade.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the project's own files are, for tests that use its scripts and datasets. */
public final class Project {
    private Project() {
    }

    public static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("pom.xml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("cannot find the project root from " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    public static Path richDataset() {
        return root().resolve("scripts/datasets/rich.sql");
    }
}
