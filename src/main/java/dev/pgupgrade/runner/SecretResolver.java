package dev.pgupgrade.runner;

import dev.pgupgrade.api.SecretKeyRef;

/** Reads the value behind a Secret key reference. */
public interface SecretResolver {
    /** @param field the spec field the reference sits in, for the error message */
    String resolve(SecretKeyRef ref, String field) throws SecretUnavailableException;
}
