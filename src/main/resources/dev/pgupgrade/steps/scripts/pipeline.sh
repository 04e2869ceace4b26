#!/usr/bin/env bash
# Restoring, strategy "pipeline": no dump of the big tables on disk. Per database, one small archive
# holds everything but the big tables' rows (pg_dump -Fc --create, uncompressed, with the data of
# every table of PIPELINE_STREAM_MIN_BYTES or more excluded): its pre-data (tables, types,
# functions...) is restored first; then every big table's rows are streamed with COPY straight from
# the source into the target (binary where every column's type allows it), TRANSFER_JOBS tables at a
# time, largest first, each worker taking the next table when it is free, and its indexes built as soon
# as its rows are in; then the archive's data section (the small tables' rows, sequence values, large
# objects, extension configuration rows) and its post-data (the other indexes, constraints, triggers,
# materialized view contents) with pg_restore -j. A streamed table costs two psql sessions and a
# pg_restore of its own, which for a table of a few pages is most of its time: the small ones go
# through pg_restore -j as in the strategy "parallel". Globals and error classification as in the
# other strategies.
# Proof: with PIPELINE_PROOF_DIR, the copy also proves the tables it can (pipeline-tables.sql says
# which): the source's binary rows are hashed (SHA-256, hash_stream) as they stream by (tee), and once the
# target has committed them they are read back from the target and hashed again, while the table's
# indexes build. A table's proof, DIR/<database key>/<oid>.proof, reads "SOURCE_SHA256 TARGET_SHA256 ROWS
# XID COLUMNS": the hashes, the rows the target's COPY loaded in its transaction XID (32 bits, as xmin
# shows it) and the fingerprint of the target table's columns. Verifying compares the hashes instead
# of reading the table on both servers, if the source provably did not change since the copy began
# (no transaction id was assigned or ended on it in between, see source-xids) and the target's table
# still holds exactly ROWS rows, all with xmin XID, under the same columns.
# A table that could not be hashed has no proof, and Verifying reads it as before.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, TRANSFER_JOBS, RESTORE_MAINTENANCE_WORK_MEM,
#      PIPELINE_STREAM_MIN_BYTES (the smallest table streamed);
#      PIPELINE_PROOF_DIR (under WORK_DIR), PIPELINE_PROOF_MIN_BYTES and PIPELINE_PROOF_MAX_MB (the sizes of
#      the tables proven);
#      PIPELINE_SNAPSHOTS, set only by logical-copy.sh: a directory with, per database (file named by
#      the md5 key of its name, ".snapshot"), the exported snapshot every read of it must use.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"

jobs=$(transfer_jobs)
stream_min_bytes=${PIPELINE_STREAM_MIN_BYTES:?}
dir=$WORK_DIR/pipeline
rm -rf "$dir"; mkdir -p "$dir"

# Row formats that mean the same on both sides whatever the servers' and roles' defaults, as pg_dump
# pins them on its own sessions: ISO dates (a "SQL, DMY" source would otherwise print 04/03/2024 for
# a target reading MDY), postgres intervals, every float digit (a source older than 12 prints 15
# digits by default: the last two would be lost), C money, XML content; and each database's own
# encoding as the client encoding on both sides (set per database by src/tgt), so no byte is converted.
row_format="-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c lc_monetary=C -c xmloption=content"

# no_timeouts VERSION_NUM: a role's or server's statement_timeout (common on managed servers) must not
# cut a long COPY short, as pg_dump and pg_restore make sure for their own sessions.
no_timeouts() {
  local opts="-c statement_timeout=0"
  (($1 >= 90300)) && opts+=" -c lock_timeout=0"
  (($1 >= 90600)) && opts+=" -c idle_in_transaction_session_timeout=0"
  echo "$opts"
}
source_num=$(psql_at "$SOURCE_URL" "the source server" "show server_version_num")
target_num=$(psql_at "$TARGET_URL" "the target server" "show server_version_num")
source_session="-c row_security=off $(no_timeouts "$source_num") $row_format"
target_session="$(no_timeouts "$target_num") $row_format"

