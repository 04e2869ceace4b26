package dev.pgupgrade.steps;

import java.util.Locale;

/** How numbers read in status messages: "3 tables", "1.5 MiB", "2.0 s". */
public final class Figures {
    private Figures() {
    }

    public static String count(Integer n, String noun) {
        int value = n == null ? 0 : n;
        String plural = noun.endsWith("ch") || noun.endsWith("s") || noun.endsWith("x") ? noun + "es" : noun + "s";
        return value + " " + (value == 1 ? noun : plural);
    }

    public static String bytes(Long bytes) {
        if (bytes == null) {
            return "? bytes";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    public static String seconds(Long millis) {
        return millis == null ? "? s" : String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
