#!/usr/bin/env bash
# Restoring, strategy "pipeline": no dump of the tables on disk. Per database, one small archive holds
# everything but the tables' rows (pg_dump -Fc --create with every table's data excluded): its
# pre-data (tables, types, functions...) is restored first; then every table's rows are streamed with
# COPY straight from the source into the target, TRANSFER_JOBS tables at a time, largest first; then
# the archive's data section (sequence values, large objects, extension configuration rows) and its
# post-data (indexes, constraints, triggers, materialized view contents) with pg_restore -j. Globals
# and error classification as in the other strategies.
# Env: SOURCE_URL, TARGET_URL (Secrets), WORK_DIR, RESULT_FILE, TRANSFER_JOBS, RESTORE_MAINTENANCE_WORK_MEM.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${SOURCE_URL:?}" "${TARGET_URL:?}"

target_user=$(connection_user "$TARGET_URL" "the target server")
jobs=$(transfer_jobs)
dir=$WORK_DIR/pipeline
rm -rf "$dir"; mkdir -p "$dir"

target_inventory_before
tuning=$(restore_tuning "$jobs")
started=$(date +%s%N)

# src DB / tgt DB: the environment of a session on the source (RLS off: every row is read, or an
# error says why not) or a tuned restore session on the target, in database DB (empty: the URL's).
src() { use_url "$SOURCE_URL" "the source server"; [[ -z ${1:-} ]] || export PGDATABASE=$1; export PGOPTIONS="-c row_security=off"; }
tgt() { use_url "$TARGET_URL" "the target server"; [[ -z ${1:-} ]] || export PGDATABASE=$1; export PGOPTIONS=$tuning; }

stage "roles and other globals"
( src; pg_dumpall --globals-only -l "${PGDATABASE:-postgres}" ) 2> "$WORK_DIR/dump.err" \
  | target_role_filter "$target_user" 2> "$WORK_DIR/filter.err" \
  | ( tgt; psql -X -q -f - ) >/dev/null 2> "$dir/globals.err" \
  || die "the globals could not be copied: $(grep -m1 -E 'error|ERROR|FATAL' "$WORK_DIR/dump.err" "$dir/globals.err" | cut -d: -f2-)"
psql_at "$SOURCE_URL" "the source server" \
  "select datname from pg_database where datallowconn and datname <> 'template0' order by datname <> 'template1', datname <> 'postgres', datname" \
  > "$dir/databases.txt"

# name TAB size, largest first
tables_sql="select format('%I.%I', n.nspname, c.relname) || chr(9) || pg_table_size(c.oid) from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r' and c.relpersistence <> 't' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
    and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
  order by pg_table_size(c.oid) desc"

