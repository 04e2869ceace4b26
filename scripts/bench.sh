#!/usr/bin/env bash
# make bench: how long the database is down while it is copied to a new major, by three methods side
# by side on this machine, each into a fresh, empty target server (docs/performance.md explains it):
#   runbook    the runbook by hand: pg_dumpall | grep -v 'ALTER ROLE postgres .*PASSWORD' > dump.sql,
#              then psql -f dump.sql (downtime = dump + restore)
#   pgcopydb   pgcopydb clone of database "db", 2 table jobs and 2 index jobs (downtime = its wall time)
#   pgupgrade  java -jar pgupgrade.jar run, once per strategy in BENCH_STRATEGIES (spec.transfer.strategy),
#              under GNU time for the JVM's peak RSS; downtime window = start of Dumping to end of Restoring
# Every target is then compared with the source (database "db": per table, row count and an
# order-independent content checksum); any difference fails the bench after the table is printed.
# Knobs (environment):
#   BENCH_SCALE=60           pgbench scale of the workload (60 ~ 1.5 GB; use 2 or 5 to try the script)
#   BENCH_GIN=1              add a GIN index on events.payload (the index-build-heavy variant)
#   BENCH_STRATEGIES="dumpall stream parallel pipeline"   pgupgrade strategies to time
#   BENCH_SOURCE_MAJOR=13 BENCH_TARGET_MAJOR=17  server majors (the client tools are 15: source <= 15)
#   BENCH_LOGICAL_SCALES="20 $BENCH_SCALE"     sizes the online strategy (pgupgrade:logical) runs at, writes flowing
#                                                ("" skips it); BENCH_LOGICAL_RATE=20 writes per second
#   BENCH_JAR=target/pgupgrade.jar               the jar to time (copied first: a rebuild cannot swap it mid-run)
#   PG_HOME                  server binaries per major (default: scripts/pg-home.sh)
# Progress goes to stderr; the table and the verdict go to stdout, and the last line is always
#   bench: best_strategy=NAME ratio_vs_runbook=X.XX ratio_vs_pgcopydb=Y.YY [online_blocked_s=X.X online_lost_writes=N]
# Servers listen on 127.0.0.1 only, on free ports; everything is stopped and removed on exit.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

SCALE=${BENCH_SCALE:-60}
GIN=${BENCH_GIN:-0}
SOURCE_MAJOR=${BENCH_SOURCE_MAJOR:-13}
TARGET_MAJOR=${BENCH_TARGET_MAJOR:-17}
STRATEGIES=${BENCH_STRATEGIES:-dumpall stream parallel pipeline}
PG_HOME=${PG_HOME:-$("$root/scripts/pg-home.sh")}
JAR=${BENCH_JAR:-$root/target/pgupgrade.jar}
DATASET=$root/../shared/bench/make-dataset.sh

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

[[ $SCALE =~ ^[1-9][0-9]*$ ]] || die "BENCH_SCALE must be a positive integer, not '$SCALE'"
[[ -f $DATASET ]] || die "the reference workload script is missing: $DATASET (../shared/bench/make-dataset.sh beside the repo)"
[[ -f $JAR ]] || die "$JAR is missing: run make build first (or set BENCH_JAR)"
for tool in java psql pg_dumpall pgbench; do
  command -v "$tool" >/dev/null || die "$tool is missing (a JDK 17 and postgresql-client-15 are needed, see README.md)"
done

