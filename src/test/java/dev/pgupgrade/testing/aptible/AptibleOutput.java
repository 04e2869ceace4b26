package dev.pgupgrade.testing.aptible;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The output tree aptible-cli builds (lib/aptible/cli/formatter/*.rb: values, objects, keyed
 * objects, lists, keyed lists, grouped keyed lists) and its two renderers
 * (lib/aptible/cli/renderer/text.rb and json.rb), reimplemented so that the fake prints
 * byte-for-byte what the real CLI prints for the same data.
 */
final class AptibleOutput {
    private AptibleOutput() {
    }

    sealed interface Node permits Value, Obj, Lst {
    }

    record Value(Object value) implements Node {
    }

    /** An object; a non-null key makes it a keyed object, which the text renderer prints as that one child. */
    static final class Obj implements Node {
        final String key;
        final Map<String, Node> children = new LinkedHashMap<>();

        Obj(String key) {
            this.key = key;
        }

        Obj value(String k, Object v) {
            children.put(k, new Value(v));
            return this;
        }

        Obj object(String k, String objectKey, Consumer<Obj> body) {
            Obj o = new Obj(objectKey);
            body.accept(o);
            children.put(k, o);
            return this;
        }

        Obj list(String k, Consumer<Lst> body) {
            Lst l = new Lst(null, null, null);
            body.accept(l);
            children.put(k, l);
            return this;
        }
    }

    /**
     * A list; with a key it is a keyed list (text shows only that child of each object), with a group
     * path as well it is a grouped keyed list (text shows "=== group" headers, sorted).
     */
    static final class Lst implements Node {
        final String key;
        final String groupFirst;
        final String groupSecond;
        final List<Node> children = new ArrayList<>();

        Lst(String key, String groupFirst, String groupSecond) {
            this.key = key;
            this.groupFirst = groupFirst;
            this.groupSecond = groupSecond;
        }

        Lst object(Consumer<Obj> body) {
            Obj o = new Obj(null);
            body.accept(o);
            children.add(o);
            return this;
        }
    }

    static Lst keyedList(String key) {
        return new Lst(key, null, null);
    }

    /** grouped_keyed_list('type', 'version') or grouped_keyed_list({'environment' => 'handle'}, 'handle'). */
    static Lst groupedKeyedList(String groupFirst, String groupSecond, String key) {
        return new Lst(key, groupFirst, groupSecond);
    }

    /** What Formatter.render puts: the rendering, with a newline added unless it ends with one. */
    static String render(Node root, boolean json) {
        String out = json ? json(root) : text(root);
        return out.endsWith("\n") ? out : out + "\n";
    }

    // ------------------------------------------------------------------ text

    static String text(Node root) {
        StringBuilder io = new StringBuilder();
        visit(root, io);
        return io.toString();
    }

    private static void visit(Node node, StringBuilder io) {
        if (node instanceof Obj o && o.key != null) {
            visit(o.children.get(o.key), io);
        } else if (node instanceof Obj o) {
            for (Map.Entry<String, Node> e : o.children.entrySet()) {
                io.append(formatKey(e.getKey())).append(':');
                if (e.getValue() instanceof Lst l) {
                    io.append('\n');
                    visitIndented(l, io, "  ");
                } else {
                    io.append(' ');
                    visit(e.getValue(), io);
                }
            }
        } else if (node instanceof Lst l && l.groupFirst != null) {
            // Ruby groups by the group value and sorts the groups by it.
            TreeMap<String, List<Node>> groups = new TreeMap<>();
            for (Node child : l.children) {
                Node g = ((Obj) child).children.get(l.groupFirst);
                if (l.groupSecond != null) {
                    g = ((Obj) g).children.get(l.groupSecond);
                }
                groups.computeIfAbsent(String.valueOf(((Value) g).value()), k -> new ArrayList<>()).add(child);
            }
            boolean first = true;
            for (Map.Entry<String, List<Node>> group : groups.entrySet()) {
                io.append(first ? "" : "\n").append("=== ").append(group.getKey()).append('\n');
                first = false;
                outputList(group.getValue().stream().map(n -> ((Obj) n).children.get(l.key)).toList(), io);
            }
        } else if (node instanceof Lst l && l.key != null) {
            outputList(l.children.stream().map(n -> ((Obj) n).children.get(l.key)).toList(), io);
        } else if (node instanceof Lst l) {
            outputList(l.children, io);
        } else if (node instanceof Value v) {
            io.append(v.value() == null ? "" : String.valueOf(v.value())).append('\n');
        }
    }

    private static void visitIndented(Lst list, StringBuilder io, String indent) {
        for (int i = 0; i < list.children.size(); i++) {
            Node child = list.children.get(i);
            if (child instanceof Obj o) {
                for (Map.Entry<String, Node> e : o.children.entrySet()) {
                    io.append(indent).append(formatKey(e.getKey())).append(':');
                    if (e.getValue() instanceof Lst l) {
                        io.append('\n');
                        visitIndented(l, io, indent + "  ");
                    } else {
                        io.append(' ');
                        visit(e.getValue(), io);
                    }
                }
                if (i != list.children.size() - 1) {
                    io.append('\n');
                }
            } else if (child instanceof Value v) {
                io.append(indent).append(v.value()).append('\n');
            } else {
                visit(child, io);
            }
        }
    }

    private static void outputList(List<Node> nodes, StringBuilder io) {
        if (nodes.stream().allMatch(n -> n instanceof Value)) {
            nodes.forEach(n -> visit(n, io));
        } else {
            for (int i = 0; i < nodes.size(); i++) {
                io.append(i == 0 ? "" : "\n");
                visit(nodes.get(i), io);
            }
        }
    }

    /** ActiveSupport's titleize(humanize(key)) plus the renderer's TLS/DNS/IP/SSL/ELB fix-ups. */
    static String formatKey(String key) {
        String k = key.replaceFirst("^_+", "").replaceFirst("_id$", "").replace('_', ' ');
        StringBuilder out = new StringBuilder();
        for (String word : k.split(" ", -1)) {
            if (out.length() > 0) {
                out.append(' ');
            }
            String w = word.isEmpty() ? word : Character.toUpperCase(word.charAt(0)) + word.substring(1).toLowerCase();
            switch (w) {
                case "Tls" -> w = "TLS";
                case "Dns" -> w = "DNS";
                case "Ip" -> w = "IP";
                case "Ssl" -> w = "SSL";
                case "Elb" -> w = "ELB";
                default -> {
                }
            }
            out.append(w);
        }
        return out.toString();
    }

    // ------------------------------------------------------------------ json

    /**
     * JSON.pretty_generate as in the json gem 2.5 that aptible-cli pins: two-space indent, "key": value,
     * and its quirks for empty containers ("[" newline newline indent "]", "{" newline indent "}").
     */
    static String json(Node root) {
        StringBuilder out = new StringBuilder();
        json(root, out, 0);
        return out.toString();
    }

    private static void json(Node node, StringBuilder out, int depth) {
        if (node instanceof Value v) {
            jsonValue(v.value(), out);
        } else if (node instanceof Obj o) {
            out.append('{');
            int i = 0;
            for (Map.Entry<String, Node> e : o.children.entrySet()) {
                out.append(i++ > 0 ? "," : "").append('\n').append("  ".repeat(depth + 1));
                jsonString(e.getKey(), out);
                out.append(": ");
                json(e.getValue(), out, depth + 1);
            }
            out.append('\n').append("  ".repeat(depth)).append('}');
        } else if (node instanceof Lst l) {
            out.append("[\n");
            for (int i = 0; i < l.children.size(); i++) {
                out.append(i > 0 ? ",\n" : "").append("  ".repeat(depth + 1));
                json(l.children.get(i), out, depth + 1);
            }
            out.append('\n').append("  ".repeat(depth)).append(']');
        }
    }

    private static void jsonValue(Object v, StringBuilder out) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Number || v instanceof Boolean) {
            out.append(v);
        } else {
            jsonString(v.toString(), out);
        }
    }

    private static void jsonString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Ruby's Shellwords.escape, which `aptible config` uses for its KEY=value lines. */
    static String shellEscape(String s) {
        if (s.isEmpty()) {
            return "''";
        }
        StringBuilder out = new StringBuilder();
        s.codePoints().forEach(c -> {
            if (c == '\n') {
                out.append("'\n'");
            } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "_-.,:+/@".indexOf(c) >= 0) {
                out.appendCodePoint(c);
            } else {
                out.append('\\').appendCodePoint(c);
            }
        });
        return out.toString();
    }
}
