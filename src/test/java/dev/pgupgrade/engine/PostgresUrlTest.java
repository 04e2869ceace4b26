package dev.pgupgrade.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PostgresUrlTest {
    /** Every bad URL below carries this password, which no problem may repeat. */
    private static final String PASSWORD = "Pa55wordZ9";

    @ParameterizedTest
    @ValueSource(strings = {
        "postgresql://app:Pa55wordZ9@db.example.com:5432/orders",
        "postgres://app:Pa55wordZ9@db.example.com/orders",
        "postgresql://app:p%40ss%2Fw%3Ard%25@db.example.com:5432/orders",
        "postgresql://app:Pa55wordZ9@[::1]:5432/orders",
        "postgresql://app:Pa55wordZ9@[2001:db8::1]/orders",
        "postgresql://app:Pa55wordZ9@db:5432/orders?sslmode=require",
        "postgresql://app:Pa55wordZ9@db/orders?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        "postgresql://app:Pa55wordZ9@db/orders?application_name=pgupgrade&target_session_attrs=read-write",
        "postgresql://app:Pa55wordZ9@db/orders?sslcert=a&sslkey=b",
        "postgresql://app@db/orders",
        "postgresql://db.example.com",
        "postgresql://db:1/x",
        "postgresql://db:65535/x",
        "postgresql://app:p@ss@db/orders",
    })
    void goodUrls(String url) {
        assertEquals(Optional.empty(), PostgresUrl.problem(url));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "mysql://root:Pa55wordZ9@db:3306/app | is not a postgresql:// URL",
        "POSTGRESQL://app:Pa55wordZ9@db/app | is not a postgresql:// URL",
        "app:Pa55wordZ9@db/app | is not a postgresql:// URL",
        "postgresql:/app:Pa55wordZ9@db/app | is not a postgresql:// URL",
        "postgresql://app:Pa55wordZ9@/orders | has no host",
        "postgresql://app:Pa55wordZ9@:5432/orders | has no host",
        "postgresql:///orders | has no host",
        "postgresql:// | has no host",
        "postgresql://app:Pa55wordZ9@db:0/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@db:99999/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@db:65536/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@db:abc/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@db:/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@db:5432:5433/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@[::1]:http/orders | has an invalid port (1-65535)",
        "postgresql://app:Pa55wordZ9@[::1/orders | has an unclosed [IPv6] host",
        "postgresql://app:Pa55wordZ9@[::1]x/orders | has characters after its [IPv6] host",
        "postgresql://:Pa55wordZ9@db/orders | has a password but no user name",
        "postgresql://app:Pa55wordZ9%zz@db/orders | has a '%' that does not start a percent-encoded byte",
        "postgresql://app:Pa55wordZ9%4@db/orders | has a '%' that does not start a percent-encoded byte",
        "postgresql://app:Pa55wordZ9@db/orders% | has a '%' that does not start a percent-encoded byte",
    })
    void badUrls(String url, String expected) {
        Optional<String> problem = PostgresUrl.problem(url);
        assertEquals(Optional.of(expected), problem);
        assertFalse(problem.get().contains(PASSWORD), problem.get());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "postgresql://app:Pa55 wordZ9@db/orders",
        "postgresql://app:Pa55wordZ9@db/orders ",
        "postgresql://app:Pa55\twordZ9@db/orders",
        "postgresql://app:Pa55\nwordZ9@db/orders",
        "postgresql://app:Pa55\u007fwordZ9@db/orders",
    })
    void spacesAndControlCharactersAreRefused(String url) {
        Optional<String> problem = PostgresUrl.problem(url);
        assertEquals(Optional.of("contains spaces or control characters (percent-encode them)"), problem);
    }

    @Test
    void unsupportedParameterIsNamedButItsValueIsNot() {
        Optional<String> problem = PostgresUrl.problem("postgresql://app:x@db/orders?sslmode=require&sslpassword=" + PASSWORD);
        assertEquals(Optional.of("has the unsupported parameter \"sslpassword\" (supported: application_name, connect_timeout, "
                + "sslcert, sslkey, sslmode, sslrootcert, target_session_attrs)"), problem);
        assertFalse(problem.get().contains(PASSWORD));
    }

    @ParameterizedTest
    @ValueSource(strings = {"options=-c%20search_path%3Dx", "password=Pa55wordZ9", "host=other", "SSLMODE=require", "&sslmode=require"})
    void parametersTheScriptsDoNotHandleAreRefused(String query) {
        Optional<String> problem = PostgresUrl.problem("postgresql://app:" + PASSWORD + "@db/orders?" + query);
        assertTrue(problem.isPresent() && problem.get().startsWith("has the unsupported parameter"), problem.toString());
        assertFalse(problem.get().contains(PASSWORD), problem.get());
    }

    @Test
    void aBareSslmodeKeyWithoutValueIsAccepted() {
        // "sslmode" alone names a supported key; the scripts then set an empty PGSSLMODE
        assertEquals(Optional.empty(), PostgresUrl.problem("postgresql://app:x@db/orders?sslmode=require&sslmode"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "postgresql://app:8080?SuperSecret42@db.example.com/orders",
        "postgresql://app:Pw@x?SuperSecret42@db.example.com/orders",
        "postgresql://app:Pw@x?SuperSecret42=y@db.example.com/orders",
    })
    void anUnencodedQuestionMarkInThePasswordDoesNotLeakThePassword(String url) {
        Optional<String> problem = PostgresUrl.problem(url);
        assertTrue(problem.isPresent(), "the URL is not usable as given");
        assertFalse(problem.get().contains("SuperSecret42"), problem.get());
    }
}