# --- 1. what the bench needs: pgcopydb, GNU time (peak RSS), jq (reads pgupgrade's -o json) -----------
missing=()
command -v pgcopydb >/dev/null || missing+=(pgcopydb)
/usr/bin/time -V 2>&1 | grep -q 'GNU' || missing+=(time)
command -v jq >/dev/null || missing+=(jq)
if (( ${#missing[@]} )); then
  [[ $(id -u) == 0 ]] || die "missing: ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
    || die "could not install ${missing[*]} with apt-get"
fi

"$root/scripts/pg-binaries.sh" "$PG_HOME" "$SOURCE_MAJOR" "$TARGET_MAJOR"
source_bin=$PG_HOME/$SOURCE_MAJOR/bin
target_bin=$PG_HOME/$TARGET_MAJOR/bin

# --- scratch space, servers and the cleanup that removes them ------------------------------------------
bench=$(mktemp -d "${TMPDIR:-/tmp}/pgupgrade-bench.XXXXXX")
chmod 755 "$bench"   # the servers (and SchemaCheck's throwaway one) run as nobody when we are root
cp "$JAR" "$bench/pgupgrade.jar"
servers=()           # "BINDIR DATADIR" of every server started, stopped on exit
cleanup() {
  local s
  for s in "${servers[@]}"; do
    # shellcheck disable=SC2086 # each entry is "BINDIR DATADIR": two arguments
    "$root/scripts/pg-cluster.sh" stop ${s} >/dev/null 2>&1 || true
  done
  rm -rf "$bench"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local port
  for port in $(shuf -i 20000-40000 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  die "no free port on 127.0.0.1"
}
# Hex passwords: nothing to escape in URLs or the pgpass file.
random_password() { printf 'bench-%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"; }

# Passwords reach psql, pgbench and pgcopydb through a pgpass file, never a command line.
export PGPASSFILE=$bench/pgpass
: > "$PGPASSFILE"; chmod 600 "$PGPASSFILE"

# start_server NAME BINDIR PORT [SETTING=VALUE...]: a fresh server in $bench/NAME, superuser postgres with
# a new password, left in $password (and the pgpass file); stop_server stops it and removes its data directory.
start_server() {
  local name=$1 bindir=$2 port=$3 settings=("${@:4}")
  password=$(random_password)
  printf '%s\n' "$password" > "$bench/$name.pw"
  servers+=("$bindir $bench/$name")
  "$root/scripts/pg-cluster.sh" start "$bindir" "$bench/$name" "$port" "$bench/$name.pw" "${settings[@]}"
  rm -f "$bench/$name.pw"
  printf '127.0.0.1:%s:*:postgres:%s\n' "$port" "$password" >> "$PGPASSFILE"
}
stop_server() {
  local name=$1 bindir=$2 i
  "$root/scripts/pg-cluster.sh" stop "$bindir" "$bench/$name" >/dev/null
  for i in "${!servers[@]}"; do [[ ${servers[$i]} != "$bindir $bench/$name" ]] || unset 'servers[i]'; done
  rm -rf "${bench:?}/$name"
}

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
iso_epoch() { date -d "$1" +%s.%N; }
fmt() { if [[ $1 == - ]]; then echo -; else awk -v s="$1" 'BEGIN { printf "%.1f", s }'; fi; }

# --- 2. the source: PostgreSQL $SOURCE_MAJOR with the reference workload -------------------------------
load_before=$(cut -d' ' -f1 /proc/loadavg)   # the machine may be shared: the table says how busy it was
source_port=$(free_port)
say "starting PostgreSQL $SOURCE_MAJOR (source, 127.0.0.1:$source_port) in $bench"
start_server source "$source_bin" "$source_port"; source_password=$password
gin_flag=(); [[ $GIN == 1 ]] && gin_flag=(--gin)
say "building the workload: make-dataset.sh scale $SCALE ${gin_flag[*]:-(no GIN index)}"
t0=$(now)
"$DATASET" "postgresql://postgres@127.0.0.1:$source_port/postgres" "$SCALE" "${gin_flag[@]}" > "$bench/dataset.log" 2>&1 \
  || { tail -n 20 "$bench/dataset.log" >&2; die "make-dataset.sh failed"; }
say "$(grep 'dataset ready' "$bench/dataset.log") in $(seconds "$t0" "$(now)") s"

# Every table of database "db": "table rows checksum", one line each. The session settings that change
# how a row prints (time zone, date style, float digits) are pinned so both majors print rows alike.
check_opts='-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=3'
checks_sql=$(PGOPTIONS=$check_opts psql -X -At "postgresql://postgres@127.0.0.1:$source_port/db" -c "
  select format('select %L, count(*), coalesce(sum((''x'' || substr(md5(row(t.*)::text), 1, 15))::bit(60)::bigint), 0) from %s t;',
                n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname))
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
  order by n.nspname, c.relname")
checksums() {  # checksums PORT > file
  PGOPTIONS=$check_opts psql -X -At -F ' ' "postgresql://postgres@127.0.0.1:$1/db" -c "$checks_sql" 2>>"$bench/check.err" || true
}
t0=$(now)
checksums "$source_port" > "$bench/source.sums"
[[ -s $bench/source.sums ]] || die "could not checksum the source: $(cat "$bench/check.err")"
say "source checksummed ($(wc -l < "$bench/source.sums") tables) in $(seconds "$t0" "$(now)") s"

# --- results, one row per method --------------------------------------------------------------------------
methods=()
declare -A DUMP RESTORE WINDOW VERIFY VERIFIED TOTAL RSS CHECK
failures=0
footnote=
# VERIFIED: writes stop -> the target proven identical (pgupgrade: Dumping's start to Verifying's end); a
# method that proves nothing reports its window marked "(unverified)", which the verdict compares against.
record() {  # record METHOD DUMP RESTORE WINDOW VERIFY VERIFIED TOTAL RSS CHECK
  methods+=("$1"); DUMP[$1]=$2; RESTORE[$1]=$3; WINDOW[$1]=$4; VERIFY[$1]=$5; VERIFIED[$1]=$6; TOTAL[$1]=$7; RSS[$1]=$8; CHECK[$1]=$9
}
# compare_target METHOD PORT: prints identical or DIFFERENT (and the differing lines on stderr).
compare_target() {
  checksums "$2" > "$bench/$1.sums"
  if cmp -s "$bench/source.sums" "$bench/$1.sums"; then
    echo identical
  else
    say "$1: database db differs from the source (< source, > target):"
    diff "$bench/source.sums" "$bench/$1.sums" >&2 || true
    echo DIFFERENT
  fi
}

# --- 3a. the runbook by hand --------------------------------------------------------------------------------
target_port=$(free_port)
start_server target-runbook "$target_bin" "$target_port"; target_password=$password
say "runbook: pg_dumpall | grep -v 'ALTER ROLE postgres .*PASSWORD' > dump.sql; psql -f dump.sql (PostgreSQL $TARGET_MAJOR on :$target_port)"
t0=$(now)
PGPASSWORD=$source_password pg_dumpall -h 127.0.0.1 -p "$source_port" -U postgres -l postgres \
  | grep -v 'ALTER ROLE postgres .*PASSWORD' > "$bench/dump.sql"
t1=$(now)
PGPASSWORD=$target_password psql -X -q -h 127.0.0.1 -p "$target_port" -U postgres -d postgres -f "$bench/dump.sql" \
  >/dev/null 2>"$bench/runbook-restore.err" || true
t2=$(now)
errors=$(grep -c 'ERROR:' "$bench/runbook-restore.err" || true)
say "runbook: dump $(seconds "$t0" "$t1") s ($(du -m "$bench/dump.sql" | cut -f1) MiB), restore $(seconds "$t1" "$t2") s, $errors restore errors: $(grep -m3 'ERROR:' "$bench/runbook-restore.err" | sed 's/.*ERROR: *//' | paste -sd ';' -)"
rm -f "$bench/dump.sql"
check=$(compare_target runbook "$target_port")
stop_server target-runbook "$target_bin"
record runbook "$(seconds "$t0" "$t1")" "$(seconds "$t1" "$t2")" "$(seconds "$t0" "$t2")" - "$(seconds "$t0" "$t2") (unverified)" "$(seconds "$t0" "$t2")" - "$check"

# --- 3b. pgcopydb clone of database "db" ----------------------------------------------------------------------
# pgcopydb 0.10 copies one database: role aptible and database db are created on the target first, as
# the Aptible runbook creates the target. Its options are --table-jobs/--index-jobs (no --jobs in 0.10);
# the URLs go in its environment, the passwords in the pgpass file.
target_port=$(free_port)
start_server target-pgcopydb "$target_bin" "$target_port"; target_password=$password
psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$target_port/postgres" \
  -c "create role aptible login superuser password 'source-secret'" -c "create database db owner aptible"
say "pgcopydb: pgcopydb clone --table-jobs 2 --index-jobs 2 of database db (PostgreSQL $TARGET_MAJOR on :$target_port)"
t0=$(now)
rc=0
PGCOPYDB_SOURCE_PGURI="postgresql://postgres@127.0.0.1:$source_port/db" \
PGCOPYDB_TARGET_PGURI="postgresql://postgres@127.0.0.1:$target_port/db" \
  pgcopydb clone --dir "$bench/pgcopydb" --table-jobs 2 --index-jobs 2 >"$bench/pgcopydb.log" 2>&1 || rc=$?
t1=$(now)
if [[ $rc == 0 ]]; then
  say "pgcopydb: clone took $(seconds "$t0" "$t1") s"
  check=$(compare_target pgcopydb "$target_port")
  record pgcopydb - - "$(seconds "$t0" "$t1")" - "$(seconds "$t0" "$t1") (unverified)" "$(seconds "$t0" "$t1")" - "$check"
else
  say "pgcopydb: clone failed (exit $rc); the end of its log:"; tail -n 20 "$bench/pgcopydb.log" >&2
  record pgcopydb - - FAILED - - - - -; failures=$((failures + 1))
fi
rm -rf "$bench/pgcopydb"
stop_server target-pgcopydb "$target_bin"

# --- 3c. pgupgrade run, one strategy at a time ---------------------------------------------------------------------
# run_pgupgrade STRATEGY DIR PORT WITH_TRANSFER: writes DIR/upgrade.yaml (direct platform, the contract's
# fields, spec.transfer.strategy when WITH_TRANSFER=1) and runs it under GNU time; returns java's exit code.
run_pgupgrade() {
  local strategy=$1 dir=$2 port=$3 with_transfer=$4 password=$5
  rm -rf "$dir"; mkdir -p "$dir/secrets/source-db" "$dir/secrets/target-db"; chmod 755 "$dir"
  printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres\n' "$source_password" "$source_port" > "$dir/secrets/source-db/url"
  printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres\n' "$password" "$port" > "$dir/secrets/target-db/url"
  {
    printf 'apiVersion: pgupgrade.dev/v1alpha1\nkind: PostgresUpgrade\nmetadata:\n  name: bench-%s\nspec:\n' "$strategy"
    printf '  platform: direct\n  source:\n    urlSecretRef: {name: source-db, key: url}\n'
    printf '  target:\n    urlSecretRef: {name: target-db, key: url}\n    version: "%s"\n' "$TARGET_MAJOR"
    [[ $with_transfer == 0 ]] || printf '  transfer: {strategy: %s}\n' "$strategy"
  } > "$dir/upgrade.yaml"
  local rc=0
  env -u PGPASSFILE /usr/bin/time -v -o "$dir/time.txt" \
    java -jar "$bench/pgupgrade.jar" run -f "$dir/upgrade.yaml" --secrets-dir "$dir/secrets" -o json \
      --pg-bin "$TARGET_MAJOR=$target_bin" > "$dir/result.json" 2> "$dir/run.err" || rc=$?
  return "$rc"
}

for strategy in $STRATEGIES; do
  method=pgupgrade:$strategy
  dir=$bench/pgu-$strategy
  target_port=$(free_port)
  start_server "target-$strategy" "$target_bin" "$target_port"; target_password=$password
  say "$method: java -jar pgupgrade.jar run -o json (spec.transfer.strategy: $strategy; PostgreSQL $TARGET_MAJOR on :$target_port)"
  t0=$(now); rc=0
  run_pgupgrade "$strategy" "$dir" "$target_port" 1 "$target_password" || rc=$?
  if [[ $rc == 3 ]] && grep -qi transfer "$dir/run.err"; then
    # The jar does not know spec.transfer yet (or not this strategy): it refused the manifest and touched nothing.
    if [[ $strategy == dumpall ]]; then
      say "$method: the jar refused spec.transfer ($(grep -m1 -i transfer "$dir/run.err")); timing its only strategy, dumpall, without it"
      t0=$(now); rc=0; method+='*'; footnote="* the jar refused spec.transfer: timed without it, with its only strategy (dumpall)"
      run_pgupgrade "$strategy" "$dir" "$target_port" 0 "$target_password" || rc=$?
    else
      say "$method: n/a, the jar refused it: $(grep -m1 -i transfer "$dir/run.err")"
      record "$method" n/a n/a n/a n/a n/a n/a n/a n/a
      stop_server "target-$strategy" "$target_bin"
      continue
    fi
  fi
  t1=$(now)
  rss=$(awk -F': *' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$dir/time.txt" 2>/dev/null || true)
  if [[ $rc != 0 ]]; then
    say "$method: pgupgrade run exited with $rc:"; tail -n 20 "$dir/run.err" >&2
    [[ ! -s $dir/result.json ]] || jq -r '.status.message // empty' "$dir/result.json" >&2 || true
    record "$method" - - FAILED - - "$(seconds "$t0" "$t1")" "${rss:--}" -; failures=$((failures + 1))
  else
    # Each phase's last step record: state, start, end, duration.
    read -r d_state d_start d_dur r_start r_end r_dur v_dur v_end < <(jq -r '
      def step($p): ([.status.steps[]? | select(.phase == $p)] | last) // {};
      [ (step("Dumping") | (.state // "-"), (.startedAt // "-"), (.durationSeconds // "-")),
        (step("Restoring") | (.startedAt // "-"), (.finishedAt // "-"), (.durationSeconds // "-")),
        (step("Verifying") | (.durationSeconds // "-"), (.finishedAt // "-")) ] | map(tostring) | join(" ")' "$dir/result.json") \
      || die "$method: cannot read the steps from pgupgrade's -o json output"
    # The downtime window: Dumping's start to Restoring's end; Restoring alone when Dumping was skipped.
    if [[ $d_state == Skipped || $d_start == - ]]; then window_start=$r_start; d_dur=-; else window_start=$d_start; fi
    window=$(seconds "$(iso_epoch "$window_start")" "$(iso_epoch "$r_end")")
    # verified downtime: until Verifying proved the target identical (every row's content, mode checksums)
    if [[ $v_end == - ]]; then verified=-; else verified=$(seconds "$(iso_epoch "$window_start")" "$(iso_epoch "$v_end")"); fi
    check=$(compare_target "$method" "$target_port")
    say "$method: window $window s (dump $(fmt "$d_dur"), restore $(fmt "$r_dur")), verify $(fmt "$v_dur") s, verified downtime $verified s, total $(seconds "$t0" "$t1") s, peak RSS ${rss:-?} MiB"
    record "$method" "$(fmt "$d_dur")" "$(fmt "$r_dur")" "$window" "$(fmt "$v_dur")" "$verified" "$(seconds "$t0" "$t1")" "${rss:--}" "$check"
  fi
  stop_server "target-$strategy" "$target_bin"
done

# --- 3d. pgupgrade:logical, online, with an app writing the whole time ---------------------------------------
# At two sizes (BENCH_LOGICAL_SCALES, default "20 $SCALE"): a source with wal_level = logical holding the
# workload at that scale, a writer committing one INSERT every 1/BENCH_LOGICAL_RATE s into bench_writes
# on the source (logging every acknowledged id and when), until the cutover freezes the source; it then
# waits for pgupgrade to report Cutover done (the state file), as a repointed app would, and writes to
# the target. Measured: initial sync (Replicating), the blocked window as the writer saw it (last ack
# from the source -> first ack from the target) and as status recorded it (Cutover), acknowledged
# writes missing on the target, and whether the target's sequence is past every id the source gave.
# pgbench_history has no key: the manifest allows REPLICA IDENTITY FULL, as the refusal suggests.
declare -A L_SYNC L_BLOCKED L_CUTOVER L_LOST L_SEQ L_CHECK L_WRITES L_LAG
logical_scales=()
writer() {  # writer SOURCE_URL TARGET_URL STATE LOG: see above; ends after 20 writes on the target
  local src=$1 tgt=$2 state=$3 log=$4 id n=0 period
  period=$(awk -v r="$LOGICAL_RATE" 'BEGIN { printf "%.3f", 1 / r }')
  while id=$(psql -X -qAt "$src" -c "insert into bench_writes default values returning id" 2>/dev/null); do
    printf 'source %s %s\n' "$(now)" "$id" >> "$log"; sleep "$period"
  done
  until [[ -f $state ]] && jq -e '[.status.steps[]? | select(.phase == "Cutover" and .state == "Succeeded")] | length > 0' "$state" >/dev/null 2>&1; do
    jq -e '.status.phase | IN("Failed", "RolledBack")' "$state" >/dev/null 2>&1 && return 0
    sleep 0.02
  done
  while ((n < 20)); do
    if id=$(psql -X -qAt "$tgt" -c "insert into bench_writes default values returning id" 2>/dev/null); then
      printf 'target %s %s\n' "$(now)" "$id" >> "$log"; n=$((n + 1))
    fi
    sleep "$period"
  done
}
LOGICAL_RATE=${BENCH_LOGICAL_RATE:-20}
# smaller first (the verdict compares the largest with the smallest); BENCH_LOGICAL_SCALES="" skips the method
read -ra requested_scales <<< "${BENCH_LOGICAL_SCALES-20 $SCALE}"
for lscale in $( ((${#requested_scales[@]})) && printf '%s\n' "${requested_scales[@]}" | sort -n -u); do
  [[ $lscale =~ ^[1-9][0-9]*$ ]] || die "BENCH_LOGICAL_SCALES must hold positive integers, not '$lscale'"
  method=pgupgrade:logical@$lscale
  dir=$bench/pgu-logical-$lscale
  lsrc_port=$(free_port)
  start_server "lsrc-$lscale" "$source_bin" "$lsrc_port" wal_level=logical max_replication_slots=10 max_wal_senders=10
  lsrc_password=$password
  say "$method: building the workload at scale $lscale on a source with wal_level = logical (:$lsrc_port)"
  "$DATASET" "postgresql://postgres@127.0.0.1:$lsrc_port/postgres" "$lscale" > "$bench/lsrc-$lscale.log" 2>&1 \
    || { tail -n 20 "$bench/lsrc-$lscale.log" >&2; die "make-dataset.sh failed"; }
  psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$lsrc_port/db" \
    -c "create table bench_writes (id bigserial primary key, at timestamptz not null default clock_timestamp())"
  target_port=$(free_port)
  start_server "target-logical-$lscale" "$target_bin" "$target_port"; target_password=$password
  mkdir -p "$dir/secrets/source-db" "$dir/secrets/target-db"; chmod 755 "$dir"
  printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres\n' "$lsrc_password" "$lsrc_port" > "$dir/secrets/source-db/url"
  printf 'postgresql://postgres:%s@127.0.0.1:%s/postgres\n' "$target_password" "$target_port" > "$dir/secrets/target-db/url"
  {
    printf 'apiVersion: pgupgrade.dev/v1alpha1\nkind: PostgresUpgrade\nmetadata:\n  name: bench-logical\nspec:\n'
    printf '  platform: direct\n  source:\n    urlSecretRef: {name: source-db, key: url}\n'
    printf '  target:\n    urlSecretRef: {name: target-db, key: url}\n    version: "%s"\n' "$TARGET_MAJOR"
    printf '  transfer: {strategy: logical}\n  logical: {allowReplicaIdentityFull: true}\n'
  } > "$dir/upgrade.yaml"
  : > "$dir/writes.log"
  writer "postgresql://postgres@127.0.0.1:$lsrc_port/db" "postgresql://postgres@127.0.0.1:$target_port/db" \
    "$dir/upgrade.state.json" "$dir/writes.log" &
  writer_pid=$!
  sleep 2
  say "$method: java -jar pgupgrade.jar run (strategy logical) with $LOGICAL_RATE writes/s on the source"
  t0=$(now); rc=0
  env -u PGPASSFILE java -jar "$bench/pgupgrade.jar" run -f "$dir/upgrade.yaml" --secrets-dir "$dir/secrets" -o json \
    --pg-bin "$TARGET_MAJOR=$target_bin" > "$dir/result.json" 2> "$dir/run.err" || rc=$?
  t1=$(now)
  wait "$writer_pid" || true
  logical_scales+=("$lscale")
  if [[ $rc != 0 ]]; then
    say "$method: pgupgrade run exited with $rc:"; tail -n 20 "$dir/run.err" >&2
    L_SYNC[$lscale]=FAILED; L_BLOCKED[$lscale]=-; L_CUTOVER[$lscale]=-; L_LAG[$lscale]=-; L_LOST[$lscale]=-; L_SEQ[$lscale]=-; L_CHECK[$lscale]=-; L_WRITES[$lscale]=-
    failures=$((failures + 1))
  else
    last_source=$(awk '$1 == "source" { t = $2 } END { print t }' "$dir/writes.log")
    first_target=$(awk '$1 == "target" { print $2; exit }' "$dir/writes.log")
    L_WRITES[$lscale]=$(grep -c '^source' "$dir/writes.log" || true)
    L_BLOCKED[$lscale]=$(seconds "$last_source" "$first_target")
    L_SYNC[$lscale]=$(fmt "$(jq -r '[.status.steps[] | select(.phase == "Replicating")] | last | .durationSeconds // 0' "$dir/result.json")")
    L_CUTOVER[$lscale]=$(fmt "$(jq -r '[.status.steps[] | select(.phase == "Cutover")] | last | .durationSeconds // 0' "$dir/result.json")")
    # the lag the cutover started from: CatchingUp's last look ("... 12.0 KiB behind (0.3 s), ...", our own text)
    L_LAG[$lscale]=$(jq -r '[.status.steps[] | select(.phase == "CatchingUp")] | last | .message // ""' "$dir/result.json" \
      | sed -nE 's/.* ([0-9.]+ [KMGT]?i?B) behind \(([0-9.?]+) s\).*/\1 \/ \2 s/p')
    L_LAG[$lscale]=${L_LAG[$lscale]:--}
    # acknowledged by the source, missing on the target
    psql -X -qAt "postgresql://postgres@127.0.0.1:$target_port/db" -c "select id from bench_writes" | sort -n > "$dir/target.ids"
    awk '$1 == "source" { print $3 }' "$dir/writes.log" | sort -n > "$dir/source.ids"
    L_LOST[$lscale]=$(comm -23 "$dir/source.ids" "$dir/target.ids" | wc -l)
    # the target handed out ids after the source's: its sequence was set past them
    max_source=$(tail -n 1 "$dir/source.ids"); min_target=$(awk '$1 == "target" { print $3; exit }' "$dir/writes.log")
    if [[ -n $min_target && $min_target -gt ${max_source:-0} ]]; then L_SEQ[$lscale]=ok; else L_SEQ[$lscale]=BEHIND; failures=$((failures + 1)); fi
    # the copy itself: the source (opened again) against the target, table by table (bench_writes aside)
    psql -X -q "postgresql://postgres@127.0.0.1:$lsrc_port/template1" -c "alter database db allow_connections true"
    checksums "$lsrc_port" > "$bench/lsrc-$lscale.sums"
    checksums "$target_port" > "$bench/logical-$lscale.sums"
    if cmp -s "$bench/lsrc-$lscale.sums" "$bench/logical-$lscale.sums"; then L_CHECK[$lscale]=identical; else
      say "$method: database db differs:"; diff "$bench/lsrc-$lscale.sums" "$bench/logical-$lscale.sums" >&2 || true
      L_CHECK[$lscale]=DIFFERENT; failures=$((failures + 1)); fi
    ((L_LOST[$lscale] == 0)) || failures=$((failures + 1))
    say "$method: initial sync ${L_SYNC[$lscale]} s, writes blocked ${L_BLOCKED[$lscale]} s as the app saw it (Cutover ${L_CUTOVER[$lscale]} s in status), ${L_WRITES[$lscale]} writes acknowledged by the source, ${L_LOST[$lscale]} missing on the target, sequence ${L_SEQ[$lscale]}, total $(seconds "$t0" "$t1") s"
  fi
  stop_server "target-logical-$lscale" "$target_bin"
  stop_server "lsrc-$lscale" "$source_bin"
done

# --- 4. the table and the verdict ----------------------------------------------------------------------------------
echo
echo "make bench: PostgreSQL $SOURCE_MAJOR -> $TARGET_MAJOR, scale $SCALE$([[ $GIN == 1 ]] && echo ' + GIN'), $(nproc) cores, load average $load_before at start and $(cut -d' ' -f1 /proc/loadavg) at end, $(date -u +%Y-%m-%dT%H:%MZ)"
row() { printf '%-20s %7s %9s %17s %9s %18s %8s %14s  %s\n' "$@"; }
row method "dump s" "restore s" "downtime window s" "verify s" "verified s" "total s" "peak JVM RSS MiB" "data check"
for m in "${methods[@]}"; do
  row "$m" "${DUMP[$m]}" "${RESTORE[$m]}" "${WINDOW[$m]}" "${VERIFY[$m]}" "${VERIFIED[$m]}" "${TOTAL[$m]}" "${RSS[$m]}" "${CHECK[$m]}"
  [[ ${CHECK[$m]} != DIFFERENT ]] || failures=$((failures + 1))
done
[[ -z $footnote ]] || echo "$footnote"
if (( ${#logical_scales[@]} )); then
  echo
  echo "online: pgupgrade:logical, $LOGICAL_RATE writes/s on the source for the whole upgrade, then on the target"
  lrow() { printf '%-7s %15s %20s %24s %19s %14s %14s %9s  %s\n' "$@"; }
  lrow scale "initial sync s" "lag at cutover" "writes blocked s (app)" "cutover s (status)" "writes acked" "lost on target" sequence "data check"
  for l in "${logical_scales[@]}"; do
    lrow "$l" "${L_SYNC[$l]}" "${L_LAG[$l]}" "${L_BLOCKED[$l]}" "${L_CUTOVER[$l]}" "${L_WRITES[$l]}" "${L_LOST[$l]}" "${L_SEQ[$l]}" "${L_CHECK[$l]}"
  done
fi
echo
(( failures == 0 )) || die "FAILED: $failures method(s) failed or left a target different from the source (see above)"

best=
for m in "${methods[@]}"; do
  [[ $m == pgupgrade:* && ${WINDOW[$m]} =~ ^[0-9.]+$ ]] || continue
  if [[ -z $best ]] || awk -v a="${WINDOW[$m]}" -v b="${WINDOW[$best]}" 'BEGIN { exit !(a < b) }'; then best=$m; fi
done
[[ -n $best ]] || die "FAILED: no pgupgrade strategy was timed"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
best_name=${best#pgupgrade:}
online=
if (( ${#logical_scales[@]} )); then
  # the worst blocked window of the sizes, every lost write; and whether the window grew with the size
  blocked=$(for l in "${logical_scales[@]}"; do echo "${L_BLOCKED[$l]}"; done | sort -g | tail -n 1)
  lost=$(for l in "${logical_scales[@]}"; do echo "${L_LOST[$l]}"; done | awk '{ s += $1 } END { print s + 0 }')
  small=${logical_scales[0]} large=${logical_scales[${#logical_scales[@]} - 1]}
  growth=$(awk -v a="${L_BLOCKED[$large]}" -v b="${L_BLOCKED[$small]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "online goals: writes blocked <= 2 s at every size ($blocked s), scale $large vs $small <= 1.3x (${growth}x), 0 acknowledged writes lost ($lost)"
  online=" online_blocked_s=$blocked online_lost_writes=$lost"
fi
# verified downtime: the best pgupgrade strategy's (Verifying on) against the others' windows, which prove nothing
verified_best=
for m in "${methods[@]}"; do
  [[ $m == pgupgrade:* && ${VERIFIED[$m]} =~ ^[0-9.]+$ ]] || continue
  if [[ -z $verified_best ]] || awk -v a="${VERIFIED[$m]}" -v b="${VERIFIED[$verified_best]}" 'BEGIN { exit !(a < b) }'; then verified_best=$m; fi
done
verified=
if [[ -n $verified_best ]]; then
  verified=" verified_best=${verified_best#pgupgrade:} verified_ratio_vs_runbook=$(ratio "${VERIFIED[$verified_best]}" "${WINDOW[runbook]}")"
  verified+=" verified_ratio_vs_pgcopydb=$(ratio "${VERIFIED[$verified_best]}" "${WINDOW[pgcopydb]}")"
fi
echo "bench: best_strategy=${best_name%\*} ratio_vs_runbook=$(ratio "${WINDOW[$best]}" "${WINDOW[runbook]}") ratio_vs_pgcopydb=$(ratio "${WINDOW[$best]}" "${WINDOW[pgcopydb]}")$verified$online"
