package dev.pgupgrade.steps;

import java.util.Locale;

/**
 * How the user's text appears in messages, status, events and logs: a manifest value only when it is
 * plainly not a secret; a name a server reported always quoted and escaped, so no name can break a
 * line of output or pass for something else.
 */
public final class Shown {
    private Shown() {
    }

    /**
     * A value from the manifest, fit to echo in an error: only when it is plainly not a secret (a short
     * run of letters, digits, '.', '_' and '-', such as a mistyped version or name). Anything else --
     * a URL pasted into the wrong field, a password -- is not shown: errors reach terminals, status,
     * events and logs.
     */
    public static String value(String value) {
        if (value != null && value.matches("[A-Za-z0-9._-]{1,40}")) {
            return "\"" + value + "\"";
        }
        return "a value not shown (it could hold a secret)";
    }

    /**
     * A name a server reported (a database or role: names are data and may hold any character), shown
     * in double quotes with quotes, backslashes and control characters escaped, so it can neither
     * break a line of output nor pass for something else. Cut at 100 characters.
     */
    public static String name(String name) {
        if (name == null) {
            return "(none)";
        }
        StringBuilder sb = new StringBuilder("\"");
        name.codePoints().limit(100).forEach(c -> {
            if (c == '"' || c == '\\') {
                sb.append('\\').appendCodePoint(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (Character.getType(c) == Character.CONTROL || Character.getType(c) == Character.FORMAT
                    || Character.getType(c) == Character.LINE_SEPARATOR || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                sb.append(String.format(Locale.ROOT, "\\u%04x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append(name.codePointCount(0, name.length()) > 100 ? "...\"" : "\"").toString();
    }
}
