package dev.pgupgrade.runner;

/** A referenced Secret key cannot be read. The message names the spec field and the reference, never a value. */
public class SecretUnavailableException extends Exception {
    public SecretUnavailableException(String message) {
        super(message);
    }
}
