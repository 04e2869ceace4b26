package dev.pgupgrade.api;

import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;

/**
 * The PostgresUpgrade CRD, generated from the classes in this package by fabric8's crd-generator
 * ({@code pgupgrade crd}, {@code make crds}). The generator orders printer columns by JSON path;
 * here they get the order {@code kubectl get pgu} should show.
 */
public final class CrdYaml {
    public static final String FILE_NAME = "postgresupgrades.pgupgrade.dev.yaml";
    static final List<String> COLUMN_ORDER = List.of("Phase", "Progress", "Source", "Target", "Message", "Age");

    private CrdYaml() {
    }

    public static String generate() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new CRDGenerator()
                .customResourceClasses(PostgresUpgrade.class)
                .forCRDVersions("v1")
                .withPostProcessor(new CRDPostProcessor() {
                    @Override
                    public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
                        ((CustomResourceDefinition) crd).getSpec().getVersions().forEach(v -> v.getAdditionalPrinterColumns()
                                .sort(Comparator.comparingInt((CustomResourceColumnDefinition c) -> COLUMN_ORDER.indexOf(c.getName()))));
                        return crd;
                    }
                })
                .withOutput(new CRDGenerator.CRDOutput<OutputStream>() {
                    @Override
                    public OutputStream outputFor(String crdName) {
                        return new FilterOutputStream(out) {
                            @Override
                            public void close() {
                                // the generator closes each output; the buffer stays open for us
                            }
                        };
                    }

                    @Override
                    public void close() {
                    }
                })
                .generate();
        return out.toString(StandardCharsets.UTF_8);
    }
}
