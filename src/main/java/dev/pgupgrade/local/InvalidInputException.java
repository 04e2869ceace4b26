package dev.pgupgrade.local;

import java.util.List;

/** The manifest, its Secrets or the command line cannot be used; nothing was touched. */
public class InvalidInputException extends Exception {
    private final List<String> problems;

    public InvalidInputException(List<String> problems) {
        super(String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public InvalidInputException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }
}
