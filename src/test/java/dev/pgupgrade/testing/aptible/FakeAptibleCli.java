package dev.pgupgrade.testing.aptible;

import dev.pgupgrade.testing.aptible.AptibleOutput.Lst;
import dev.pgupgrade.testing.aptible.AptibleOutput.Node;
import dev.pgupgrade.testing.aptible.AptibleOutput.Obj;
import dev.pgupgrade.testing.aptible.FakeAptibleState.App;
import dev.pgupgrade.testing.aptible.FakeAptibleState.Backup;
import dev.pgupgrade.testing.aptible.FakeAptibleState.Database;
import dev.pgupgrade.testing.aptible.FakeAptibleState.Environment;
import dev.pgupgrade.testing.aptible.FakeAptibleState.Fault;
import dev.pgupgrade.testing.aptible.FakeAptibleState.Service;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for Aptible's `aptible` CLI (aptible-cli 0.26.x, a Thor app) for the commands the product's
 * step scripts use. Command names, options, argument checks, stdout/stderr text, JSON shapes, error texts
 * and exit codes follow aptible-cli's source; the "API" behind it is the JSON state in FAKE_APTIBLE_HOME
 * and the databases are real local PostgreSQL servers. Error handling mirrors bin/aptible and Thor:
 * Thor::Error and UserError print their message on stderr and exit 1.
 */
public final class FakeAptibleCli {

    /** Thor::Error / Aptible::CLI::UserError / an API error: one message on stderr, exit status 1. */
    static final class CliError extends RuntimeException {
        final int exitCode;

        CliError(String message) {
            this(message, 1);
        }

        CliError(String message, int exitCode) {
            super(message, null, false, false);
            this.exitCode = exitCode;
        }
    }

    /** One Thor command: its desc usage (for argument errors), positional arity (-1: any) and typed options. */
    record Spec(String name, String usage, int arity, Map<String, String> options) {
    }

    private static final String S = "string";
    private static final String N = "numeric";
    private static final String B = "boolean";

    private static final Map<String, Spec> SPECS = new LinkedHashMap<>();

