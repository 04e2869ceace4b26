package dev.pgupgrade.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pgupgrade}: the command line. */
@Command(name = "pgupgrade", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Upgrades a PostgreSQL database to a new major version by dump and restore.",
        subcommands = {RunCommand.class, OperatorCommand.class, CrdCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, also used by tests to run commands in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // Never a stack trace with possibly sensitive context on the terminal; the class and message suffice,
            // with anything shaped like a URL (which may carry a password) left out.
            commandLine.getErr().println("pgupgrade: internal error: " + e.getClass().getSimpleName()
                    + (e.getMessage() != null ? ": " + withoutUrls(e.getMessage()) : ""));
            return ExitCodes.INTERNAL_ERROR;
        });
        return cli;
    }

    /** The text with every URL-shaped word (scheme://...) replaced, so no credential in one is printed. */
    static String withoutUrls(String text) {
        return text.replaceAll("[A-Za-z][A-Za-z0-9+.-]*://\\S*", "(a URL, not shown)");
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"pgupgrade " + (v == null ? "(development build)" : v)};
        }
    }
}
