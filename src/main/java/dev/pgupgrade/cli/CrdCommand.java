package dev.pgupgrade.cli;

import dev.pgupgrade.api.CrdYaml;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pgupgrade crd}: prints the CustomResourceDefinition, e.g. for {@code kubectl apply -f -}. */
@Command(name = "crd", mixinStandardHelpOptions = true, description = "Prints the PostgresUpgrade CustomResourceDefinition (YAML).")
final class CrdCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(CrdYaml.generate());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