# copy_worker DB LIST ARCHIVE: for each table of LIST, COPY its rows from the source into the target,
# then at once build its indexes and keys (its own TOC entries of ARCHIVE) while the other workers
# are still copying: index builds overlap the data load, as they do in pg_restore -j.
# TRUNCATE + COPY FREEZE in one transaction writes the rows frozen, so nothing rewrites those pages
# later to set hint bits (Verifying and ANALYZE read them right after).
copy_worker() {
  local db=$1 list=$2 archive=$3 table n=0
  while IFS= read -r table; do
    n=$((n + 1))
    stage "copying $table"
    ( src "$db"; psql -X -q -v ON_ERROR_STOP=1 -c "COPY $table TO STDOUT" ) 2>> "$list.copy.log" \
      | ( tgt "$db"; psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN" -c "TRUNCATE ONLY $table" -c "COPY $table FROM STDIN FREEZE" -c "COMMIT" ) 2>> "$list.copy.log" \
      || echo "ERROR:  table $table could not be copied" >> "$list.copy.log"
    echo "$table" >> "$dir/copied.txt"
    if [[ -s $list.toc$n ]]; then
      stage "indexes and keys of $table"
      # -j: a big table's indexes build side by side, on CPUs the other workers are done with
      ( tgt "$db"; pg_restore -j "$jobs" -L "$list.toc$n" -d "$db" "$archive" ) 2>> "$list.early.log" || true
    fi
  done < "$list"
}

# table_toc DB TABLES ARCHIVE: for the Nth table of TABLES, the archive's TOC lines of its indexes and
# of its own constraints (primary keys, unique, check, exclusion; not foreign keys, which need other
# tables) into TABLES.tocN. Entries whose names the listing cannot show plainly stay for the final pass.
table_toc() {
  local db=$1 tables=$2 archive=$3
  pg_restore -l "$archive" > "$archive.list"
  ( src "$db"; psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -c "select format('%I.%I', n.nspname, t.relname), n.nspname, i.relname
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid join pg_namespace n on n.oid = t.relnamespace" ) \
    > "$archive.indexes"
  awk -v tables="$tables" '
    FILENAME == tables { idx[$0] = FNR; next }
    FILENAME ~ /\.indexes$/ { if ($1 in idx) { owner["INDEX " $2 " " $3] = idx[$1]; split($1, p, "."); tab[p[1] " " p[2]] = idx[$1] }; next }
    /^[0-9]+; [0-9]+ [0-9]+ INDEX / { key = "INDEX " $5 " " $6; if (key in owner) print > (tables ".toc" owner[key]); next }
    /^[0-9]+; [0-9]+ [0-9]+ CONSTRAINT / { key = $5 " " $6; if (key in tab) print > (tables ".toc" tab[key]); next }
  ' "$tables" "$archive.indexes" "$archive.list"
  cat "$tables".toc* 2>/dev/null | sort -u > "$archive.early" || true
}

i=0
small=()
bytes=0
while IFS= read -r db; do
  i=$((i + 1)); d=$dir/db$i
  ( src "$db"; psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$tables_sql" ) > "$d.sized" 2> "$d.tables.err" \
    || die "cannot list the tables of database $db on the source: $(head -n 1 "$d.tables.err")"
  cut -f1 "$d.sized" > "$d.tables"
  bytes=$(( bytes + $(awk -F '\t' '{ n += $2 } END { print n + 0 }' "$d.sized") ))
  total=$(wc -l < "$d.tables")
  stage "database $db: everything but the tables' rows"
  # the tables' names as pg_dump patterns (quoted by format %I, so they match exactly)
  mapfile -t excluded < <(sed 's/^/--exclude-table-data=/' "$d.tables")
  ( src "$db"; pg_dump -Fc --create "${excluded[@]}" -f "$d.archive" ) 2> "$d.archive.err" \
    || die "pg_dump of database $db failed: $(grep -m1 -E 'error|ERROR' "$d.archive.err")"
  if [[ $total == 0 ]]; then
    # nothing to stream (template1 and postgres, often): one pg_restore does it all, meanwhile
    ( tgt; pg_restore --create -d "${PGDATABASE:-postgres}" "$d.archive" ) 2> "$d.pre.err" &
    small+=($!)
    continue
  fi
  ( tgt; pg_restore --create --section=pre-data -d "${PGDATABASE:-postgres}" "$d.archive" ) 2> "$d.pre.err" || true

  stage "database $db: copying $total tables, $jobs at a time"
  : > "$dir/copied.txt"
  pids=()
  for ((w = 0; w < jobs; w++)); do
    awk -v n="$jobs" -v w="$w" 'NF && (NR - 1) % n == w' "$d.tables" > "$d.worker$w"
    : > "$d.worker$w.copy.log"; : > "$d.worker$w.early.log"
    table_toc "$db" "$d.worker$w" "$d.archive"
    cat "$d.archive.early" >> "$d.early.all"
    copy_worker "$db" "$d.worker$w" "$d.archive" &
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
  pg_restore -l "$d.archive" | grep -vxFf <(sort -u "$d.early.all" 2>/dev/null) > "$d.final.list" || true
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
