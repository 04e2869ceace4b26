package dev.pgupgrade.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;

/** A Prometheus text exposition, parsed: what a scrape of /metrics (or a --metrics-file) holds. */
public final class Scrape {
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples;
    private final String text;

    private Scrape(String text) {
        this.text = text;
        this.samples = parse(text);
    }

    public static Scrape of(String text) {
        return new Scrape(text);
    }

    /** GET with the real curl, as a user checking the endpoint would. */
    public static Scrape curl(String url) throws IOException, InterruptedException {
        Process curl = new ProcessBuilder("curl", "-sS", "--fail", "--max-time", "10", url).redirectErrorStream(true).start();
        String body = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!curl.waitFor(15, TimeUnit.SECONDS) || curl.exitValue() != 0) {
            throw new AssertionError("curl " + url + " failed: " + body);
        }
        return new Scrape(body);
    }

    public String text() {
        return text;
    }

    public List<Sample> samples() {
        return samples;
    }

    /** Samples named {@code name} whose labels include every pair of {@code labels} (name, value, name, value...). */
    public List<Sample> find(String name, String... labels) {
        List<Sample> found = new ArrayList<>();
        for (Sample s : samples) {
            boolean match = s.name().equals(name);
            for (int i = 0; match && i + 1 < labels.length; i += 2) {
                match = labels[i + 1].equals(s.labels().get(labels[i]));
            }
            if (match) {
                found.add(s);
            }
        }
        return found;
    }

    /** The one sample's value, or empty when there is none; more than one is an error. */
    public OptionalDouble value(String name, String... labels) {
        List<Sample> found = find(name, labels);
        if (found.size() > 1) {
            throw new AssertionError(found.size() + " samples " + name + " " + String.join(",", labels) + ": " + found);
        }
        return found.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(found.get(0).value());
    }

    private static List<Sample> parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int i = 0;
            while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
                i++;
            }
            String name = line.substring(0, i);
            Map<String, String> labels = new LinkedHashMap<>();
            if (i < line.length() && line.charAt(i) == '{') {
                i++;
                while (line.charAt(i) != '}') {
                    int eq = line.indexOf('=', i);
                    String label = line.substring(i, eq).trim();
                    StringBuilder value = new StringBuilder();
                    int j = eq + 2;  // past ="
                    for (; line.charAt(j) != '"'; j++) {
                        char c = line.charAt(j);
                        if (c == '\\') {
                            char next = line.charAt(++j);
                            value.append(next == 'n' ? '\n' : next);
                        } else {
                            value.append(c);
                        }
                    }
                    labels.put(label, value.toString());
                    i = j + 1;
                    if (line.charAt(i) == ',') {
                        i++;
                    }
                }
                i++;
            }
            String[] rest = line.substring(i).trim().split(" ");
            samples.add(new Sample(name, labels, Double.parseDouble(rest[0])));
        }
        return samples;
    }
}
