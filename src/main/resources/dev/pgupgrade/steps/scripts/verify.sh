#!/usr/bin/env bash
# Verifying: proves the target holds what the source holds before the apps are pointed at it.
# Both sides answer the same questions -- inventories (verify-cluster.sql, verify-inventory.sql) and
# data queries generated once from the source's catalog (verify-queries.sql) -- as "category|key|value"
# lines; a key whose value differs, or that only one side has, is a mismatch. Read-only
# (default_transaction_read_only), time-limited (statement_timeout), PARALLELISM sessions per side.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE; VERIFY_MODE (counts|checksums),
#      VERIFY_MAX_CHECKSUM_MB, VERIFY_PARALLELISM, VERIFY_STATEMENT_TIMEOUT_SECONDS.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${VERIFY_MODE:-checksums}
max_bytes=$(( ${VERIFY_MAX_CHECKSUM_MB:-1024} * 1024 * 1024 ))
parallel=${VERIFY_PARALLELISM:-2}
timeout_ms=$(( ${VERIFY_STATEMENT_TIMEOUT_SECONDS:-1800} * 1000 ))
[[ $mode == counts || $mode == checksums ]] || die "VERIFY_MODE must be counts or checksums"

# Text forms that do not depend on session defaults, so equal rows print equally on both sides.
# Floats: when both sides are 12 or newer, extra_float_digits=1 prints the shortest text that reads
# back to the exact same value, the same way on every such major, so a change in the last bit shows.
# With an older side, 0: 15 significant digits, printed the same way by every major (older majors
# print 17 digits above 0, which differ from 12+'s shortest form for equal values); a change past
# the 15th digit then goes unseen.
source_num=$(psql_at "$SOURCE_URL" "the source server" "show server_version_num")
target_num=$(psql_at "$TARGET_URL" "the target server" "show server_version_num")
float_digits=0
((source_num >= 120000 && target_num >= 120000)) && float_digits=1
export PGTZ=UTC PGDATESTYLE=ISO
export PGOPTIONS="-c extra_float_digits=$float_digits -c bytea_output=hex -c IntervalStyle=postgres -c lc_monetary=C -c statement_timeout=$timeout_ms -c default_transaction_read_only=on -c row_security=off"

dir=$WORK_DIR/verify
rm -rf "$dir"; mkdir -p "$dir"
target_user=$(connection_user "$TARGET_URL" "the target server")

# on SIDE DB OUT ERR psql-args...: one psql session on one side, in database DB (empty: the URL's).
on() {
  local side=$1 db=$2 out=$3 err=$4; shift 4
  local url=$SOURCE_URL what="the source server"
  [[ $side == target ]] && { url=$TARGET_URL; what="the target server"; }
  ( use_url "$url" "$what"; [[ -n $db ]] && export PGDATABASE=$db; psql -X -q -A -t "$@" ) > "$out" 2> "$err"
}

# compare DB SOURCE_LINES TARGET_LINES: appends the mismatches, one readable line each.
compare() {
  awk -F'|' -v db="$1" '
    NR == FNR { src[$1 "|" $2] = $3; next }
    { tgt[$1 "|" $2] = $3 }
    END {
      for (k in src) {
        split(k, p, "|")
        if (!(k in tgt)) printf "%s%s %s: missing on the target%s\n", db, p[1], p[2], (src[k] == "" ? "" : " (source: " src[k] ")")
        else if (src[k] != tgt[k]) printf "%s%s %s: source %s, target %s\n", db, p[1], p[2], src[k], tgt[k]
      }
      for (k in tgt) if (!(k in src)) {
        split(k, p, "|")
        # databases and roles only the target has (a platform'"'"'s own) are not a loss of data
        if (p[1] != "database" && p[1] != "role" && p[1] != "membership") printf "%s%s %s: only on the target\n", db, p[1], p[2]
      }
    }' "$2" "$3" | sort >> "$dir/mismatches.txt"
}

# errors SIDE FILE: psql errors mean a question went unanswered: on the target that is a mismatch
# (a missing table, a timeout), on the source the verification itself failed.
errors_of() { grep -E '(ERROR|FATAL):' "$2" | sed -E "s/^psql:[^:]*:([0-9]+): //; s/^/$1 error: /" || true; }

