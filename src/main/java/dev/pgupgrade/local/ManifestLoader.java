package dev.pgupgrade.local;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.pgupgrade.api.PostgresUpgrade;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import dev.pgupgrade.engine.SpecValidator;
import java.util.Collection;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a PostgresUpgrade manifest (YAML or JSON) strictly: an unknown field is an error, since a
 * misspelt option silently ignored is how upgrades go wrong. Errors name the field.
 */
public final class ManifestLoader {
    private static final long MAX_BYTES = 1024 * 1024;
    private static final ObjectMapper YAML = strictMapper();

    private static ObjectMapper strictMapper() {
        ObjectMapper mapper = new ObjectMapper(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        // version: 9.10 unquoted is the float 9.1; a number with a fraction is never a valid string here.
        mapper.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Textual)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Float,
                        com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        return mapper;
    }

    private ManifestLoader() {
    }

    public static PostgresUpgrade load(Path file) throws InvalidInputException {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": no such file");
        }
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new InvalidInputException(file + ": larger than 1 MiB, not a PostgresUpgrade manifest");
            }
            JsonNode tree;
            try (var documents = YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
                tree = documents.hasNextValue() ? documents.nextValue() : null;
                if (documents.hasNextValue()) {
                    throw new InvalidInputException(file + ": holds more than one YAML document; give one PostgresUpgrade per file");
                }
            }
            if (tree == null || !tree.isObject()) {
                throw new InvalidInputException(file + ": not a YAML or JSON object");
            }
            expect(tree, "apiVersion", PostgresUpgrade.API_VERSION);
            expect(tree, "kind", "PostgresUpgrade");
            return YAML.treeToValue(tree, PostgresUpgrade.class);
        } catch (UnrecognizedPropertyException e) {
            throw new InvalidInputException(path(e) + ": unknown field (known here: "
                    + e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", ")) + ")");
        } catch (InvalidFormatException e) {
            String allowed = e.getTargetType() != null && e.getTargetType().isEnum()
                    ? ": must be one of " + Arrays.stream(e.getTargetType().getEnumConstants())
                        .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "))
                    : ": has the wrong type";
            throw new InvalidInputException(path(e) + allowed);
        } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
            // Jackson's own message quotes the value ("...from String value ('postgresql://user:secret@...')"): never shown.
            throw new InvalidInputException(path(e) + ": has the wrong type" + expected(e.getTargetType()));
        } catch (JsonMappingException e) {
            throw new InvalidInputException(path(e) + ": is not valid here" + line(e));
        } catch (com.fasterxml.jackson.core.exc.StreamReadException e) {
            String original = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
            if (original.startsWith("Duplicate field")) {
                // the field's name only: keys are ours, values could be anything
                Matcher key = Pattern.compile("^Duplicate field '(.*)'").matcher(original.split("\n")[0]);
                throw new InvalidInputException(file + ": the key " + SpecValidator.printable(key.find() ? key.group(1) : null)
                        + " is given twice" + line(e));
            }
            throw new InvalidInputException(file + ": not valid YAML" + line(e));
        } catch (JsonProcessingException e) {
            // Jackson's errors echo input text, which could be a pasted secret: say where, not what.
            throw new InvalidInputException(file + ": not valid YAML" + line(e));
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** What a field takes, in the manifest's words: an object, a list, text, a number, true or false. */
    private static String expected(Class<?> type) {
        if (type == null) {
            return "";
        }
        if (type == String.class) {
            return " (expected text)";
        }
        if (Number.class.isAssignableFrom(type) || (type.isPrimitive() && type != boolean.class)) {
            return " (expected a number)";
        }
        if (type == Boolean.class || type == boolean.class) {
            return " (expected true or false)";
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return " (expected a list)";
        }
        return " (expected an object with fields)";
    }

    private static String line(JsonProcessingException e) {
        return e.getLocation() != null && e.getLocation().getLineNr() > 0 ? " (line " + e.getLocation().getLineNr() + ")" : "";
    }

    private static void expect(JsonNode tree, String field, String value) throws InvalidInputException {
        JsonNode node = tree.get(field);
        if (node == null || !value.equals(node.asText())) {
            throw new InvalidInputException(field + ": must be " + value);
        }
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                // a key is the user's text too: a secret pasted as a key must not be echoed either
                sb.append(ref.getFieldName().matches("[A-Za-z0-9_.-]{1,63}") ? ref.getFieldName() : "(a key not shown)");
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.length() == 0 ? "(manifest)" : sb.toString();
    }
}
