package dev.pgupgrade.engine;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.TreeSet;

/**
 * Checks that a libpq URL has the shape the step scripts parse (lib.sh's use_url):
 * {@code postgresql://[user[:password]@]host[:port][/dbname][?param=value&...]}, with reserved
 * characters percent-encoded. Problems are reported without ever repeating the URL, which holds a password.
 */
public final class PostgresUrl {
    /** The parameters lib.sh turns into libpq variables. */
    public static final Set<String> PARAMETERS = Set.of("sslmode", "sslrootcert", "sslcert", "sslkey",
            "connect_timeout", "application_name", "target_session_attrs");
    private static final Pattern PERCENT = Pattern.compile("%(?![0-9A-Fa-f]{2})");

    private PostgresUrl() {
    }

    /** Empty when the URL is usable; otherwise what is wrong, to be prefixed with where the URL came from. */
    public static Optional<String> problem(String url) {
        String rest;
        if (url.startsWith("postgresql://")) {
            rest = url.substring("postgresql://".length());
        } else if (url.startsWith("postgres://")) {
            rest = url.substring("postgres://".length());
        } else {
            return Optional.of("is not a postgresql:// URL");
        }
        if (url.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
            return Optional.of("contains spaces or control characters (percent-encode them)");
        }
        if (PERCENT.matcher(url).find()) {
            return Optional.of("has a '%' that does not start a percent-encoded byte");
        }
        int userinfoEnd = rest.lastIndexOf('@');
        int firstDelimiter = firstIndexOf(rest, '/', '?');
        if (userinfoEnd >= 0 && firstDelimiter >= 0 && firstDelimiter < userinfoEnd) {
            // A '/' or '?' inside the user name or password: everything after it would be read as the
            // database or the parameters (and echoed in errors). libpq needs them percent-encoded.
            return Optional.of("has a '/', '?' or '@' in its user name or password: percent-encode them (%2F, %3F, %40)");
        }
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int slash = rest.indexOf('/');
        String authority = slash >= 0 ? rest.substring(0, slash) : rest;
        int at = authority.lastIndexOf('@');
        String hostPort = at >= 0 ? authority.substring(at + 1) : authority;
        if (at >= 0 && authority.substring(0, at).startsWith(":")) {
            return Optional.of("has a password but no user name");
        }
        String port = null;
        if (hostPort.startsWith("[")) {
            int close = hostPort.indexOf(']');
            if (close < 0) {
                return Optional.of("has an unclosed [IPv6] host");
            }
            String after = hostPort.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    return Optional.of("has characters after its [IPv6] host");
                }
                port = after.substring(1);
            }
        } else if (hostPort.contains(":")) {
            port = hostPort.substring(hostPort.indexOf(':') + 1);
        }
        if (hostPort.isEmpty() || hostPort.startsWith(":")) {
            return Optional.of("has no host");
        }
        if (port != null) {
            if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                return Optional.of("has an invalid port (1-65535)");
            }
        }
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                String key = pair.contains("=") ? pair.substring(0, pair.indexOf('=')) : pair;
                if (!PARAMETERS.contains(key)) {
                    return Optional.of("has the unsupported parameter " + SpecValidator.printable(key) + " (supported: "
                            + String.join(", ", new TreeSet<>(PARAMETERS)) + ")");
                }
            }
        }
        return Optional.empty();
    }

    private static int firstIndexOf(String s, char a, char b) {
        int i = s.indexOf(a);
        int j = s.indexOf(b);
        return i < 0 ? j : j < 0 ? i : Math.min(i, j);
    }
}
