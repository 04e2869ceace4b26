#!/usr/bin/env bash
# Restoring, strategy "pipeline": no dump of the tables on disk. Per database, one small archive holds
# everything but the tables' rows (pg_dump -Fc --create with every table's data excluded): its
# pre-data (tables, types, functions...) is restored first; then every table's rows are streamed with
# COPY straight from the source into the target (binary where every column's type allows it),
# TRANSFER_JOBS tables at a time, largest first, each worker taking the next table when it is free; then
# the archive's data section (sequence values, large objects, extension configuration rows) and its
# post-data (indexes, constraints, triggers, materialized view contents) with pg_restore -j. Globals
# and error classification as in the other strategies.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, TRANSFER_JOBS, RESTORE_MAINTENANCE_WORK_MEM.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"

jobs=$(transfer_jobs)
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
  local encoding; encoding=$(cat "$dir/encoding.$(printf %s "$1" | md5sum | cut -c1-16)" 2>/dev/null) && export PGCLIENTENCODING=$encoding
  return 0
}

# Binary COPY skips printing and parsing every value (about a tenth of the copy's time here), but a
# binary row is only as portable as each type's send/receive functions: it is used for a table only
# when every column is one of these built-in types (or a domain over one, or an array of one), whose
# binary forms have not changed across the majors pg_dump reads, and only when the source stores
# timestamps as integers (always, from 10 on). Every other table is copied as text.
binary_types="'bool','int2','int4','int8','float4','float8','numeric','money','oid','text','varchar','bpchar','name','char','bytea',
  'date','time','timetz','timestamp','timestamptz','interval','uuid','json','jsonb','inet','cidr'"

# name TAB size TAB binary|text, largest first
tables_sql="select format('%I.%I', n.nspname, c.relname) || chr(9) || pg_table_size(c.oid) || chr(9)
    || case when current_setting('integer_datetimes') = 'on' and not exists (
         select 1 from pg_attribute a join pg_type t on t.oid = a.atttypid
           join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
           join pg_type e on e.oid = case when b.typcategory = 'A' then b.typelem else b.oid end
           join pg_namespace en on en.oid = e.typnamespace
         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
           and not (en.nspname = 'pg_catalog' and e.typtype = 'b' and e.typname in ($binary_types)))
       then 'binary' else 'text' end
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and c.relpersistence <> 't' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
    and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
  order by pg_table_size(c.oid) desc"

