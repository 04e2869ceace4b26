package dev.pgupgrade.steps;

import java.util.Optional;

/** The version rules of Validating: the target runs the major the spec asks for, and never an older one. */
public final class VersionCheck {
    private VersionCheck() {
    }

    /** Empty when the versions are fine; otherwise the reason, naming the spec field. */
    public static Optional<String> problem(String wantedTargetMajor, String sourceMajor, String targetMajor) {
        if (!wantedTargetMajor.equals(targetMajor)) {
            return Optional.of("spec.target.version is \"" + wantedTargetMajor + "\" but the target server runs PostgreSQL "
                    + targetMajor + ": point the target URL at a PostgreSQL " + wantedTargetMajor + " server or correct the version");
        }
        if (MajorVersion.rank(targetMajor) < MajorVersion.rank(sourceMajor)) {
            return Optional.of("the target runs PostgreSQL " + targetMajor + ", older than the source's PostgreSQL " + sourceMajor
                    + ": a dump cannot be restored into an older major");
        }
        return Optional.empty();
    }
}
