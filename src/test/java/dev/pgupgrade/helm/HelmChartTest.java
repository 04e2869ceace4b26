package dev.pgupgrade.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import dev.pgupgrade.testing.Project;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart in helm/pgupgrade-operator, linted and rendered by the real helm (helm-java bundles it as a
 * native library), the rendered manifests checked: workload, security, probes, operator arguments and, above
 * all, that RBAC is exactly the least-privilege rule set and scoped as watchNamespaces says.
 */
class HelmChartTest {
    private static final Path CHART = Project.root().resolve("helm/pgupgrade-operator");
    private static final String RELEASE = "pgupgrade-operator";
    private static final String NAMESPACE = "pgupgrade-system";
    private static final String SERVICE_ACCOUNT = "pgupgrade-operator";
    /** Duplicate keys refused: kustomize, yq and strict validators reject a manifest that has them. */
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** What the operator may do to the resources it manages: (apiGroup, resource, verb). */
    private static final Set<String> MANAGED_RESOURCE_RULES = triples(
            "pgupgrade.dev", "postgresupgrades", "get,list,watch,patch,update",
            "pgupgrade.dev", "postgresupgrades/status", "get,patch,update",
            "batch", "jobs", "get,list,watch,create,delete",
            "", "pods", "get,list",
            "", "pods/log", "get",
            "", "persistentvolumeclaims", "get,create",
            "", "configmaps", "get,create,update",
            "", "secrets", "get,create,update",
            "apps", "deployments", "get,patch",
            "apps", "statefulsets", "get,patch",
            "", "events", "create,patch");

    /**
     * The Lease for leader election. get/create/update: what JOSDK's LeaderElectionManager checks with a
     * SelfSubjectRulesReview at start-up; patch: fabric8 7.5's LeaseLock renews the Lease with a JSON merge
     * PATCH (ResourceLock.update), which the API server authorizes as the "patch" verb.
     */
    private static final Set<String> LEASE_RULES = triples("coordination.k8s.io", "leases", "get,create,update,patch");

    @Test
    void chartLintsWithoutFailuresEvenStrict() {
        LintResult lint = new Helm(CHART).lint().call();
        assertFalse(lint.isFailed(), () -> "helm lint failed: " + lint.getMessages());
        LintResult strict = new Helm(CHART).lint().strict().call();
        assertFalse(strict.isFailed(), () -> "helm lint --strict failed: " + strict.getMessages());
    }

