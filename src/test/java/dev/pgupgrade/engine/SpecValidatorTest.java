package dev.pgupgrade.engine;

import dev.pgupgrade.testing.Upgrades;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pgupgrade.api.PostgresUpgrade;
import dev.pgupgrade.api.SecretKeyRef;
import dev.pgupgrade.api.ServiceSpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class SpecValidatorTest {

    static PostgresUpgrade upgrade() {
        return Upgrades.direct("17", null);
    }

    static ServiceSpec service(String kind, String name) {
        ServiceSpec s = new ServiceSpec();
        s.setKind(kind);
        s.setName(name);
        return s;
    }

    /** The one problem the upgrade has; fails if there is none or more than one. */
    static String onlyProblem(PostgresUpgrade u) {
        List<String> problems = SpecValidator.problems(u);
        assertEquals(1, problems.size(), () -> "expected exactly one problem, got " + problems);
        return problems.get(0);
    }

    static void assertNamesField(String problem, String field) {
        assertTrue(problem.startsWith(field + ":"), () -> "problem should start with '" + field + ":' but was: " + problem);
    }

    static void assertNoControlCharacters(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int index = i;
            assertFalse(Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
                            || Character.getType(c) == Character.PARAGRAPH_SEPARATOR,
                    () -> "control character U+" + String.format("%04X", (int) c) + " at " + index + " in: " + s);
        }
    }

    @Test
    void aCompleteSpecHasNoProblems() {
        assertEquals(List.of(), SpecValidator.problems(upgrade()));
    }

    @Test
    void aSpecWithEveryOptionalPartSetHasNoProblems() {
        PostgresUpgrade u = upgrade();
        ServiceSpec web = service("Deployment", "web");
        web.setUrlSecretRef(new SecretKeyRef("web-db", "DATABASE_URL"));
        u.getSpec().setServices(new ArrayList<>(List.of(web, service("StatefulSet", "worker"), service("StatefulSet", "web"))));
        u.getSpec().setStepTimeoutSeconds(3600L);
        u.getSpec().getTarget().setVersion("9.6");
        assertEquals(List.of(), SpecValidator.problems(u));
    }

    @Test
    void allProblemsAreReportedAtOnce() {
        PostgresUpgrade u = upgrade();
        u.getMetadata().setName("Orders");
        u.getSpec().setPlatform(null);
        u.getSpec().getTarget().setVersion("latest");
        u.getSpec().setStepTimeoutSeconds(1L);
        List<String> problems = SpecValidator.problems(u);
        assertEquals(4, problems.size(), problems::toString);
        assertNamesField(problems.get(0), "metadata.name");
        assertNamesField(problems.get(1), "spec.platform");
        assertNamesField(problems.get(2), "spec.target.version");
        assertNamesField(problems.get(3), "spec.stepTimeoutSeconds");
    }

    @Nested
    class Required {
        @Test
        void missingSpec() {
            PostgresUpgrade u = upgrade();
            u.setSpec(null);
            assertEquals("spec: required", onlyProblem(u));
        }

        @Test
        void missingPlatform() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setPlatform(null);
            assertEquals("spec.platform: required (direct or aptible)", onlyProblem(u));
        }

        @Test
        void missingSource() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setSource(null);
            assertEquals("spec.source: required", onlyProblem(u));
        }

        @Test
        void missingSourceSecretRef() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().setUrlSecretRef(null);
            assertNamesField(onlyProblem(u), "spec.source.urlSecretRef");
        }

        @Test
        void missingTarget() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setTarget(null);
            assertEquals("spec.target: required", onlyProblem(u));
        }

        @Test
        void missingTargetSecretRef() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().setUrlSecretRef(null);
            assertNamesField(onlyProblem(u), "spec.target.urlSecretRef");
        }

        @ParameterizedTest
        @NullAndEmptySource
        void missingTargetVersion(String version) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().setVersion(version);
            String p = onlyProblem(u);
            assertNamesField(p, "spec.target.version");
            assertTrue(p.contains("required"), p);
        }

        @ParameterizedTest
        @NullAndEmptySource
        void missingSecretName(String name) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().getUrlSecretRef().setName(name);
            assertEquals("spec.source.urlSecretRef.name: required", onlyProblem(u));
        }

        @ParameterizedTest
        @NullAndEmptySource
        void missingSecretKey(String key) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().getUrlSecretRef().setKey(key);
            assertEquals("spec.target.urlSecretRef.key: required", onlyProblem(u));
        }

        @Test
        void missingMetadataName() {
            PostgresUpgrade u = upgrade();
            u.getMetadata().setName(null);
            assertEquals("metadata.name: required", onlyProblem(u));
        }
    }

    @Nested
    class TargetVersion {
        @ParameterizedTest
        @ValueSource(strings = {"16.2", "latest", "17.0", "v17", "9.7", "9", "1", "100", "17 ", " 17", "09", "17\n", ">=16", "9.6.1"})
        void notAMajorVersion(String version) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().setVersion(version);
            String p = onlyProblem(u);
            assertNamesField(p, "spec.target.version");
            assertTrue(p.contains("must be a major version"), p);
            assertNoControlCharacters(p);
        }

        @Test
        void theBadValueIsEchoed() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().setVersion("16.2");
            assertTrue(onlyProblem(u).endsWith("got \"16.2\""), onlyProblem(u));
        }

        @ParameterizedTest
        @ValueSource(strings = {"9.0", "9.6", "10", "13", "17", "18", "99"})
        void majorVersions(String version) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().setVersion(version);
            assertEquals(List.of(), SpecValidator.problems(u));
        }
    }

    @Nested
    class SecretRefs {
        @ParameterizedTest
        @ValueSource(strings = {"Source-DB", "../x", "a/b", "a\nb", "a;rm -rf /", "$(reboot)", "-db", "db-", "a..b", "a b", "é"})
        void badSecretNames(String name) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().getUrlSecretRef().setName(name);
            String p = onlyProblem(u);
            assertNamesField(p, "spec.source.urlSecretRef.name");
            assertNoControlCharacters(p);
        }

        @Test
        void aNewlineInANameIsNotEchoed() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().getUrlSecretRef().setName("db\nFAKE LOG LINE");
            assertEquals("spec.target.urlSecretRef.name: must be a Secret name (lower-case letters, digits, '-' and '.'), "
                    + "got a value not shown (it could hold a secret)", onlyProblem(u));
        }

        @Test
        void shellMetacharactersAreNotEchoed() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().getUrlSecretRef().setName("a;rm -rf");
            assertTrue(onlyProblem(u).endsWith("got a value not shown (it could hold a secret)"), onlyProblem(u));
        }

        /** A URL pasted into the wrong field is the classic way a password ends up in an error message and a log. */
        @ParameterizedTest
        @ValueSource(strings = {"postgresql://app:s3cret-pw@db.internal:5432/shop", "s3cret-pw@db", "user:s3cret-pw", "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"})
        void valuesThatCouldBeSecretsAreNeverEchoed(String value) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().getUrlSecretRef().setName(value);
            u.getSpec().getTarget().setVersion(value);
            u.getSpec().getTarget().getUrlSecretRef().setKey(value);
            List<String> problems = SpecValidator.problems(u);
            assertTrue(problems.size() >= 2, problems::toString);
            for (String p : problems) {
                assertFalse(p.contains("s3cret") || p.contains("XXXXX"), p);
                assertTrue(p.endsWith("got a value not shown (it could hold a secret)"), p);
            }
        }

        @Test
        void nameLongerThan253IsRejected() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().getUrlSecretRef().setName("a".repeat(254));
            assertNamesField(onlyProblem(u), "spec.source.urlSecretRef.name");
            u.getSpec().getSource().getUrlSecretRef().setName("a".repeat(253));
            assertEquals(List.of(), SpecValidator.problems(u));
        }

        @ParameterizedTest
        @ValueSource(strings = {"..", ".", "a/b", "../url", "url\n", "a b", "k;ls"})
        void badSecretKeys(String key) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().getUrlSecretRef().setKey(key);
            String p = onlyProblem(u);
            assertNamesField(p, "spec.target.urlSecretRef.key");
            assertNoControlCharacters(p);
        }

        @ParameterizedTest
        @ValueSource(strings = {"url", "DATABASE_URL", "tls.crt", "...", "a-b_c.d"})
        void goodSecretKeys(String key) {
            PostgresUpgrade u = upgrade();
            u.getSpec().getTarget().getUrlSecretRef().setKey(key);
            assertEquals(List.of(), SpecValidator.problems(u));
        }

        @Test
        void unicodeControlCharactersAreNotEchoed() {
            PostgresUpgrade u = upgrade();
            u.getSpec().getSource().getUrlSecretRef().setName("db\u0085next\u009b31m");
            assertNoControlCharacters(onlyProblem(u));
        }
    }

    @Nested
    class Services {
        @Test
        void duplicateServices() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setServices(new ArrayList<>(List.of(service("Deployment", "web"), service("Deployment", "api"),
                    service("Deployment", "web"))));
            assertEquals("spec.services[2]: Deployment web is listed twice", onlyProblem(u));
        }

        @Test
        void sameNameOfAnotherKindIsNoDuplicate() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setServices(new ArrayList<>(List.of(service("Deployment", "web"), service("StatefulSet", "web"))));
            assertEquals(List.of(), SpecValidator.problems(u));
        }

        @ParameterizedTest
        @ValueSource(strings = {"DaemonSet", "deployment", "Pod", ""})
        void badKind(String kind) {
            PostgresUpgrade u = upgrade();
            u.getSpec().setServices(new ArrayList<>(List.of(service("Deployment", "web"), service(kind, "api"))));
            assertEquals("spec.services[1].kind: must be Deployment or StatefulSet", onlyProblem(u));
        }

        @Test
        void missingKind() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setServices(new ArrayList<>(List.of(service(null, "api"))));
            assertEquals("spec.services[0].kind: must be Deployment or StatefulSet", onlyProblem(u));
        }

        @ParameterizedTest
        @ValueSource(strings = {"Web", "web_app", "../web", ""})
        void badServiceName(String name) {
            PostgresUpgrade u = upgrade();
            u.getSpec().setServices(new ArrayList<>(List.of(service("Deployment", name))));
            assertEquals("spec.services[0].name: must be a Kubernetes object name", onlyProblem(u));
        }

        @Test
        void nullService() {
            PostgresUpgrade u = upgrade();
            List<ServiceSpec> services = new ArrayList<>();
            services.add(null);
            u.getSpec().setServices(services);
            assertEquals("spec.services[0]: must not be empty", onlyProblem(u));
        }

        @Test
        void badServiceSecretRef() {
            PostgresUpgrade u = upgrade();
            ServiceSpec web = service("Deployment", "web");
            web.setUrlSecretRef(new SecretKeyRef("Web", ".."));
            u.getSpec().setServices(new ArrayList<>(List.of(web)));
            List<String> problems = SpecValidator.problems(u);
            assertEquals(2, problems.size(), problems::toString);
            assertNamesField(problems.get(0), "spec.services[0].urlSecretRef.name");
            assertNamesField(problems.get(1), "spec.services[0].urlSecretRef.key");
        }

        @Test
        void atMostFiftyServices() {
            PostgresUpgrade u = upgrade();
            List<ServiceSpec> services = new ArrayList<>();
            for (int i = 0; i < 51; i++) {
                services.add(service("Deployment", "web-" + i));
            }
            u.getSpec().setServices(services);
            assertEquals("spec.services: at most 50 services", onlyProblem(u));
            services.remove(50);
            assertEquals(List.of(), SpecValidator.problems(u));
        }

        @Test
        void duplicateProblemDoesNotEchoControlCharacters() {
            PostgresUpgrade u = upgrade();
            u.getSpec().setServices(new ArrayList<>(List.of(service("Deploy\nment", "web"), service("Deploy\nment", "web"))));
            List<String> problems = SpecValidator.problems(u);
            assertTrue(problems.size() >= 2, problems::toString);
            problems.forEach(SpecValidatorTest::assertNoControlCharacters);
        }
    }

    @Nested
    class StepTimeout {
        @ParameterizedTest
        @ValueSource(longs = {10L, 59L, 604801L, 1_000_000_000L, 0L, -60L})
        void outOfRange(long seconds) {
            PostgresUpgrade u = upgrade();
            u.getSpec().setStepTimeoutSeconds(seconds);
            assertEquals("spec.stepTimeoutSeconds: must be between 60 and 604800 (a week), got " + seconds, onlyProblem(u));
        }

        @ParameterizedTest
        @ValueSource(longs = {60L, 3600L, 604800L})
        void inRange(long seconds) {
            PostgresUpgrade u = upgrade();
            u.getSpec().setStepTimeoutSeconds(seconds);
            assertEquals(List.of(), SpecValidator.problems(u));
        }
    }

    @Nested
    class MetadataName {
        @Test
        void fortyCharactersIsTheLimit() {
            PostgresUpgrade u = upgrade();
            u.getMetadata().setName("a".repeat(SpecValidator.MAX_NAME_LENGTH));
            assertEquals(List.of(), SpecValidator.problems(u));
            u.getMetadata().setName("a".repeat(SpecValidator.MAX_NAME_LENGTH + 1));
            assertNamesField(onlyProblem(u), "metadata.name");
        }

        @ParameterizedTest
        @ValueSource(strings = {"Orders", "orders_db", "orders.db", "-orders", "orders-", "orders db"})
        void notADnsLabel(String name) {
            PostgresUpgrade u = upgrade();
            u.getMetadata().setName(name);
            String p = onlyProblem(u);
            assertNamesField(p, "metadata.name");
            assertFalse(p.contains(name), "the bad name is not echoed: " + p);
        }

        @Test
        void missingMetadata() {
            PostgresUpgrade u = upgrade();
            u.setMetadata(null);
            assertEquals("metadata.name: required", onlyProblem(u));
        }
    }
}
