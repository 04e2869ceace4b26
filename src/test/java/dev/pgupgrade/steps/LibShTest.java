package dev.pgupgrade.steps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgupgrade.testing.Project;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The step scripts' shell library (lib.sh) on its own, function by function, in real bash: a
 * regression here fails a test that takes milliseconds, not an end-to-end upgrade. Values go to the
 * functions as arguments, never spliced into the script.
 */
class LibShTest {
    private static final Path LIB = Project.root().resolve("src/main/resources/dev/pgupgrade/steps/scripts/lib.sh");

    @TempDir
    Path work;

    record Bash(int exitCode, String out, String err) {
    }

    /** Runs {@code script} after sourcing lib.sh, with {@code args} as $1, $2... */
    private Bash bash(String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", "-c", ". \"$LIB\"; " + script, "lib-test"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(Map.of("PATH", System.getenv("PATH"), "LIB", LIB.toString(), "WORK_DIR", work.toString(),
                "RESULT_FILE", work.resolve("result.json").toString(), "STEP_NAME", "test", "RESULT_MAX_LINES", "50",
                "PGCONNECT_TIMEOUT", "10", "TMPDIR", work.toString()));
        Files.writeString(work.resolve("result.json"), "");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Bash(p.exitValue(), out, err);
    }

    /** The same table PostgresUrlTest holds good, taken apart into libpq's variables. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "postgresql://app:Pa55wordZ9@db.example.com:5432/orders | db.example.com | 5432 | app | Pa55wordZ9 | orders | ",
        "postgres://app:Pa55wordZ9@db.example.com/orders | db.example.com | | app | Pa55wordZ9 | orders | ",
        "postgresql://app:p%40ss%2Fw%3Ard%25@db.example.com:5432/orders | db.example.com | 5432 | app | p@ss/w:rd% | orders | ",
        "postgresql://app:Pa55wordZ9@[::1]:5432/orders | ::1 | 5432 | app | Pa55wordZ9 | orders | ",
        "postgresql://app:Pa55wordZ9@[2001:db8::1]/orders | 2001:db8::1 | | app | Pa55wordZ9 | orders | ",
        "postgresql://app:Pa55wordZ9@db:5432/orders?sslmode=require | db | 5432 | app | Pa55wordZ9 | orders | require",
        "postgresql://app@db/orders | db | | app | | orders | ",
        "postgresql://db.example.com | db.example.com | | | | | ",
        "postgresql://app:p@ss@db/orders | db | | app | p@ss | orders | ",
    })
    void useUrlTakesAUrlApartIntoLibpqVariables(String url, String host, String port, String user, String password, String db, String sslmode)
            throws Exception {
        Bash b = bash("use_url \"$1\" url; printf '%s|' \"${PGHOST-}\" \"${PGPORT-}\" \"${PGUSER-}\" \"${PGPASSWORD-}\" \"${PGDATABASE-}\" \"${PGSSLMODE-}\"",
                url);
        assertEquals(0, b.exitCode(), b.err());
        assertEquals(String.join("|", nz(host), nz(port), nz(user), nz(password), nz(db), nz(sslmode)) + "|", b.out());
    }

    /** A pg_restore that stopped (not one that carried on past SQL errors) must reach the classifier as an ERROR line. */
    @Test
    void aStoppedPgRestoreBecomesAnErrorLineAndOneThatCarriedOnDoesNot() throws Exception {
        String carriedOn = "pg_restore: error: could not execute query: ERROR:  database \"postgres\" already exists\n"
                + "pg_restore: warning: errors ignored on restore: 1\n";
        assertEquals(carriedOn, stopped(carriedOn), "its SQL errors are counted already");
        String died = "pg_restore: error: a worker process died unexpectedly\n";
        assertEquals(died + "ERROR:  pg_restore stopped (exit 1) before the data of database s\\nhop was restored: a worker process died unexpectedly\n",
                stopped(died));
        assertEquals("ERROR:  pg_restore stopped (exit 1) before the data of database s\\nhop was restored: no reason given\n", stopped(""));
    }

