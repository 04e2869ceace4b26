# shellcheck shell=bash
# Held sessions (sourced after lib.sh): psql sessions in every source database, opened BEFORE the
# cutover of platform aptible freezes that database (no new connection gets in, superusers
# included), and spared by the freeze, so that verify.sh can still read every row of the frozen
# source through them: the only moment the source and Aptible's replica both hold still.
# A held session reads requests from a fifo (HELD_DIR/KEY.J.in); each request is psql text ending in
# a marker file. A request goes to the first of the database's sessions that is free (a lock each),
# so verify.sh's parallel readers stay parallel. Read-only: every request sets
# default_transaction_read_only first.

# open_held DIR DB N: starts N held sessions in source database DB; sets HELD_PID to their backends'
# pids, comma-separated (what the freeze spares)
HELD_FDS=()
HELD_PROCS=()
open_held() {
  local dir=$1 db=$2 n=$3 k fd j pid pids=
  k=$(key "$db")
  mkdir -p "$dir"
  rm -f "$dir/$k".*
  for ((j = 0; j < n; j++)); do
    mkfifo "$dir/$k.$j.in" || die "cannot create the fifo of a verification session"
    # read-write: opening does not wait for psql, and the fifo never reaches its end while we hold it
    exec {fd}<>"$dir/$k.$j.in"
    HELD_FDS+=("$fd")
    # the session must see the fifo's end once close_held lets go of it: it holds no writer of its own
    ( for fd in "${HELD_FDS[@]}"; do exec {fd}>&-; done
      session_at "$SOURCE_URL" "the source server" "$db"
      exec psql -X -q -A -t < "$dir/$k.$j.in" ) > "$dir/$k.$j.out" 2> "$dir/$k.$j.err" &
    HELD_PROCS+=($!)
    echo $! > "$dir/$k.$j.proc"
    echo "$j" >> "$dir/$k.sessions"
    _held_send "$dir" "$k" "$j" "$dir/$k.$j.pid" "$dir/$k.$j.pid.err" "$(_held_translate -c "select pg_backend_pid()")" || true
    pid=$(tr -cd '0-9' < "$dir/$k.$j.pid" 2>/dev/null)
    [[ -n $pid ]] || die "cannot open a verification session in database $(shown "$db") of the source: $(first_error "$dir/$k.$j.pid.err")"
    pids+=${pids:+,}$pid
  done
  # shellcheck disable=SC2034 # read by the caller (logical-cutover.sh)
  HELD_PID=$pids
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

# _held_quote TEXT: TEXT as a single-quoted psql meta-command argument
_held_quote() {
  local s=${1//\\/\\\\}
  s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
  printf "'%s'" "${s//\'/\'\'}"
}

# held_request DIR DB OUT ERR psql-args...: what `psql psql-args... > OUT 2> ERR` would do in database
# DB, sent to the first free session held there. Understood: -v NAME=VALUE, -f FILE, -c SQL, -0, -z,
# -F SEP (-A and -t hold already); ON_ERROR_STOP is not applied (the session must outlive an error:
# the error lines in ERR say what failed, as psql's would).
held_request() {
  local dir=$1 db=$2 out=$3 err=$4 k request j rc
  shift 4
  k=$(key "$db")
  [[ -f $dir/$k.sessions ]] || { echo "ERROR: no verification session is held in this database" > "$err"; return 1; }
  request=$(_held_translate "$@")
  while :; do
    while read -r j; do
      rc=0
      _held_send "$dir" "$k" "$j" "$out" "$err" "$request" nowait || rc=$?
      ((rc == 75)) || return "$rc"
    done < "$dir/$k.sessions"
    sleep 0.05   # every session busy
  done
}

# _held_translate psql-args...: the psql text of a request (without its output redirection)
_held_translate() {
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
}

# _held_send DIR KEY J OUT ERR REQUEST [nowait]: REQUEST through session J, its output into OUT and its
# errors into ERR; waits until it is done. nowait: returns 75 at once when the session is busy.
_held_send() {
  local dir=$1 k=$2 j=$3 out err request=$6 wait=${7:-} marker start
  out=$(realpath -m "$4"); err=$(realpath -m "$5")
  marker=$dir/$k.$j.done.$BASHPID.$RANDOM
  (
    if [[ $wait == nowait ]]; then flock -n 9 || exit 75; else flock 9; fi
    start=$(stat -c %s "$dir/$k.$j.err")
    { printf '\\o %s\n' "$(_held_quote "$out")"; printf '%s\n' "$request"; printf '\\o\n\\! touch %s\n' "$(printf '%q' "$marker")"; } \
      > "$dir/$k.$j.in"
    until [[ -e $marker ]]; do
      if ! kill -0 "$(cat "$dir/$k.$j.proc")" 2>/dev/null && [[ ! -e $marker ]]; then
        echo "ERROR: the verification session in this database ended" > "$err"; exit 1
      fi
      sleep 0.02
    done
    rm -f "$marker"
    tail -c +"$((start + 1))" "$dir/$k.$j.err" > "$err"
  ) 9> "$dir/$k.$j.lock"
}
