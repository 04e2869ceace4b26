package dev.pgupgrade.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything a faithful upgrade must carry over, read from a server as sorted lines per aspect, so
 * that two snapshots compare with a readable diff: every table's row count and content checksum,
 * sequences, large objects, roles (with password hashes), memberships, role settings, databases and
 * their encodings, extensions, and the inventory of schema objects. Extension members and catalog
 * details that differ naturally between majors (extension versions, ACL letters) are left out.
 */
public final class ClusterSnapshot {
    private final Map<String, List<String>> aspects = new TreeMap<>();

    /** Opens a superuser connection to one database of the cluster. */
    public interface Connector {
        Connection connect(String database) throws SQLException;
    }

    public static ClusterSnapshot of(PostgresServer server) throws SQLException {
        return of(server::connect);
    }

    public static ClusterSnapshot of(Connector server) throws SQLException {
        ClusterSnapshot snapshot = new ClusterSnapshot();
        List<String> databases;
        try (Connection c = server.connect("postgres")) {
            databases = snapshot.read(c, "databases", """
                    select datname from pg_database where not datistemplate and datallowconn""");
            snapshot.read(c, "database encodings", """
                    select datname || ' ' || pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype
                    from pg_database where not datistemplate""");
            snapshot.read(c, "roles", """
                    select rolname || ' super=' || rolsuper || ' inherit=' || rolinherit || ' createrole=' || rolcreaterole
                           || ' createdb=' || rolcreatedb || ' login=' || rolcanlogin || ' replication=' || rolreplication
                           || ' bypassrls=' || rolbypassrls || ' connlimit=' || rolconnlimit
                    from pg_roles where rolname !~ '^pg_'""");
            snapshot.read(c, "role passwords", """
                    select rolname || ' ' || coalesce(rolpassword, '(none)') from pg_authid where rolname !~ '^pg_'""");
            snapshot.read(c, "memberships", """
                    select r.rolname || ' -> ' || m.rolname from pg_auth_members a
                    join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member
                    where r.rolname !~ '^pg_'""");
            snapshot.read(c, "role settings", """
                    select coalesce(r.rolname, '*') || ' in ' || coalesce(d.datname, '*') || ': ' || array_to_string(s.setconfig, ',')
                    from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase""");
        }
        for (String db : databases) {
            try (Connection c = server.connect(db)) {
                snapshot.readDatabase(db, c);
            }
        }
        return snapshot;
    }