    @Test
    void defaultRenderIsAClusterWideOperatorWithLeaderElection() {
        List<JsonNode> manifests = render(Map.of());

        assertEquals(List.of("ClusterRole", "ClusterRoleBinding", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"),
                kinds(manifests), "default objects: no ServiceMonitor, no PrometheusRule");
        JsonNode serviceAccount = one(manifests, "ServiceAccount");
        assertEquals(SERVICE_ACCOUNT, serviceAccount.at("/metadata/name").asText());
        assertEquals(NAMESPACE, serviceAccount.at("/metadata/namespace").asText());

        JsonNode deployment = one(manifests, "Deployment");
        assertEquals(NAMESPACE, deployment.at("/metadata/namespace").asText());
        assertEquals(1, deployment.at("/spec/replicas").asInt());
        JsonNode pod = deployment.at("/spec/template/spec");
        assertEquals(SERVICE_ACCOUNT, pod.at("/serviceAccountName").asText());
        assertTrue(pod.at("/automountServiceAccountToken").asBoolean(), "the operator needs its token");
        assertEquals(1, pod.at("/containers").size(), "one container");
        JsonNode container = pod.at("/containers/0");

        // Restricted pod security.
        assertTrue(pod.at("/securityContext/runAsNonRoot").asBoolean());
        assertEquals(65532, pod.at("/securityContext/runAsUser").asInt());
        assertEquals("RuntimeDefault", pod.at("/securityContext/seccompProfile/type").asText());
        JsonNode security = container.at("/securityContext");
        assertTrue(security.at("/runAsNonRoot").asBoolean(), "runAsNonRoot");
        assertEquals(65532, security.at("/runAsUser").asInt(), "runAsUser");
        assertTrue(security.at("/readOnlyRootFilesystem").asBoolean(), "readOnlyRootFilesystem");
        assertTrue(security.at("/allowPrivilegeEscalation").isBoolean(), "allowPrivilegeEscalation is set");
        assertFalse(security.at("/allowPrivilegeEscalation").asBoolean(), "allowPrivilegeEscalation");
        assertEquals(List.of("ALL"), strings(security.at("/capabilities/drop")), "capabilities dropped");
        assertTrue(security.at("/capabilities/add").isMissingNode(), "no capability added");
        assertFalse(security.at("/privileged").asBoolean(), "not privileged");
        assertEquals("RuntimeDefault", security.at("/seccompProfile/type").asText());

        // A writable /tmp on the read-only root filesystem.
        JsonNode tmpMount = find(container.at("/volumeMounts"), "mountPath", "/tmp");
        assertNotNull(tmpMount, "/tmp is mounted");
        JsonNode tmpVolume = find(pod.at("/volumes"), "name", tmpMount.at("/name").asText());
        assertNotNull(tmpVolume, "the /tmp volume exists");
        assertTrue(tmpVolume.has("emptyDir"), "/tmp is an emptyDir");

        // Probes on the health port.
        assertEquals(8080, find(container.at("/ports"), "name", "health").at("/containerPort").asInt());
        assertEquals("/healthz", container.at("/livenessProbe/httpGet/path").asText());
        assertEquals("health", container.at("/livenessProbe/httpGet/port").asText());
        assertEquals("/readyz", container.at("/readinessProbe/httpGet/path").asText());
        assertEquals("health", container.at("/readinessProbe/httpGet/port").asText());

        // Command line and environment.
        List<String> args = strings(container.at("/args"));
        assertEquals("operator", args.get(0), "the subcommand comes first: " + args);
        assertFalse(args.contains("--namespaces"), "all namespaces: no --namespaces: " + args);
        assertEquals("8080", valueAfter(args, "--health-port"));
        assertEquals("8081", valueAfter(args, "--metrics-port"));
        assertEquals(8081, find(container.at("/ports"), "name", "metrics").at("/containerPort").asInt());
        JsonNode metricsService = one(manifests, "Service");
        assertEquals(RELEASE + "-metrics", metricsService.at("/metadata/name").asText());
        assertEquals("ClusterIP", metricsService.at("/spec/type").asText());
        assertEquals("metrics", metricsService.at("/spec/ports/0/targetPort").asText());
        metricsService.at("/spec/selector").fields().forEachRemaining(label ->
                assertEquals(label.getValue(), deployment.at("/spec/template/metadata/labels").get(label.getKey()), "the Service selects the operator's pods"));
        assertTrue(args.contains("--leader-election"), "leader election is on by default: " + args);
        assertEquals(NAMESPACE, valueAfter(args, "--leader-election-namespace"));
        assertEquals("pgupgrade-operator", valueAfter(args, "--leader-election-lease"));
        JsonNode podNamespace = find(container.at("/env"), "name", "POD_NAMESPACE");
        assertNotNull(podNamespace, "POD_NAMESPACE is set");
        assertEquals("metadata.namespace", podNamespace.at("/valueFrom/fieldRef/fieldPath").asText());
        assertEquals("INFO", find(container.at("/env"), "name", "PGUPGRADE_LOG_LEVEL").at("/value").asText());

        // Image: repository and, by default, the chart's appVersion.
        assertEquals("ghcr.io/pgupgrade/pgupgrade-operator:" + appVersion(), container.at("/image").asText());

        // Cluster-wide RBAC bound to the operator's ServiceAccount; the Lease Role in the release namespace.
        assertBoundToServiceAccount(one(manifests, "ClusterRoleBinding"), "ClusterRole", one(manifests, "ClusterRole"));
        JsonNode leaseRole = one(manifests, "Role");
        assertEquals(NAMESPACE, leaseRole.at("/metadata/namespace").asText());
        assertEquals(LEASE_RULES, rules(leaseRole));
        assertBoundToServiceAccount(one(manifests, "RoleBinding"), "Role", leaseRole);
        assertEquals(MANAGED_RESOURCE_RULES, rules(one(manifests, "ClusterRole")));

        // Standard labels everywhere; selector labels on the pods.
        for (JsonNode manifest : manifests) {
            JsonNode labels = manifest.at("/metadata/labels");
            for (String label : List.of("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "helm.sh/chart")) {
                assertTrue(labels.hasNonNull(label), manifest.at("/kind").asText() + " lacks label " + label);
            }
            assertEquals(RELEASE, labels.at("/app.kubernetes.io~1instance").asText());
            assertEquals("Helm", labels.at("/app.kubernetes.io~1managed-by").asText());
        }
        JsonNode selector = deployment.at("/spec/selector/matchLabels");
        assertEquals(2, selector.size(), "selector: name and instance");
        for (String label : List.of("app.kubernetes.io/name", "app.kubernetes.io/instance")) {
            assertTrue(selector.hasNonNull(label), "selector label " + label);
            assertEquals(selector.get(label), deployment.at("/spec/template/metadata/labels").get(label), "pod label " + label);
        }
    }

    @Test
    void watchNamespacesGivesARoleInEachAndNothingClusterWide() {
        List<JsonNode> manifests = render(Map.of("watchNamespaces[0]", "team-b", "watchNamespaces[1]", "team-a", "watchNamespaces[2]", "team-b"));

        assertTrue(all(manifests, "ClusterRole").isEmpty(), "no ClusterRole");
        assertTrue(all(manifests, "ClusterRoleBinding").isEmpty(), "no ClusterRoleBinding");
        Map<String, JsonNode> managedRoles = new LinkedHashMap<>();
        for (JsonNode role : all(manifests, "Role")) {
            if (!rules(role).equals(LEASE_RULES)) {
                managedRoles.put(role.at("/metadata/namespace").asText(), role);
            }
        }
        assertEquals(Set.of("team-a", "team-b"), managedRoles.keySet(), "a Role in each watched namespace");
        for (JsonNode role : managedRoles.values()) {
            assertEquals(MANAGED_RESOURCE_RULES, rules(role), "rules of the Role in " + role.at("/metadata/namespace"));
            String namespace = role.at("/metadata/namespace").asText();
            List<JsonNode> bindings = all(manifests, "RoleBinding").stream()
                    .filter(binding -> binding.at("/metadata/namespace").asText().equals(namespace))
                    .collect(Collectors.toList());
            assertEquals(1, bindings.size(), "one RoleBinding in " + namespace);
            assertBoundToServiceAccount(bindings.get(0), "Role", role);
        }
        // The Lease Role stays in the release namespace.
        List<JsonNode> leaseRoles = all(manifests, "Role").stream().filter(role -> rules(role).equals(LEASE_RULES))
                .collect(Collectors.toList());
        assertEquals(1, leaseRoles.size());
        assertEquals(NAMESPACE, leaseRoles.get(0).at("/metadata/namespace").asText());
        assertEquals(3, all(manifests, "RoleBinding").size(), "team-a, team-b and the Lease");

        List<String> args = strings(one(manifests, "Deployment").at("/spec/template/spec/containers/0/args"));
        assertEquals("operator", args.get(0));
        assertEquals("team-a,team-b", valueAfter(args, "--namespaces"));
    }

    @Test
    void rbacIsExactlyTheLeastPrivilegeRuleSetWithoutWildcards() {
        Set<String> expected = new TreeSet<>(MANAGED_RESOURCE_RULES);
        expected.addAll(LEASE_RULES);
        for (Map<String, Object> values : List.of(Map.<String, Object>of(),
                Map.<String, Object>of("watchNamespaces[0]", "team-a", "watchNamespaces[1]", "team-b"),
                Map.<String, Object>of("replicaCount", 3, "leaderElection.namespace", "ops"))) {
            List<JsonNode> manifests = render(values);
            Set<String> granted = new TreeSet<>();
            for (JsonNode manifest : manifests) {
                String kind = manifest.at("/kind").asText();
                if (kind.equals("Role") || kind.equals("ClusterRole")) {
                    assertNoWildcard(manifest.at("/rules"), kind + " " + manifest.at("/metadata/name").asText());
                    assertFalse(manifest.has("aggregationRule"), "no aggregated roles");
                    granted.addAll(rules(manifest));
                }
            }
            assertEquals(expected, granted, "every permission granted, with values " + values);
        }
    }

    @Test
    void leaderElectionCanBeTurnedOffButNotWithSeveralReplicas() {
        List<JsonNode> off = render(Map.of("leaderElection.enabled", false));
        assertTrue(all(off, "Role").isEmpty() && all(off, "RoleBinding").isEmpty(), "no Lease Role without leader election");
        JsonNode deployment = one(off, "Deployment");
        List<String> args = strings(deployment.at("/spec/template/spec/containers/0/args"));
        assertTrue(args.stream().noneMatch(arg -> arg.startsWith("--leader-election")), args.toString());
        assertEquals("Recreate", deployment.at("/spec/strategy/type").asText(), "never two operators at once");

        List<JsonNode> replicated = render(Map.of("leaderElection.enabled", false, "replicaCount", 2,
                "leaderElection.namespace", "ops"));
        JsonNode replicatedDeployment = one(replicated, "Deployment");
        assertEquals(2, replicatedDeployment.at("/spec/replicas").asInt());
        List<String> replicatedArgs = strings(replicatedDeployment.at("/spec/template/spec/containers/0/args"));
        assertTrue(replicatedArgs.contains("--leader-election"), "forced on with 2 replicas: " + replicatedArgs);
        assertEquals("ops", valueAfter(replicatedArgs, "--leader-election-namespace"));
        JsonNode leaseRole = one(replicated, "Role");
        assertEquals("ops", leaseRole.at("/metadata/namespace").asText());
        assertEquals(LEASE_RULES, rules(leaseRole));
        JsonNode leaseBinding = one(replicated, "RoleBinding");
        assertEquals("ops", leaseBinding.at("/metadata/namespace").asText());
        assertBoundToServiceAccount(leaseBinding, "Role", leaseRole);
    }

    @Test
    void valuesFlowIntoTheDeployment() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("image.repository", "registry.example.com/pgu/operator");
        values.put("image.tag", "1.2.3");
        values.put("image.pullPolicy", "Always");
        values.put("imagePullSecrets[0].name", "registry-login");
        values.put("resources.requests.cpu", "250m");
        values.put("resources.requests.memory", "300Mi");
        values.put("resources.limits.memory", "1Gi");
        values.put("logLevel", "DEBUG");
        values.put("healthPort", 9090);
        values.put("nodeSelector.kubernetes\\.io/os", "linux");
        values.put("tolerations[0].key", "dedicated");
        values.put("tolerations[0].operator", "Exists");
        values.put("podAnnotations.example\\.com/team", "dba");
        JsonNode deployment = one(render(values), "Deployment");
        JsonNode pod = deployment.at("/spec/template/spec");
        JsonNode container = pod.at("/containers/0");

        assertEquals("registry.example.com/pgu/operator:1.2.3", container.at("/image").asText());
        assertEquals("Always", container.at("/imagePullPolicy").asText());
        assertEquals("registry-login", pod.at("/imagePullSecrets/0/name").asText());
        assertEquals("250m", container.at("/resources/requests/cpu").asText());
        assertEquals("300Mi", container.at("/resources/requests/memory").asText());
        assertEquals("1Gi", container.at("/resources/limits/memory").asText());
        assertEquals("DEBUG", find(container.at("/env"), "name", "PGUPGRADE_LOG_LEVEL").at("/value").asText());
        assertEquals("9090", valueAfter(strings(container.at("/args")), "--health-port"));
        assertEquals(9090, find(container.at("/ports"), "name", "health").at("/containerPort").asInt());
        assertEquals("linux", pod.at("/nodeSelector/kubernetes.io~1os").asText());
        assertEquals("dedicated", pod.at("/tolerations/0/key").asText());
        assertEquals("dba", deployment.at("/spec/template/metadata/annotations/example.com~1team").asText());
        assertEquals("1.2.3", deployment.at("/metadata/labels/app.kubernetes.io~1version").asText());
    }

    @Test
    void metricsCanBeTurnedOffLeavingNoPortAndNoService() {
        List<JsonNode> manifests = render(Map.of("metrics.enabled", false));
        assertEquals(List.of("ClusterRole", "ClusterRoleBinding", "Deployment", "Role", "RoleBinding", "ServiceAccount"), kinds(manifests));
        JsonNode container = one(manifests, "Deployment").at("/spec/template/spec/containers/0");
        assertEquals("-1", valueAfter(strings(container.at("/args")), "--metrics-port"), "the operator serves no /metrics");
        assertNull(find(container.at("/ports"), "name", "metrics"));
        // a ServiceMonitor or PrometheusRule without the metrics they read is refused, not rendered empty
        assertThrows(IllegalStateException.class, () -> render(Map.of("metrics.enabled", false, "metrics.serviceMonitor.enabled", true)));
        assertThrows(IllegalStateException.class, () -> render(Map.of("metrics.enabled", false, "metrics.prometheusRule.enabled", true)));
    }

    @Test
    void serviceMonitorAndPrometheusRuleWhenEnabled() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("metrics.port", 9400);
        values.put("metrics.serviceMonitor.enabled", true);
        values.put("metrics.serviceMonitor.interval", "15s");
        values.put("metrics.serviceMonitor.labels.release", "kube-prometheus-stack");
        values.put("metrics.prometheusRule.enabled", true);
        values.put("metrics.prometheusRule.labels.release", "kube-prometheus-stack");
        values.put("metrics.prometheusRule.replicationLagSeconds", 120);
        List<JsonNode> manifests = render(values);
        assertEquals(List.of("ClusterRole", "ClusterRoleBinding", "Deployment", "PrometheusRule", "Role", "RoleBinding", "Service",
                "ServiceAccount", "ServiceMonitor"), kinds(manifests));

        JsonNode service = one(manifests, "Service");
        JsonNode monitor = one(manifests, "ServiceMonitor");
        assertEquals("monitoring.coreos.com/v1", monitor.at("/apiVersion").asText());
        assertEquals("kube-prometheus-stack", monitor.at("/metadata/labels/release").asText());
        monitor.at("/spec/selector/matchLabels").fields().forEachRemaining(label ->
                assertEquals(label.getValue(), service.at("/metadata/labels").get(label.getKey()), "the ServiceMonitor selects the metrics Service"));
        assertEquals(List.of(NAMESPACE), strings(monitor.at("/spec/namespaceSelector/matchNames")));
        JsonNode endpoint = monitor.at("/spec/endpoints/0");
        assertEquals(service.at("/spec/ports/0/name").asText(), endpoint.at("/port").asText());
        assertEquals("/metrics", endpoint.at("/path").asText());
        assertEquals("15s", endpoint.at("/interval").asText());
        assertTrue(endpoint.at("/honorLabels").asBoolean(), "the upgrades' namespace label wins over the operator pod's");
        assertEquals(9400, service.at("/spec/ports/0/port").asInt());
        JsonNode container = one(manifests, "Deployment").at("/spec/template/spec/containers/0");
        assertEquals("9400", valueAfter(strings(container.at("/args")), "--metrics-port"));

        JsonNode rule = one(manifests, "PrometheusRule");
        assertEquals("kube-prometheus-stack", rule.at("/metadata/labels/release").asText());
        Map<String, JsonNode> alerts = new LinkedHashMap<>();
        for (JsonNode group : rule.at("/spec/groups")) {
            for (JsonNode alert : group.at("/rules")) {
                alerts.put(alert.at("/alert").asText(), alert);
            }
        }
        assertEquals(Set.of("PostgresUpgradeFailed", "PostgresUpgradeRollingBack", "PostgresUpgradeDowntimeOverEstimate", "PostgresUpgradeDowntimeLong",
                "PostgresUpgradeReplicationLagging", "PostgresUpgradeRetainedWalGrowing", "PostgresUpgradeOperatorDown",
                "PostgresUpgradeOperatorNotReconciling", "PostgresUpgradeReconcileErrors"), alerts.keySet());
        assertTrue(alerts.get("PostgresUpgradeReplicationLagging").at("/expr").asText().contains("> 120"), "thresholds come from values");
        assertTrue(alerts.get("PostgresUpgradeOperatorDown").at("/expr").asText().contains("job=\"" + RELEASE + "-metrics\""));
        JsonNode otherJob = one(render(Map.of("metrics.prometheusRule.enabled", true, "metrics.prometheusRule.job", "kubernetes-pods")), "PrometheusRule");
        assertTrue(otherJob.toString().contains("job=\\\"kubernetes-pods\\\""), "the job label is configurable: " + otherJob);
        // every series an alert reads is one the operator serves (its own, or JOSDK's as OperatorEndToEndTest scrapes them)
        Set<String> served = new java.util.HashSet<>(dev.pgupgrade.metrics.UpgradeFigures.names());
        served.addAll(dev.pgupgrade.metrics.OperatorMetrics.counterNames());
        served.addAll(Set.of("operator_sdk_reconciliations_started_total", "operator_sdk_reconciliations_failed_total", "up"));
        for (JsonNode alert : alerts.values()) {
            java.util.regex.Matcher names = java.util.regex.Pattern.compile("\\b((?:pgupgrade|operator_sdk)_[a-z_]+|up)\\b").matcher(alert.at("/expr").asText());
            while (names.find()) {
                assertTrue(served.contains(names.group(1)), alert.at("/alert").asText() + " reads " + names.group(1) + ", which nothing serves");
            }
            assertFalse(alert.at("/labels/severity").asText().isEmpty());
            assertFalse(alert.at("/annotations/summary").asText().isEmpty());
        }
    }