# src DB / tgt DB: the environment of a session on the source (RLS off: every row is read, or an
# error says why not) or a tuned restore session on the target, in database DB (empty: the URL's).
src() { use_url "$SOURCE_URL" "the source server"; db_env "${1:-}"; export PGOPTIONS=$source_session; }
tgt() { use_url "$TARGET_URL" "the target server"; db_env "${1:-}"; export PGOPTIONS="$tuning $target_session"; }
db_env() {
  [[ -n $1 ]] || return 0
  export PGDATABASE=$1
  local encoding; encoding=$(cat "$dir/encoding.$(key "$1")" 2>/dev/null) && export PGCLIENTENCODING=$encoding
  return 0
}

# at_snapshot DB: the psql options that open a transaction at database DB's exported snapshot, when
# there is one (the logical strategy): every read of it then sees the slot's starting point.
at_snapshot() {
  local file snapshot
  [[ -n ${PIPELINE_SNAPSHOTS:-} ]] || return 0
  file=$PIPELINE_SNAPSHOTS/$(key "$1").snapshot
  [[ -f $file ]] || return 0
  snapshot=$(cat "$file")
  printf '%s\0' -c "begin isolation level repeatable read read only" -c "set transaction snapshot '$snapshot'"
}
snapshot_of() {
  [[ -n ${PIPELINE_SNAPSHOTS:-} ]] || return 0
  local file; file=$PIPELINE_SNAPSHOTS/$(key "$1").snapshot
  [[ -f $file ]] && printf -- '--snapshot=%s' "$(cat "$file")"
  return 0
}

# The tables to copy, with how (pipeline-tables.sql: binary or text, the column list).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# read_table: reads the next record of a table list into oid, table, size, format, columns and provable
read_table() {
  IFS= read -r -d '' oid && IFS= read -r -d '' table && IFS= read -r -d '' size && IFS= read -r -d '' format \
    && IFS= read -r -d '' columns && IFS= read -r -d '' provable
}

