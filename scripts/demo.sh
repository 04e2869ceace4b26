#!/usr/bin/env bash
# make demo: a real upgrade between two local PostgreSQL servers of different majors.
#   1. starts a PostgreSQL $SOURCE_MAJOR and a PostgreSQL $TARGET_MAJOR server (unprivileged user when root),
#   2. loads scripts/datasets/rich.sql (roles, 3 databases, extensions, partitions, RLS, large objects...),
#   3. runs: java -jar target/pgupgrade.jar run -f upgrade.yaml --secrets-dir secrets,
#   4. compares every table of every database on both sides, then stops both servers.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOURCE_MAJOR=${SOURCE_MAJOR:-13}
TARGET_MAJOR=${TARGET_MAJOR:-17}
PG_HOME=${PG_HOME:-$root/target/pg}
jar=$root/target/pgupgrade.jar
[[ -f $jar ]] || { echo "demo: $jar is missing: run make build first" >&2; exit 1; }

"$root/scripts/pg-binaries.sh" "$PG_HOME" "$SOURCE_MAJOR" "$TARGET_MAJOR"

demo=$(mktemp -d "${TMPDIR:-/tmp}/pgupgrade-demo.XXXXXX")
chmod 755 "$demo"
free_port() {
  local port
  for port in $(shuf -i 20000-40000 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "demo: no free port" >&2; exit 1
}
random_password() { printf 'demo-%s-p@ss/w:rd' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"; }
urlencode() { local s=$1 out='' c i; for ((i = 0; i < ${#s}; i++)); do c=${s:i:1}; case $c in [a-zA-Z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac; done; printf %s "$out"; }

source_port=$(free_port); target_port=$(free_port)
source_password=$(random_password); target_password=$(random_password)
printf '%s\n' "$source_password" > "$demo/source.pw"; printf '%s\n' "$target_password" > "$demo/target.pw"

stop_servers() {
  "$root/scripts/pg-cluster.sh" stop "$PG_HOME/$SOURCE_MAJOR/bin" "$demo/source" || true
  "$root/scripts/pg-cluster.sh" stop "$PG_HOME/$TARGET_MAJOR/bin" "$demo/target" || true
  rm -rf "$demo"
}
trap stop_servers EXIT

echo "demo: starting PostgreSQL $SOURCE_MAJOR (port $source_port) and PostgreSQL $TARGET_MAJOR (port $target_port) in $demo"
"$root/scripts/pg-cluster.sh" start "$PG_HOME/$SOURCE_MAJOR/bin" "$demo/source" "$source_port" "$demo/source.pw"
"$root/scripts/pg-cluster.sh" start "$PG_HOME/$TARGET_MAJOR/bin" "$demo/target" "$target_port" "$demo/target.pw"
rm -f "$demo/source.pw" "$demo/target.pw"

on_source() { PGHOST=127.0.0.1 PGPORT=$source_port PGUSER=postgres PGPASSWORD=$source_password "$@"; }
on_target() { PGHOST=127.0.0.1 PGPORT=$target_port PGUSER=postgres PGPASSWORD=$target_password "$@"; }

echo "demo: loading the dataset (scripts/datasets/rich.sql) into the source"
on_source psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$root/scripts/datasets/rich.sql" >/dev/null

mkdir -p "$demo/secrets/source-db" "$demo/secrets/target-db"
printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres\n' "$(urlencode "$source_password")" "$source_port" > "$demo/secrets/source-db/url"
printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres\n' "$(urlencode "$target_password")" "$target_port" > "$demo/secrets/target-db/url"
cat > "$demo/upgrade.yaml" <<YAML
apiVersion: pgupgrade.dev/v1alpha1
kind: PostgresUpgrade
metadata:
  name: demo-upgrade
spec:
  platform: direct
  source:
    urlSecretRef: {name: source-db, key: url}
  target:
    urlSecretRef: {name: target-db, key: url}
    version: "$TARGET_MAJOR"
YAML

echo "demo: java -jar target/pgupgrade.jar run -f upgrade.yaml --secrets-dir secrets --pg-bin $TARGET_MAJOR=... -o yaml"
set +e
java -jar "$jar" run -f "$demo/upgrade.yaml" --secrets-dir "$demo/secrets" --pg-bin "$TARGET_MAJOR=$PG_HOME/$TARGET_MAJOR/bin" -o yaml > "$demo/result.yaml"
rc=$?
set -e
[[ $rc == 0 ]] || { echo "demo: pgupgrade run exited with $rc" >&2; cat "$demo/result.yaml" >&2; exit "$rc"; }

echo
echo "demo: source (PostgreSQL $SOURCE_MAJOR) vs target (PostgreSQL $TARGET_MAJOR), table by table"
tables_sql="select quote_ident(n.nspname) || '.' || quote_ident(c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
  and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e') order by 1"
fingerprint() { printf '%s\n' "select count(*) || ' ' || md5(coalesce(string_agg(row(t.*)::text, E'\\n' order by row(t.*)::text), '')) from $1 t"; }
mismatches=0; checked=0
printf '  %-34s %10s %10s  %s\n' TABLE SOURCE TARGET RESULT
for db in $(on_source psql -X -A -t -d postgres -c "select datname from pg_database where not datistemplate order by 1"); do
  for table in $(PGDATABASE=$db on_source psql -X -A -t -c "$tables_sql"); do
    s=$(PGDATABASE=$db on_source psql -X -A -t -c "$(fingerprint "$table")")
    t=$(PGDATABASE=$db on_target psql -X -A -t -c "$(fingerprint "$table")" 2>/dev/null || echo "missing -")
    result=identical; [[ $s == "$t" ]] || { result=DIFFERENT; mismatches=$((mismatches + 1)); }
    checked=$((checked + 1))
    printf '  %-34s %10s %10s  %s\n' "$db:$table" "${s%% *}" "${t%% *}" "$result"
  done
done
for what in "roles:select count(*) from pg_roles where rolname !~ '^pg_'" "large objects:select count(*) from pg_largeobject_metadata"; do
  q=${what#*:}
  s=$(PGDATABASE=shop on_source psql -X -A -t -c "$q"); t=$(PGDATABASE=shop on_target psql -X -A -t -c "$q")
  result=identical; [[ $s == "$t" ]] || { result=DIFFERENT; mismatches=$((mismatches + 1)); }
  printf '  %-34s %10s %10s  %s\n' "${what%%:*}" "$s" "$t" "$result"
done
echo
if [[ $mismatches == 0 ]]; then
  echo "demo: upgraded PostgreSQL $SOURCE_MAJOR -> $TARGET_MAJOR; $checked tables identical (row counts and content checksums). Stopping the servers."
else
  echo "demo: $mismatches differences between source and target" >&2
  exit 1
fi
