# shellcheck shell=bash
# Shared helpers for the step scripts. Sourced, never executed.
#
# Contract with the step runner (local process or Kubernetes Job):
#   SOURCE_URL / TARGET_URL   libpq URLs, from Secrets only. They are turned into PG* environment
#                             variables (use_url) so that no password ever appears on a command line.
#   WORK_DIR                  directory shared by the steps of one upgrade (dump file, scratch).
#   RESULT_FILE               where the step writes its one JSON result document.
# Every step ends by writing a result: {"ok":true,...} on success, {"ok":false,"message":...} otherwise.

set -Eeuo pipefail
umask 077
export LC_ALL=C LC_MESSAGES=C
# Debian's psql, pg_dump, pg_restore... in /usr/bin are one perl script (pg_wrapper) that picks a
# version on every call, about 30 ms of CPU each; a step calls them dozens of times (measured: 0.7 s
# of CPU in a pipeline restore), so it calls the newest installed client directly -- what pg_wrapper
# picks when no local cluster says otherwise, and the right one to dump any older server. The
# postgres images the Jobs run in have no wrapper: nothing changes there.
_skip_debian_wrapper() {
  local psql newest dir path=() IFS=:
  psql=$(command -v psql) || return 0
  [[ $(readlink -f "$psql") == */pg_wrapper ]] || return 0
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [[ -x $newest/psql ]] || return 0
  # just before the wrapper's directory: whatever PATH puts ahead of it still comes first
  for dir in $PATH; do
    [[ $dir == "${psql%/*}" ]] && path+=("$newest")
    path+=("$dir")
  done
  PATH="${path[*]}"
  return 0
}
_skip_debian_wrapper

# Every value comes from the runner (defaults live in Java: runner/StepDefaults); a missing one is an
# error here, never a guess.
: "${RESULT_FILE:?RESULT_FILE must be set by the step runner}"
: "${WORK_DIR:?WORK_DIR must be set by the step runner}"
: "${STEP_NAME:?STEP_NAME must be set by the step runner}"
: "${RESULT_MAX_LINES:?RESULT_MAX_LINES must be set by the step runner}"
# libpq's connect timeout: a step never waits forever on an unreachable server
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:?PGCONNECT_TIMEOUT must be set by the step runner}"

_RESULT_FIELDS=()
# The runner hands every step an empty result file (kubelet does the same with /dev/termination-log),
# so "the file is not empty" means "this run of the step has reported" -- also from a subshell.
_result_written() { [[ -s $RESULT_FILE ]]; }

# --- JSON result -------------------------------------------------------------------------------

