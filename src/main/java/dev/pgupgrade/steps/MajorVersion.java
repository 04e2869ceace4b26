package dev.pgupgrade.steps;

/** PostgreSQL major versions: "9.6" before 10, "17" since. */
public final class MajorVersion {
    private MajorVersion() {
    }

    /** From server_version_num: 90624 -> "9.6", 170006 -> "17". */
    public static String fromVersionNum(int versionNum) {
        if (versionNum >= 100000) {
            return Integer.toString(versionNum / 10000);
        }
        return (versionNum / 10000) + "." + (versionNum / 100 % 100);
    }

    /** A number that orders majors: "9.6" -> 906, "17" -> 1700. */
    public static int rank(String major) {
        String[] parts = major.split("\\.");
        int first = Integer.parseInt(parts[0]);
        return first >= 10 ? first * 100 : first * 100 + Integer.parseInt(parts[1]);
    }
}