    @Test
    void argoCdValuesCarryTheHealthCheckVerbatim() throws IOException {
        String lua = Files.readString(CHART.resolve("argocd/health.lua"));
        JsonNode values = YAML.readTree(CHART.resolve("argocd/values-argocd.yaml").toFile());
        assertEquals(lua, values.at("/configs/cm").get("resource.customizations.health.pgupgrade.dev_PostgresUpgrade").asText(),
                "argocd/values-argocd.yaml must embed argocd/health.lua unchanged");
    }

    @Test
    void invalidValuesAreRejected() {
        // values.schema.json: a namespace list, not a string.
        assertThrows(IllegalStateException.class, () -> render(Map.of("watchNamespaces", "team-a")));
        assertThrows(IllegalStateException.class, () -> render(Map.of("watchNamespaces[0]", "Team_A")));
    }

    @Test
    void chartCrdIsTheRepositoryCrd() throws IOException {
        Path chartCrd = CHART.resolve("crds/postgresupgrades.pgupgrade.dev.yaml");
        Path repoCrd = Project.root().resolve("crds/postgresupgrades.pgupgrade.dev.yaml");
        assertEquals(-1L, Files.mismatch(repoCrd, chartCrd),
                "helm/pgupgrade-operator/crds/ differs from crds/: cp crds/postgresupgrades.pgupgrade.dev.yaml helm/pgupgrade-operator/crds/");
        try (var files = Files.list(CHART.resolve("crds"))) {
            assertEquals(List.of("postgresupgrades.pgupgrade.dev.yaml"),
                    files.map(file -> file.getFileName().toString()).sorted().collect(Collectors.toList()), "only the CRD in crds/");
        }
    }

