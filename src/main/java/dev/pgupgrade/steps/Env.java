package dev.pgupgrade.steps;

import dev.pgupgrade.api.SecretKeyRef;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds a step's environment from its typed inputs: the only way values reach a script. */
public final class Env {
    private final Map<String, EnvValue> values = new LinkedHashMap<>();

    public Env put(String name, String value) {
        values.put(name, EnvValue.of(value));
        return this;
    }

    public Env put(String name, long value) {
        return put(name, Long.toString(value));
    }

    public Env put(String name, boolean value) {
        return put(name, value ? "1" : "0");
    }

    /** Only when there is a value: for the few inputs a script may lack (it tests them with ${X:-}). */
    public Env putIfPresent(String name, String value) {
        return value == null ? this : put(name, value);
    }

    public Env secret(String name, SecretKeyRef ref, String field) {
        values.put(name, EnvValue.secret(ref, field));
        return this;
    }

    public Env putAll(Map<String, EnvValue> more) {
        values.putAll(more);
        return this;
    }

    public Map<String, EnvValue> build() {
        return Map.copyOf(values);
    }
}