    /** What restore_stopped leaves in an error file that held {@code before}, for a database named "s", newline, "hop". */
    private String stopped(String before) throws Exception {
        Path err = work.resolve("restore.err");
        Files.writeString(err, before);
        Bash b = bash("restore_stopped 1 \"$1\" \"the data of database $(escaped \"$2\")\"", err.toString(), "s\nhop");
        assertEquals(0, b.exitCode(), b.err());
        return Files.readString(err);
    }

    /** Either side of a copy's proof may hash with either implementation: both must be SHA-256 of the very bytes. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"hash_stream", "sha256_openssl", "sha256_coreutils"})
    void everyStreamHashIsTheSha256OfTheBytes(String function) throws Exception {
        byte[] bytes = new byte[3 * 1024 * 1024 + 17];
        new java.util.Random(42).nextBytes(bytes);  // NULs, newlines and every other byte, as a binary COPY holds
        Path stream = work.resolve("stream.bin");
        Files.write(stream, bytes);
        String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        Bash b = bash(function + " < \"$1\"", stream.toString());
        assertEquals(0, b.exitCode(), b.err());
        assertEquals(expected + "\n", b.out());
    }

    @Test
    void aDatabaseNameInTheUrlIsDecodedWhateverItHolds() throws Exception {
        Bash b = bash("use_url \"$1\" url; printf '%s' \"$PGDATABASE\"", "postgresql://app:pw@db/we%27ird%22db%7C%0A%24(x)");
        assertEquals("we'ird\"db|\n$(x)", b.out());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "mysql://root:Pa55wordZ9@db/app | the URL does not start with postgresql://",
        "postgresql://app:Pa55wordZ9@db:http/orders | the URL has an invalid port",
        "postgresql://app:Pa55wordZ9@db/orders?password=x | the URL has an unsupported parameter 'password'",
    })
    void aBadUrlFailsTheStepWithoutEchoingIt(String url, String expected) throws Exception {
        Bash b = bash("use_url \"$1\" 'the source server'", url);
        assertNotEquals(0, b.exitCode());
        assertTrue(b.err().contains("the source server: " + expected), b.err());
        assertFalse(b.err().contains("Pa55wordZ9") || Files.readString(work.resolve("result.json")).contains("Pa55wordZ9"));
    }

    @Test
    void theTargetRolesPasswordStatementIsDroppedAndNoOtherLine() throws Exception {
        String dump = String.join("\n", "CREATE ROLE app;", "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-one';",
                "ALTER ROLE \"app\" WITH LOGIN PASSWORD 'SCRAM-two';", "ALTER ROLE apple WITH LOGIN PASSWORD 'SCRAM-three';",
                "ALTER ROLE \"a\\\"b\" WITH LOGIN PASSWORD 'SCRAM-four';", "ALTER ROLE app SET work_mem = '1MB';", "");
        Bash b = bash("printf '%s' \"$2\" | target_role_filter \"$1\"", "app", dump);
        assertEquals(String.join("\n", "CREATE ROLE app;", "ALTER ROLE apple WITH LOGIN PASSWORD 'SCRAM-three';",
                "ALTER ROLE \"a\\\"b\" WITH LOGIN PASSWORD 'SCRAM-four';", "ALTER ROLE app SET work_mem = '1MB';", ""), b.out());
        assertTrue(b.err().contains("dropped 2 password statement(s) for the target role"), b.err());

        // a role whose name needs quoting (and holds a backslash, which awk -v would have eaten)
        Bash odd = bash("printf '%s' \"$2\" | target_role_filter \"$1\"", "a\"b\\c", "ALTER ROLE \"a\"\"b\\c\" WITH PASSWORD 'x';\nCREATE ROLE x;\n");
        assertEquals("CREATE ROLE x;\n", odd.out());
    }

    @Test
    void jsonStringFlattensAMessageJsonExactKeepsEveryCharacterOfAName() throws Exception {
        String name = "a\\b\"c\td\ne\u001bf&g|h";
        Bash flat = bash("json_string \"$1\"", name);
        assertEquals("\"a\\\\b\\\"c d ef&g|h\"", flat.out());
        Bash exact = bash("json_exact \"$1\"", name);
        assertEquals(name, new ObjectMapper().readValue(exact.out(), String.class));
    }

    @Test
    void connInfoDbnameQuotesAnyNameForLibpq() throws Exception {
        assertEquals("dbname='host=elsewhere dbname=x'", bash("conninfo_dbname \"$1\"", "host=elsewhere dbname=x").out());
        assertEquals("dbname='a\\'b\\\\c'", bash("conninfo_dbname \"$1\"", "a'b\\c").out());
    }

    @Test
    void escapedAndShownKeepANameOnOneLine() throws Exception {
        assertEquals("a\\\\b\\tc\\nd\\re", bash("escaped \"$1\"", "a\\b\tc\nd\re").out());
        assertEquals("\"PGUPGRADE_PROGRESS \\\"x\\\"\\nfake\"", bash("shown \"$1\"", "PGUPGRADE_PROGRESS \"x\"\nfake").out());
    }

    @Test
    void errorLinesNameTheObjectFromTheDumpsHeaders() throws Exception {
        Path sql = work.resolve("schema.sql");
        Files.writeString(sql, String.join("\n", "--", "-- Roles", "--", "CREATE ROLE postgres;",
                "\\connect -reuse-previous=on \"dbname='we\\'ird\"\"db'\"", "--", "-- Name: t|x; Type: TABLE; Schema: s p; Owner: o", "--",
                "CREATE TABLE x (", ");", "\\connect \"other\"", "-- Name: f(); Type: FUNCTION; Schema: public; Owner: o", "CREATE FUNCTION f();", ""));
        Path err = work.resolve("restore.err");
        Files.writeString(err, String.join("\n", "psql:" + sql + ":4: ERROR:  role \"postgres\" already exists",
                "psql:" + sql + ":10: ERROR:  boom", "LINE 1: CREATE TABLE x (", "psql:" + sql + ":13: ERROR:  bang", ""));
        bash("error_lines \"$1\" \"$2\" \"$3\"", err.toString(), work.resolve("out.txt").toString(), sql.toString());
        assertEquals(List.of("Roles: ERROR:  role \"postgres\" already exists", "TABLE s p.t|x in database we'ird\"db: ERROR:  boom",
                "FUNCTION public.f() in database other: ERROR:  bang"), Files.readAllLines(work.resolve("out.txt")));

        bash("error_lines \"$1\" \"$2\"", err.toString(), work.resolve("plain.txt").toString());
        assertEquals(List.of("line 4: ERROR:  role \"postgres\" already exists", "line 10: ERROR:  boom", "line 13: ERROR:  bang"),
                Files.readAllLines(work.resolve("plain.txt")));
    }

    @Test
    void transferJobsIsTheSpecsOrTheCpusWhenZero() throws Exception {
        assertEquals("3\n", bash("TRANSFER_JOBS=3 transfer_jobs").out());
        assertEquals(Runtime.getRuntime().availableProcessors() + "\n", bash("TRANSFER_JOBS=0 transfer_jobs").out());
        assertNotEquals(0, bash("unset TRANSFER_JOBS; transfer_jobs").exitCode(), "no default in the script");
    }

    @Test
    void aMissingRunnerSettingFailsLoudly() throws Exception {
        Bash b = bash("unset RESULT_MAX_LINES; . \"$LIB\"");
        assertNotEquals(0, b.exitCode());
        assertTrue(b.err().contains("RESULT_MAX_LINES must be set by the step runner"), b.err());
    }

    @Test
    void theResultIsOneJsonDocumentWhateverTheValues() throws Exception {
        bash("result_str message \"$1\"; result_num bytes 42; result_bool done true; result_names names \"$2\"; write_result true",
                "line one\nline \"two\"", names("x\ny", "z"));
        var json = new ObjectMapper().readTree(Files.readString(work.resolve("result.json")));
        assertTrue(json.path("ok").asBoolean());
        assertEquals("line one line \"two\"", json.path("message").asText());
        assertEquals(42, json.path("bytes").asInt());
        assertEquals("x\ny", json.path("names").get(0).asText());
    }

    private String names(String... names) throws IOException {
        Path file = work.resolve("names.z");
        Files.writeString(file, String.join("\0", names) + "\0");
        return file.toString();
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