    private void readDatabase(String db, Connection c) throws SQLException {
        String notExtensionMember = "not exists (select 1 from pg_depend d where d.objid = %s and d.deptype = 'e')";
        String userSchema = "%s.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and %s.nspname !~ '^pg_temp'";
        read(c, db + ": extensions", "select extname from pg_extension");
        read(c, db + ": relations", "select c.relkind::text || ' ' || n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where "
                + userSchema.formatted("n", "n") + " and " + notExtensionMember.formatted("c.oid"));
        read(c, db + ": functions", "select p.oid::regprocedure::text || ' owner=' || pg_get_userbyid(p.proowner) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where "
                + userSchema.formatted("n", "n") + " and " + notExtensionMember.formatted("p.oid"));
        read(c, db + ": types", "select t.typtype::text || ' ' || t.oid::regtype::text || coalesce(' ' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid), '') from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.typtype in ('e', 'd') and "
                + userSchema.formatted("n", "n") + " and " + notExtensionMember.formatted("t.oid"));
        // PostgreSQL 18 also lists NOT NULL as constraints (contype n); nullability is compared per column instead.
        read(c, db + ": constraints", "select conrelid::regclass::text || ' ' || conname || ' ' || contype::text from pg_constraint c join pg_namespace n on n.oid = c.connamespace where conrelid <> 0 and contype <> 'n' and "
                + userSchema.formatted("n", "n"));
        String generated = c.getMetaData().getDatabaseMajorVersion() < 12 ? "''" : "a.attgenerated::text";  // generated columns came in 12
        read(c, db + ": columns", "select a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull"
                + " || ' identity=' || a.attidentity::text || ' generated=' || " + generated
                + " || coalesce(' default=' || pg_get_expr(d.adbin, d.adrelid), '')"
                + " from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
                + " left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum"
                + " where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'v', 'm') and " + userSchema.formatted("n", "n")
                + " and " + notExtensionMember.formatted("c.oid"));
        read(c, db + ": triggers", "select tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text from pg_trigger where not tgisinternal");
        read(c, db + ": policies", "select polrelid::regclass::text || ' ' || polname || ' ' || pg_get_expr(polqual, polrelid) from pg_policy");
        read(c, db + ": row security", "select c.oid::regclass::text || ' rls=' || c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and "
                + userSchema.formatted("n", "n"));
        read(c, db + ": owners", "select c.relkind::text || ' ' || c.oid::regclass::text || ' ' || pg_get_userbyid(c.relowner) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'v', 'm', 'S') and "
                + userSchema.formatted("n", "n"));
        read(c, db + ": default privileges", "select pg_get_userbyid(defaclrole) || ' ' || coalesce(defaclnamespace::regnamespace::text, '*') || ' ' || defaclobjtype::text from pg_default_acl");
        read(c, db + ": reporting can select", "select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'v', 'm') and "
                + userSchema.formatted("n", "n") + " and exists (select 1 from pg_roles where rolname = 'reporting') and has_table_privilege('reporting', c.oid, 'SELECT')");
        read(c, db + ": comments", "select d.objoid::regclass::text || ': ' || d.description from pg_description d where d.classoid = 'pg_class'::regclass and d.objsubid = 0");
        read(c, db + ": large objects", "select m.oid || ' ' || pg_get_userbyid(m.lomowner) || ' ' || md5(lo_get(m.oid)) from pg_largeobject_metadata m");
        read(c, db + ": settings", "select array_to_string(setconfig, ',') from pg_db_role_setting where setdatabase = (select oid from pg_database where datname = current_database())");
        List<String> sequences = query(c, "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'S' and "
                + userSchema.formatted("n", "n"));
        List<String> values = new ArrayList<>();
        for (String seq : sequences) {
            values.addAll(query(c, "select '" + seq.replace("'", "''") + " ' || last_value || ' ' || is_called from " + seq));
        }
        aspects.put(db + ": sequence values", values);
        // Each table's rows by column NAME: a restore may legitimately order a table's columns
        // differently (inheritance children, typed tables, dropped columns); by position, equal rows differ.
        List<String> tables = query(c, "select format('select %L || '' rows='' || count(*) || '' md5='' || md5(coalesce(string_agg(r::text, E''\\n'' order by r::text), '''')) "
                + "from (select row(%s) as r from only %s t) x', c.oid::regclass::text, "
                + "coalesce((select string_agg(format('t.%I', a.attname), ', ' order by a.attname::text collate \"C\") from pg_attribute a "
                + "where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), ''), c.oid::regclass) "
                + "from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'm') and "
                + userSchema.formatted("n", "n") + " and " + notExtensionMember.formatted("c.oid"));
        List<String> contents = new ArrayList<>();
        for (String table : tables) {
            contents.addAll(query(c, table));
        }
        contents.sort(null);
        aspects.put(db + ": table contents", contents);
    }

    private List<String> read(Connection c, String aspect, String sql) throws SQLException {
        List<String> rows = query(c, sql);
        aspects.put(aspect, rows);
        return rows;
    }

    private static List<String> query(Connection c, String sql) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        rows.sort(null);
        return rows;
    }

    public Map<String, List<String>> aspects() {
        return aspects;
    }

    /** The same snapshot without the lines of one aspect that mention a role, e.g. the target's own connection role. */
    public ClusterSnapshot without(String aspect, String linePrefix) {
        ClusterSnapshot copy = new ClusterSnapshot();
        aspects.forEach((k, v) -> copy.aspects.put(k, k.equals(aspect) ? v.stream().filter(l -> !l.startsWith(linePrefix)).toList() : v));
        return copy;
    }

    /** Human-readable differences, empty when the snapshots are equal. */
    public String diff(ClusterSnapshot other) {
        StringBuilder sb = new StringBuilder();
        java.util.Set<String> keys = new java.util.TreeSet<>(aspects.keySet());
        keys.addAll(other.aspects.keySet());
        for (String key : keys) {
            List<String> mine = aspects.getOrDefault(key, List.of());
            List<String> theirs = other.aspects.getOrDefault(key, List.of());
            if (!mine.equals(theirs)) {
                sb.append(key).append(":\n");
                mine.stream().filter(l -> !theirs.contains(l)).forEach(l -> sb.append("  - ").append(l).append('\n'));
                theirs.stream().filter(l -> !mine.contains(l)).forEach(l -> sb.append("  + ").append(l).append('\n'));
            }
        }
        return sb.toString();
    }

    public int tableCount() {
        return aspects.entrySet().stream().filter(e -> e.getKey().endsWith("table contents")).mapToInt(e -> e.getValue().size()).sum();
    }
}