started=$(date +%s%N)
: > "$dir/mismatches.txt"; : > "$dir/summaries.txt"
stage "comparing roles, memberships and databases"
on source "" "$dir/cluster.source" "$dir/cluster.source.err" -v ON_ERROR_STOP=1 -v target_user="$target_user" -f "$here/verify-cluster.sql" &
source_pid=$!
on target "" "$dir/cluster.target" "$dir/cluster.target.err" -v ON_ERROR_STOP=1 -v target_user="$target_user" -f "$here/verify-cluster.sql" &
target_pid=$!
wait "$source_pid" || die "cannot read the source's roles and databases: $(errors_of source "$dir/cluster.source.err" | head -n 1)"
wait "$target_pid" || die "cannot read the target's roles and databases: $(errors_of target "$dir/cluster.target.err" | head -n 1)"
compare "" "$dir/cluster.source" "$dir/cluster.target"

sed -nE 's/^database\|([^|]*)\|.*/\1/p' "$dir/cluster.source" | sort > "$dir/databases"
sed -nE 's/^database\|([^|]*)\|.*/\1/p' "$dir/cluster.target" | sort > "$dir/databases.target"
tables=0; databases=0
while IFS= read -r quoted; do
  # quote_ident output back to the name: strip the quotes and undouble inner ones
  db=$quoted; if [[ $db == \"*\" ]]; then db=${db#\"}; db=${db%\"}; db=${db//\"\"/\"}; fi
  grep -Fxq -- "$quoted" "$dir/databases.target" || continue  # already reported as missing
  databases=$((databases + 1))
  d=$dir/db$databases
  stage "comparing database $db"
  on source "$db" "$d.inventory.source" "$d.inventory.source.err" -f "$here/verify-inventory.sql" &
  on target "$db" "$d.inventory.target" "$d.inventory.target.err" -f "$here/verify-inventory.sql" &
  on source "$db" "$d.queries" "$d.queries.err" -v ON_ERROR_STOP=1 -v mode="$mode" -v max_bytes="$max_bytes" -f "$here/verify-queries.sql" &
  wait
  [[ -s $d.queries.err ]] && die "cannot list the tables of database $db on the source: $(errors_of source "$d.queries.err" | head -n 1)"
  # the data questions, PARALLELISM sessions per side (largest tables first, dealt round-robin)
  for ((i = 0; i < parallel; i++)); do
    awk -v n="$parallel" -v i="$i" 'NF && (NR - 1) % n == i' "$d.queries" > "$d.part$i.sql"
    on source "$db" "$d.part$i.source" "$d.part$i.source.err" -f "$d.part$i.sql" &
    on target "$db" "$d.part$i.target" "$d.part$i.target.err" -f "$d.part$i.sql" &
  done
  wait
  cat "$d.inventory.source" "$d".part*.source | grep . | sort > "$d.source"
  cat "$d.inventory.target" "$d".part*.target | grep . | sort > "$d.target"
  source_errors=$(cat "$d".*.source.err | errors_of source /dev/stdin | head -n 1)
  [[ -z $source_errors ]] || die "could not read database $db on the source: $source_errors"
  before=$(wc -l < "$dir/mismatches.txt")
  compare "$db: " "$d.source" "$d.target"
  cat "$d".*.target.err | errors_of target /dev/stdin | sed "s/^/$db: /" >> "$dir/mismatches.txt"
  found=$(( $(wc -l < "$dir/mismatches.txt") - before ))
  n_tables=$(grep -c '^rows|' "$d.source" || true); tables=$((tables + n_tables))
  n_checksums=$(grep -c '^rows|.* sum=' "$d.source" || true)
  n_sequences=$(grep -c '^sequence|' "$d.source" || true)
  n_lo=$(sed -nE 's/^largeobjects\|count\|//p' "$d.source")
  echo "$db: $n_tables tables ($n_checksums with content checksums), $n_sequences sequences, ${n_lo:-0} large objects: $found mismatches" >> "$dir/summaries.txt"
done < "$dir/databases"
finished=$(date +%s%N)

result_str mode "$mode"
result_num databases "$databases"
result_num tables "$tables"
result_num mismatchCount "$(wc -l < "$dir/mismatches.txt")"
result_lines mismatches "$dir/mismatches.txt" 20
result_lines summaries "$dir/summaries.txt" 20
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