# prepare_database I DB: everything the copy of database DB needs from the source, read while the
# target is being prepared: its encoding, the tables to stream (D.sized; D.listed has them all), one
# archive of everything but their rows (D.archive) and which of its entries belong to which streamed
# table (table_toc). Fails with the reason in D.prepare.err.
prepare_database() {
  local db=$1 d=$dir/db$2 encoding oid table size format columns provable
  # failed WHAT: the reason, with psql's first error line (never a URL), for the main loop to report
  failed() {
    local why; why=$(grep -v '^[[:space:]]*$' "$d.prepare.err" | head -n 1 | sed -E 's/^psql: (error: )?//')
    printf '%s: %s\n' "$1" "${why:-psql failed}" > "$d.prepare.err"; return 1
  }
  encoding=$( (src "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 -c "show server_encoding") 2> "$d.prepare.err" ) \
    || { failed "cannot read the encoding of database $(shown "$db") on the source"; return 1; }
  echo "$encoding" > "$dir/encoding.$(key "$db")"
  local snap=() dump_snapshot
  mapfile -t -d '' snap < <(at_snapshot "$db")
  dump_snapshot=$(snapshot_of "$db")
  ( src "$db"; psql -X -q -A -t -z -0 -v ON_ERROR_STOP=1 -v min_proof_bytes="$proof_min_bytes" -v max_proof_bytes="$proof_max_bytes" "${snap[@]}" -f "$here/pipeline-tables.sql" ) > "$d.listed" 2> "$d.prepare.err" \
    || { failed "cannot list the tables of database $(shown "$db") on the source"; return 1; }
  # the streamed tables' rows are left out of the archive (as pg_dump patterns: quoted, so they match
  # exactly); a small table's stay in, restored with the data section
  local excluded=() bytes=0 count=0 listed=0 provable
  while read_table; do
    bytes=$((bytes + size)); listed=$((listed + 1))
    ((size >= stream_min_bytes)) || continue
    excluded+=("--exclude-table-data=$table"); count=$((count + 1))
    printf '%s\0' "$oid" "$table" "$size" "$format" "$columns" "$provable"
  done < "$d.listed" > "$d.sized"
  echo "$bytes" > "$d.bytes"; echo "$count" > "$d.count"; echo "$listed" > "$d.listed.count"
  # uncompressed: it is read once, on this machine, and compressing the small tables' rows costs CPU the copy needs
  ( src "$db"; pg_dump --quote-all-identifiers -Fc --compress=0 --create ${dump_snapshot:+"$dump_snapshot"} "${excluded[@]}" -f "$d.archive" ) 2> "$d.archive.err" \
    || { echo "pg_dump of database $(shown "$db") failed: $(grep -m1 -E 'error|ERROR' "$d.archive.err")" > "$d.prepare.err"; return 1; }
  table_toc "$db" "$d.sized" "$d.archive" 2> "$d.prepare.err" \
    || { failed "cannot list the indexes of database $(shown "$db") on the source"; return 1; }
}

# copy_worker DB D: takes the next table of D.sized (largest first) nobody has taken yet (a claim is
# an atomic mkdir), COPYs its rows from the source into the target, then at once builds its indexes
# and keys (its own TOC entries of D.archive, listed by table_toc) while the other workers are still copying:
# index builds overlap the data load, as they do in pg_restore -j. A worker that drew a big table
# leaves the many small ones to the others.
# TRUNCATE + COPY FREEZE in one transaction writes the rows frozen, so nothing rewrites those pages
# later to set hint bits (Verifying and ANALYZE read them right after).
copy_worker() {
  local db=$1 d=$2 oid table size format columns provable n=0 out in list snap=() proven='' readback=''
  mapfile -t -d '' snap < <(at_snapshot "$db")
  while read_table; do
    n=$((n + 1))
    mkdir "$d.claim$n" 2>/dev/null || continue
    # the table's SQL name (quoted) with any line break escaped: one line of the log whatever the name
    stage "copying $(escaped "$table") ($format)"
    list=; [[ -n $columns ]] && list=" ($columns)"   # a table without columns has rows all the same
    out="COPY $table$list TO STDOUT" in="COPY $table$list FROM STDIN"
    if [[ $format == binary ]]; then out+=" (FORMAT binary)"; in+=" (FORMAT binary, FREEZE)"; else in+=" (FREEZE)"; fi
    proven=; [[ -n $proof && $provable == yes ]] && proven=$proof/$(key "$db")/$oid
    # the source's side of a proof is read from a fifo; where none can be made (some network volumes), no proof
    [[ -z $proven ]] || mkfifo "$proven.fifo" 2>> "$d.proof.log" || proven=
    if [[ -n $proven ]]; then
      # the source's rows hashed as they stream by; the hasher drains the fifo whatever happens to it,
      # so the copy never waits on the proof
      { hash_stream > "$proven.source" || { rm -f "$proven.source"; cat > /dev/null; }; } < "$proven.fifo" &
      local hasher=$!
      if ( src "$db"; psql -X -q -v ON_ERROR_STOP=1 "${snap[@]}" -c "$out" ) 2>> "$d.copy.log" | tee "$proven.fifo" \
          | ( tgt "$db"; psql -X -A -t -v ON_ERROR_STOP=1 -c "BEGIN" -c "TRUNCATE ONLY $table" -c "$in" \
                -c "select 'loaded ' || pg_catalog.txid_current() % 4294967296" -c "COMMIT" ) 2>> "$d.copy.log" > "$proven.loaded"; then
        wait "$hasher" || rm -f "$proven.source"
        read_back_proof "$db" "$d" "$table" "$list" "$proven" &
        readback=$!
      else
        printf 'ERROR:  table %s could not be copied\n' "$(escaped "$table")" >> "$d.copy.log"
        kill "$hasher" 2>/dev/null || true; wait "$hasher" 2>/dev/null || true
      fi
      rm -f "$proven.fifo"
    else
      ( src "$db"; psql -X -q -v ON_ERROR_STOP=1 "${snap[@]}" -c "$out" ) 2>> "$d.copy.log" \
        | ( tgt "$db"; psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN" -c "TRUNCATE ONLY $table" -c "$in" -c "COMMIT" ) 2>> "$d.copy.log" \
        || printf 'ERROR:  table %s could not be copied\n' "$(escaped "$table")" >> "$d.copy.log"
    fi
    echo copied >> "$dir/copied.txt"
    if [[ -s $d.sized.toc$n ]]; then
      stage "indexes and keys of $(escaped "$table")"
      # -j: a big table's indexes build side by side, on CPUs the other workers are done with
      # its own error file: the other workers' pg_restore runs must not answer for this one (restore_stopped)
      ( tgt "$db"; pg_restore -j "$jobs" -L "$d.sized.toc$n" -d "$(conninfo_dbname "$db")" "$d.archive" ) 2> "$d.toc$n.early.log" \
        || restore_stopped $? "$d.toc$n.early.log" "the indexes of $(escaped "$table")"
    fi
    # a read back that failed leaves no proof: Verifying then reads the table itself
    [[ -z $readback ]] || { wait "$readback" || true; readback=; }
  done < "$d.sized"
}

# read_back_proof DB D TABLE LIST P: the target's side of a table's proof, once its COPY committed: its
# rows read back in the order they were written (a fresh heap filled by one COPY; no synchronized scan
# may start mid-table) and hashed, and its columns' fingerprint (table-columns.sql). With the source's
# hash (P.source), the rows loaded and the loading transaction (P.loaded), they make the proof,
# P.proof: "SOURCE_SHA256 TARGET_SHA256 ROWS XID COLUMNS_MD5". Anything missing or malformed: no proof.
read_back_proof() {
  local db=$1 d=$2 table=$3 list=$4 p=$5 source target rows xid columns
  target=$( ( tgt "$db"; export PGOPTIONS="$PGOPTIONS -c synchronize_seqscans=off"
              psql -X -q -v ON_ERROR_STOP=1 -c "COPY $table$list TO STDOUT (FORMAT binary)" ) 2>> "$d.proof.log" | hash_stream ) \
    || return 0
  columns=$( (tgt "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 -v tbl="$table" -f "$here/table-columns.sql") 2>> "$d.proof.log" ) || return 0
  source=$(cat "$p.source" 2>/dev/null) || return 0
  rows=$(sed -n 's/^COPY \([0-9]*\)$/\1/p' "$p.loaded")
  xid=$(sed -n 's/^loaded \([0-9]*\)$/\1/p' "$p.loaded")
  [[ $source =~ ^[0-9a-f]{64}$ && $target =~ ^[0-9a-f]{64}$ && $columns =~ ^[0-9a-f]{32}$ && $rows =~ ^[0-9]+$ && $xid =~ ^[0-9]+$ ]] \
    || return 0
  printf '%s %s %s %s %s\n' "$source" "$target" "$rows" "$xid" "$columns" > "$p.proof"
  rm -f "$p.source" "$p.loaded"
}

# table_toc DB TABLES ARCHIVE: for the Nth table of TABLES, the archive's TOC lines of its indexes and
# of its own constraints (primary keys, unique, check, exclusion; not foreign keys, which need other
# tables) into TABLES.tocN, and all of them into ARCHIVE.early. A TOC line is matched by the catalog
# OID pg_restore -l prints before any name (pg_class 1259 for an index, pg_constraint 2606 for a
# constraint), so no name is ever parsed.
table_toc() {
  local db=$1 tables=$2 archive=$3 oid table size format columns provable n=0
  pg_restore -l "$archive" > "$archive.list" || return 1
  while read_table; do n=$((n + 1)); printf '%s %s\n' "$oid" "$n"; done < "$tables" > "$tables.numbers"
  ( src "$db"; psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -c "select 'index', indexrelid, indrelid from pg_index
      union all select 'constraint', oid, conrelid from pg_constraint where conrelid <> 0 and contype in ('p', 'u', 'c', 'x')" ) \
    > "$archive.owners" || return 1
  awk -v out="$tables.toc" '
    FILENAME == ARGV[1] { number[$1] = $2; next }
    FILENAME == ARGV[2] { if ($3 in number) owner[$1 " " $2] = number[$3]; next }
    $2 == "1259" && $4 == "INDEX" { key = "index " $3; if (key in owner) print > (out owner[key]); next }
    $2 == "2606" && $4 == "CONSTRAINT" { key = "constraint " $3; if (key in owner) print > (out owner[key]); next }
  ' "$tables.numbers" "$archive.owners" "$archive.list"
  cat "$tables".toc* 2>/dev/null | sort -u > "$archive.early" || true
}

started=$(date +%s%N)
# The proof's precondition, read before anything of the source is: the source's transaction ids
# (txid_current_snapshot: "xmin:xmax:in-progress"). Verifying reads them again: a write that committed
# or aborted in between moved xmax (one still in progress has changed nothing yet, for any reader).
proof=; proof_min_bytes=0; proof_max_bytes=-1
if [[ -n ${PIPELINE_PROOF_DIR:-} && -z ${PIPELINE_SNAPSHOTS:-} ]]; then
  proof=$PIPELINE_PROOF_DIR; [[ $proof == /* ]] || proof=$WORK_DIR/$proof
  rm -rf "$proof"; mkdir -p "$proof"
  proof_max_bytes=$(( ${PIPELINE_PROOF_MAX_MB:?} * 1024 * 1024 ))
  proof_min_bytes=${PIPELINE_PROOF_MIN_BYTES:?}
  psql_at "$SOURCE_URL" "the source server" "select txid_current_snapshot()" > "$proof/source-xids"
fi
( use_url "$SOURCE_URL" "the source server"; psql -X -q -A -t -0 -v ON_ERROR_STOP=1 -c \
  "select datname from pg_database where datallowconn and datname <> 'template0' order by datname <> 'template1', datname <> 'postgres', datname" ) \
  > "$dir/databases" 2> "$dir/databases.err" || die "cannot list the databases of the source: $(head -n 1 "$dir/databases.err")"

# The source side of every database starts at once, in the background: it only reads the source.
# A step that fails leaves none of its background work running behind it.
stop_children() { local pids; mapfile -t pids < <(jobs -p); ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true; }
on_exit stop_children
i=0
prepared=()
while IFS= read -r -d '' db; do
  i=$((i + 1))
  [[ -z $proof ]] || mkdir -p "$proof/$(key "$db")"
  prepare_database "$db" "$i" &
  prepared+=($!)
done < "$dir/databases"

# Meanwhile the target: what it holds already, and the roles every database's objects belong to.
target_user=$(connection_user "$TARGET_URL" "the target server")
target_inventory_before
tuning=$(restore_tuning "$jobs")
stage "roles and other globals"
( src; pg_dumpall --quote-all-identifiers --globals-only -l "$(conninfo_dbname "${PGDATABASE:-postgres}")" ) 2> "$WORK_DIR/dump.err" \
  | target_role_filter "$target_user" 2> "$WORK_DIR/filter.err" \
  | ( tgt; psql -X -q -f - ) >/dev/null 2> "$dir/globals.err" \
  || die "the globals could not be copied: $(grep -m1 -E 'error|ERROR|FATAL' "$WORK_DIR/dump.err" "$dir/globals.err" | cut -d: -f2-)"

i=0
small=()
bytes=0
while IFS= read -r -d '' db; do
  i=$((i + 1)); d=$dir/db$i
  wait "${prepared[$((i - 1))]}" || die "$(head -n 1 "$d.prepare.err")"
  bytes=$(( bytes + $(cat "$d.bytes") ))
  total=$(cat "$d.count"); listed=$(cat "$d.listed.count")
  target_db=$(conninfo_dbname "$db")
  if [[ $total == 0 && $listed == 0 ]]; then
    # no table at all (template1 and postgres, often): one pg_restore session does it, meanwhile
    stage "database $(shown "$db"): no tables, restored in the background"
    { ( tgt; pg_restore --create -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" "$d.archive" ) 2> "$d.pre.err" \
        || restore_stopped $? "$d.pre.err" "database $(escaped "$db")"; } &
    small+=($!)
    continue
  fi
  if [[ $total == 0 ]]; then
    # only small tables: pg_restore -j does it all, here (so that the target never has more than about
    # $jobs sessions of this restore per database at a time)
    stage "database $(shown "$db"): no table to stream, $listed small ones, $jobs at a time"
    ( tgt; pg_restore --create -j "$jobs" -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" "$d.archive" ) 2> "$d.pre.err" \
      || restore_stopped $? "$d.pre.err" "database $(escaped "$db")"
    continue
  fi
  stage "database $(shown "$db"): everything but the tables' rows"
  ( tgt; pg_restore --create --section=pre-data -d "$(conninfo_dbname "${PGDATABASE:-postgres}")" "$d.archive" ) 2> "$d.pre.err" \
    || restore_stopped $? "$d.pre.err" "the schema of database $(escaped "$db")"

  stage "database $(shown "$db"): copying $total tables, $jobs at a time"
  : > "$dir/copied.txt"; : > "$d.copy.log"
  pids=()
  for ((w = 0; w < jobs; w++)); do
    copy_worker "$db" "$d" &
    pids+=($!)
  done
  copied() { wc -l < "$dir/copied.txt"; }
  report_every_2s items "$total" false copied
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  stop_reports
  progress items "$total" "$total"

  stage "database $(shown "$db"): the small tables' rows, sequences, large objects and extension configuration rows, $jobs at a time"
  ( tgt "$db"; pg_restore --section=data -j "$jobs" -d "$target_db" "$d.archive" ) 2> "$d.rest.err" \
    || restore_stopped $? "$d.rest.err" "the small tables' rows of database $(escaped "$db")"

  stage "database $(shown "$db"): the other indexes, constraints, triggers and materialized views, $jobs at a time"
  pg_restore -l "$d.archive" | grep -vxFf "$d.archive.early" > "$d.final.list" || true
  ( tgt; pg_restore -L "$d.final.list" --section=post-data -j "$jobs" -d "$target_db" "$d.archive" ) 2> "$d.final.log" \
    || restore_stopped $? "$d.final.log" "the indexes and constraints of database $(escaped "$db")"
done < "$dir/databases"
for pid in "${small[@]}"; do wait "$pid" || true; done
finished=$(date +%s%N)

# every error of every part, once: globals, pre-data, copies, early index builds, data, final pass
cat "$dir/globals.err" "$dir"/db*.pre.err "$dir"/db*.copy.log "$dir"/db*.early.log "$dir"/db*.rest.err "$dir"/db*.final.log \
  > "$WORK_DIR/restore.err" 2>/dev/null || true
grep -qE 'pg_restore: error: (connection to server|could not connect)' "$WORK_DIR/restore.err" \
  && die "lost the target during the restore: $(grep -m1 -E 'connection to server|could not connect' "$WORK_DIR/restore.err" | sed -E 's/^pg_restore: error: //')"
report_restore_errors "$WORK_DIR/restore.err" "$WORK_DIR/target-roles-before.txt" "$WORK_DIR/target-databases-before.txt"
result_num durationMillis "$(( (finished - started) / 1000000 ))"
# the copied tables' size on the source (a byte counter in the stream would cost a copy of every byte)
result_num bytes "$bytes"
result_num databases "$i"
result_passwords_dropped
succeed
