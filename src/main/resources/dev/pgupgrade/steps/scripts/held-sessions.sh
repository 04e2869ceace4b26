# shellcheck shell=bash
# Held sessions (sourced after lib.sh): one psql session per source database, opened BEFORE the
# cutover of platform aptible freezes that database (no new connection gets in, superusers
# included), and spared by the freeze, so that verify.sh can still read every row of the frozen
# source through it: the only moment the source and Aptible's replica both hold still.
# A held session reads requests from a fifo (HELD_DIR/KEY.in); each request is psql text ending in a
# marker file, and requests to one session are serialized by a lock. Read-only: every request sets
# default_transaction_read_only first.

# open_held DIR DB: starts the held session for source database DB; sets HELD_PID to its backend's pid
HELD_FDS=()
HELD_PROCS=()
open_held() {
  local dir=$1 db=$2 k fd
  k=$(key "$db")
  mkdir -p "$dir"
  rm -f "$dir/$k".*
  mkfifo "$dir/$k.in" || die "cannot create the fifo of a verification session"
  # read-write: opening does not wait for psql, and the fifo never reaches its end while we hold it
  exec {fd}<>"$dir/$k.in"
  HELD_FDS+=("$fd")
  # the session must see the fifo's end once close_held lets go of it: it holds no writer of its own
  ( for fd in "${HELD_FDS[@]}"; do exec {fd}>&-; done
    session_at "$SOURCE_URL" "the source server" "$db"
    exec psql -X -q -A -t < "$dir/$k.in" ) > "$dir/$k.out" 2> "$dir/$k.err" &
  HELD_PROCS+=($!)
  echo $! > "$dir/$k.proc"
  held_request "$dir" "$db" "$dir/$k.pid" "$dir/$k.pid.err" -c "select pg_backend_pid()" || true
  HELD_PID=$(tr -cd '0-9' < "$dir/$k.pid")
  [[ -n $HELD_PID ]] || die "cannot open a verification session in database $(shown "$db") of the source: $(first_line_of "$dir/$k.pid.err")"
}

# close_held: ends every held session of this process
close_held() {
  local fd pid
  for fd in "${HELD_FDS[@]}"; do exec {fd}>&-; done
  for pid in "${HELD_PROCS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  HELD_FDS=(); HELD_PROCS=()
}

first_line_of() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | head -n 1 | sed -E 's/^psql:[^ ]* //' || true; }

# _held_quote TEXT: TEXT as a single-quoted psql meta-command argument
_held_quote() {
  local s=${1//\\/\\\\}
  s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
  printf "'%s'" "${s//\'/\'\'}"
}

# held_request DIR DB OUT ERR psql-args...: what `psql psql-args... > OUT 2> ERR` would do in database
# DB, sent to its held session instead. Understood: -v NAME=VALUE, -f FILE, -c SQL, -0, -z, -F SEP
# (-A and -t hold already); ON_ERROR_STOP is not applied (the session must outlive an error: the
# error lines in ERR say what failed, as psql's would).
held_request() {
  local dir=$1 db=$2 out=$3 err=$4 k marker start request
  shift 4
  k=$(key "$db")
  [[ -p $dir/$k.in ]] || { echo "ERROR: no verification session is held in this database" > "$err"; return 1; }
  out=$(realpath -m "$out"); err=$(realpath -m "$err")
  marker=$dir/$k.done.$BASHPID.$RANDOM
  request=$(
    printf '\\o %s\n' "$(_held_quote "$out")"
    printf '\\pset fieldsep %s\n\\pset recordsep %s\n' "'|'" "'\\n'"
    # the session defaults verify.sh gives its own sessions (PGOPTIONS, PGTZ, PGDATESTYLE)
    printf 'set default_transaction_read_only = on;\n'
    [[ -z ${PGTZ:-} ]] || printf 'set timezone = %s;\n' "$(_held_quote "$PGTZ")"
    [[ -z ${PGDATESTYLE:-} ]] || printf 'set datestyle = %s;\n' "$(_held_quote "$PGDATESTYLE")"
    local option
    for option in ${PGOPTIONS:-}; do
      [[ $option == -c ]] && continue
      [[ $option =~ ^([A-Za-z_]+)=([A-Za-z0-9_.-]*)$ ]] && printf 'set %s = %s;\n' "${BASH_REMATCH[1]}" "$(_held_quote "${BASH_REMATCH[2]}")"
    done
    while (($#)); do
      case $1 in
        -v) [[ ${2%%=*} == ON_ERROR_STOP ]] || printf '\\set %s %s\n' "${2%%=*}" "$(_held_quote "${2#*=}")"; shift 2 ;;
        -f) printf '\\i %s\n' "$(_held_quote "$(realpath -m "$2")")"; shift 2 ;;
        -c) printf '%s\n;\n' "$2"; shift 2 ;;
        -0) printf '\\pset recordsep_zero\n'; shift ;;
        -z) printf '\\pset fieldsep_zero\n'; shift ;;
        -F) printf '\\pset fieldsep %s\n' "$(_held_quote "$2")"; shift 2 ;;
        -A|-t|-q|-X) shift ;;
        *) die "internal: held_request does not understand psql argument $1" ;;
      esac
    done
    printf '\\o\n\\! touch %s\n' "$(printf '%q' "$marker")"
  )
  (
    flock 9
    start=$(stat -c %s "$dir/$k.err")
    printf '%s\n' "$request" > "$dir/$k.in"
    until [[ -e $marker ]]; do
      if ! kill -0 "$(cat "$dir/$k.proc")" 2>/dev/null && [[ ! -e $marker ]]; then
        echo "ERROR: the verification session in this database ended" > "$err"; exit 1
      fi
      sleep 0.02
    done
    rm -f "$marker"
    tail -c +"$((start + 1))" "$dir/$k.err" > "$err"
  ) 9> "$dir/$k.lock"
}