    private static void spec(String name, String usage, int arity, String... options) {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i < options.length; i += 2) {
            opts.put(options[i], options[i + 1]);
        }
        SPECS.put(name, new Spec(name, usage, arity, opts));
    }

    static {
        // subcommands/apps.rb, config.rb (app_options: --app, --environment/--env, --remote/-r)
        spec("apps", "apps", 0, "environment", S);
        spec("apps:scale", "apps:scale [--app APP] SERVICE [--container-count COUNT] [--container-size SIZE_MB] "
                + "[--container-profile PROFILE]", 1, "app", S, "environment", S, "remote", S, "container-count", N,
                "container-size", N, "container-profile", S);
        spec("config", "config [--app APP]", 0, "app", S, "environment", S, "remote", S);
        spec("config:set", "config:set [--app APP] [VAR1=VAL1] [VAR2=VAL2] [...]", -1, "app", S, "environment", S, "remote", S);
        spec("config:add", "config:add [--app APP] [VAR1=VAL1] [VAR2=VAL2] [...]", -1, "app", S, "environment", S, "remote", S);
        spec("config:unset", "config:unset [--app APP] [VAR1] [VAR2] [...]", -1, "app", S, "environment", S, "remote", S);
        spec("config:rm", "config:rm [--app APP] [VAR1] [VAR2] [...]", -1, "app", S, "environment", S, "remote", S);
        // subcommands/db.rb
        spec("db:list", "db:list", 0, "environment", S);
        spec("db:versions", "db:versions", 0);
        spec("db:create", "db:create HANDLE [--type TYPE] [--version VERSION] [--container-size SIZE_MB] "
                + "[--disk-size SIZE_GB] [--container-profile PROFILE] [--iops IOPS] [--key-arn KEY_ARN]", 1,
                "type", S, "version", S, "container-size", N, "disk-size", N, "size", N, "key-arn", S, "environment", S,
                "container-profile", S, "iops", N);
        spec("db:replicate", "db:replicate HANDLE REPLICA_HANDLE [--container-size SIZE_MB] [--disk-size SIZE_GB] "
                + "[--container-profile PROFILE] [--iops IOPS] [--logical --version VERSION] [--key-arn KEY_ARN]", 2,
                "environment", S, "container-size", N, "size", N, "disk-size", N, "logical", B, "version", S, "key-arn", S,
                "container-profile", S, "iops", N);
        spec("db:url", "db:url HANDLE", 1, "environment", S, "type", S);
        spec("db:tunnel", "db:tunnel HANDLE", 1, "environment", S, "port", N, "type", S);
        spec("db:deprovision", "db:deprovision HANDLE", 1, "environment", S);
        // subcommands/backup.rb
        spec("backup:list", "backup:list DB_HANDLE", 1, "environment", S, "max-age", S);
        spec("backup:orphaned", "backup:orphaned", 0, "environment", S, "max-age", S);
        spec("backup:restore", "backup:restore BACKUP_ID [--environment ENVIRONMENT_HANDLE] [--handle HANDLE] "
                + "[--container-size SIZE_MB] [--disk-size SIZE_GB] [--container-profile PROFILE] [--iops IOPS] "
                + "[--key-arn KEY_ARN]", 1, "handle", S, "environment", S, "container-size", N, "size", N, "disk-size", N,
                "key-arn", S, "container-profile", S, "iops", N);
        spec("backup:purge", "backup:purge BACKUP_ID", 1);
    }

    /** Every command the real CLI has, for Thor's unique-prefix command matching and "not implemented here". */
    private static final List<String> REAL_COMMANDS = List.of("apps", "apps:create", "apps:deprovision", "apps:rename",
            "apps:scale", "aws_accounts", "aws_accounts:add", "aws_accounts:check", "aws_accounts:delete",
            "aws_accounts:show", "aws_accounts:update", "backup:list", "backup:orphaned", "backup:purge", "backup:restore",
            "backup_retention_policy", "backup_retention_policy:set", "config", "config:add", "config:get", "config:rm",
            "config:set", "config:unset", "db:backup", "db:clone", "db:create", "db:deprovision", "db:dump", "db:execute",
            "db:list", "db:modify", "db:reload", "db:rename", "db:replicate", "db:restart", "db:tunnel", "db:url",
            "db:versions", "deploy", "endpoints:database:create", "endpoints:database:modify", "endpoints:deprovision",
            "endpoints:grpc:create", "endpoints:grpc:modify", "endpoints:https:create", "endpoints:https:modify",
            "endpoints:list", "endpoints:renew", "endpoints:tcp:create", "endpoints:tcp:modify", "endpoints:tls:create",
            "endpoints:tls:modify", "environment:ca_cert", "environment:list", "environment:rename",
            "log_drain:create:datadog", "log_drain:create:elasticsearch", "log_drain:create:https",
            "log_drain:create:logdna", "log_drain:create:papertrail", "log_drain:create:solarwinds",
            "log_drain:create:sumologic", "log_drain:create:syslog", "log_drain:deprovision", "log_drain:list", "login",
            "logs", "logs_from_archive", "maintenance:apps", "maintenance:dbs", "metric_drain:create:datadog",
            "metric_drain:create:influxdb", "metric_drain:create:influxdb:custom", "metric_drain:create:influxdb:customv",
            "metric_drain:deprovision", "metric_drain:list", "operation:cancel", "operation:follow", "operation:logs",
            "organizations", "rebuild", "restart", "services", "services:autoscaling_policy",
            "services:autoscaling_policy:set", "services:settings", "ssh", "version", "help");

    private final Path home;
    private final Map<String, String> env;
    private final PrintStream out;
    private final PrintStream err;
    private Map<String, Object> opts = new LinkedHashMap<>();

    FakeAptibleCli(Path home, Map<String, String> env, PrintStream out, PrintStream err) {
        this.home = home;
        this.env = env;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        String homeVar = System.getenv("FAKE_APTIBLE_HOME");
        if (homeVar == null || homeVar.isEmpty()) {
            System.err.println("fake aptible: FAKE_APTIBLE_HOME is not set");
            System.exit(2);
        }
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code;
        try {
            code = new FakeAptibleCli(Path.of(homeVar), System.getenv(), out, err).run(args);
        } catch (CliError e) {
            err.println(e.getMessage());
            code = e.exitCode;
        }
        out.flush();
        err.flush();
        System.exit(code);
    }

    int run(String[] argv) {
        logCall(argv);
        Optional<Fault> fault = takeFault(argv, "fail");
        if (fault.isPresent()) {
            err.print(fault.get().stderr.endsWith("\n") || fault.get().stderr.isEmpty() ? fault.get().stderr
                    : fault.get().stderr + "\n");
            return fault.get().exitCode;
        }
        if (argv.length == 0) {
            // Thor prints its command list; the fake only says what it knows.
            out.println("Commands:");
            SPECS.values().forEach(s -> out.println("  aptible " + s.usage()));
            return 0;
        }
        String name = resolveCommand(argv[0]);
        Spec spec = SPECS.get(name);
        if (spec == null) {
            err.println("fake aptible: `" + name + "` exists in the real CLI but is not implemented by the fake");
            return 2;
        }
        List<String> args = parseOptions(spec, argv);
        if (spec.arity() >= 0 && args.size() != spec.arity()) {
            // Thor's handle_argument_error: the method was called with the wrong number of arguments.
            String called = args.isEmpty() ? "no arguments" : "arguments " + rubyInspect(args);
            throw new CliError("ERROR: \"aptible " + name + "\" was called with " + called + "\nUsage: \"aptible "
                    + spec.usage() + "\"");
        }
        authenticate();
        switch (name) {
            case "apps" -> apps();
            case "apps:scale" -> {
                followOperationLogs();
                appsScale(args.get(0));
            }
            case "config" -> config();
            case "config:set", "config:add" -> {
                followOperationLogs();
                configSet(args);
            }
            case "config:unset", "config:rm" -> configUnset(args);
            case "db:list" -> dbList();
            case "db:versions" -> dbVersions();
            case "db:create" -> dbCreate(args.get(0));
            case "db:url" -> dbUrl(args.get(0));
            case "db:tunnel" -> dbTunnel(args.get(0));
            case "db:deprovision" -> dbDeprovision(args.get(0));
            case "db:replicate" -> {
                followOperationLogs();
                dbReplicate(args.get(0), args.get(1));
            }
            case "backup:list" -> backupList(args.get(0));
            case "backup:orphaned" -> backupOrphaned();
            case "backup:restore" -> backupRestore(args.get(0));
            case "backup:purge" -> backupPurge(args.get(0));
            default -> throw new IllegalStateException(name);
        }
        return 0;
    }

    // ------------------------------------------------------------------ harness plumbing

    /** calls.log: one line per invocation, with the value of every KEY=VALUE argument redacted. */
    private void logCall(String[] argv) {
        List<String> shown = new ArrayList<>();
        for (String a : argv) {
            int eq = a.indexOf('=');
            shown.add(eq > 0 && !a.startsWith("-") ? a.substring(0, eq) + "=<redacted>" : a);
        }
        try {
            Files.writeString(home.resolve("calls.log"), String.join(" ", shown) + "\n", StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new CliError("fake aptible: cannot write calls.log: " + e, 2);
        }
    }

    /** Consumes one use of the first fault of the given mode matching this call, if any. */
    private Optional<Fault> takeFault(String[] argv, String mode) {
        if (argv.length == 0 || !Files.exists(FakeAptibleState.faultsFile(home))) {
            return Optional.empty();
        }
        String command = argv[0];
        String handle = null;
        for (int i = 1; i < argv.length && handle == null; i++) {
            if (argv[i].startsWith("--")) {
                i += argv[i].contains("=") ? 0 : 1;
            } else {
                handle = argv[i];
            }
        }
        String firstArg = handle;
        return FakeAptibleState.locked(home, () -> {
            List<Fault> faults = FakeAptibleState.readFaultsUnlocked(home);
            for (Fault f : faults) {
                if (f.command.equals(command) && mode.equals(f.mode) && f.times != 0
                        && (f.handle == null || f.handle.equals(firstArg))) {
                    if (f.times > 0) {
                        f.times--;
                        FakeAptibleState.write(FakeAptibleState.faultsFile(home), faults);
                    }
                    return Optional.of(f);
                }
            }
            return Optional.empty();
        });
    }

    // ------------------------------------------------------------------ Thor emulation

    /** Thor accepts any unique prefix of a command name; an exact name always wins. */
    private static String resolveCommand(String given) {
        if (REAL_COMMANDS.contains(given)) {
            return given;
        }
        List<String> matches = REAL_COMMANDS.stream().filter(c -> c.startsWith(given)).toList();
        if (matches.size() == 1) {
            return matches.get(0);
        }
        if (matches.size() > 1) {
            throw new CliError("Ambiguous command " + given + " matches [" + String.join(", ", matches) + "]");
        }
        throw new CliError("Could not find command " + rubyString(given) + ".");
    }

    /**
     * Thor's option parsing: --name VALUE, --name=VALUE, aliases (--env, -r), "_" or "-" in names, numeric
     * checks; unknown switches are not rejected (aptible-cli does not check_unknown_options) but end up
     * among the positional arguments, as in Thor.
     */
    private List<String> parseOptions(Spec spec, String[] argv) {
        List<String> positional = new ArrayList<>();
        opts = new LinkedHashMap<>();
        for (int i = 1; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("--")) {
                for (int j = i + 1; j < argv.length; j++) {
                    positional.add(argv[j]);
                }
                break;
            }
            if (!a.startsWith("-") || a.equals("-")) {
                positional.add(a);
                continue;
            }
            String switchName = a;
            String inlineValue = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                switchName = a.substring(0, eq);
                inlineValue = a.substring(eq + 1);
            }
            String name = switchName.replaceFirst("^--?", "").replace('_', '-');
            if (switchName.equals("--env")) {
                name = "environment";
            } else if (switchName.equals("-r")) {
                name = "remote";
            } else if (!switchName.startsWith("--")) {
                name = null;
            }
            String type = name == null ? null : spec.options().get(name);
            if (type == null) {
                positional.add(a);
                continue;
            }
            String value = inlineValue;
            if (type.equals(B)) {
                // Thor's boolean switch: --logical, --logical=false, --no-logical is not used here
                opts.put(name, value == null || !value.equals("false"));
                continue;
            }
            if (value == null) {
                boolean hasValue = i + 1 < argv.length && !argv[i + 1].startsWith("-")
                        || (type.equals(N) && i + 1 < argv.length && argv[i + 1].matches("-\\d.*"));
                if (hasValue) {
                    value = argv[++i];
                } else if (type.equals(S)) {
                    value = name.replace('-', '_'); // Thor's quirk: a valueless string option takes its own name
                } else {
                    throw new CliError("No value provided for option '" + switchName + "'");
                }
            }
            if (type.equals(N)) {
                if (!value.matches("^[-+]?(\\d*\\.\\d+|\\d+)$")) {
                    throw new CliError("Expected numeric value for '" + switchName + "'; got " + rubyString(value));
                }
                opts.put(name, value.contains(".") ? (Object) Double.parseDouble(value) : (Object) Long.parseLong(value));
            } else {
                opts.put(name, value);
            }
        }
        return positional;
    }

    private String opt(String name) {
        Object v = opts.get(name);
        return v == null ? null : v.toString();
    }

    private Integer intOpt(String name) {
        Object v = opts.get(name);
        return v == null ? null : ((Number) v).intValue();
    }

    private static String rubyString(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String rubyInspect(List<String> list) {
        return "[" + String.join(", ", list.stream().map(FakeAptibleCli::rubyString).toList()) + "]";
    }

    // ------------------------------------------------------------------ auth (helpers/token.rb, bin/aptible)

    private static final Pattern JWT_SEGMENT = Pattern.compile("[A-Za-z0-9_-]*");

    /**
     * Every command first runs telemetry, which reads the token (Thor::Error when there is none) and decodes
     * it as a JWT (an uncaught JWT::DecodeError when it is not one); then the first API call answers 401
     * for a token it does not know, which bin/aptible turns into "API authentication error".
     */
    private void authenticate() {
        String token = env.get("APTIBLE_ACCESS_TOKEN");
        if (token == null) {
            throw new CliError("Could not read token: please run aptible login or set APTIBLE_ACCESS_TOKEN");
        }
        String[] segments = token.split("\\.", -1);
        if (segments.length != 3) {
            throw new CliError(rubyCrash("Not enough or too many segments"));
        }
        try {
            for (int i = 0; i < 2; i++) {
                if (!JWT_SEGMENT.matcher(segments[i]).matches()) {
                    throw new IllegalArgumentException();
                }
                String json = new String(Base64.getUrlDecoder().decode(segments[i]), StandardCharsets.UTF_8);
                if (!FakeAptibleState.JSON.readTree(json).isObject()) {
                    throw new IllegalArgumentException();
                }
            }
        } catch (IllegalArgumentException | IOException e) {
            throw new CliError(rubyCrash("Invalid segment encoding"));
        }
        if (!FakeAptibleState.read(home).tokens.contains(token)) {
            throw new CliError("API authentication error: please run aptible login");
        }
    }

    /** The first line Ruby prints for an uncaught exception (the backtrace lines that follow are omitted). */
    private static String rubyCrash(String message) {
        return "/opt/aptible-toolbelt/embedded/lib/ruby/gems/2.7.0/gems/jwt-2.3.0/lib/jwt/decode.rb:"
                + "in `validate_segment_count!': " + message + " (JWT::DecodeError)";
    }

    // ------------------------------------------------------------------ resolution helpers

    private FakeAptibleState state() {
        return FakeAptibleState.read(home);
    }

    /** helpers/environment.rb scoped_environments. */
    private List<Environment> scopedEnvironments(FakeAptibleState s) {
        String handle = opt("environment");
        if (handle == null) {
            return s.environments;
        }
        return List.of(s.environment(handle).orElseThrow(() -> new CliError("Specified account does not exist")));
    }

    /** helpers/environment.rb ensure_environment. */
    private Environment ensureEnvironment(FakeAptibleState s, String handle) {
        if (handle != null) {
            return s.environment(handle).orElseThrow(() -> new CliError("Could not find environment " + handle));
        }
        return switch (s.environments.size()) {
            case 0 -> throw new CliError("No environments. Go to https://app.aptible.com/ to proceed");
            case 1 -> s.environments.get(0);
            default -> throw new CliError("Multiple environments available, please specify with --environment or --env");
        };
    }

    /** helpers/database.rb ensure_database. */
    private Database ensureDatabase(FakeAptibleState s, String handle) {
        String envHandle = opt("environment");
        if (envHandle != null && s.environment(envHandle).isEmpty()) {
            throw new CliError("Could not find environment " + envHandle);
        }
        List<Database> found = s.liveDatabases().stream()
                .filter(d -> d.handle.equals(handle) && (envHandle == null || d.environment.equals(envHandle))).toList();
        if (found.size() > 1) {
            throw new CliError("Multiple databases exist, please specify with --environment");
        }
        if (found.isEmpty()) {
            throw new CliError("Could not find database " + handle);
        }
        return found.get(0);
    }

    /** helpers/database.rb find_credential: PostgreSQL databases have one, default credential "postgresql". */
    private void findCredential(Database db) {
        if (!"provisioned".equals(db.status)) {
            throw new CliError("Database " + db.handle + " is not provisioned");
        }
        String type = opt("type");
        if (type != null && !type.equals(db.type)) {
            throw new CliError("No credential with type " + type + " for database, valid credential types: " + db.type);
        }
    }

    /** helpers/app.rb ensure_app (options strategy; the git-remote strategy never applies to the fake). */
    private App ensureApp(FakeAptibleState s) {
        String handle = opt("app");
        String envHandle = opt("environment");
        if (handle == null) {
            throw new CliError("Could not find app in current working directory, please specify with --app");
        }
        String explain = "(options provided via CLI arguments)";
        if (envHandle != null && s.environment(envHandle).isEmpty()) {
            throw new CliError("Could not find environment " + envHandle + " " + explain);
        }
        List<App> found = s.apps.stream()
                .filter(a -> a.handle.equals(handle) && (envHandle == null || a.environment.equals(envHandle))).toList();
        if (found.size() > 1) {
            throw new CliError("Multiple apps named " + handle + " exist, please specify with --environment");
        }
        if (found.isEmpty()) {
            throw new CliError("Could not find app " + handle + " "
                    + (envHandle != null ? "in environment " + envHandle : "in any environment") + " " + explain);
        }
        return found.get(0);
    }

    // ------------------------------------------------------------------ rendering (resource_formatter.rb)

    private void render(Node root) {
        String format = env.get("APTIBLE_OUTPUT_FORMAT");
        if (format != null && !format.equals("json") && !format.equals("text")) {
            throw new CliError("Invalid APTIBLE_OUTPUT_FORMAT: " + format);
        }
        out.print(AptibleOutput.render(root, "json".equals(format)));
        out.flush();
    }

    private boolean json() {
        return "json".equals(env.get("APTIBLE_OUTPUT_FORMAT"));
    }

    private static Obj injectAccount(Obj n, Environment e) {
        return n.value("id", e.id).value("handle", e.handle).value("created_at", FakeAptibleState.rubyTime(e.createdAt));
    }

    private static void attachAccount(Obj n, FakeAptibleState s, String envHandle) {
        Environment e = s.environment(envHandle).orElseThrow();
        n.object("environment", "handle", o -> injectAccount(o, e));
    }

    static String connectionUrl(Database d) {
        return "postgresql://aptible:" + d.password + "@127.0.0.1:" + d.port + "/db";
    }

    private static void injectDatabase(Obj n, Database d, FakeAptibleState s) {
        n.value("id", d.id).value("handle", d.handle).value("created_at", FakeAptibleState.rubyTime(d.createdAt))
                .value("type", d.type).value("version", d.version).value("status", d.status)
                .value("connection_url", connectionUrl(d))
                .list("credentials", l -> l.object(c -> c.value("type", d.type).value("connection_url", connectionUrl(d))
                        .value("default", true)));
        attachAccount(n, s, d.environment);
        n.value("disk_type", "gp3").value("disk_size", d.diskSize).value("disk_modification_progress", null)
                .value("disk_modification_status", null).value("disk_provisioned_iops", 3000)
                .value("container_size", d.containerSize).value("container_profile", "m");
    }

    private static void injectDatabaseMinimal(Obj n, Database d, FakeAptibleState s) {
        n.value("id", d.id).value("handle", d.handle).value("created_at", FakeAptibleState.rubyTime(d.createdAt));
        attachAccount(n, s, d.environment);
    }

    private static void injectService(Obj n, Service svc) {
        n.value("id", svc.id).value("service", svc.processType).value("created_at", FakeAptibleState.rubyTime(svc.createdAt))
                .value("command", svc.command == null ? "CMD" : svc.command).value("container_count", svc.containerCount)
                .value("container_size", svc.containerSize).value("container_profile", "m");
    }

    private static void injectApp(Obj n, App a, FakeAptibleState s) {
        n.value("id", a.id).value("handle", a.handle).value("created_at", FakeAptibleState.rubyTime(a.createdAt))
                .value("status", "provisioned").value("git_remote", "git@beta.aptible.com:" + a.environment + "/" + a.handle + ".git")
                .list("services", l -> a.services.forEach(svc -> l.object(o -> injectService(o, svc))));
        attachAccount(n, s, a.environment);
    }

    /** The API's raw deleted_at (not a typed Time field in aptible-api, so printed as the API sends it). */
    private static String apiTime(String iso) {
        return iso == null ? null : Instant.parse(iso).toString().replace("Z", ".000Z");
    }

    private static void injectBackup(Obj n, Backup b, FakeAptibleState s, boolean includeDb) {
        String origin = b.manual ? "manual, " + b.userEmail : "automatic";
        String description = b.id + ": " + FakeAptibleState.rubyTime(b.createdAt) + ", " + s.region + ", " + origin;
        if (includeDb) {
            Optional<Database> db = s.databaseById(b.databaseId);
            String deletedAt = apiTime(db.map(d -> d.deletedAt).orElse(null));
            n.object("database", "id", o -> {
                o.value("id", b.databaseId).value("handle", b.databaseHandle).value("type", b.databaseType)
                        .value("deleted_at", deletedAt);
                attachAccount(o, s, b.environment);
            });
            description = description + ", " + b.databaseHandle + " deleted at " + (deletedAt == null ? "" : deletedAt);
        }
        n.value("id", b.id).value("description", description).value("created_at", FakeAptibleState.rubyTime(b.createdAt))
                .value("region", s.region).value("size", b.size).value("manual", b.manual);
        n.object("created_from_operation", "id", o -> o.value("id", b.operationId).value("status", "succeeded")
                .value("user_email", b.userEmail).value("created_at", FakeAptibleState.rubyTime(b.createdAt)));
    }

    /** render_database: the keyed object whose text form is the connection URL alone. */
    private void renderDatabase(Database d) {
        Obj root = new Obj("connection_url");
        injectDatabase(root, d, state());
        render(root);
    }

    // ------------------------------------------------------------------ operations (helpers/operation.rb)

    private long newOperation() {
        return FakeAptibleState.update(home, FakeAptibleState::newId);
    }

    /**
     * attach_to_operation_logs streams the operation's logs from the SSH portal to stdout. The portal's
     * log text is not part of aptible-cli, so these two lines are the fake's own; what is faithful is that
     * operation output goes to stdout, ahead of anything the command renders.
     */
    private void operationLogs(long id, String type, String resource) {
        out.println("INFO -- : Starting " + type + " operation #" + id + " on " + resource);
        out.println("INFO -- : COMPLETED: " + type + " operation #" + id);
        out.flush();
    }

    /** A failed operation: the portal disconnects, the CLI polls, then raises "Operation #ID failed.". */
    private CliError operationFailed(long id, String detail) {
        out.println("ERROR -- : " + detail.strip().replace("\n", "\nERROR -- : "));
        out.flush();
        err.println("Disconnected from logs, waiting for operation to complete");
        err.println("Once complete, the logs can be viewed here:");
        err.println("    https://app.aptible.com/operations/" + id);
        return new CliError("Operation #" + id + " failed.");
    }

    // ------------------------------------------------------------------ apps

    private void apps() {
        FakeAptibleState s = state();
        List<Environment> envs = scopedEnvironments(s);
        Lst list = AptibleOutput.groupedKeyedList("environment", "handle", "handle");
        for (Environment e : envs) {
            s.apps.stream().filter(a -> a.environment.equals(e.handle)).forEach(a -> list.object(o -> injectApp(o, a, s)));
        }
        render(list);
    }

    private void appsScale(String type) {
        FakeAptibleState s = state();
        App app = ensureApp(s);
        if (app.services.stream().noneMatch(svc -> svc.processType.equals(type))) {
            String valid = app.services.isEmpty() ? "NONE (deploy the app first)"
                    : String.join(", ", app.services.stream().map(svc -> svc.processType).toList());
            throw new CliError("Service with type " + type + " does not exist for app " + app.handle + ". Valid types: "
                    + valid + ".");
        }
        Integer count = intOpt("container-count");
        Integer size = intOpt("container-size");
        if (count == null && size == null && opt("container-profile") == null) {
            throw new CliError("Provide at least --container-count, --container-size, or --container-profile");
        }
        long op = newOperation();
        FakeAptibleState.update(home, st -> {
            Service svc = st.app(app.handle, app.environment).orElseThrow().services.stream()
                    .filter(x -> x.processType.equals(type)).findFirst().orElseThrow();
            if (count != null) {
                svc.containerCount = count;
            }
            if (size != null) {
                svc.containerSize = size;
            }
            return null;
        });
        operationLogs(op, "scale", app.handle + " " + type);
    }

    // ------------------------------------------------------------------ config

    private void config() {
        App app = ensureApp(state());
        Lst list = AptibleOutput.keyedList("shell_export");
        app.config.forEach((k, v) -> list.object(o -> o.value("key", k).value("value", v)
                .value("shell_export", k + "=" + AptibleOutput.shellEscape(v))));
        render(list);
    }

    private void configSet(List<String> args) {
        App app = ensureApp(state());
        Map<String, String> changes = new LinkedHashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            String k = eq < 0 ? arg : arg.substring(0, eq);
            if (k.startsWith("-") || eq < 0) {
                throw new CliError("Invalid argument: " + k);
            }
            changes.put(k, arg.substring(eq + 1));
        }
        long op = newOperation();
        err.println("Updating configuration and restarting app...");
        FakeAptibleState.update(home, st -> {
            st.app(app.handle, app.environment).orElseThrow().config.putAll(changes);
            return null;
        });
        operationLogs(op, "configure", app.handle);
    }

    private void configUnset(List<String> args) {
        App app = ensureApp(state());
        List<String> keys = new ArrayList<>();
        for (String arg : args) {
            String k = arg.split("=", -1)[0];
            if (k.startsWith("-")) {
                throw new CliError("Invalid argument: " + k);
            }
            keys.add(k);
        }
        long op = newOperation();
        err.println("Updating configuration and restarting app...");
        FakeAptibleState.update(home, st -> {
            keys.forEach(st.app(app.handle, app.environment).orElseThrow().config::remove);
            return null;
        });
        operationLogs(op, "configure", app.handle);
    }

    // ------------------------------------------------------------------ databases

    private void dbList() {
        FakeAptibleState s = state();
        List<Environment> envs = scopedEnvironments(s);
        Lst list = AptibleOutput.groupedKeyedList("environment", "handle", "handle");
        for (Environment e : envs) {
            s.liveDatabases().stream().filter(d -> d.environment.equals(e.handle)).forEach(d -> list.object(o -> {
                if (json()) {
                    injectDatabase(o, d, s);
                } else {
                    injectDatabaseMinimal(o, d, s);
                }
            }));
        }
        render(list);
    }

    private void dbVersions() {
        FakeAptibleState s = state();
        Lst list = AptibleOutput.groupedKeyedList("type", null, "version");
        for (String v : s.postgresVersions) {
            list.object(o -> o.value("type", "postgresql").value("version", v).value("default", v.equals(s.defaultPostgresVersion))
                    .value("description", "PostgreSQL " + v).value("docker_repo", "aptible/postgresql:" + v));
        }
        render(list);
    }

    private void dbCreate(String handle) {
        FakeAptibleState s = state();
        Environment e = ensureEnvironment(s, opt("environment"));
        if (opts.containsKey("size")) {
            throw new CliError(sizeRemoved());
        }
        String type = opt("type");
        String version = opt("version");
        if (version != null && type != null) {
            validateImageType(type);
            if (!s.postgresVersions.contains(version)) {
                throw new CliError("No Database Image of type " + type + " with version " + version + ", valid versions: "
                        + String.join(" ", s.postgresVersions));
            }
        } else if (version != null) {
            throw new CliError("--type is required when passing --version");
        } else {
            validateImageType(type == null ? "postgresql" : type);
            version = s.defaultPostgresVersion;
        }
        String major = version;
        Integer diskSize = intOpt("disk-size");
        Integer containerSize = intOpt("container-size");
        Database db = create(home, handle, e.handle, major, diskSize == null ? 10 : diskSize,
                containerSize == null ? 1024 : containerSize);
        long op = newOperation();
        try {
            provision(home, db, null);
        } catch (RuntimeException | IOException ex) {
            throw operationFailed(op, ex.getMessage());
        }
        operationLogs(op, "provision", db.handle);
        renderDatabase(db);
    }

    /**
     * subcommands/db.rb db:replicate + helpers/database.rb replicate_database: a replicate_logical operation
     * on the source (the replica is created in the source's environment), its logs followed, then the
     * replica rendered. Only --logical is implemented: a physical follower needs the same major.
     */
    private void dbReplicate(String sourceHandle, String replicaHandle) {
        FakeAptibleState s = state();
        Database source = ensureDatabase(s, sourceHandle);
        boolean logical = Boolean.TRUE.equals(opts.get("logical"));
        String version = opt("version");
        if (logical) {
            if (!"postgresql".equals(source.type)) {
                throw new CliError("Logical replication only works for PostgreSQL");
            }
            if (version == null) {
                throw new CliError("--version is required for logical replication");
            }
            if (!s.postgresVersions.contains(version)) {
                throw new CliError("No Database Image of type postgresql with version " + version + ", valid versions: "
                        + String.join(" ", s.postgresVersions));
            }
        }
        err.println("Replicating " + sourceHandle + "...");
        if (opts.containsKey("size")) {
            throw new CliError(sizeRemoved());
        }
        if (!logical) {
            throw new CliError("fake aptible: db:replicate without --logical (a physical replica) is not implemented by the fake", 2);
        }
        Integer diskSize = intOpt("disk-size");
        Integer containerSize = intOpt("container-size");
        Database replica = create(home, replicaHandle, source.environment, version, diskSize == null ? source.diskSize : diskSize,
                containerSize == null ? source.containerSize : containerSize);
        FakeAptibleState.update(home, st -> {
            st.databaseById(replica.id).orElseThrow().replicaOf = source.id;
            return null;
        });
        long op = newOperation();
        try {
            AptiblePostgres.start(s, replica, home);
            FakeLogicalReplica.setUp(s, source, replica);
        } catch (RuntimeException | IOException ex) {
            setStatus(home, replica.id, "provision_failed");
            throw operationFailed(op, ex.getMessage());
        }
        setStatus(home, replica.id, "provisioned");
        replica.status = "provisioned";
        operationLogs(op, "replicate_logical", source.handle);
        renderDatabase(replica);
    }

    private static String sizeRemoved() {
        return "You have used the \"--size\" option to specify a disk size.This abiguous option has been removed."
                + "Please use the \"--disk-size\" option, instead.";
    }

    /** helpers/database.rb validate_image_type: the fake's images are all of type postgresql. */
    private static void validateImageType(String type) {
        if (!type.equals("postgresql")) {
            throw new CliError("No Database Image of type \"" + type + "\", valid types: postgresql");
        }
    }

    /**
     * The API's create_database!: the record exists (status provisioning) before its server starts, so the
     * lock is not held during the start. A taken handle is the API's 422, printed the bin/aptible way.
     */
    static Database create(Path home, String handle, String environment, String major, int diskSize, int containerSize) {
        int port = freePort();
        return FakeAptibleState.update(home, st -> {
            if (st.liveDatabases().stream().anyMatch(d -> d.handle.equals(handle) && d.environment.equals(environment))) {
                throw new CliError("An error occurred: Handle has already been taken");
            }
            Database d = new Database();
            d.id = st.newId();
            d.handle = handle;
            d.version = major;
            d.environment = environment;
            d.diskSize = diskSize;
            d.containerSize = containerSize;
            d.status = "provisioning";
            d.port = port;
            d.dir = home.resolve("srv").resolve(Long.toString(d.id)).toString();
            d.password = AptiblePostgres.newAptiblePassword();
            d.superuserPassword = "su" + AptiblePostgres.randomAlnum(20);
            d.createdAt = FakeAptibleState.now();
            st.databases.add(d);
            return d;
        });
    }

    /** Starts the server; a fresh database gets role aptible and database db, a restore gets the dump instead. */
    static void provision(Path home, Database db, Path dump) throws IOException {
        FakeAptibleState s = FakeAptibleState.read(home);
        try {
            AptiblePostgres.start(s, db, home);
            if (dump == null) {
                AptiblePostgres.createAptibleObjects(db);
            } else {
                AptiblePostgres.restore(db, dump);
            }
        } catch (RuntimeException | IOException e) {
            setStatus(home, db.id, "provision_failed");
            throw e;
        }
        setStatus(home, db.id, "provisioned");
        db.status = "provisioned";
    }

    private static void setStatus(Path home, long id, String status) {
        FakeAptibleState.update(home, st -> {
            st.databaseById(id).orElseThrow().status = status;
            return null;
        });
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new CliError("fake aptible: no free port: " + e, 2);
        }
    }

    private void dbUrl(String handle) {
        Database db = ensureDatabase(state(), handle);
        findCredential(db);
        render(new Obj("connection_url").value("connection_url", connectionUrl(db)));
    }

    private void dbDeprovision(String handle) {
        FakeAptibleState s = state();
        Database db = ensureDatabase(s, handle);
        err.println("Deprovisioning " + db.handle + "...");
        long op = newOperation();
        deprovision(home, db, op, s.userEmail);
        operationLogs(op, "deprovision", db.handle);
    }

    /** Aptible keeps a final backup of a deprovisioned database; it is then listed by backup:orphaned. */
    static void deprovision(Path home, Database db, long operationId, String userEmail) {
        FakeAptibleState s = FakeAptibleState.read(home);
        if ("provisioned".equals(db.status)) {
            try {
                backup(home, db, false, operationId, userEmail);
            } catch (CliError e) {
                // Only pg_dumpall 15 exists here and it refuses newer servers: such a database leaves no final
                // backup rather than failing a deprovision (e.g. of an upgrade target being rolled back).
            }
        }
        AptiblePostgres.stop(s, db);
        deleteTree(Path.of(db.dir));
        FakeAptibleState.update(home, st -> {
            Database d = st.databaseById(db.id).orElseThrow();
            d.status = "deprovisioned";
            d.deletedAt = FakeAptibleState.now();
            return null;
        });
    }

    /** A backup: a pg_dumpall of the whole server into the home, recorded for backup:list and restores. */
    static Backup backup(Path home, Database db, boolean manual, long operationId, String userEmail) {
        long id = FakeAptibleState.update(home, FakeAptibleState::newId);
        Path file = home.resolve("backups").resolve(id + ".sql");
        try {
            AptiblePostgres.dumpAll(db, file);
        } catch (IOException | IllegalStateException e) {
            throw new CliError("fake aptible: backup of " + db.handle + " failed: " + e, 2);
        }
        return FakeAptibleState.update(home, st -> {
            Backup b = new Backup();
            b.id = id;
            b.databaseId = db.id;
            b.databaseHandle = db.handle;
            b.databaseType = db.type;
            b.version = db.version;
            b.environment = db.environment;
            b.createdAt = FakeAptibleState.now();
            b.manual = manual;
            b.size = db.diskSize;
            b.dumpFile = file.toString();
            b.operationId = operationId;
            b.userEmail = userEmail;
            st.backups.add(b);
            return b;
        });
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover server directory is harmless
        }
    }

    // ------------------------------------------------------------------ db:tunnel

    /**
     * subcommands/db.rb db:tunnel + helpers/database.rb with_local_tunnel + helpers/tunnel.rb: every line is
     * logged to stderr; the URL uses the local port and localhost.INTERNAL_DOMAIN. Ctrl-C (SIGINT) logs
     * "Closing tunnel" and exits 0; SIGTERM kills the process (143), as it does Ruby.
     */
    /**
     * The real CLI follows an operation's logs through ssh with its own stdin (helpers/operation.rb,
     * spawn_passthrough), which reads whatever stdin holds. So does the fake: a script that feeds a
     * loop on stdin and lets the CLI inherit it loses the rest of its loop, as it would for real.
     */
    private static void followOperationLogs() {
        try {
            byte[] buffer = new byte[8192];
            while (System.in.available() > 0 && System.in.read(buffer) > 0) {
                // swallowed, as ssh would
            }
        } catch (java.io.IOException e) {
            // no stdin: nothing to swallow
        }
    }

    private void dbTunnel(String handle) {
        FakeAptibleState s = state();
        Integer desired = intOpt("port");
        Database db = ensureDatabase(s, handle);
        findCredential(db);
        err.println("Creating " + db.type + " tunnel to " + db.handle + "...");
        if (opt("type") == null) {
            err.println("Use --type TYPE to specify a tunnel type");
            err.println("Valid types for " + db.handle + ": " + db.type);
        }
        err.flush();
        newOperation();
        if (takeFault(new String[] {"db:tunnel", handle}, "hang").isPresent()) {
            // A tunnel that never comes up: the real CLI waits forever for the SSH side's first line.
            sleepForever();
        }
        ServerSocket listener;
        try {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), desired == null ? 0 : desired));
        } catch (IOException e) {
            int p = desired == null ? 0 : desired;
            throw new CliError("Tunnel did not come up: bind [127.0.0.1]:" + p + ": Address already in use\n"
                    + "channel_setup_fwd_listener_tcpip: cannot listen to port: " + p + "\nCould not request local forwarding.\n");
        }
        int port = listener.getLocalPort();
        String host = "localhost." + s.internalDomain;
        String url = "postgresql://aptible:" + db.password + "@" + host + ":" + port + "/db";
        CountDownLatch interrupted = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> closeQuietly(listener)));
        installSigint(interrupted);
        Thread acceptor = new Thread(() -> relay(listener, db.port), "tunnel-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        err.println("Connect at " + url);
        err.println("Or, use the following arguments:");
        err.println("* Host: " + host);
        err.println("* Port: " + port);
        err.println("* Username: aptible");
        err.println("* Password: " + db.password);
        err.println("* Database: db");
        err.println("Connected. Ctrl-C to close connection.");
        err.flush();
        try {
            interrupted.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.println("Closing tunnel");
        err.flush();
        closeQuietly(listener);
    }

    @SuppressWarnings("removal")
    private static void installSigint(CountDownLatch interrupted) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> interrupted.countDown());
        } catch (IllegalArgumentException e) {
            // no SIGINT on this platform: only SIGTERM stops the tunnel
        }
    }

    private static void sleepForever() {
        try {
            new CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void relay(ServerSocket listener, int targetPort) {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server;
                try {
                    server = new Socket(InetAddress.getByName("127.0.0.1"), targetPort);
                } catch (IOException e) {
                    closeQuietly(client);
                    continue;
                }
                pump(client, server);
                pump(server, client);
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            try (InputStream in = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                in.transferTo(o);
            } catch (IOException e) {
                // the other direction or the peer closed: tear the pair down below
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tunnel-relay");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    // ------------------------------------------------------------------ backups

    private static final Pattern AGE = Pattern.compile("^\\s*(\\d+(?:\\.\\d+)?)\\s*([a-z]*)\\s*$");

    /** ChronicDuration.parse for the forms --max-age takes (1w, 2d, 99y, 12h, 1 month ...); null if invalid. */
    static Long parseAge(String s) {
        Matcher m = AGE.matcher(s.toLowerCase());
        if (!m.matches()) {
            return null;
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2);
        long seconds;
        if (unit.isEmpty() || unit.matches("s|secs?|seconds?")) {
            seconds = 1;
        } else if (unit.matches("m|mins?|minutes?")) {
            seconds = 60;
        } else if (unit.matches("h|hrs?|hours?")) {
            seconds = 3600;
        } else if (unit.matches("d|days?")) {
            seconds = 86400;
        } else if (unit.matches("w|wks?|weeks?")) {
            seconds = 7 * 86400;
        } else if (unit.matches("mos?|months?")) {
            seconds = 30 * 86400;
        } else if (unit.matches("y|yrs?|years?")) {
            seconds = 31557600;
        } else {
            return null;
        }
        return (long) (n * seconds);
    }

    private Instant minCreatedAt() {
        String maxAge = opt("max-age") == null ? "99y" : opt("max-age");
        Long age = parseAge(maxAge);
        if (age == null) {
            throw new CliError("Invalid age: " + maxAge);
        }
        return Instant.now().minusSeconds(age);
    }

    private static Comparator<Backup> newestFirst() {
        return Comparator.comparing((Backup b) -> Instant.parse(b.createdAt)).thenComparingLong(b -> b.id).reversed();
    }

    private void backupList(String handle) {
        Instant min = minCreatedAt();
        FakeAptibleState s = state();
        Database db = ensureDatabase(s, handle);
        Lst list = AptibleOutput.keyedList("description");
        s.backups.stream().filter(b -> b.databaseId == db.id).sorted(newestFirst())
                .takeWhile(b -> !Instant.parse(b.createdAt).isBefore(min))
                .forEach(b -> list.object(o -> injectBackup(o, b, s, false)));
        render(list);
    }

    private void backupOrphaned() {
        Instant min = minCreatedAt();
        FakeAptibleState s = state();
        Lst list = AptibleOutput.keyedList("description");
        for (Environment e : scopedEnvironments(s)) {
            s.backups.stream().filter(b -> b.environment.equals(e.handle) && orphaned(s, b)).sorted(newestFirst())
                    .takeWhile(b -> !Instant.parse(b.createdAt).isBefore(min))
                    .forEach(b -> list.object(o -> injectBackup(o, b, s, true)));
        }
        render(list);
    }

    static boolean orphaned(FakeAptibleState s, Backup b) {
        return s.databaseById(b.databaseId).map(d -> "deprovisioned".equals(d.status)).orElse(true);
    }

    private Backup findBackup(FakeAptibleState s, String id) {
        return s.backups.stream().filter(b -> Long.toString(b.id).equals(id)).findFirst()
                .orElseThrow(() -> new CliError("Backup #" + id + " not found"));
    }

    private void backupRestore(String backupId) {
        FakeAptibleState s = state();
        Backup backup = findBackup(s, backupId);
        String handle = opt("handle");
        if (handle == null) {
            handle = backup.databaseHandle + "-at-" + java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd-HH-mm-ss")
                    .withZone(java.time.ZoneOffset.UTC).format(Instant.parse(backup.createdAt));
        }
        String envHandle = opt("environment") == null ? backup.environment
                : ensureEnvironment(s, opt("environment")).handle;
        if (opts.containsKey("size")) {
            throw new CliError(sizeRemoved());
        }
        Integer diskSize = intOpt("disk-size");
        Integer containerSize = intOpt("container-size");
        Database db = create(home, handle, envHandle, backup.version, diskSize == null ? backup.size : diskSize,
                containerSize == null ? 1024 : containerSize);
        long op = newOperation();
        err.println("Restoring backup into " + handle);
        try {
            provision(home, db, Path.of(backup.dumpFile));
        } catch (RuntimeException | IOException ex) {
            throw operationFailed(op, ex.getMessage());
        }
        operationLogs(op, "restore", handle);
        renderDatabase(db);
    }

    private void backupPurge(String backupId) {
        Backup backup = findBackup(state(), backupId);
        long op = newOperation();
        err.println("Purging backup " + backupId);
        FakeAptibleState.update(home, st -> st.backups.removeIf(b -> b.id == backup.id));
        try {
            Files.deleteIfExists(Path.of(backup.dumpFile));
        } catch (IOException e) {
            // the record is gone; a leftover file only costs disk
        }
        operationLogs(op, "purge", "backup #" + backupId);
    }
}