json_string() { # escapes one value as a JSON string (control characters dropped)
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/ }
  s=${s//$'\r'/}
  s=${s//$'\n'/ }
  s=$(printf '%s' "$s" | tr -d '\000-\037')
  printf '"%s"' "$s"
}

json_exact() { # escapes one value as a JSON string exactly: control characters escaped, nothing lost (names)
  local s=$1 i c
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  if [[ $s == *[$'\001'-$'\037']* ]]; then
    for ((i = 1; i < 32; i++)); do
      # shellcheck disable=SC2059 # the format is the escape that makes the character
      printf -v c "\\x$(printf %02x "$i")"
      s=${s//"$c"/$(printf '\\u%04x' "$i")}
    done
  fi
  printf '"%s"' "$s"
}

result_str() { _RESULT_FIELDS+=("$(json_string "$1"):$(json_string "$2")"); }

result_num() {
  [[ $2 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "internal: $1 is not a number"
  _RESULT_FIELDS+=("$(json_string "$1"):$2")
}

result_bool() {
  [[ $2 == true || $2 == false ]] || die "internal: $1 is not a boolean"
  _RESULT_FIELDS+=("$(json_string "$1"):$2")
}

# result_json KEY JSON: a value built by jq (already valid JSON).
result_json() { _RESULT_FIELDS+=("$(json_string "$1"):$2"); }

# result_lines KEY FILE MAX: the file's lines (first MAX, each cut to 300 characters) as a JSON array.
# RESULT_MAX_LINES caps MAX: a pod's termination message, where Jobs report, holds 4 KiB.
result_lines() {
  local key=$1 file=$2 max=$3 items=() line
  ((max > RESULT_MAX_LINES)) && max=$RESULT_MAX_LINES
  if [[ -f $file ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      items+=("$(json_string "${line:0:300}")")
    done < <(head -n "$max" "$file")
  fi
  local IFS=,
  _RESULT_FIELDS+=("$(json_string "$key"):[${items[*]}]")
}

write_result() { # write_result true|false [message]
  local ok=$1 msg=${2:-} tmp
  [[ -n $msg ]] && result_str message "$msg"
  # Built aside and copied in one write: RESULT_FILE may be /dev/termination-log, whose directory
  # the step cannot write to.
  tmp=$(mktemp "${TMPDIR:-/tmp}/pgupgrade-result.XXXXXX")
  { local IFS=,; printf '{"ok":%s%s%s}\n' "$ok" "${_RESULT_FIELDS[*]:+,}" "${_RESULT_FIELDS[*]}"; } > "$tmp"
  cat "$tmp" > "$RESULT_FILE"
  rm -f "$tmp"
}

succeed() { write_result true "${1:-}"; exit 0; }

# die MESSAGE: the step failed in a way the engine cannot classify further. The message goes to
# status, so it must never contain a secret: callers pass their own words, never a URL.
die() {
  echo "pgupgrade: $1" >&2
  _result_written || write_result false "$1"
  exit 1
}

_on_exit() {
  local rc=$?
  for hook in "${_EXIT_HOOKS[@]}"; do "$hook" || true; done
  _result_written || write_result false "step ended unexpectedly (exit code $rc) while ${_STEP_STAGE:-starting}; see the step log"
}
_EXIT_HOOKS=()
on_exit() { _EXIT_HOOKS+=("$1"); }  # cleanup functions run before the result check
trap _on_exit EXIT
# A deadline, an eviction or a deleted Job sends SIGTERM (bash is PID 1 in the pod, where an untrapped
# TERM is ignored until the SIGKILL): exit, so the cleanup hooks run (tunnels, temporaries).
trap 'exit 143' TERM

_STEP_T0=$(date +%s%N)
# stage TEXT: what the step does now, in its log with the seconds since it started
stage() { _STEP_STAGE=$1; printf 'pgupgrade: %6.1f s  %s\n' "$(( ($(date +%s%N) - _STEP_T0) / 1000000 ))e-3" "$1" >&2; }

# --- connection URLs -----------------------------------------------------------------------------

_urldecode() { local s=${1//\\/\\\\}; printf '%b' "${s//%/\\x}"; }

# use_url URL WHAT: exports the libpq variables for URL (in the current shell, so call it in a
# subshell) and clears any others. WHAT names the URL in error messages; the URL itself never does.
use_url() {
  local url=$1 what=$2 rest auth hostport path query host port
  url=${url%$'\n'}; url=${url%$'\r'}   # a Secret written with echo ends in a newline
  unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGSSLROOTCERT PGSSLCERT \
        PGSSLKEY PGAPPNAME PGTARGETSESSIONATTRS PGSERVICE PGPASSFILE
  case $url in
    postgresql://*) rest=${url#postgresql://} ;;
    postgres://*) rest=${url#postgres://} ;;
    *) die "$what: the URL does not start with postgresql://" ;;
  esac
  query=; path=
  if [[ $rest == *\?* ]]; then query=${rest#*\?}; rest=${rest%%\?*}; fi
  if [[ $rest == */* ]]; then path=${rest#*/}; rest=${rest%%/*}; fi
  if [[ $rest == *@* ]]; then auth=${rest%@*}; hostport=${rest##*@}; else auth=; hostport=$rest; fi
  if [[ -n $auth ]]; then
    if [[ $auth == *:* ]]; then
      export PGUSER; PGUSER=$(_urldecode "${auth%%:*}")
      export PGPASSWORD; PGPASSWORD=$(_urldecode "${auth#*:}")
    else
      export PGUSER; PGUSER=$(_urldecode "$auth")
    fi
  fi
  if [[ $hostport == \[* ]]; then               # [ipv6]:port
    host=${hostport%%]*}; host=${host#[}; port=${hostport#*]}; port=${port#:}
  elif [[ $hostport == *:* ]]; then
    host=${hostport%%:*}; port=${hostport#*:}
  else
    host=$hostport; port=
  fi
  if [[ -n $host ]]; then export PGHOST; PGHOST=$(_urldecode "$host"); fi
  if [[ -n $port ]]; then
    [[ $port =~ ^[0-9]{1,5}$ ]] || die "$what: the URL has an invalid port"
    export PGPORT=$port
  fi
  if [[ -n $path ]]; then export PGDATABASE; PGDATABASE=$(_urldecode "$path"); fi
  local kv key value
  if [[ -n $query ]]; then
    local IFS='&'
    for kv in $query; do
      key=${kv%%=*}; value=$(_urldecode "${kv#*=}")
      case $key in
        sslmode) export PGSSLMODE=$value ;;
        sslrootcert) export PGSSLROOTCERT=$value ;;
        sslcert) export PGSSLCERT=$value ;;
        sslkey) export PGSSLKEY=$value ;;
        connect_timeout) export PGCONNECT_TIMEOUT=$value ;;
        application_name) export PGAPPNAME=$value ;;
        target_session_attrs) export PGTARGETSESSIONATTRS=$value ;;
        *) die "$what: the URL has an unsupported parameter '$key'" ;;
      esac
    done
  fi
  # A password must come from the URL (the Secret), never from a file lying around the pod.
  export PGPASSFILE=/dev/null
  return 0
}

# url_in_database URL DB: the same URL naming database DB ([A-Za-z0-9_] only) instead of its own
url_in_database() {
  local url=$1 scheme rest query=
  [[ $2 =~ ^[A-Za-z0-9_]+$ ]] || die "internal: url_in_database takes a plain database name"
  scheme=${url%%://*}; rest=${url#*://}
  if [[ $rest == *\?* ]]; then query="?${rest#*\?}"; rest=${rest%%\?*}; fi
  printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$2" "$query"
}

# first_error FILE: psql's first error line, without the psql: prefix (never a URL or a password:
# statements carrying one are sent with VERBOSITY terse, which prints no statement text)
first_error() { grep -v '^[[:space:]]*$' "$1" | grep -m1 -E 'ERROR|FATAL|error' | sed -E 's/^psql:[^ ]* //; s/^(error: )//' || true; }

# psql_at URL WHAT SQL: one value-only query (unaligned, tuples only). On failure the step dies with
# libpq's own first error line (host, port and user at most: libpq never prints a password).
psql_at() {
  local err why
  err=$(mktemp "$WORK_DIR/.psql-err.XXXXXX")
  if ( use_url "$1" "$2"; psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$3" ) 2>"$err"; then
    rm -f "$err"; return 0
  fi
  why=$(grep -v '^[[:space:]]*$' "$err" | head -n 1 | sed -E 's/^psql: (error: )?//')
  rm -f "$err"
  die "cannot query $2: ${why:-psql failed}"
}

# error_lines STDERR_FILE OUT_FILE [SQL_FILE]: the ERROR/FATAL lines psql printed, each prefixed by
# where it happened: with the SQL file psql ran (a pg_dump or pg_dumpall script), the object whose
# statement failed, from the dump's own "-- Name: x; Type: TABLE; Schema: s" header before that line,
# and the database (its \connect), e.g. "TABLE public.t in database shop: ERROR: ..."; without it,
# "line N: ERROR: ...". Names come from the dump's comments (pg_dump writes them on one line) and
# only ever reach awk as input.
error_lines() {
  local sql=${3:-/dev/null}
  # shellcheck disable=SC1003 # backslashes and quotes inside the awk program are awk's
  awk -v with_sql="${3:+1}" '
    FILENAME == ARGV[1] {
      if (match($0, /:[0-9]+: (ERROR|FATAL|PANIC):/)) {
        rest = substr($0, RSTART + 1); n = rest; sub(/:.*/, "", n); msg = rest; sub(/^[0-9]+: /, "", msg)
        count++; at[count] = n + 0; text[count] = msg; wanted[n + 0] = 1; if (n + 0 > last) last = n + 0
      } else if ($0 ~ /(ERROR|FATAL|PANIC):/) {
        count++; at[count] = 0; text[count] = $0
      }
      next
    }
    FNR > last { exit }   # nothing more to name: a dump may be large
    /^\\connect / {
      db = substr($0, 10); what = ""
      # pg_dumpall writes a name that needs quoting as -reuse-previous=on "dbname=(quoted value)": shown as the bare name
      if (db ~ /^-reuse-previous=on "dbname='\''.*'\''"$/) {
        db = substr(db, 29, length(db) - 30); gsub(/""/, "\"", db); gsub(/\\'\''/, "'\''", db); gsub(/\\\\/, "\\", db)
      } else if (db ~ /^".*"$/) {   # --quote-all-identifiers: \connect "name"
        db = substr(db, 2, length(db) - 2); gsub(/""/, "\"", db)
      }
    }
    /^-- Name: / {
      h = substr($0, 10); t = index(h, "; Type: "); name = substr(h, 1, t - 1); r = substr(h, t + 8)
      k = index(r, "; Schema: "); type = substr(r, 1, k - 1); r = substr(r, k + 10); k = index(r, ";"); schema = substr(r, 1, k - 1)
      what = type " " (schema == "-" || schema == "" ? "" : schema ".") name
    }
    /^-- (Roles|Role memberships|User Configurations|Tablespaces|Databases)$/ { what = substr($0, 4); db = "" }
    FNR in wanted { where[FNR] = what (db == "" ? "" : (what == "" ? "" : " ") "in database " db) }
    END {
      for (i = 1; i <= count; i++) {
        if (at[i] == 0) { print text[i]; continue }
        place = with_sql && where[at[i]] != "" ? where[at[i]] : "line " at[i]
        print place ": " text[i]
      }
    }' "$1" "$sql" > "$2" || true
}

# existing_names_in_errors KIND ERRORS_FILE EXISTING_FILE: the names of EXISTING_FILE that an
# 'ERROR:  KIND "NAME" already exists' line mentions -- all the classifier needs, and short.
existing_names_in_errors() {
  local kind=$1 errors=$2 existing=$3
  sed -nE "s/.*ERROR: +$kind \"(.*)\" already exists.*/\1/p" "$errors" | sort -u | grep -Fx -f - "$existing" || true
}

# target_role_filter ROLE: drops the dump's "ALTER ROLE <ROLE> WITH ... PASSWORD ..." statement
# (bare or quoted identifier), so the restore can never change the password of the role the tool
# connects to the target with. Every other role keeps its password. Reads stdin, writes stdout.
target_role_filter() {
  local role=$1 quoted
  quoted="\"${role//\"/\"\"}\""
  # through the environment: awk -v would read backslashes in the name as escapes
  BARE="ALTER ROLE $role WITH " QUOTED="ALTER ROLE $quoted WITH " awk '
    (index($0, ENVIRON["BARE"]) == 1 || index($0, ENVIRON["QUOTED"]) == 1) && / PASSWORD / { dropped++; next }
    { print }
    END { if (dropped) printf "pgupgrade: dropped %d password statement(s) for the target role\n", dropped > "/dev/stderr" }'
}

# --- progress ----------------------------------------------------------------------------------
# A step reports progress as lines "PGUPGRADE_PROGRESS {json}" on stderr: the local runner reads them
# from the step log, the operator from the pod log. Never anything secret in them.

progress() { # progress UNIT DONE TOTAL [ESTIMATED]
  printf 'PGUPGRADE_PROGRESS {"unit":"%s","done":%s,"total":%s,"estimated":%s}\n' "$1" "$2" "$3" "${4:-false}" >&2
}

# count_bytes TOTAL ESTIMATED: a pipe stage (dd) that passes data through and reports bytes once a second
count_bytes() {
  dd bs=1M status=progress 2> >(tr '\r' '\n' | awk -v total="$1" -v est="$2" '
      $2 == "bytes" { printf "PGUPGRADE_PROGRESS {\"unit\":\"bytes\",\"done\":%s,\"total\":%s,\"estimated\":%s}\n", $1, total, est; fflush() }
      $2 == "bytes" { last = $1 }
      END { if (last != "") print last > ENVIRON["WORK_DIR"] "/.bytes-" ENVIRON["STEP_NAME"] }' >&2)
}

# counted_bytes: what the last count_bytes in this step passed through
counted_bytes() {
  local f=$WORK_DIR/.bytes-$STEP_NAME i
  for i in 1 2 3 4 5 6 7 8 9 10; do [[ -s $f ]] && break; sleep 0.1; done  # the counter writes as it exits
  cat "$f" 2>/dev/null || echo 0
}

# estimated_dump_bytes URL WHAT: the size of every table (without indexes): about what a dump writes
estimated_dump_bytes() {
  local total=0 db size
  while IFS= read -r -d '' db; do
    size=$( (use_url "$1" "$2"; psql -X -q -A -t -d "$(conninfo_dbname "$db")" -f "$(dirname "${BASH_SOURCE[0]}")/dump-size.sql") 2>/dev/null ) || size=0
    total=$((total + ${size:-0}))
  done < <(non_template_databases "$1" "$2")
  echo "$total"
}

# restore_tuning URL WHAT: PGOPTIONS for the restore's sessions on the target. Session settings only,
# so they work on managed servers whose configuration cannot be changed: more memory for index
# builds, no waiting for WAL flushes (a crash mid-restore means restoring again anyway), and
# parallel index builds where the server has them (11+): the CPUs the restore's own jobs leave over
# (measured here: on 2 cores, two jobs each adding a parallel worker were slower than none).
restore_tuning() {
  local num jobs=${1:-1} cores workers opts
  num=$(psql_at "$TARGET_URL" "the target server" "show server_version_num")
  cores=$(nproc 2>/dev/null || echo 1)
  workers=$(( cores / jobs - 1 )); ((workers < 0)) && workers=0; ((workers > 4)) && workers=4
  opts="-c maintenance_work_mem=${RESTORE_MAINTENANCE_WORK_MEM:?} -c synchronous_commit=off"
  ((num >= 110000)) && opts+=" -c max_parallel_maintenance_workers=$workers"
  echo "$opts"
}

# transfer_jobs: TRANSFER_JOBS, or when it is 0 ("as many as CPUs", which only the step can count) the CPUs this step has
transfer_jobs() {
  : "${TRANSFER_JOBS:?}"
  if ((TRANSFER_JOBS > 0)); then echo "$TRANSFER_JOBS"; else nproc 2>/dev/null || echo 2; fi
}

# report_every_2s UNIT TOTAL ESTIMATED COMMAND...: a background progress line every two seconds, the
# amount done printed by COMMAND; stopped by stop_reports (and when the step ends).
_REPORTERS=()
report_every_2s() {
  local unit=$1 total=$2 estimated=$3; shift 3
  ( while sleep 2; do progress "$unit" "$("$@")" "$total" "$estimated"; done ) &
  _REPORTERS+=($!)
}
stop_reports() { local pid; for pid in "${_REPORTERS[@]}"; do kill "$pid" 2>/dev/null || true; done; _REPORTERS=(); }
on_exit stop_reports

# --- restores ------------------------------------------------------------------------------------

# target_inventory_before: the target's roles and databases before a restore writes to it; "already
# exists" errors about these are the expected ones.
target_inventory_before() {
  stage "reading what the target already holds"
  psql_at "$TARGET_URL" "the target server" "select rolname from pg_roles where rolname !~ '^pg_' order by 1" > "$WORK_DIR/target-roles-before.txt"
  psql_at "$TARGET_URL" "the target server" "select datname from pg_database order by 1" > "$WORK_DIR/target-databases-before.txt"
}

# report_restore_errors STDERR ROLES_BEFORE DATABASES_BEFORE [SQL_FILE]: the restore's error lines
# (named by object when the SQL script is given, see error_lines), and the names they mention that
# already existed, as result fields for the engine's classifier.
report_restore_errors() {
  local stderr=$1 lines=${1%.err}-errors.txt
  error_lines "$stderr" "$lines" "${4:-}"
  existing_names_in_errors role "$lines" "$2" > "$lines.roles"
  existing_names_in_errors database "$lines" "$3" > "$lines.databases"
  result_num errorCount "$(wc -l < "$lines")"
  result_lines errorLines "$lines" 50
  result_lines preexistingRoles "$lines.roles" 200
  result_lines preexistingDatabases "$lines.databases" 200
}

# result_passwords_dropped: how many password statements target_role_filter dropped (it says so on
# its stderr, which the strategies keep in WORK_DIR/filter.err), as a result field.
result_passwords_dropped() {
  result_num passwordStatementsDropped "$(sed -nE 's/^pgupgrade: dropped ([0-9]+) .*/\1/p' "$WORK_DIR/filter.err" 2>/dev/null | grep . || echo 0)"
}

# connection_user URL WHAT: the role name a URL connects as (what the server reports).
connection_user() { psql_at "$1" "$2" "select current_user"; }

# --- names ---------------------------------------------------------------------------------------
# Every dump is taken with --quote-all-identifiers: the restore runs on another major, whose keywords
# may include a word the source's does not (json from 16 on), and a name that is a keyword there must
# still read as a name. The queries we generate quote every identifier for the same reason.
# Names are data: a database, schema, table, column or role name may hold any character but NUL
# (quotes, |, /, \, &, newlines, $(...)). Lists of names travel NUL-separated (psql -0, read -d ''),
# reach SQL only as quoted identifiers or literals made by the server (format %I/%L, quote_ident),
# awk only as input (ENVIRON, files), never as program text, and client tools only as below.

# conninfo_dbname NAME: NAME as a libpq connection string, for -d/--dbname. A client tool reads a
# -d value holding '=' or starting with postgres:// as connection parameters (vacuumdb even does so
# with PGDATABASE), so a database named "host=elsewhere" would send the password elsewhere; as
# dbname='...' it stays a name.
conninfo_dbname() { printf 'dbname=%s' "$(conninfo_value "$1")"; }
# conninfo_value VALUE: VALUE as a quoted libpq conninfo value (backslash and quote escaped)
conninfo_value() { local v=${1//\\/\\\\}; printf "'%s'" "${v//\'/\\\'}"; }

# escaped NAME: NAME with backslash, tab, newline and carriage return written as \\ \t \n \r -- the
# form Verifying's facts use -- and other control characters dropped: fit for one line of output.
escaped() {
  local s=${1//\\/\\\\}
  s=${s//$'\t'/\\t}; s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}
  printf '%s' "$s" | tr -d '\000-\037'
}

# restore_stopped RC ERRFILE WHAT: after a pg_restore that exited RC (not 0), with ERRFILE holding its
# standard error and nothing else's, makes sure the error classifier sees a failure. pg_restore exits 1 both when it carried on past SQL errors (it then says
# "errors ignored on restore", and the ERROR lines are in ERRFILE already) and when it stopped: a
# worker that died, an archive it could not read, a lost connection print only "pg_restore: error:"
# lines, which are not counted as errors. Those get an ERROR line naming WHAT was not restored.
restore_stopped() {
  local rc=$1 err=$2 what=$3 why
  grep -q 'errors ignored on restore' "$err" 2>/dev/null && return 0
  why=$(grep -m1 '^pg_restore: error: ' "$err" 2>/dev/null | sed -E 's/^pg_restore: error: //' || true)
  printf 'ERROR:  pg_restore stopped (exit %s) before %s was restored: %s\n' "$rc" "$what" "${why:-no reason given}" >> "$err"
  return 0
}

# hash_stream: the SHA-256 of standard input, 64 hex digits. Both sides of a copy's proof hash a
# stream as long as the table, so the fastest implementation at hand is taken: OpenSSL's, which uses
# the CPU's SHA instructions (measured here: 0.5 s of CPU per GB against 1.3 s for md5sum and 2.7 s
# for coreutils' sha256sum); Debian's postgres images have it (postgresql-common needs ssl-cert,
# which needs openssl). Elsewhere coreutils' sha256sum: the same function, so the two sides of a
# proof may even differ in which one they use.
sha256_openssl() { openssl dgst -sha256 -r | cut -d' ' -f1; }
sha256_coreutils() { sha256sum | cut -d' ' -f1; }
if command -v openssl >/dev/null 2>&1; then
  hash_stream() { sha256_openssl; }
else
  hash_stream() { sha256_coreutils; }
fi

# key NAME: a file-name-safe key of a (database) name, for the files steps keep per database
key() { printf %s "$1" | md5sum | cut -c1-16; }

# shown NAME: a name for a message or the step log, in double quotes (escaped as above): a name
# holding a newline can neither start a line of its own (a forged progress line) nor hide another.
shown() { local s; s=$(escaped "$1"); printf '"%s"' "${s//\"/\\\"}"; }

# databases_z URL WHAT CONDITION [ORDER]: the names of the databases matching the SQL CONDITION on
# pg_database, in ORDER (default: by name), NUL-separated (read them with: while IFS= read -r -d '' db).
databases_z() {
  local err why
  err=$(mktemp "$WORK_DIR/.psql-err.XXXXXX")
  if ( use_url "$1" "$2"; psql -X -q -A -t -0 -v ON_ERROR_STOP=1 -c "select datname from pg_database where $3 order by ${4:-datname}" ) 2>"$err"; then
    rm -f "$err"; return 0
  fi
  why=$(grep -v '^[[:space:]]*$' "$err" | head -n 1 | sed -E 's/^psql: (error: )?//')
  rm -f "$err"
  die "cannot query $2: ${why:-psql failed}"
}

# non_template_databases URL WHAT: the databases a restore fills and an analyze visits, NUL-separated
non_template_databases() { databases_z "$1" "$2" "not datistemplate and datallowconn"; }

# result_names KEY FILE [MAX]: the NUL-separated names in FILE (first MAX) as a JSON array.
result_names() {
  local key=$1 file=$2 max=${3:-200} items=() name
  ((max > RESULT_MAX_LINES)) && max=$RESULT_MAX_LINES
  while IFS= read -r -d '' name && ((${#items[@]} < max)); do items+=("$(json_exact "$name")"); done < "$file"
  local IFS=,
  _RESULT_FIELDS+=("$(json_string "$key"):[${items[*]}]")
}

# target_objects URL WHAT: what a server already holds that a restore could mix with the source's,
# as result fields for the engine to judge (one rule for every platform): targetObjects, per database
# the user objects of each kind (anything created after initdb that no extension owns: relations,
# functions, types, schemas, extensions, operators, large objects...), and targetRoles, the roles
# other than the connecting one. Databases it may not enter are listed in targetUnreadable.
target_objects() {
  local url=$1 what=$2 here db found objects=() roles=() unreadable=() line
  here=$(dirname "${BASH_SOURCE[0]}")
  found=$( (use_url "$url" "$what"; psql -X -q -A -t -v ON_ERROR_STOP=1 -v scope=cluster -f "$here/target-objects.sql") 2>/dev/null ) \
    || die "cannot list the roles and tablespaces of $what"
  while IFS= read -r line; do [[ -n $line ]] && roles+=("$line"); done <<< "$found"
  databases_z "$url" "$what" "datallowconn and datname <> 'template0'" > "$WORK_DIR/.target-databases"
  while IFS= read -r -d '' db; do
    if found=$( (use_url "$url" "$what"; psql -X -q -A -t -v ON_ERROR_STOP=1 -v scope=database -d "$(conninfo_dbname "$db")" -f "$here/target-objects.sql") 2>/dev/null ); then
      while IFS= read -r line; do [[ -n $line ]] && objects+=("$line"); done <<< "$found"
    else
      unreadable+=("$(json_exact "$db")")  # a database this role may not enter: nothing a restore by it could mix with
    fi
  done < "$WORK_DIR/.target-databases"
  local IFS=,
  result_json targetObjects "[${objects[*]}]"
  result_json targetCluster "[${roles[*]}]"
  result_json targetUnreadable "[${unreadable[*]}]"
}