# prepare_database I DB: everything the copy of database DB needs from the source, read while the
# target is being prepared: its encoding, its tables (D.sized, D.tables), one small archive of
# everything but the tables' rows (D.archive) and which of its entries belong to which table
# (table_toc). Fails with the reason in D.prepare.err.
prepare_database() {
  local db=$1 d=$dir/db$2 encoding
  # failed WHAT: the reason, with psql's first error line (never a URL), for the main loop to report
  failed() {
    local why; why=$(grep -v '^[[:space:]]*$' "$d.prepare.err" | head -n 1 | sed -E 's/^psql: (error: )?//')
    printf '%s: %s\n' "$1" "${why:-psql failed}" > "$d.prepare.err"; return 1
  }
  encoding=$( (src "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 -c "show server_encoding") 2> "$d.prepare.err" ) \
    || { failed "cannot read the encoding of database $db on the source"; return 1; }
  echo "$encoding" > "$dir/encoding.$(printf %s "$db" | md5sum | cut -c1-16)"
  ( src "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$tables_sql" ) > "$d.sized" 2> "$d.prepare.err" \
    || { failed "cannot list the tables of database $db on the source"; return 1; }
  cut -f1 "$d.sized" > "$d.tables"
  # the tables' names as pg_dump patterns (quoted by format %I, so they match exactly)
  local excluded; mapfile -t excluded < <(sed 's/^/--exclude-table-data=/' "$d.tables")
  ( src "$db"; pg_dump -Fc --create "${excluded[@]}" -f "$d.archive" ) 2> "$d.archive.err" \
    || { echo "pg_dump of database $db failed: $(grep -m1 -E 'error|ERROR' "$d.archive.err")" > "$d.prepare.err"; return 1; }
  table_toc "$db" "$d.tables" "$d.archive" 2> "$d.prepare.err" \
    || { failed "cannot list the indexes of database $db on the source"; return 1; }
}

# copy_worker DB D: takes the next table of D.sized (largest first) nobody has taken yet (a claim is
# an atomic mkdir), COPYs its rows from the source into the target, then at once builds its indexes
# and keys (its own TOC entries of D.archive, listed by table_toc) while the other workers are still copying:
# index builds overlap the data load, as they do in pg_restore -j. A worker that drew a big table
# leaves the many small ones to the others.
# TRUNCATE + COPY FREEZE in one transaction writes the rows frozen, so nothing rewrites those pages
# later to set hint bits (Verifying and ANALYZE read them right after).
copy_worker() {
  local db=$1 d=$2 table format n=0 out in
  while IFS=$'\t' read -r table _ format; do
    n=$((n + 1))
    mkdir "$d.claim$n" 2>/dev/null || continue
    stage "copying $table ($format)"
    out="COPY $table TO STDOUT" in="COPY $table FROM STDIN"
    if [[ $format == binary ]]; then out+=" (FORMAT binary)"; in+=" (FORMAT binary, FREEZE)"; else in+=" (FREEZE)"; fi
    ( src "$db"; psql -X -q -v ON_ERROR_STOP=1 -c "$out" ) 2>> "$d.copy.log" \
      | ( tgt "$db"; psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN" -c "TRUNCATE ONLY $table" -c "$in" -c "COMMIT" ) 2>> "$d.copy.log" \
      || echo "ERROR:  table $table could not be copied" >> "$d.copy.log"
    echo "$table" >> "$dir/copied.txt"
    if [[ -s $d.tables.toc$n ]]; then
      stage "indexes and keys of $table"
      # -j: a big table's indexes build side by side, on CPUs the other workers are done with
      ( tgt "$db"; pg_restore -j "$jobs" -L "$d.tables.toc$n" -d "$db" "$d.archive" ) 2>> "$d.early.log" || true
    fi
  done < "$d.sized"
}

# table_toc DB TABLES ARCHIVE: for the Nth table of TABLES, the archive's TOC lines of its indexes and
# of its own constraints (primary keys, unique, check, exclusion; not foreign keys, which need other
# tables) into TABLES.tocN, and all of them into ARCHIVE.early. Entries whose names the listing
# cannot show plainly stay for the final pass.
table_toc() {
  local db=$1 tables=$2 archive=$3
  pg_restore -l "$archive" > "$archive.list" || return 1
  ( src "$db"; psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -c "select format('%I.%I', n.nspname, t.relname), n.nspname, i.relname
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid join pg_namespace n on n.oid = t.relnamespace" ) \
    > "$archive.indexes" || return 1
  awk -v tables="$tables" '
    FILENAME == tables { idx[$0] = FNR; next }
    FILENAME ~ /\.indexes$/ { if ($1 in idx) { owner["INDEX " $2 " " $3] = idx[$1]; split($1, p, "."); tab[p[1] " " p[2]] = idx[$1] }; next }
    /^[0-9]+; [0-9]+ [0-9]+ INDEX / { key = "INDEX " $5 " " $6; if (key in owner) print > (tables ".toc" owner[key]); next }
    /^[0-9]+; [0-9]+ [0-9]+ CONSTRAINT / { key = $5 " " $6; if (key in tab) print > (tables ".toc" tab[key]); next }
  ' "$tables" "$archive.indexes" "$archive.list"
  cat "$tables".toc* 2>/dev/null | sort -u > "$archive.early" || true
}

started=$(date +%s%N)
psql_at "$SOURCE_URL" "the source server" \
  "select datname from pg_database where datallowconn and datname <> 'template0' order by datname <> 'template1', datname <> 'postgres', datname" \
  > "$dir/databases.txt"

# The source side of every database starts at once, in the background: it only reads the source.
# A step that fails leaves none of its background work running behind it.
stop_children() { local pids; pids=$(jobs -p); [[ -z $pids ]] || kill $pids 2>/dev/null || true; }
on_exit stop_children
i=0
prepared=()
while IFS= read -r db; do
  i=$((i + 1))
  prepare_database "$db" "$i" &
  prepared+=($!)
done < "$dir/databases.txt"

# Meanwhile the target: what it holds already, and the roles every database's objects belong to.
target_user=$(connection_user "$TARGET_URL" "the target server")
target_inventory_before
tuning=$(restore_tuning "$jobs")
stage "roles and other globals"
( src; pg_dumpall --globals-only -l "${PGDATABASE:-postgres}" ) 2> "$WORK_DIR/dump.err" \
  | target_role_filter "$target_user" 2> "$WORK_DIR/filter.err" \
  | ( tgt; psql -X -q -f - ) >/dev/null 2> "$dir/globals.err" \
  || die "the globals could not be copied: $(grep -m1 -E 'error|ERROR|FATAL' "$WORK_DIR/dump.err" "$dir/globals.err" | cut -d: -f2-)"

i=0
small=()
bytes=0
while IFS= read -r db; do
  i=$((i + 1)); d=$dir/db$i
  wait "${prepared[$((i - 1))]}" || die "$(head -n 1 "$d.prepare.err")"
  bytes=$(( bytes + $(awk -F '\t' '{ n += $2 } END { print n + 0 }' "$d.sized") ))
  total=$(wc -l < "$d.tables")
  if [[ $total == 0 ]]; then
    # nothing to stream (template1 and postgres, often): one pg_restore does it all, meanwhile
    stage "database $db: no tables, restored in the background"
    ( tgt; pg_restore --create -d "${PGDATABASE:-postgres}" "$d.archive" ) 2> "$d.pre.err" &
    small+=($!)
    continue
  fi
  stage "database $db: everything but the tables' rows"
  ( tgt; pg_restore --create --section=pre-data -d "${PGDATABASE:-postgres}" "$d.archive" ) 2> "$d.pre.err" || true

  stage "database $db: copying $total tables ($(grep -c $'\tbinary$' "$d.sized" || true) in binary), $jobs at a time"
  : > "$dir/copied.txt"; : > "$d.copy.log"; : > "$d.early.log"
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

  stage "database $db: sequences, large objects and extension configuration rows"
  ( tgt "$db"; pg_restore --section=data -d "$db" "$d.archive" ) 2> "$d.rest.err" || true

  stage "database $db: the other indexes, constraints, triggers and materialized views, $jobs at a time"
  pg_restore -l "$d.archive" | grep -vxFf "$d.archive.early" > "$d.final.list" || true
  ( tgt; pg_restore -L "$d.final.list" --section=post-data -j "$jobs" -d "$db" "$d.archive" ) 2> "$d.final.log" || true
done < "$dir/databases.txt"
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
