#!/usr/bin/env bash
# Verifying: proves the target holds what the source holds before the apps are pointed at it.
# Both sides answer the same questions -- inventories (verify-cluster.sql, verify-inventory.sql) and
# data queries generated once from the source's catalog (verify-queries.sql) -- as lines
# "category<TAB>key<TAB>value" (key and value escaped, so no name can break a line or a field); a key
# whose value differs, or that only one side has, is a mismatch. Read-only
# (default_transaction_read_only), time-limited (statement_timeout), PARALLELISM sessions per side.
# Names are data here: they reach psql only through quoted identifiers and connection strings, and
# awk only as input, never as program text.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE; VERIFY_MODE (counts|checksums),
#      VERIFY_MAX_CHECKSUM_MB, VERIFY_PARALLELISM, VERIFY_STATEMENT_TIMEOUT_SECONDS;
#      VERIFY_SIDES: both (the usual), or the two halves of the logical strategy's comparison at the
#      slots' starting point: "source" (run by logical-copy.sh) stores the source's answers in
#      VERIFY_FACTS_DIR, each database read at its snapshot in VERIFY_SNAPSHOTS (see pipeline.sh);
#      "target" (Verifying) asks the target the stored questions and compares with the stored answers.
#      VERIFY_HELD_DIR: platform aptible's cutover: every source database is frozen and read through the
#      sessions held in it (held-sessions.sh); SOURCE_URL then names template1, which stays open.
#      VERIFY_PROVEN_DIR (under WORK_DIR): the proofs of the pipeline strategy's copy (pipeline.sh).
#      When the source provably has not changed since the copy began, a table proven there is compared
#      by its two hashes (the source's rows as they were sent, the target's as it committed them)
#      instead of being read again on both servers; otherwise every table is read as usual.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/held-sessions.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${VERIFY_MODE:?}
max_bytes=$(( ${VERIFY_MAX_CHECKSUM_MB:?} * 1024 * 1024 ))
parallel=${VERIFY_PARALLELISM:?}
timeout_ms=$(( ${VERIFY_STATEMENT_TIMEOUT_SECONDS:?} * 1000 ))
[[ $mode == counts || $mode == checksums ]] || die "VERIFY_MODE must be counts or checksums"
sides=${VERIFY_SIDES:?}
case $sides in
  both) ;;
  source|target) facts=${VERIFY_FACTS_DIR:?}; [[ $facts == /* ]] || facts=$WORK_DIR/$facts; [[ $sides == target ]] || mkdir -p "$facts" ;;
  *) die "VERIFY_SIDES must be both, source or target" ;;
esac
# stored DB: where the stored answers about database DB are (sides source and target)
stored() { printf '%s/%s' "$facts" "$(key "$1")"; }

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
  local url=$SOURCE_URL what="the source server" target=()
  [[ $side == target ]] && { url=$TARGET_URL; what="the target server"; }
  # platform aptible's cutover: the frozen source database is read through the session it holds there
  if [[ $side == source && -n $db && -n ${VERIFY_HELD_DIR:-} ]]; then
    held_request "$VERIFY_HELD_DIR" "$db" "$out" "$err" "$@"
    return
  fi
  [[ -n $db ]] && target=(-d "$(conninfo_dbname "$db")")
  # the source at the database's exported snapshot, when there is one (sides=source)
  if [[ $side == source && -n $db && -n ${VERIFY_SNAPSHOTS:-} ]]; then
    local file; file=$VERIFY_SNAPSHOTS/$(key "$db").snapshot
    [[ -f $file ]] && target+=(-c "begin isolation level repeatable read read only" -c "set transaction snapshot '$(cat "$file")'")
  fi
  ( use_url "$url" "$what"; psql -X -q -A -t "${target[@]}" "$@" ) > "$out" 2> "$err"
}

# compare LABEL SOURCE_FACTS TARGET_FACTS [REFRESHED]: appends the mismatches, one readable line each,
# "LABEL<category> <key>: ...". REFRESHED: what each materialized view's query returns on the source
# now; a view whose target rows equal that was refreshed by the restore, which is what a restore
# does, and is noted in LABEL's notes instead.
compare() {
  LABEL=$1 NOTES=$dir/notes.txt awk -F'\t' '
    FILENAME == ARGV[1] { src[$1 FS $2] = $3; next }
    FILENAME == ARGV[2] { tgt[$1 FS $2] = $3; next }
    { refreshed["rows" FS $2] = $3 }
    END {
      label = ENVIRON["LABEL"]
      for (k in src) {
        split(k, p, FS)
        if (!(k in tgt)) printf "%s%s %s: missing on the target%s\n", label, p[1], p[2], (src[k] == "" ? "" : " (source: " src[k] ")")
        else if (src[k] != tgt[k]) {
          if ((k in refreshed) && refreshed[k] == tgt[k])
            printf "%smaterialized view %s was stale on the source; the restore refreshed it (its query: %s)\n", label, p[2], tgt[k] >> ENVIRON["NOTES"]
          else printf "%s%s %s: source %s, target %s\n", label, p[1], p[2], src[k], tgt[k]
        }
      }
      for (k in tgt) if (!(k in src)) {
        split(k, p, FS)
        # databases and roles only the target has (a platform'"'"'s own) are not a loss of data
        if (p[1] != "database" && p[1] != "role" && p[1] != "membership") printf "%s%s %s: only on the target\n", label, p[1], p[2]
      }
    }' "$2" "$3" "${4:-/dev/null}" | sort >> "$dir/mismatches.txt"
}

# errors_of SIDE LABEL FILE...: psql errors mean a question went unanswered: on the target that is a
# mismatch (a missing table, a timeout), on the source the verification itself failed.
errors_of() {
  local side=$1 label=$2; shift 2
  cat "$@" | grep -E '(ERROR|FATAL):' | LABEL="$label" SIDE="$side" awk '{ sub(/^psql:[^:]*:[0-9]+: /, ""); print ENVIRON["LABEL"] ENVIRON["SIDE"] " error: " $0 }' || true
}

started=$(date +%s%N)
: > "$dir/mismatches.txt"; : > "$dir/summaries.txt"; : > "$dir/notes.txt"

# The copy's proofs hold only if nothing wrote to the source since the copy began: its
# txid_current_snapshot() still reads as it did before the copy, when nothing was in progress (a
# write that committed or aborted in between moved xmax; one still in progress has changed nothing
# yet, for this or any reader). Autovacuum's ANALYZE or a platform's heartbeat writes move it too:
# the proofs are then set aside, never trusted wrongly.
proofs=
if [[ -n ${VERIFY_PROVEN_DIR:-} && $sides == both && $mode == checksums ]]; then
  proofs=$VERIFY_PROVEN_DIR; [[ $proofs == /* ]] || proofs=$WORK_DIR/$proofs
  if [[ ! -f $proofs/source-xids ]]; then
    proofs=
    echo "the copy left no proofs: every table was read on both servers" >> "$dir/notes.txt"
  else
    xids_before=$(cat "$proofs/source-xids")
    xids_now=$(psql_at "$SOURCE_URL" "the source server" "select txid_current_snapshot()")
    IFS=: read -r xmin xmax in_progress <<< "$xids_before"
    if [[ $xids_now != "$xids_before" || $xmin != "$xmax" || -n $in_progress ]]; then
      proofs=
      printf 'the source assigned transaction ids during the copy (%s, then %s): every table was read on both servers\n' \
        "$xids_before" "$xids_now" >> "$dir/notes.txt"
    fi
  fi
fi
# proven_oids DB: the tables of database DB the copy proved, as an array literal of oids ({} for none)
proven_oids() {
  local list='' f
  [[ -n $proofs ]] || { echo '{}'; return 0; }
  for f in "$proofs/$(key "$1")"/*.proof; do
    [[ -f $f ]] || continue
    f=${f##*/}; list+=${list:+,}${f%.proof}
  done
  echo "{$list}"
}
# questions DB D PROVEN: the data questions about database DB, generated from the source's catalog
# (verify-queries.sql) into D.queries; PROVEN: the oids of the tables the copy proved, as an array
# literal. questions_listed DB D: ends the step when they could not be.
questions() {
  on source "$1" "$2.queries" "$2.queries.err" -0 -v ON_ERROR_STOP=1 -v what=data -v mode="$mode" -v max_bytes="$max_bytes" \
    -v proven="$3" -f "$here/verify-queries.sql"
}
questions_listed() {
  [[ ! -s $2.queries.err ]] || die "cannot list the tables of database $(escaped "$1") on the source: $(errors_of source "" "$2.queries.err" | head -n 1)"
}
# ask DB D: the data questions of D.queries, PARALLELISM sessions per side (largest tables first, dealt
# round-robin); those about the tables the copy proved (marked /* proof */) go to the target alone, in
# the same sessions (after the others: their answers are the lines "proof<TAB>...")
ask() {
  local db=$1 d=$2 i=0 j=0 query
  rm -f "$d".part* "$d".proof*
  for ((i = 0; i < parallel; i++)); do echo 'set search_path = pg_catalog;' > "$d.part$i.sql"; done
  i=0
  while IFS= read -r -d '' query; do
    if [[ $query == '/* proof */ '* ]]; then
      [[ -f $d.proof$((j % parallel)).sql ]] || echo 'set search_path = pg_catalog;' > "$d.proof$((j % parallel)).sql"
      printf '%s\n' "$query" >> "$d.proof$((j % parallel)).sql"
      j=$((j + 1))
    else
      printf '%s\n' "$query" >> "$d.part$((i % parallel)).sql"
      i=$((i + 1))
    fi
  done < "$d.queries"
  for ((i = 0; i < parallel; i++)); do
    [[ $sides == target ]] || on source "$db" "$d.part$i.source" "$d.part$i.source.err" -f "$d.part$i.sql" &
    local proofs_too=()
    [[ ! -f $d.proof$i.sql ]] || proofs_too=(-f "$d.proof$i.sql")
    [[ $sides == source ]] || on target "$db" "$d.part$i.target" "$d.part$i.target.err" -f "$d.part$i.sql" "${proofs_too[@]}" &
  done
  wait
}

