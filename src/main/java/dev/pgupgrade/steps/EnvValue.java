package dev.pgupgrade.steps;

import dev.pgupgrade.api.SecretKeyRef;

/** An environment variable of a step: a plain value, or a Secret's key that only the runner resolves. */
public sealed interface EnvValue {
    record Literal(String value) implements EnvValue {
    }

    /** {@code field} names the spec field the reference came from, for error messages. */
    record FromSecret(SecretKeyRef ref, String field) implements EnvValue {
    }

    static EnvValue of(String value) {
        return new Literal(value);
    }

    static EnvValue secret(SecretKeyRef ref, String field) {
        return new FromSecret(ref, field);
    }
}