    // --- helpers ---

    /** `helm template` of the chart with --set values; only the templates (CRDs are checked as files). */
    private static List<JsonNode> render(Map<String, Object> values) {
        TemplateCommand template = new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE).skipCrds();
        values.forEach(template::set);
        String rendered = template.call();
        List<JsonNode> manifests = new ArrayList<>();
        try {
            for (JsonNode manifest : YAML.readerFor(JsonNode.class).<JsonNode>readValues(rendered).readAll()) {
                if (manifest != null && !manifest.isNull() && !manifest.isMissingNode() && manifest.size() > 0) {
                    manifests.add(manifest);
                }
            }
        } catch (IOException e) {
            throw new AssertionError("helm template produced unparsable YAML:\n" + rendered, e);
        }
        for (JsonNode manifest : manifests) {
            assertFalse(manifest.at("/kind").asText().isEmpty(), "a manifest without kind:\n" + rendered);
            assertFalse(manifest.at("/kind").asText().equals("CustomResourceDefinition"), "CRDs come from crds/, not templates");
        }
        return manifests;
    }

    private static List<String> kinds(List<JsonNode> manifests) {
        return manifests.stream().map(m -> m.at("/kind").asText()).sorted().collect(Collectors.toList());
    }

    private static List<JsonNode> all(List<JsonNode> manifests, String kind) {
        return manifests.stream().filter(m -> m.at("/kind").asText().equals(kind)).collect(Collectors.toList());
    }

    private static JsonNode one(List<JsonNode> manifests, String kind) {
        List<JsonNode> found = all(manifests, kind);
        assertEquals(1, found.size(), () -> "expected one " + kind + ", got " + found);
        return found.get(0);
    }

    private static JsonNode find(JsonNode array, String field, String value) {
        for (JsonNode item : array) {
            if (item.path(field).asText().equals(value)) {
                return item;
            }
        }
        return null;
    }

    private static List<String> strings(JsonNode array) {
        assertTrue(array.isArray(), () -> "not a list: " + array);
        List<String> strings = new ArrayList<>();
        array.forEach(item -> strings.add(item.asText()));
        return strings;
    }

    private static String valueAfter(List<String> args, String flag) {
        int at = args.indexOf(flag);
        if (at < 0 || at + 1 >= args.size()) {
            fail(flag + " with a value expected in " + args);
        }
        return args.get(at + 1);
    }

    /** The (apiGroup, resource, verb) triples a Role or ClusterRole grants; resourceNames/nonResourceURLs refused. */
    private static Set<String> rules(JsonNode role) {
        Set<String> triples = new TreeSet<>();
        for (JsonNode rule : role.at("/rules")) {
            assertFalse(rule.has("resourceNames") || rule.has("nonResourceURLs"), "unexpected rule shape: " + rule);
            for (String group : strings(rule.at("/apiGroups"))) {
                for (String resource : strings(rule.at("/resources"))) {
                    for (String verb : strings(rule.at("/verbs"))) {
                        triples.add(group + "|" + resource + "|" + verb);
                    }
                }
            }
        }
        return triples;
    }

    private static Set<String> triples(String... groupResourceVerbs) {
        Set<String> triples = new TreeSet<>();
        for (int i = 0; i < groupResourceVerbs.length; i += 3) {
            for (String verb : groupResourceVerbs[i + 2].split(",")) {
                triples.add(groupResourceVerbs[i] + "|" + groupResourceVerbs[i + 1] + "|" + verb);
            }
        }
        return triples;
    }

    private static void assertNoWildcard(JsonNode node, String where) {
        if (node.isTextual()) {
            assertFalse(node.asText().contains("*"), "wildcard in " + where + ": " + node);
        }
        node.elements().forEachRemaining(child -> assertNoWildcard(child, where));
    }

    private static void assertBoundToServiceAccount(JsonNode binding, String roleKind, JsonNode role) {
        assertEquals("rbac.authorization.k8s.io", binding.at("/roleRef/apiGroup").asText());
        assertEquals(roleKind, binding.at("/roleRef/kind").asText());
        assertEquals(role.at("/metadata/name").asText(), binding.at("/roleRef/name").asText(), "roleRef");
        assertEquals(role.at("/metadata/namespace").asText(), binding.at("/metadata/namespace").asText(),
                "a RoleBinding lives beside its Role");
        assertEquals(1, binding.at("/subjects").size(), "one subject: " + binding.at("/subjects"));
        assertEquals("ServiceAccount", binding.at("/subjects/0/kind").asText());
        assertEquals(SERVICE_ACCOUNT, binding.at("/subjects/0/name").asText());
        assertEquals(NAMESPACE, binding.at("/subjects/0/namespace").asText());
    }

    private static String appVersion() {
        try {
            JsonNode chart = YAML.readTree(CHART.resolve("Chart.yaml").toFile());
            String appVersion = chart.at("/appVersion").asText();
            assertFalse(appVersion.isEmpty(), "Chart.yaml has an appVersion");
            return appVersion;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