# settle_proofs DB D: turns the target's answers about the tables the copy proved (the "proof" lines
# of D.partN.target) into facts of both sides, "rows<TAB>key<TAB>stream=SHA256" (D.settled.source,
# D.settled.target), when each table still holds exactly the rows its copy loaded, all written by the
# copy's transaction, under the same columns, and the copy's two hashes agree. Fails, with the reasons
# in D.changed, if one does not or did not answer: every table of the database is then read on both
# servers instead, so that a difference is named by the usual checksums, or was none.
settle_proofs() {
  local at; at=$proofs/$(key "$1")
  : > "$2.settled.source"; : > "$2.settled.target"; : > "$2.changed"
  cat "$2".part*.target 2>/dev/null | AT=$at OUT=$2 awk -F'\t' '
    $1 == "proof" {
      oid = $2; key = $3; columns = $4; written = $5; file = ENVIRON["AT"] "/" oid ".proof"; line = ""
      changed = ENVIRON["OUT"] ".changed"
      if ((getline line < file) <= 0 || split(line, p, " ") != 5 || p[3] !~ /^[0-9]+$/ || p[4] !~ /^[0-9]+$/) {
        print key ": its proof is unreadable" >> changed; close(file); next
      }
      close(file)
      # p: source hash, target hash (SHA-256), rows loaded, loading transaction, columns fingerprint
      if (columns != p[5]) print key ": its columns changed after the copy" >> changed
      else if (written != (p[3] == 0 ? "" : p[4] " " p[3]))
        print key ": the copy loaded " p[3] " rows in transaction " p[4] "; now, rows by writer: " (written == "" ? "none" : written) >> changed
      else if (p[1] != p[2]) print key ": the rows read back differ from those sent" >> changed
      else {
        print "rows" FS key FS "stream=" p[1] >> (ENVIRON["OUT"] ".settled.source")
        print "rows" FS key FS "stream=" p[2] >> (ENVIRON["OUT"] ".settled.target")
      }
    }'
  local proven; proven=$(proven_oids "$1"); proven=${proven#\{}; proven=${proven%\}}
  local expected=0 settled
  [[ -z $proven ]] || expected=$(tr ',' '\n' <<< "$proven" | wc -l)
  settled=$(wc -l < "$2.settled.source")
  ((settled == expected)) && return 0
  [[ -s $2.changed ]] || echo "a proven table did not answer" > "$2.changed"
  return 1
}
if [[ $sides != source ]]; then
stage "comparing roles, memberships and databases"
on source "" "$dir/cluster.source" "$dir/cluster.source.err" -v ON_ERROR_STOP=1 -v target_user="$target_user" -f "$here/verify-cluster.sql" &
source_pid=$!
on target "" "$dir/cluster.target" "$dir/cluster.target.err" -v ON_ERROR_STOP=1 -v target_user="$target_user" -f "$here/verify-cluster.sql" &
target_pid=$!
wait "$source_pid" || die "cannot read the source's roles and databases: $(errors_of source "" "$dir/cluster.source.err" | head -n 1)"
wait "$target_pid" || die "cannot read the target's roles and databases: $(errors_of target "" "$dir/cluster.target.err" | head -n 1)"
compare "" "$dir/cluster.source" "$dir/cluster.target"
fi

# the databases to compare one by one: every one of the source that can be entered and that the
# target has (one it lacks is already a mismatch above); names NUL-separated, as they may hold newlines
if [[ $sides == target ]]; then
  cp "$facts/databases" "$dir/databases.source" 2>/dev/null || die "the source's stored answers are missing (${facts##*/}): the copy must run again"
elif [[ -n ${VERIFY_HELD_DIR:-} ]]; then
  # frozen (no connection allowed): the databases a session is held in
  databases_z "$SOURCE_URL" "the source server" "not datistemplate" | while IFS= read -r -d '' db; do
    [[ ! -f $VERIFY_HELD_DIR/$(key "$db").sessions ]] || printf '%s\0' "$db"
  done > "$dir/databases.source"
else
  databases_z "$SOURCE_URL" "the source server" "not datistemplate and datallowconn" > "$dir/databases.source"
fi
[[ $sides == source ]] && cp "$dir/databases.source" "$facts/databases"
if [[ $sides == source ]]; then cp "$dir/databases.source" "$dir/databases.target"; else
databases_z "$TARGET_URL" "the target server" "not datistemplate" > "$dir/databases.target"; fi
declare -A on_target=()
while IFS= read -r -d '' db; do on_target[$db]=1; done < "$dir/databases.target"

tables=0; databases=0
while IFS= read -r -d '' db; do
  [[ -n ${on_target[$db]:-} ]] || continue
  databases=$((databases + 1))
  d=$dir/db$databases
  label="$(escaped "$db"): "
  stage "comparing database $(escaped "$db")"
  if [[ $sides == target ]]; then
    s=$(stored "$db")
    if ! cp "$s.inventory" "$d.inventory.source" || ! cp "$s.queries" "$d.queries"; then
      die "the source's stored answers about database $(escaped "$db") are missing"
    fi
    : > "$d.inventory.source.err"; : > "$d.queries.err"
  else
    on source "$db" "$d.inventory.source" "$d.inventory.source.err" -f "$here/verify-inventory.sql" &
    questions "$db" "$d" "$(proven_oids "$db")" &
  fi
  [[ $sides == source ]] || on target "$db" "$d.inventory.target" "$d.inventory.target.err" -f "$here/verify-inventory.sql" &
  wait
  questions_listed "$db" "$d"
  : > "$d.settled.source"; : > "$d.settled.target"
  ask "$db" "$d"
  if [[ -n $proofs ]] && ! settle_proofs "$db" "$d"; then
    # a proven table changed on the target after its copy, or did not answer: no proof is taken for
    # this database, whose every table is read on both servers instead
    printf '%sa proof of the copy does not hold (%s): every table was read on both servers\n' "$label" \
      "$(paste -sd ';' "$d.changed" | sed 's/;/; /g')" >> "$dir/notes.txt"
    : > "$d.settled.source"; : > "$d.settled.target"
    questions "$db" "$d" '{}'
    questions_listed "$db" "$d"
    ask "$db" "$d"
  fi
  if [[ $sides == target ]]; then
    cp "$s.facts" "$d.source" || die "the source's stored answers about database $(escaped "$db") are missing"
  else
    cat "$d.inventory.source" "$d".part*.source "$d.settled.source" | grep . | sort > "$d.source" || true
  fi
  [[ $sides == source ]] || { cat "$d.inventory.target" "$d".part*.target "$d.settled.target" | grep -v -e '^$' -e '^proof'$'\t' | sort > "$d.target" || true; }
  source_errors=$(errors_of source "" "$d".*.source.err | head -n 1)
  [[ -z $source_errors ]] || die "could not read database $(escaped "$db") on the source: $source_errors"
  if [[ $sides == source ]]; then
    # stored: the questions, the answers, and every materialized view's query's answer (the recheck
    # below cannot ask the source later: by then it has moved on)
    s=$(stored "$db")
    cp "$d.queries" "$s.queries"; cp "$d.inventory.source" "$s.inventory"; cp "$d.source" "$s.facts"
    : > "$s.refreshed"
    on source "$db" "$d.recheck" "$d.recheck.err" -0 -v ON_ERROR_STOP=1 -v what=recheck -v mode="$mode" -v max_bytes="$max_bytes" -v proven='{}' -f "$here/verify-queries.sql"
    if [[ -s $d.recheck ]]; then
      echo 'set search_path = pg_catalog;' > "$d.recheck.sql"
      while IFS= read -r -d '' query; do printf '%s\n' "$query" >> "$d.recheck.sql"; done < "$d.recheck"
      on source "$db" "$s.refreshed" "$d.refreshed.err" -f "$d.recheck.sql"
    fi
    n_tables=$(grep -c '^rows'$'\t' "$d.source" || true); tables=$((tables + n_tables))
    continue
  fi
  # a materialized view whose rows differ: what its query returns on the source now (see compare)
  refreshed=/dev/null
  if [[ $sides == target ]]; then
    refreshed=$s.refreshed
  elif grep -q '^rows'$'\t' "$d.source" && awk -F'\t' 'FILENAME == ARGV[1] { s[$1 FS $2] = $3; next } $1 == "rows" && s[$1 FS $2] != $3 { found = 1 } END { exit !found }' "$d.source" "$d.target"; then
    on source "$db" "$d.recheck" "$d.recheck.err" -0 -v ON_ERROR_STOP=1 -v what=recheck -v mode="$mode" -v max_bytes="$max_bytes" -v proven='{}' -f "$here/verify-queries.sql"
    if [[ -s $d.recheck ]]; then
      echo 'set search_path = pg_catalog;' > "$d.recheck.sql"
      while IFS= read -r -d '' query; do printf '%s\n' "$query" >> "$d.recheck.sql"; done < "$d.recheck"
      on source "$db" "$d.refreshed" "$d.refreshed.err" -f "$d.recheck.sql"
      refreshed=$d.refreshed
    fi
  fi
  if [[ $sides == target ]]; then
    # A sequence is not transactional: no snapshot shows its value at the slots' starting point, and
    # replication does not carry it. The cutover sets every one from the frozen source instead.
    grep -v '^sequence'$'\t' "$d.source" > "$d.source.x" || true; mv "$d.source.x" "$d.source"
    grep -v '^sequence'$'\t' "$d.target" > "$d.target.x" || true; mv "$d.target.x" "$d.target"
  fi
  before=$(wc -l < "$dir/mismatches.txt")
  compare "$label" "$d.source" "$d.target" "$refreshed"
  errors_of target "$label" "$d".*.target.err >> "$dir/mismatches.txt"
  found=$(( $(wc -l < "$dir/mismatches.txt") - before ))
  n_tables=$(grep -c '^rows'$'\t' "$d.source" || true); tables=$((tables + n_tables))
  n_checksums=$(grep -c -E '^rows'$'\t''.*( sum=|'$'\t''stream=)' "$d.source" || true)
  n_proven=$(grep -c '^rows'$'\t''.*'$'\t''stream=' "$d.source" || true)
  n_sequences=$(grep -c '^sequence'$'\t' "$d.source" || true)
  n_lo=$(awk -F'\t' '$1 == "largeobjects" && $2 == "count" { print $3 }' "$d.source")
  printf '%s%s tables (%s with content checksums, %s of them proven during the copy), %s sequences, %s large objects: %s mismatches\n' \
    "$label" "$n_tables" "$n_checksums" "$n_proven" "$n_sequences" "${n_lo:-0}" "$found" >> "$dir/summaries.txt"
done < "$dir/databases.source"
cat "$dir/notes.txt" >> "$dir/summaries.txt"
finished=$(date +%s%N)

result_str mode "$mode"
result_num databases "$databases"
result_num tables "$tables"
result_num mismatchCount "$(wc -l < "$dir/mismatches.txt")"
result_lines mismatches "$dir/mismatches.txt" 20
result_lines summaries "$dir/summaries.txt" 20
result_num durationMillis "$(( (finished - started) / 1000000 ))"
succeed
